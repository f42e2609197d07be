// The part of the CST → AST pass below the declarations: ranges of CST nodes,
// leaves (type references, parameters, dotted names) and expressions, which
// are parsed flat (`binaryExpr`: operands and operators in source order) and
// given their precedence by AstNodes' shunting-yard. to-ast.ts reads the
// declarations on top of it.

import type { CstNode, IToken } from "chevrotain";
import type { Expr, Param, Range, TypeRef } from "../ast.ts";
import { AstNodes, type Item } from "./ast-nodes.ts";
import { isReal, node, nodes, nodeSpan, tok, toks, type Key } from "./cst-access.ts";
import type * as C from "./cst.ts";
import * as T from "./lexer.ts";

/** Reads ranges, leaves and expressions of a declaration's chevrotain CST (grammar.ts). */
export abstract class CstReader extends AstNodes {
  // ------------------------------------------------------------ ranges

  protected nodeRange(n: CstNode | undefined): Range {
    const span = nodeSpan(n);
    if (!span) return this.at();
    if (span[1] > this.cursor) this.cursor = span[1];
    return this.range(span[0], span[1]);
  }

  /** Range of `n` ending at its `endKey` token (e.g. the closing `}`), falling back to a walk of its tokens. */
  protected endRange<N extends CstNode>(n: N | undefined, endKey: Key<N>): Range {
    const t = tok(n, endKey);
    return isReal(t) ? this.tokRange(t) : this.nodeRange(n);
  }

  // ------------------------------------------------------------ leaves

  protected typeRef(n: C.TypeRefCstNode | undefined): TypeRef {
    return this.typeRefOf(tok(n, "name"), tok(n, "dim"), tok(n, "RBracket"), tok(n, "Question"));
  }

  protected param(n: C.ParamCstNode | undefined, startTok?: IToken): Param {
    const name = this.ident(tok(n, "name"));
    const type = this.typeRef(node(n, "typeRef"));
    return { name, type, range: this.join(startTok && isReal(startTok) ? startTok : name.range, type.range) };
  }

  protected dotted(n: C.DottedNameCstNode | undefined): { text: string; range: Range } {
    const parts = toks(n, "part").filter(isReal);
    if (parts.length === 0) return { text: "", range: this.at() };
    return { text: parts.map((p) => p.image).join("."), range: this.join(parts[0], parts[parts.length - 1]) };
  }

  // ------------------------------------------------------------ expressions

  protected errorExpr(n?: CstNode): Expr {
    return { kind: "error", range: n ? this.nodeRange(n) : this.at() };
  }

  protected exprList(list: C.ListExprCstNode | C.ParenListCstNode | undefined): Expr[] {
    return nodes(list, "items").map((e) => this.expr(e));
  }

  expr(n: C.ExpressionCstNode | C.IfExprCstNode | C.BinaryExprCstNode | undefined): Expr {
    if (!n || n.recoveredNode) return this.errorExpr(n);
    switch (n.name) {
      case "expression": {
        const inner = node(n, "ifExpr") ?? node(n, "binaryExpr");
        return inner ? this.expr(inner) : this.errorExpr(n);
      }
      case "ifExpr": {
        const ifTok = tok(n, "Kw_if");
        const cond = this.expr(node(n, "cond"));
        const then = this.expr(node(n, "then"));
        const els = this.expr(node(n, "else"));
        return { kind: "if", cond, then, else: els, range: this.join(ifTok, els.range) };
      }
      case "binaryExpr": {
        const items: Item[] = [];
        this.flatten(n, items);
        return this.shunt(items);
      }
      default:
        return this.errorExpr(n);
    }
  }

  /** Appends the operands and operators of a binaryExpr in source order. */
  protected flatten(n: C.BinaryExprCstNode | undefined, items: Item[]): void {
    if (!n || n.recoveredNode) {
      items.push({ k: "atom", e: this.errorExpr(n) });
      return;
    }
    const operands = nodes(n, "operands");
    const ops = toks(n, "ops");
    if (operands.length === 0) {
      items.push({ k: "atom", e: this.errorExpr(n) });
      return;
    }
    for (let i = 0; i < operands.length; i++) {
      const o = operands[i];
      if (i > 0) {
        const op = ops[i - 1];
        if (!op) break;
        if (op.tokenType === T.In) {
          items.push({ k: "in", t: op, list: o });
          continue;
        }
        items.push({ k: "op", t: op });
      }
      if (o.name !== "operand" || o.recoveredNode) {
        items.push({ k: "atom", e: this.errorExpr(o) });
        continue;
      }
      for (const p of toks(o, "prefix")) items.push({ k: "pre", t: p });
      items.push({ k: "atom", e: this.primary(node(o, "primary")) });
    }
    // An operator without its operand (only possible after recovery).
    const extra = ops[operands.length - 1];
    if (extra) {
      if (extra.tokenType === T.In) {
        items.push({ k: "in", t: extra, list: undefined });
      } else {
        items.push({ k: "op", t: extra });
        items.push({ k: "atom", e: this.errorExpr() });
      }
    }
  }

  /** The values after `in` and the range of their list. */
  protected override inList(item: unknown): { values: Expr[]; listRange: Range } {
    const list = item as C.ParenListCstNode | C.OperandCstNode | undefined;
    // After `in` the grammar has a parenthesized list; anything else (recovery) has no values.
    const values = list?.name === "parenList" && !list.recoveredNode ? this.exprList(list) : [];
    const listRange = list?.name === "parenList" ? this.endRange(list, "RParen") : this.nodeRange(list);
    return { values, listRange };
  }

  protected primary(n: C.PrimaryCstNode | undefined): Expr {
    if (!n || n.recoveredNode) return this.errorExpr(n);
    const lit = tok(n, "literal");
    if (lit) return this.literal(lit);
    const name = node(n, "nameExpr");
    if (name) return this.nameExpr(name);
    const list = node(n, "listExpr");
    if (list) {
      if (list.recoveredNode) return this.errorExpr(list);
      const open = tok(list, "LBracket");
      const items = this.exprList(list);
      return { kind: "list", items, range: this.join(open, this.endRange(list, "RBracket")) };
    }
    const open = tok(n, "LParen");
    if (open) {
      const openRange = this.tokRange(open);
      const inner = this.expr(node(n, "expression"));
      const close = tok(n, "RParen");
      // A parenthesized expression keeps its node but widens its range to the parens.
      return { ...inner, range: this.join(openRange, isReal(close) ? close : inner.range) };
    }
    return this.errorExpr(n);
  }

  protected nameExpr(n: C.NameExprCstNode): Expr {
    if (n.recoveredNode) return this.errorExpr(n);
    const nameTok = tok(n, "name");
    const id = this.ident(nameTok);
    const prop = tok(n, "property");
    if (tok(n, "Dot")) {
      const property = this.ident(prop);
      return { kind: "member", object: id, property, range: this.join(id.range, property.range) };
    }
    const argsNode = node(n, "args");
    if (!argsNode) return { kind: "name", name: id.name, range: id.range };
    const args = argsNode.recoveredNode ? [this.errorExpr(argsNode)] : this.exprList(argsNode);
    const callRange = this.join(id.range, this.endRange(argsNode, "RParen"));
    if (tok(n, "Kw_over")) {
      const over = this.primary(node(n, "over"));
      const w: Expr = { kind: "window", agg: id, args, over, range: this.join(id.range, over.range) };
      if (isReal(tok(n, "next"))) w.forward = true;
      return w;
    }
    return { kind: "call", callee: id, args, range: callRange };
  }
}
