// Building AST nodes (compiler/ast.ts) from tokens and sub-nodes: ranges,
// leaves, literals and operator precedence (an iterative shunting-yard over a
// flat list of operands and operators). Shared by the two readers of a
// declaration: cst-reader.ts / to-ast.ts over chevrotain's CST, and direct.ts
// over the tokens of a valid declaration (the parser's fast path).

import type { IToken } from "chevrotain";
import type { BinaryOp, Expr, Ident, Pos, Range, StringLit, TypeRef } from "../ast.ts";
import { DIAG, type Message } from "../messages.ts";
import { isReal, tokEnd } from "./cst-access.ts";
import * as T from "./lexer.ts";
import type { NumberPayload } from "./lexer.ts";

export interface ToAstContext {
  /** Offset -> position (line/column). */
  pos(offset: number): Pos;
  /** Reports a syntax problem found while building the AST (FTI1001; index.ts keeps one per declaration). */
  error(start: number, end: number, problem: Message): void;
}

// ---------------------------------------------------------------- precedence

const PREC: Record<string, number> = {
  or: 1,
  and: 2,
  // `not` (prefix): 3
  "==": 4,
  "!=": 4,
  "<": 4,
  "<=": 4,
  ">": 4,
  ">=": 4,
  // `in`: 4
  "+": 5,
  "-": 5,
  "*": 6,
  "/": 6,
  "%": 6,
  // unary `-`: 7
  "^": 8,
};
const COMPARISON = 4;
const NOT_PREC = 3;
const NEG_PREC = 7;

/** An operand or operator of a flat expression, in source order (`list`: what follows `in`, as the reader holds it). */
export type Item =
  | { k: "pre"; t: IToken }
  | { k: "atom"; e: Expr }
  | { k: "op"; t: IToken }
  | { k: "in"; t: IToken; list: unknown };

type StackOp =
  | { k: "pre"; op: "-" | "not"; prec: number; start: Pos }
  | { k: "bin"; op: BinaryOp; prec: number };

// ---------------------------------------------------------------- builder

/**
 * Builds AST nodes from tokens and sub-nodes: ranges, leaves, literals and
 * operator precedence. Two readers extend it: AstBuilder below reads a
 * chevrotain CST; direct.ts reads the tokens of a valid declaration without a
 * CST (the parser's fast path).
 */
export abstract class AstNodes {
  /** End offset of the last real token converted: where placeholders for missing tokens go. */
  protected cursor = 0;

  constructor(protected readonly ctx: ToAstContext) {}

  /** The values after `in` (an Item's `list`, as the reader holds it) and the range of their list. */
  protected abstract inList(list: unknown): { values: Expr[]; listRange: Range };

  /** An error expression at the cursor. */
  protected errorHere(): Expr {
    return { kind: "error", range: this.at() };
  }

  protected range(start: number, end: number): Range {
    if (!(end >= start)) end = start;
    return { start: this.ctx.pos(start), end: this.ctx.pos(end) };
  }

  protected at(): Range {
    return this.range(this.cursor, this.cursor);
  }

  protected tokRange(t: IToken | undefined): Range {
    if (!isReal(t)) return this.at();
    const end = tokEnd(t);
    if (end > this.cursor) this.cursor = end;
    return this.range(t.startOffset, end);
  }

  /** From the start of `a` to the end of `b` (either may be a token or a range). */
  protected join(a: IToken | Range | undefined, b: IToken | Range | undefined): Range {
    let start: Pos | undefined;
    let end: Pos | undefined;
    if (a !== undefined) {
      if (!("startOffset" in a)) start = a.start;
      else if (isReal(a)) start = this.ctx.pos(a.startOffset);
    }
    if (b !== undefined) {
      if (!("startOffset" in b)) end = b.end;
      else if (isReal(b)) {
        const e = tokEnd(b);
        if (e > this.cursor) this.cursor = e;
        end = this.ctx.pos(e);
      }
    }
    const s = start ?? end ?? this.ctx.pos(this.cursor);
    const e = end ?? s;
    return e.offset >= s.offset ? { start: s, end: e } : { start: s, end: s };
  }

  protected err(t: IToken | Range | undefined, problem: Message): void {
    if (t === undefined) return;
    if ("startOffset" in t) {
      if (isReal(t)) this.ctx.error(t.startOffset, tokEnd(t), problem);
    } else {
      this.ctx.error(t.start.offset, t.end.offset, problem);
    }
  }

  protected ident(t: IToken | undefined): Ident {
    return { name: isReal(t) ? t.image : "", range: this.tokRange(t) };
  }

  protected stringLit(t: IToken | undefined): StringLit {
    return { value: isReal(t) && typeof t.payload === "string" ? t.payload : "", range: this.tokRange(t) };
  }

  /** `name`, `name?`, `name[dim]`, `name[dim]?` from its tokens. */
  protected typeRefOf(name: IToken | undefined, dimTok: IToken | undefined, close: IToken | undefined, q: IToken | undefined): TypeRef {
    const id = this.ident(name);
    const last = isReal(q) ? q : isReal(close) ? close : undefined;
    const ref: TypeRef = { name: id.name, nullable: isReal(q), range: last ? this.join(id.range, last) : id.range };
    if (isReal(dimTok)) {
      const p = dimTok.payload as NumberPayload | undefined;
      ref.dim = { value: p && p.isInt ? p.value : NaN, range: this.tokRange(dimTok) };
    }
    return ref;
  }

  protected literal(t: IToken): Expr {
    const range = this.tokRange(t);
    if (!isReal(t)) return { kind: "error", range };
    switch (t.tokenType) {
      case T.NumberLit: {
        const p = t.payload as NumberPayload;
        return { kind: "number", value: p.value, isInt: p.isInt, range };
      }
      case T.DurationLit:
        return { kind: "duration", ms: (t.payload as { ms: number }).ms, text: t.image, range };
      case T.DateLit:
        return { kind: "date", iso: t.image, range };
      case T.StringLit:
        return { kind: "string", value: typeof t.payload === "string" ? t.payload : "", range };
      case T.True:
        return { kind: "bool", value: true, range };
      case T.False:
        return { kind: "bool", value: false, range };
      case T.Null:
        return { kind: "null", range };
      default:
        return { kind: "error", range };
    }
  }

  /** Iterative shunting-yard: precedence, right-associative `^`, non-associative comparisons. */
  protected shunt(items: Item[]): Expr {
    const out: Expr[] = [];
    const stack: StackOp[] = [];
    const state = { chainedReported: false };
    for (const item of items) {
      switch (item.k) {
        case "atom":
          out.push(item.e);
          break;
        case "pre": {
          const isNot = item.t.tokenType === T.Not;
          stack.push({
            k: "pre",
            op: isNot ? "not" : "-",
            prec: isNot ? NOT_PREC : NEG_PREC,
            start: this.tokRange(item.t).start,
          });
          break;
        }
        case "op": {
          const op = item.t.image as BinaryOp;
          const prec = PREC[op];
          if (prec === undefined) {
            // Only an inserted (virtual) operator can get here.
            stack.push({ k: "bin", op: "+", prec: PREC["+"] });
            break;
          }
          this.tokRange(item.t);
          this.reduceFor(out, stack, prec, op === "^", item.t, state);
          stack.push({ k: "bin", op, prec });
          break;
        }
        case "in": {
          this.reduceFor(out, stack, COMPARISON, false, item.t, state);
          const operand = out.pop() ?? this.errorHere();
          const { values, listRange } = this.inList(item.list);
          out.push({ kind: "in", operand, values, range: { start: operand.range.start, end: listRange.end } });
          break;
        }
      }
    }
    while (stack.length) this.reduce(out, stack);
    return out.length === 1 ? out[0] : (out[out.length - 1] ?? this.errorHere());
  }

  /** Pops one operator and applies it to the operands on top of `out`. */
  protected reduce(out: Expr[], stack: StackOp[]): void {
    const top = stack.pop()!;
    if (top.k === "pre") {
      const operand = out.pop() ?? this.errorHere();
      out.push({ kind: "unary", op: top.op, operand, range: { start: top.start, end: operand.range.end } });
    } else {
      const right = out.pop() ?? this.errorHere();
      const left = out.pop() ?? this.errorHere();
      out.push({ kind: "binary", op: top.op, left, right, range: { start: left.range.start, end: right.range.end } });
    }
  }

  /** Reduces everything that binds tighter than an incoming infix operator of `prec`. */
  protected reduceFor(
    out: Expr[],
    stack: StackOp[],
    prec: number,
    rightAssoc: boolean,
    opTok: IToken,
    state: { chainedReported: boolean },
  ): void {
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) return;
      if (top.k === "bin" && top.prec === COMPARISON && prec === COMPARISON && !state.chainedReported) {
        state.chainedReported = true;
        this.err(opTok, DIAG.unexpectedToken.chainedComparison());
      }
      if (top.prec > prec || (top.prec === prec && !rightAssoc)) this.reduce(out, stack);
      else return;
    }
  }
}
