// Imported declarations. A spec's `import { a, b } from "./common.fti"`
// puts the module's declarations `a` and `b` in its scope, as they were
// checked in the module (never re-checked, never copied into the spec's
// source). The spec's IR then carries what it needs from the module: the
// imported declarations and everything they depend on (a group's input chain,
// its entity, the fns its expressions call), each tagged with the module
// that declares it, so the emitters import their generated code from there
// instead of generating it again. Names are unique across a spec and every
// declaration that reaches it: a store table or a generated name belongs to
// one declaration.

import type { ImportDecl, NamedDecl } from "../ast.ts";
import type { IrEntity, IrExpr, IrFunction, IrGroup, IrOdt, IrSource, IrSpec } from "../ir.ts";
import { calledFns } from "../ir-walk.ts";
import { DIAG } from "../messages.ts";
import type { SpecModule } from "../modules.ts";
import { kindLabel, type Ctx, type FnSignature } from "./context.ts";
import type { CheckedGroup } from "./groups.ts";

/** What a checked spec offers the specs that import it. */
export interface CheckedModule {
  module: SpecModule;
  /** Its own top-level declarations (what may be imported from it), by name. */
  decls: Map<string, NamedDecl>;
  /** Names it imports itself, and from which module file (for "import it from there"). */
  importedFrom: Map<string, string>;
  /** Errors found in it (its imports' included); an importer uses nothing of a module with errors. */
  errors: number;
  /** Its IR and checked details; absent when it has errors. */
  scope?: ModuleScope;
}

export interface ModuleScope {
  ir: IrSpec;
  /** Its own groups with their lineage and output columns, which views and ODTs of importers need. */
  groups: Map<string, CheckedGroup>;
  signatures: Map<string, FnSignature>;
}

const IMPORTABLE = new Set<NamedDecl["kind"]>(["source", "entity", "fn", "extern_fn", "feature_group", "on_demand"]);

/** The IR a spec takes from its modules, in dependency order, each tagged with its module. */
export interface Pulled {
  sources: IrSource[];
  entities: IrEntity[];
  functions: IrFunction[];
  groups: IrGroup[];
  odts: IrOdt[];
}

/** What the spec's own checks see of the imported names (the env maps of checker/index.ts). */
export interface ImportedEnv {
  sources: Map<string, IrSource>;
  entities: Map<string, IrEntity>;
  groups: Map<string, CheckedGroup>;
  odts: Map<string, IrOdt>;
}

type Item = { kind: keyof Pulled; item: IrSource | IrEntity | IrFunction | IrGroup | IrOdt };

/**
 * Binds every import line of `spec` into `ctx`: imported names enter the
 * symbol table, their IR the env maps, and their dependencies `pulled`.
 * Names that cannot be bound are reported and then stay quiet where used.
 */
export function bindImports(ctx: Ctx, spec: SpecModule, checked: Map<SpecModule, CheckedModule>, env: ImportedEnv): { pulled: Pulled; names: Map<string, string> } {
  const pulled = new PulledSet(ctx);
  for (const { decl, target } of spec.imports) {
    const mod = target && checked.get(target);
    if (!mod) {
      // The path was reported (not found, outside the project, a cycle): its names stay quiet.
      for (const n of decl.names) ctx.silent.add(n.name);
      continue;
    }
    if (mod.errors) ctx.report(decl.from.range, DIAG.moduleHasErrors.of(decl.from.value, mod.errors));
    for (const name of decl.names) bindName(ctx, decl, name, mod, env, pulled);
  }
  return { pulled: pulled.result(), names: pulled.names() };
}

function bindName(ctx: Ctx, decl: ImportDecl, name: ImportDecl["names"][number], mod: CheckedModule, env: ImportedEnv, pulled: PulledSet): void {
  const from = decl.from.value;
  const already = ctx.imported.get(name.name);
  if (already) {
    ctx.report(name.range, DIAG.importClash.twice(name.name, already.module));
    return;
  }
  const d = mod.decls.get(name.name);
  if (!d) {
    const origin = mod.importedFrom.get(name.name);
    const candidates = [...mod.decls.values()].filter((x) => IMPORTABLE.has(x.kind)).map((x) => x.name.name);
    ctx.report(name.range, origin ? DIAG.notExported.reexport(name.name, from, origin) : DIAG.notExported.unknown(name.name, from, candidates));
    ctx.silent.add(name.name);
    return;
  }
  if (!IMPORTABLE.has(d.kind)) {
    ctx.report(name.range, DIAG.notExported.kind(name.name, kindLabel(d.kind), from));
    ctx.silent.add(name.name);
    return;
  }
  ctx.symbols.set(name.name, d);
  ctx.imported.set(name.name, { ident: name, module: from });
  const scope = mod.scope;
  if (!scope) return; // the module has errors (reported at the path): its names resolve, their users stay quiet
  const tag = mod.module.name;
  switch (d.kind) {
    case "source": env.sources.set(name.name, tagged(byName(scope.ir.sources, name.name), tag)); break;
    case "entity": env.entities.set(name.name, tagged(byName(scope.ir.entities, name.name), tag)); break;
    case "feature_group": env.groups.set(name.name, scope.groups.get(name.name)!); break;
    case "on_demand": env.odts.set(name.name, tagged(byName(scope.ir.onDemand, name.name), tag)); break;
    default: ctx.signatures.set(name.name, scope.signatures.get(name.name)!);
  }
  for (const dep of closure(scope.ir, d.kind, name.name)) pulled.add(dep, tag, name.name);
}

const byName = <T extends { name: string }>(items: T[], name: string): T => items.find((x) => x.name === name)!;
const tagged = <T extends { module?: string }>(item: T, module: string): T => (item.module ? item : { ...item, module });

/** Collects pulled IR once per declaration; two different declarations of one name are an error. */
class PulledSet {
  private readonly items = new Map<string, Item & { module: string }>();
  constructor(private readonly ctx: Ctx) {}

  add(dep: Item, tag: string, needs: string): void {
    const item = tagged(dep.item, tag);
    const module = item.module!;
    const prev = this.items.get(item.name);
    if (!prev) {
      this.items.set(item.name, { kind: dep.kind, item, module });
      return;
    }
    if (prev.module === module && prev.kind === dep.kind) return; // the same declaration, reached twice
    const at = this.ctx.imported.get(needs)!.ident;
    this.ctx.report(at.range, DIAG.importClash.dependency(item.name, needs, prev.module, module));
  }

  /** Names pulled in that the spec's own declarations must not reuse. */
  names(): Map<string, string> {
    return new Map([...this.items.values()].map((x) => [x.item.name, x.module]));
  }

  result(): Pulled {
    const out: Pulled = { sources: [], entities: [], functions: [], groups: [], odts: [] };
    for (const { kind, item } of this.items.values()) (out[kind] as unknown[]).push(item);
    return out;
  }
}

/**
 * A declaration of a module's IR and everything it depends on, dependencies
 * first (a group's input chain, the reference groups it looks up, its entity,
 * the fns its expressions call): what an importer's IR must carry to compute
 * and serve it.
 */
function closure(ir: IrSpec, kind: NamedDecl["kind"], name: string): Item[] {
  const out: Item[] = [];
  const seen = new Set<string>();
  const fn = (n: string): void => {
    const f = ir.functions.find((x) => x.name === n);
    if (!f || seen.has(`fn:${n}`)) return;
    seen.add(`fn:${n}`);
    if (f.body) calledFns(f.body).forEach(fn);
    out.push({ kind: "functions", item: f });
  };
  const source = (n: string): void => {
    const s = ir.sources.find((x) => x.name === n)!;
    if (seen.has(`source:${n}`)) return;
    seen.add(`source:${n}`);
    for (const f of s.fields) for (const c of f.checks) calledFns(c.expr).forEach(fn);
    out.push({ kind: "sources", item: s });
  };
  const entity = (n: string): void => {
    if (seen.has(`entity:${n}`)) return;
    seen.add(`entity:${n}`);
    out.push({ kind: "entities", item: ir.entities.find((x) => x.name === n)! });
  };
  const group = (n: string): void => {
    const g = ir.groups.find((x) => x.name === n)!;
    if (seen.has(`group:${n}`)) return;
    seen.add(`group:${n}`);
    if (g.input.kind === "group") group(g.input.name);
    else source(g.input.name);
    for (const l of g.lookups ?? []) group(l.group); // its SQL reads their tables: computed before it
    if (g.entity !== null) entity(g.entity); // a global group has none
    for (const e of groupExprs(g)) calledFns(e).forEach(fn);
    out.push({ kind: "groups", item: g });
  };
  switch (kind) {
    case "source": source(name); break;
    case "entity": entity(name); break;
    case "feature_group": group(name); break;
    case "on_demand": {
      const o = ir.onDemand.find((x) => x.name === name)!;
      for (const p of o.featureParams) group(p.group);
      calledFns(o.body).forEach(fn);
      out.push({ kind: "odts", item: o });
      break;
    }
    default: fn(name);
  }
  return out;
}

function groupExprs(g: IrGroup): IrExpr[] {
  const out: IrExpr[] = g.where ? [g.where] : [];
  for (const f of g.features) {
    if (f.kind === "row") out.push(f.expr);
    else if (f.arg) out.push(f.arg);
  }
  return out;
}

/** A local declaration named like an imported one, or like a declaration an import depends on. */
export function reportLocalClash(ctx: Ctx, d: NamedDecl, pulledNames: Map<string, string>): boolean {
  const imp = ctx.imported.get(d.name.name);
  if (imp) {
    ctx.report(d.name.range, DIAG.importClash.withLocal(d.name.name, imp.module), [ctx.relatedHere(imp.ident.range, "imported here")]);
    return true;
  }
  const module = pulledNames.get(d.name.name);
  if (module) {
    ctx.report(d.name.range, DIAG.importClash.localDependency(d.name.name, module));
    return true;
  }
  return false;
}

/** FTI2044: imported names the spec never uses (only for a spec without errors). */
export function warnUnusedImports(ctx: Ctx): void {
  for (const [name, { ident, module }] of ctx.imported) {
    if (!ctx.used.has(name)) ctx.report(ident.range, DIAG.unusedImport.name(name, module));
  }
}
