// CST (grammar.ts) -> AST (compiler/ast.ts), with ranges: the declarations.
// model-decl.ts reads the `model` declaration; cst-reader.ts reads the leaves and expressions under them (and, through
// ast-nodes.ts, applies operator precedence); cst-access.ts is the typed
// access to a node's children.
//
// Written to survive any CST chevrotain's error recovery can produce:
//   - a missing child yields a placeholder, never a crash: an Expr becomes
//     `{ kind: "error" }`, an Ident / TypeRef / StringLit gets an empty name or
//     value (the parser already reported FTI1001 for that declaration);
//   - an expression-level CST node marked `recoveredNode` becomes an error expr;
//   - tokens inserted by recovery (no offsets) get a zero-width range at the
//     end of the last real token seen;
//   - a declaration whose name is missing is dropped.

import type { CstNode, IToken } from "chevrotain";
import type {
  Decl,
  EntityDecl,
  Expr,
  ExternFnDecl,
  FeatureDef,
  FeatureGroupDecl,
  FeatureRef,
  FieldDecl,
  FnDecl,
  ImportDecl,
  Ident,
  JoinClause,
  OdtParam,
  OnDemandDecl,
  Param,
  ServeDecl,
  IndexDecl,
  AgentDecl,
  SourceDecl,
  StringLit,
  ViewDecl,
} from "../ast.ts";
import { DIAG } from "../messages.ts";
import type { Item, ToAstContext } from "./ast-nodes.ts";
import { isReal, node, nodes, tok, toks } from "./cst-access.ts";
import { ModelDeclReader } from "./model-decl.ts";
import type * as C from "./cst.ts";
import type { NumberPayload } from "./lexer.ts";

/** The node of any declaration (what a `declaration` holds). */
type AnyDeclCstNode = NonNullable<C.DeclarationCstChildren[keyof C.DeclarationCstChildren]>[number];

const DECL_KEYWORD: Record<string, string> = {
  sourceDecl: "source",
  entityDecl: "entity",
  fnDecl: "fn",
  externFnDecl: "extern fn",
  featureGroupDecl: "feature_group",
  onDemandDecl: "on_demand",
  viewDecl: "view",
  modelDecl: "model",
  serveDecl: "serve",
  indexDecl: "index",
  agentDecl: "agent",
};

/** Reads a declaration's chevrotain CST (grammar.ts) into the AST: the declarations (the model's in model-decl.ts), on CstReader's leaves and expressions. */
class AstBuilder extends ModelDeclReader {
  // ------------------------------------------------------------ declarations

  decl(root: CstNode): Decl | ImportDecl | undefined {
    // The root is a `declaration` (one child: the declaration's own node) or that node itself.
    let n = root as AnyDeclCstNode | undefined;
    if (root.name === "declaration") {
      n = undefined;
      const d = root as C.DeclarationCstNode;
      for (const key of Object.keys(d.children) as Array<keyof C.DeclarationCstChildren>) n ??= node(d, key);
    }
    if (!n) return undefined;
    if (n.name === "importDecl") return this.importDecl(n);
    const nameTok = tok(n, "name");
    if (!isReal(nameTok)) return undefined;
    this.declLabel = `${DECL_KEYWORD[n.name] ?? n.name} ${nameTok.image}`;
    switch (n.name) {
      case "sourceDecl":
        return this.sourceDecl(n);
      case "entityDecl":
        return this.entityDecl(n);
      case "fnDecl":
        return this.fnDecl(n);
      case "externFnDecl":
        return this.externFnDecl(n);
      case "featureGroupDecl":
        return this.featureGroupDecl(n);
      case "onDemandDecl":
        return this.onDemandDecl(n);
      case "viewDecl":
        return this.viewDecl(n);
      case "modelDecl":
        return this.modelDecl(n);
      case "serveDecl":
        return this.serveDecl(n);
      case "indexDecl":
        return this.indexDecl(n);
      case "agentDecl":
        return this.agentDecl(n);
      default:
        return undefined;
    }
  }

  private importDecl(n: C.ImportDeclCstNode): ImportDecl | undefined {
    const from = tok(n, "module");
    const names = toks(n, "names").filter(isReal).map((t) => this.ident(t));
    if (!isReal(from) || !names.length) return undefined;
    const module = this.stringLit(from);
    return { kind: "import", names, from: module, range: this.join(tok(n, "Kw_import"), module.range) };
  }

  private sourceDecl(n: C.SourceDeclCstNode): SourceDecl {
    const kwTok = tok(n, "Kw_source");
    const name = this.ident(tok(n, "name"));
    const decl: SourceDecl = { kind: "source", name, fields: [], range: this.at() };
    for (const item of nodes(n, "sourceItem")) {
      const path = tok(item, "Kw_path");
      const table = tok(item, "Kw_table");
      const value = tok(item, "Identifier");
      if (path) {
        const s = tok(item, "StringLit");
        if (!isReal(s)) continue;
        if (decl.location) this.err(path, DIAG.unexpectedToken.secondLocation(this.declLabel, decl.location.kind));
        const lit = this.stringLit(s);
        decl.location ??= { kind: "path", path: lit, range: this.join(path, lit.range) };
      } else if (table) {
        const d = this.dotted(node(item, "dottedName"));
        if (!d.text) continue;
        if (decl.location) this.err(table, DIAG.unexpectedToken.secondLocation(this.declLabel, decl.location.kind));
        decl.location ??= { kind: "table", table: d.text, range: this.join(table, d.range) };
      } else if (tok(item, "Kw_format")) {
        if (!isReal(value)) continue;
        if (decl.format) this.duplicate(tok(item, "Kw_format"), "format");
        decl.format ??= this.ident(value);
      } else if (tok(item, "Kw_event_time")) {
        if (!isReal(value)) continue;
        if (decl.eventTime) this.duplicate(tok(item, "Kw_event_time"), "event_time");
        decl.eventTime ??= this.ident(value);
      } else if (tok(item, "Kw_unique")) {
        const list = node(item, "uniqueList");
        const fields = list ? this.columnList(list) : isReal(value) ? [this.ident(value)] : [];
        if (!fields.length) continue;
        if (decl.unique) this.duplicate(tok(item, "Kw_unique"), "unique");
        decl.unique ??= fields;
      } else if (tok(item, "clause")?.image === "stream") {
        this.streamClause(decl, item);
      } else if (tok(item, "clause")) {
        this.validityClause(decl, tok(item, "clause"), tok(item, "clauseValue"));
      } else {
        const block = node(item, "fieldsBlock");
        for (const f of nodes(block, "fieldDecl")) {
          const field = this.fieldDecl(f);
          if (field) decl.fields.push(field);
        }
      }
    }
    decl.range = this.join(kwTok, this.endRange(n, "RCurly"));
    return decl;
  }

  /** `stream [lateness d]`. */
  private streamClause(decl: SourceDecl, item: C.SourceItemCstNode): void {
    const kw = tok(item, "clause");
    if (!isReal(kw)) return;
    if (decl.stream) this.duplicate(kw, "stream");
    const latenessNode = node(item, "lateness");
    const lateness = latenessNode ? this.expr(latenessNode) : undefined;
    const end = lateness ? lateness.range : this.tokRange(kw);
    decl.stream ??= { range: this.join(kw, end), ...(lateness ? { lateness } : {}) };
  }

  /** `valid_from c` / `valid_to c`. */
  private validityClause(decl: SourceDecl, clause: IToken | undefined, value: IToken | undefined): void {
    if (!isReal(clause) || !isReal(value)) return;
    const key = clause.image === "valid_from" ? "validFrom" : clause.image === "valid_to" ? "validTo" : undefined;
    if (!key) return; // the grammar's gate admits only these two
    if (decl[key]) this.duplicate(clause, clause.image);
    decl[key] ??= this.ident(value);
  }

  private fieldDecl(n: C.FieldDeclCstNode): FieldDecl | undefined {
    const nameTok = tok(n, "name");
    if (!isReal(nameTok)) return undefined;
    const name = this.ident(nameTok);
    const type = this.typeRef(node(n, "typeRef"));
    const constraints: FieldDecl["constraints"] = [];
    const formats: FieldDecl["formats"] = [];
    const columns: FieldDecl["columns"] = [];
    let last = type.range;
    for (const c of nodes(n, "fieldConstraint")) {
      const inTok = tok(c, "Kw_in");
      const checkTok = tok(c, "Kw_check");
      const formatTok = tok(c, "Kw_format");
      const fromTok = tok(c, "Kw_from");
      if (fromTok) {
        const column = this.stringLit(tok(c, "column"));
        columns.push({ name: column, range: (last = isReal(tok(c, "column")) ? this.join(fromTok, column.range) : this.tokRange(fromTok)) });
      } else if (formatTok) {
        const pattern = this.stringLit(tok(c, "pattern"));
        formats.push({ pattern, range: (last = isReal(tok(c, "pattern")) ? this.join(formatTok, pattern.range) : this.tokRange(formatTok)) });
      } else if (inTok) {
        const list = node(c, "parenList");
        const values = this.exprList(list);
        constraints.push({ kind: "in", values, range: (last = this.join(inTok, this.endRange(list, "RParen"))) });
      } else if (checkTok) {
        const body = node(c, "checkBody");
        const op = tok(body, "op");
        let expr: Expr;
        if (body?.recoveredNode) {
          expr = this.errorExpr(body);
        } else if (op) {
          // `check (> 0)` is `check (field > 0)`: the field takes the operator's range.
          const items: Item[] = [
            { k: "atom", e: { kind: "name", name: name.name, range: this.tokRange(op) } },
            { k: "op", t: op },
          ];
          this.flatten(node(body, "binaryExpr"), items);
          expr = this.shunt(items);
        } else {
          expr = this.expr(node(body, "expression"));
        }
        const close = tok(c, "RParen");
        constraints.push({ kind: "check", expr, range: (last = this.join(checkTok, isReal(close) ? close : expr.range)) });
      }
    }
    return { name, type, constraints, formats, columns, range: this.join(name.range, last) };
  }

  private entityDecl(n: C.EntityDeclCstNode): EntityDecl {
    const kwTok = tok(n, "Kw_entity");
    const name = this.ident(tok(n, "name"));
    const keys: Param[] = [];
    for (const kc of nodes(n, "keyClause")) {
      for (const p of nodes(kc, "param")) {
        if (isReal(tok(p, "name"))) keys.push(this.param(p));
      }
    }
    return { kind: "entity", name, keys, range: this.join(kwTok, this.endRange(n, "RCurly")) };
  }

  private params(n: C.ParamsCstNode | undefined): Param[] {
    return nodes(n, "param")
      .filter((p) => isReal(tok(p, "name")))
      .map((p) => this.param(p));
  }

  private fnDecl(n: C.FnDeclCstNode): FnDecl {
    const kwTok = tok(n, "Kw_fn");
    const name = this.ident(tok(n, "name"));
    const params = this.params(node(n, "params"));
    const returnType = this.typeRef(node(n, "typeRef"));
    const body = this.expr(node(n, "expression"));
    const end = body.kind === "error" ? this.nodeRange(n) : body.range;
    return { kind: "fn", name, params, returnType, body, range: this.join(kwTok, end) };
  }

  private externFnDecl(n: C.ExternFnDeclCstNode): ExternFnDecl {
    const kwTok = tok(n, "Kw_extern");
    const name = this.ident(tok(n, "name"));
    const params = this.params(node(n, "params"));
    const returnType = this.typeRef(node(n, "typeRef"));
    const module = this.stringLit(tok(n, "StringLit"));
    return { kind: "extern_fn", name, params, returnType, module, range: this.join(kwTok, this.endRange(n, "StringLit")) };
  }

  private featureGroupDecl(n: C.FeatureGroupDeclCstNode): FeatureGroupDecl {
    const kwTok = tok(n, "Kw_feature_group");
    const name = this.ident(tok(n, "name"));
    const versionTok = tok(n, "version");
    let version: FeatureGroupDecl["version"];
    if (isReal(versionTok)) {
      const p = versionTok.payload as NumberPayload | undefined;
      version = { value: p?.value ?? NaN, range: this.tokRange(versionTok) };
      if (p && !p.isInt) this.err(versionTok, DIAG.unexpectedToken.versionNotWhole(versionTok.image));
    }
    const entityTok = tok(n, "entity");
    const entity = isReal(entityTok) ? this.ident(entityTok) : undefined;
    const from = this.ident(tok(n, "from"));
    const keyList = node(n, "keyColumns");
    const whereNode = node(n, "where");
    const features: FeatureDef[] = [];
    for (const f of nodes(n, "featureDef")) {
      const fname = tok(f, "name");
      if (!isReal(fname)) continue;
      const id = this.ident(fname);
      const expr = this.expr(node(f, "expression"));
      features.push({ name: id, expr, range: this.join(id.range, expr.range) });
    }
    const decl: FeatureGroupDecl = { kind: "feature_group", name, from, features, range: this.at() };
    if (entity) decl.entity = entity;
    if (version) decl.version = version;
    if (keyList) decl.keyColumns = this.columnList(keyList);
    if (whereNode) decl.where = this.expr(whereNode);
    const schedule = node(n, "scheduleClause");
    if (schedule) {
      const s = this.schedule(schedule);
      if (s) decl.schedule = s;
    }
    decl.range = this.join(kwTok, this.endRange(n, "RCurly"));
    return decl;
  }

  private onDemandDecl(n: C.OnDemandDeclCstNode): OnDemandDecl {
    const kwTok = tok(n, "Kw_on_demand");
    const name = this.ident(tok(n, "name"));
    const params: OdtParam[] = [];
    for (const p of nodes(n, "odtParam")) {
      const req = tok(p, "Kw_request");
      if (req) {
        const inner = node(p, "param");
        if (!isReal(tok(inner, "name"))) continue;
        const param = this.param(inner, req);
        params.push({ kind: "request", name: param.name, type: param.type, range: param.range });
      } else {
        const g = tok(p, "group");
        if (!isReal(g)) continue;
        const group = this.ident(g);
        const feature = this.ident(tok(p, "feature"));
        params.push({ kind: "feature", group, feature, range: this.join(group.range, feature.range) });
      }
    }
    const returnType = this.typeRef(node(n, "typeRef"));
    const body = this.expr(node(n, "expression"));
    const end = body.kind === "error" ? this.nodeRange(n) : body.range;
    return { kind: "on_demand", name, params, returnType, body, range: this.join(kwTok, end) };
  }

  private viewDecl(n: C.ViewDeclCstNode): ViewDecl {
    const kwTok = tok(n, "Kw_view");
    const name = this.ident(tok(n, "name"));
    const decl: ViewDecl = { kind: "view", name, features: [], range: this.at() };
    if (isReal(tok(n, "entity"))) decl.entity = this.ident(tok(n, "entity"));
    const entityList = node(n, "entityColumns");
    if (entityList) decl.entityColumns = this.columnList(entityList);
    if (isReal(tok(n, "from"))) decl.from = this.ident(tok(n, "from"));
    const whereNode = node(n, "where");
    if (whereNode) decl.where = this.expr(whereNode);
    for (const item of nodes(n, "viewItem")) {
      const labelTok = tok(item, "Kw_label");
      const featuresTok = tok(item, "Kw_features");
      const ttlTok = tok(item, "Kw_ttl");
      const asOfTok = tok(item, "Kw_as_of");
      if (labelTok) {
        if (!isReal(tok(item, "name"))) continue;
        if (decl.label) this.duplicate(labelTok, "label");
        const lname = this.ident(tok(item, "name"));
        const expr = this.expr(node(item, "label"));
        decl.label ??= { name: lname, expr, range: this.join(labelTok, expr.range) };
      } else if (featuresTok) {
        const clause = this.joinClause(item);
        for (const r of nodes(item, "featureRef")) {
          const ref = this.featureRef(r);
          if (ref) decl.features.push({ ...ref, ...clause });
        }
      } else if (ttlTok) {
        if (decl.ttl) this.duplicate(ttlTok, "ttl");
        const e = this.expr(node(item, "expression"));
        decl.ttl ??= e;
      } else if (asOfTok) {
        const v = tok(item, "asOf");
        if (!isReal(v)) continue;
        if (decl.asOf) this.duplicate(asOfTok, "as_of");
        decl.asOf ??= this.ident(v);
      }
    }
    decl.range = this.join(kwTok, this.endRange(n, "RCurly"));
    return decl;
  }

  /** `by col` / `by (a, b)` and `as prefix` of a `features` line. */
  private joinClause(item: CstNode): JoinClause {
    const clause: JoinClause = {};
    const byTok = tok(item, "Kw_by");
    const single = tok(item, "by");
    const list = node(item, "byList");
    if (byTok && isReal(single)) {
      const col = this.ident(single);
      clause.by = { columns: [col], range: this.join(byTok, col.range) };
    } else if (byTok && list) {
      const columns = this.columnList(list);
      if (columns.length) clause.by = { columns, range: this.join(byTok, this.endRange(list, "RParen")) };
    }
    const prefix = tok(item, "prefix");
    if (isReal(prefix)) clause.prefix = this.ident(prefix);
    return clause;
  }

  private columnList(n: CstNode): Ident[] {
    return toks(n, "columns").filter(isReal).map((t) => this.ident(t));
  }

  private featureRef(n: C.FeatureRefCstNode): FeatureRef | undefined {
    const g = tok(n, "group");
    if (!isReal(g)) return undefined;
    const group = this.ident(g);
    const star = tok(n, "Star");
    const f = tok(n, "feature");
    if (isReal(star)) return { kind: "group_all", group, range: this.join(group.range, star) };
    if (isReal(f)) {
      const feature = this.ident(f);
      return { kind: "group_feature", group, feature, range: this.join(group.range, feature.range) };
    }
    if (tok(n, "Dot")) return undefined; // `group.` with nothing after it (already an FTI1001)
    return { kind: "name", name: group, range: group.range };
  }

  private serveDecl(n: C.ServeDeclCstNode): ServeDecl {
    const kwTok = tok(n, "Kw_serve");
    const model = this.ident(tok(n, "name"));
    const decl: ServeDecl = { kind: "serve", model, range: this.at() };
    for (const item of nodes(n, "serveItem")) {
      const online = tok(item, "Kw_online");
      const batch = tok(item, "Kw_batch");
      if (isReal(online)) {
        if (decl.online) this.duplicate(online, "online");
        decl.online ??= this.tokRange(online);
      } else if (batch) {
        const d = this.dotted(node(item, "dottedName"));
        if (!d.text) continue;
        if (decl.batch) this.duplicate(batch, "batch");
        decl.batch ??= { table: d.text, range: this.join(batch, d.range) };
      }
    }
    decl.range = this.join(kwTok, this.endRange(n, "RCurly"));
    return decl;
  }

  private indexDecl(n: C.IndexDeclCstNode): IndexDecl {
    const kwTok = tok(n, "Kw_index");
    const onTok = tok(n, "on");
    if (isReal(onTok) && onTok.image !== "on") this.err(onTok, DIAG.unexpectedToken.expected("`on`", " after the index name", `\`${onTok.image}\``, "write `index NAME on GROUP(COLUMN)`"));
    const decl: IndexDecl = {
      kind: "index",
      name: this.ident(tok(n, "name")),
      group: this.ident(tok(n, "group")),
      column: this.ident(tok(n, "column")),
      range: this.at(),
    };
    const entity = tok(n, "entity");
    if (isReal(entity)) decl.entity = this.ident(entity);
    decl.range = this.join(kwTok, isReal(entity) ? entity : this.endRange(n, "RParen"));
    return decl;
  }

  private agentDecl(n: C.AgentDeclCstNode): AgentDecl {
    const kwTok = tok(n, "Kw_agent");
    const decl: AgentDecl = {
      kind: "agent",
      name: this.ident(tok(n, "name")),
      entity: this.ident(tok(n, "entity")),
      context: [],
      retrieve: [],
      tools: [],
      range: this.at(),
    };
    for (const item of nodes(n, "agentItem")) {
      const llm = tok(item, "Kw_llm");
      const retrieve = tok(item, "Kw_retrieve");
      const prompt = tok(item, "Kw_prompt");
      if (llm) {
        if (!isReal(tok(item, "model"))) continue;
        if (decl.llm) this.duplicate(llm, "llm");
        decl.llm ??= this.stringLit(tok(item, "model"));
      } else if (tok(item, "Kw_context")) {
        for (const r of nodes(item, "featureRef")) {
          const ref = this.featureRef(r);
          if (ref) decl.context.push(ref);
        }
      } else if (retrieve) {
        const topTok = tok(item, "top");
        const kTok = tok(item, "k");
        if (!isReal(kTok)) continue;
        if (isReal(topTok) && topTok.image !== "top") this.err(topTok, DIAG.unexpectedToken.expected("`top`", " after the index name", `\`${topTok.image}\``, "write `retrieve INDEX top K`"));
        const p = kTok.payload as NumberPayload | undefined;
        decl.retrieve.push({
          index: this.ident(tok(item, "index")),
          k: { value: p && p.isInt ? p.value : NaN, range: this.tokRange(kTok) },
          range: this.join(retrieve, kTok),
        });
      } else if (tok(item, "Kw_tool")) {
        for (const t of toks(item, "tool")) if (isReal(t)) decl.tools.push(this.ident(t));
      } else if (prompt) {
        const parts = toks(item, "text").filter(isReal).map((t) => this.stringLit(t));
        if (parts.length === 0) continue;
        if (decl.prompt) this.duplicate(prompt, "prompt");
        decl.prompt ??= { text: parts.map((p) => p.value).join("\n"), parts, range: this.join(parts[0].range, parts[parts.length - 1].range) };
      }
    }
    decl.range = this.join(kwTok, this.endRange(n, "RCurly"));
    return decl;
  }
}

/** Converts one declaration's CST (a `declaration` node or a `*Decl` node) to the AST. */
export function declarationToAst(cst: CstNode, ctx: ToAstContext): Decl | ImportDecl | undefined {
  return new AstBuilder(ctx).decl(cst);
}
