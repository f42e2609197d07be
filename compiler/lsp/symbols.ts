// Every name in a spec and what it refers to, from the AST alone (so it works
// on a spec with errors): the basis of go to definition, find references,
// rename, document highlights and semantic tokens.
//
// Symbol keys: `decl:NAME` (a top-level declaration), `field:SOURCE.NAME`,
// `key:ENTITY.NAME`, `feature:GROUP.NAME`, `param:DECL.NAME` (fn, extern fn
// and request parameters), `label:VIEW.NAME`. A name in a group's expression
// resolves to an earlier feature of the group, else to the column of its
// input (a source field, or a feature of the input group, recursively).

import type { Decl, Expr, FeatureGroupDecl, Ident, ModelDecl, Program, Range, SourceDecl, ViewDecl } from "../ast.ts";
import { BUILTINS, WINDOW_AGGS } from "../builtins.ts";

export type SymbolKind = "decl" | "field" | "key" | "feature" | "param" | "label";

export interface Occurrence {
  key: string;
  kind: SymbolKind;
  name: string;
  range: Range;
  def: boolean;
}

/** A call of a built-in function or window aggregation, for hover and highlighting. */
export interface BuiltinUse {
  name: string;
  range: Range;
  window: boolean;
}

export interface SymbolIndex {
  occurrences: Occurrence[];
  builtins: BuiltinUse[];
  decls: Map<string, Decl>;
}

type Resolve = (name: string) => { key: string; kind: SymbolKind } | undefined;

class IndexBuilder {
  readonly occurrences: Occurrence[] = [];
  readonly builtins: BuiltinUse[] = [];
  readonly decls = new Map<string, Decl>();

  /** Names the spec imports: referred to like its own declarations, defined at the import. */
  readonly imported = new Set<string>();

  constructor(program: Program, importedDecls: Map<string, Decl>) {
    for (const d of program.decls) if (d.kind !== "serve" && d.name.name && !this.decls.has(d.name.name)) this.decls.set(d.name.name, d);
    for (const imp of program.imports) {
      for (const n of imp.names) {
        if (this.decls.has(n.name)) continue;
        this.imported.add(n.name);
        // The module's declaration (its kind and items, for completion): its ranges are in the module's file.
        const d = importedDecls.get(n.name);
        if (d) this.decls.set(n.name, d);
      }
    }
  }

  add(ident: Ident | undefined, key: string, kind: SymbolKind, def = false): void {
    if (ident?.name) this.occurrences.push({ key, kind, name: ident.name, range: ident.range, def });
  }

  ref(ident: Ident | undefined): void {
    if (ident?.name && (this.decls.has(ident.name) || this.imported.has(ident.name))) this.add(ident, `decl:${ident.name}`, "decl");
  }

  expr(e: Expr | undefined, resolve: Resolve): void {
    if (!e) return;
    switch (e.kind) {
      case "name": {
        // `check (> 0)` names its field at the operator: not a written name.
        if (e.range.end.offset - e.range.start.offset !== e.name.length) return;
        const target = resolve(e.name);
        if (target) this.occurrences.push({ ...target, name: e.name, range: e.range, def: false });
        return;
      }
      case "member":
        this.ref(e.object);
        if (this.decls.get(e.object.name)?.kind === "feature_group") this.add(e.property, `feature:${e.object.name}.${e.property.name}`, "feature");
        return;
      case "call":
        if (this.decls.has(e.callee.name) || this.imported.has(e.callee.name)) this.ref(e.callee);
        else if (BUILTINS[e.callee.name]) this.builtins.push({ name: e.callee.name, range: e.callee.range, window: false });
        e.args.forEach((a) => this.expr(a, resolve));
        return;
      case "window":
        if (e.agg.name in WINDOW_AGGS) this.builtins.push({ name: e.agg.name, range: e.agg.range, window: true });
        e.args.forEach((a) => this.expr(a, resolve));
        this.expr(e.over, resolve);
        return;
      case "unary":
        this.expr(e.operand, resolve);
        return;
      case "binary":
        this.expr(e.left, resolve);
        this.expr(e.right, resolve);
        return;
      case "if":
        this.expr(e.cond, resolve);
        this.expr(e.then, resolve);
        this.expr(e.else, resolve);
        return;
      case "in":
        this.expr(e.operand, resolve);
        e.values.forEach((v) => this.expr(v, resolve));
        return;
      case "list":
        e.items.forEach((v) => this.expr(v, resolve));
        return;
      default:
        return;
    }
  }

  /** What `name` means inside feature group `group` (an earlier feature, else an input column). */
  column(group: FeatureGroupDecl, name: string, seen = new Set<string>()): { key: string; kind: SymbolKind } | undefined {
    if (seen.has(group.name.name)) return undefined;
    seen.add(group.name.name);
    if (group.features.some((f) => f.name.name === name)) return { key: `feature:${group.name.name}.${name}`, kind: "feature" };
    const input = this.decls.get(group.from.name);
    if (input?.kind === "source") return input.fields.some((f) => f.name.name === name) ? { key: `field:${input.name.name}.${name}`, kind: "field" } : undefined;
    if (input?.kind === "feature_group") return this.column(input, name, seen);
    return undefined;
  }

  source(d: SourceDecl): void {
    const field = (n: string) => (d.fields.some((f) => f.name.name === n) ? { key: `field:${d.name.name}.${n}`, kind: "field" as const } : undefined);
    for (const f of d.fields) {
      this.add(f.name, `field:${d.name.name}.${f.name.name}`, "field", true);
      for (const c of f.constraints) {
        if (c.kind === "check") this.expr(c.expr, field);
        else c.values.forEach((v) => this.expr(v, field));
      }
    }
    if (d.eventTime && field(d.eventTime.name)) this.add(d.eventTime, `field:${d.name.name}.${d.eventTime.name}`, "field");
    for (const clause of [...(d.unique ?? []), d.validFrom, d.validTo]) if (clause && field(clause.name)) this.add(clause, `field:${d.name.name}.${clause.name}`, "field");
  }

  group(d: FeatureGroupDecl): void {
    this.ref(d.entity);
    this.ref(d.from);
    // `for account(sender)` and `where …` read the input's columns (not the group's own features).
    const input = (n: string) => this.inputColumn(d, n);
    for (const k of d.keyColumns ?? []) {
      const target = input(k.name);
      if (target) this.occurrences.push({ ...target, name: k.name, range: k.range, def: false });
    }
    this.expr(d.where, input);
    for (const f of d.features) {
      this.add(f.name, `feature:${d.name.name}.${f.name.name}`, "feature", true);
      this.expr(f.expr, (n) => (n === f.name.name ? this.inputColumn(d, n) : this.column(d, n)));
    }
  }

  /** A feature's own name in its expression can only mean the input's column of that name. */
  inputColumn(d: FeatureGroupDecl, name: string): { key: string; kind: SymbolKind } | undefined {
    const input = this.decls.get(d.from.name);
    if (input?.kind === "source") return input.fields.some((f) => f.name.name === name) ? { key: `field:${input.name.name}.${name}`, kind: "field" } : undefined;
    if (input?.kind === "feature_group") return this.column(input, name);
    return undefined;
  }

  /** The names a view makes available to its model: its groups' features and its ODTs. */
  viewInput(view: ViewDecl | undefined, name: string): { key: string; kind: SymbolKind } | undefined {
    if (!view) return undefined;
    for (const f of view.features) {
      if (f.kind === "name" && f.name.name === name) return { key: `decl:${name}`, kind: "decl" };
      if (f.kind === "group_feature" && f.feature.name === name) return { key: `feature:${f.group.name}.${name}`, kind: "feature" };
      if (f.kind === "group_all") {
        const g = this.decls.get(f.group.name);
        if (g?.kind === "feature_group" && g.features.some((x) => x.name.name === name)) return { key: `feature:${g.name.name}.${name}`, kind: "feature" };
      }
    }
    return undefined;
  }

  view(d: ViewDecl): void {
    this.ref(d.entity);
    this.ref(d.from);
    // The spine source: `from`, or the source of an old-style `label x = source.column`.
    const labelExpr = d.label?.expr;
    const spineName = d.from?.name ?? (labelExpr?.kind === "member" ? labelExpr.object.name : undefined);
    const spine = spineName ? this.decls.get(spineName) : undefined;
    const field = (n: string) =>
      spine?.kind === "source" && spine.fields.some((f) => f.name.name === n) ? { key: `field:${spine.name.name}.${n}`, kind: "field" as SymbolKind } : undefined;
    this.expr(d.where, field);
    for (const c of d.entityColumns ?? []) if (field(c.name)) this.add(c, `field:${spineName}.${c.name}`, "field");
    if (d.label) {
      this.add(d.label.name, `label:${d.name.name}.${d.label.name.name}`, "label", true);
      if (labelExpr?.kind === "member" && spine?.kind === "source") {
        this.ref(labelExpr.object);
        if (field(labelExpr.property.name)) this.add(labelExpr.property, `field:${spine.name.name}.${labelExpr.property.name}`, "field");
      } else this.expr(labelExpr, field);
    }
    const byColumns = new Set<Ident>();
    for (const f of d.features) {
      if (f.kind === "name") this.ref(f.name);
      else this.ref(f.group);
      if (f.kind === "group_feature") this.add(f.feature, `feature:${f.group.name}.${f.feature.name}`, "feature");
      // One `by` serves every reference of its line: index its columns once.
      for (const c of f.by?.columns ?? []) if (field(c.name) && !byColumns.has(c)) byColumns.add(c), this.add(c, `field:${spineName}.${c.name}`, "field");
    }
    this.expr(d.ttl, () => undefined);
  }

  model(d: ModelDecl): void {
    this.ref(d.view);
    const view = d.view && this.decls.get(d.view.name);
    for (const t of d.transforms) {
      for (const f of t.features) {
        const target = this.viewInput(view?.kind === "view" ? view : undefined, f.name);
        if (target) this.occurrences.push({ ...target, name: f.name, range: f.range, def: false });
      }
    }
  }

  decl(d: Decl): void {
    if (d.kind !== "serve") this.add(d.name, `decl:${d.name.name}`, "decl", this.decls.get(d.name.name) === d);
    const params = (ps: Array<{ name: Ident }>) => {
      for (const p of ps) this.add(p.name, `param:${d.kind === "serve" ? "" : d.name.name}.${p.name.name}`, "param", true);
      return (n: string) => (ps.some((p) => p.name.name === n) ? { key: `param:${d.kind === "serve" ? "" : d.name.name}.${n}`, kind: "param" as const } : undefined);
    };
    switch (d.kind) {
      case "source": return this.source(d);
      case "entity":
        for (const k of d.keys) this.add(k.name, `key:${d.name.name}.${k.name.name}`, "key", true);
        return;
      case "fn": return this.expr(d.body, params(d.params));
      case "extern_fn":
        params(d.params);
        return;
      case "feature_group": return this.group(d);
      case "on_demand": {
        const requests = params(d.params.filter((p) => p.kind === "request"));
        const features = new Map<string, string>();
        for (const p of d.params) {
          if (p.kind !== "feature") continue;
          this.ref(p.group);
          this.add(p.feature, `feature:${p.group.name}.${p.feature.name}`, "feature");
          features.set(p.feature.name, p.group.name);
        }
        return this.expr(d.body, (n) => requests(n) ?? (features.has(n) ? { key: `feature:${features.get(n)}.${n}`, kind: "feature" } : undefined));
      }
      case "view": return this.view(d);
      case "model": return this.model(d);
      case "serve":
        this.ref(d.model);
        return;
      case "index":
        this.ref(d.group);
        this.add(d.column, `feature:${d.group.name}.${d.column.name}`, "feature");
        if (d.entity) this.ref(d.entity);
        return;
      case "agent":
        this.ref(d.entity);
        for (const f of d.context) {
          if (f.kind === "name") this.ref(f.name);
          else this.ref(f.group);
          if (f.kind === "group_feature") this.add(f.feature, `feature:${f.group.name}.${f.feature.name}`, "feature");
        }
        for (const r of d.retrieve) this.ref(r.index);
        for (const t of d.tools) this.ref(t);
        return;
    }
  }
}

/** `importedDecls`: the declarations imported names stand for, from their modules. */
export function buildIndex(program: Program, importedDecls = new Map<string, Decl>()): SymbolIndex {
  const b = new IndexBuilder(program, importedDecls);
  for (const imp of program.imports) for (const n of imp.names) if (b.imported.has(n.name)) b.add(n, `decl:${n.name}`, "decl", true);
  for (const d of program.decls) b.decl(d);
  b.occurrences.sort((x, y) => x.range.start.offset - y.range.start.offset);
  return { occurrences: b.occurrences, builtins: b.builtins, decls: b.decls };
}

const contains = (r: Range, offset: number) => r.start.offset <= offset && offset <= r.end.offset && r.end.offset > r.start.offset;

export function occurrenceAt(index: SymbolIndex, offset: number): Occurrence | undefined {
  return index.occurrences.find((o) => contains(o.range, offset));
}

export function builtinAt(index: SymbolIndex, offset: number): BuiltinUse | undefined {
  return index.builtins.find((b) => contains(b.range, offset));
}

export function occurrencesOf(index: SymbolIndex, key: string): Occurrence[] {
  return index.occurrences.filter((o) => o.key === key);
}

export function definitionOf(index: SymbolIndex, key: string): Occurrence | undefined {
  return index.occurrences.find((o) => o.key === key && o.def);
}
