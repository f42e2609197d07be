// The checker: AST -> IR, collecting every diagnostic in one run (as Malloy
// and Hamilton do). Declarations are checked in dependency order — sources
// and entities, functions, feature groups, ODTs, views, models, serves — and
// a declaration that fails is left out of the IR, so later checks that use
// it stay quiet instead of cascading.

import type { Decl, ExternFnDecl, FnDecl, NamedDecl, Program } from "../ast.ts";
import type { IrAgent, IrEntity, IrGroup, IrIndex, IrModel, IrOdt, IrServe, IrSource, IrSpec, IrView } from "../ir.ts";
import { DIAG } from "../messages.ts";
import type { SpecModule } from "../modules.ts";
import { checkReservedNames } from "./reserved-names.ts";
import { checkAgent } from "./agents.ts";
import { checkIndex } from "./indexes.ts";
import { Ctx, kindLabel, type FnSignature } from "./context.ts";
import { bindImports, reportLocalClash, warnUnusedImports, type CheckedModule, type ImportedEnv, type ModuleScope } from "./imports.ts";
import { checkFunctions } from "./functions.ts";
import { checkGroup, orderGroups, type CheckedGroup } from "./groups.ts";
import { checkModel, checkServe } from "./models.ts";
import { metricsOf } from "../../runtime/catalogue.ts";
import { checkRetrain, checkSchedule } from "./retrain.ts";
import { checkOdt } from "./odts.ts";
import { checkEntity, checkSource } from "./sources.ts";
import { checkView } from "./views.ts";

export interface CheckInput {
  program: Program;
  /** The spec as a module, and the modules it imports, already checked (compiler/check-graph.ts). */
  modules?: { spec: SpecModule; checked: Map<SpecModule, CheckedModule> };
  text: string;
  file: string;
  specDir: string;
  name: string;
  specHash: string;
}

export interface CheckResult {
  ir?: IrSpec;
  ctx: Ctx;
  /** What importers of this spec need (when it has no errors). */
  scope?: ModuleScope;
  /**
   * With errors: the feature groups and views that checked (a declaration that fails is left
   * out), so the language server shows their types while another declaration is broken.
   */
  checkedParts?: { groups: IrGroup[]; views: IrView[] };
}

export function checkProgram(input: CheckInput): CheckResult {
  const ctx = new Ctx(input.file, input.specDir, { text: input.text, decls: input.program.decls });
  const decls = input.program.decls;
  const env: ImportedEnv = { sources: new Map(), entities: new Map(), groups: new Map(), odts: new Map() };
  const imports = input.modules ? bindImports(ctx, input.modules.spec, input.modules.checked, env) : { pulled: undefined, names: new Map<string, string>() };
  collectSymbols(ctx, decls, imports.names);
  checkReservedNames(ctx, decls);
  const named = decls.filter((d): d is NamedDecl => d.kind !== "serve");
  // The declarations that own their name, by kind (one pass, not one per kind).
  const byKind = new Map<string, NamedDecl[]>();
  for (const d of named) {
    if (ctx.symbols.get(d.name.name) !== d) continue;
    const list = byKind.get(d.kind);
    if (list) list.push(d);
    else byKind.set(d.kind, [d]);
  }
  const of = <K extends NamedDecl["kind"]>(kind: K) => [...(byKind.get(kind) ?? [])] as Extract<NamedDecl, { kind: K }>[];

  const checked = checkDeclarations(ctx, input.text, env, named, of);
  checked.serves = checkServes(ctx, decls, checked.models);
  checkRetrainBlocks(ctx, of("model"), checked.models, checked.serves, checked.views);
  checkAgentsAndIndexes(ctx, of, checked);

  // With errors the program is incomplete, and "unused" would mostly be noise.
  if (!ctx.diags.hasErrors) {
    warnUnused(ctx, named);
    warnUnusedImports(ctx);
  }
  if (ctx.diags.hasErrors) return { ctx, checkedParts: { groups: [...checked.groups.values()].map((g) => g.ir), views: [...checked.views.values()] } };
  const ir = assembleIr(ctx, input, imports.pulled, checked);
  const ownGroups = new Map([...checked.groups].filter(([name]) => !ctx.imported.has(name)));
  const signatures = new Map([...ctx.signatures].filter((e): e is [string, FnSignature] => !!e[1] && !ctx.imported.has(e[0])));
  return { ctx, ir, scope: { ir, groups: ownGroups, signatures } };
}

/** Everything one spec declares, checked: what the IR is assembled from. */
interface Checked {
  sources: Map<string, IrSource>;
  entities: Map<string, IrEntity>;
  functions: IrSpec["functions"];
  groups: Map<string, CheckedGroup>;
  odts: Map<string, IrOdt>;
  views: Map<string, IrView>;
  models: Map<string, IrModel>;
  serves: IrServe[];
  indexes: Map<string, IrIndex>;
  agents: IrAgent[];
}

type DeclsOfKind = <K extends NamedDecl["kind"]>(kind: K) => Extract<NamedDecl, { kind: K }>[];

/** Sources and entities, functions, feature groups (in dependency order), ODTs, views and models. */
function checkDeclarations(ctx: Ctx, text: string, env: ImportedEnv, named: NamedDecl[], of: DeclsOfKind): Checked {
  const { sources, entities, groups, odts } = env;
  // Functions first: a source's `check` may call one (checked later, its call had no signature and the check was dropped).
  const functions = checkFunctions(ctx, named.filter((d): d is FnDecl | ExternFnDecl => (d.kind === "fn" || d.kind === "extern_fn") && ctx.symbols.get(d.name.name) === d));
  for (const d of of("source")) {
    const s = checkSource(ctx, d, text);
    if (s) sources.set(s.name, s);
  }
  for (const d of of("entity")) {
    const e = checkEntity(ctx, d);
    if (e) entities.set(e.name, e);
  }
  for (const d of orderGroups(ctx, of("feature_group"))) {
    const g = checkGroup(ctx, d, { sources, entities, groups });
    const schedule = d.schedule && checkSchedule(ctx, d.schedule);
    if (g && schedule) g.ir.schedule = schedule;
    if (g) groups.set(g.ir.name, g);
  }
  for (const d of of("on_demand")) {
    const o = checkOdt(ctx, d, groups);
    if (o) odts.set(o.name, o);
  }
  const views = new Map<string, IrView>();
  for (const d of of("view")) {
    const v = checkView(ctx, d, { sources, entities, groups, odts }, text);
    if (v) views.set(v.name, v);
  }
  const models = new Map<string, IrModel>();
  for (const d of of("model")) {
    const m = checkModel(ctx, d, views, odts, sources);
    if (m) models.set(m.name, m);
  }
  return { sources, entities, functions, groups, odts, views, models, serves: [], indexes: new Map(), agents: [] };
}

/** One serve block per model; a second one for the same model is a duplicate declaration. */
function checkServes(ctx: Ctx, decls: Decl[], models: Map<string, IrModel>): IrServe[] {
  const serves: IrServe[] = [];
  const served = new Set<string>();
  for (const d of decls) {
    if (d.kind !== "serve") continue;
    if (served.has(d.model.name)) {
      ctx.report(d.model.range, DIAG.duplicateDeclaration.serve(d.model.name));
      continue;
    }
    served.add(d.model.name);
    const s = checkServe(ctx, d, models);
    if (s) serves.push(s);
  }
  return serves;
}

/** A model's retrain block is checked after the serves: its promotion gate reads the model's serve block. */
function checkRetrainBlocks(
  ctx: Ctx, modelDecls: Extract<NamedDecl, { kind: "model" }>[], models: Map<string, IrModel>, serves: IrServe[], views: Map<string, IrView>,
): void {
  for (const d of modelDecls) {
    const m = models.get(d.name.name);
    if (!d.retrain || !m) continue;
    const retrain = checkRetrain(ctx, d.retrain, m, serves.find((s) => s.model === m.name), metricsOf(m.task), views.get(m.view));
    if (retrain) m.retrain = retrain;
  }
}

/** Indexes read groups; agents read everything, so they come last. */
function checkAgentsAndIndexes(ctx: Ctx, of: DeclsOfKind, checked: Checked): void {
  for (const d of of("index")) {
    const ix = checkIndex(ctx, d, checked.groups);
    if (ix) checked.indexes.set(ix.name, ix);
  }
  for (const d of of("agent")) {
    const a = checkAgent(ctx, d, checked);
    if (a) checked.agents.push(a);
  }
}

/** The spec's IR: what it pulled from its imports first, then its own declarations. */
function assembleIr(ctx: Ctx, input: CheckInput, pulled: ReturnType<typeof bindImports>["pulled"] | undefined, c: Checked): IrSpec {
  const local = <T extends { name: string; module?: string }>(items: Iterable<T>) => [...items].filter((x) => !x.module && !ctx.imported.has(x.name));
  return {
    name: input.name,
    file: input.file,
    specHash: input.specHash,
    sources: [...(pulled?.sources ?? []), ...local(c.sources.values())],
    entities: [...(pulled?.entities ?? []), ...local(c.entities.values())],
    functions: [...(pulled?.functions ?? []), ...c.functions],
    groups: [...(pulled?.groups ?? []), ...local([...c.groups.values()].map((g) => g.ir))],
    // ODTs are model code: an imported one is generated again into the spec's transforms.ts, whose hash covers every step a model runs.
    onDemand: [...(pulled?.odts ?? []), ...local(c.odts.values())],
    views: [...c.views.values()],
    models: [...c.models.values()],
    serves: c.serves,
    ...(c.indexes.size ? { indexes: [...c.indexes.values()] } : {}),
    ...(c.agents.length ? { agents: c.agents } : {}),
  };
}

function collectSymbols(ctx: Ctx, decls: Decl[], pulledNames: Map<string, string>): void {
  for (const d of decls) {
    if (d.kind === "serve") continue; // serve blocks are named by their model
    if (reportLocalClash(ctx, d, pulledNames)) continue;
    const prev = ctx.symbols.get(d.name.name);
    if (prev) {
      ctx.report(d.name.range, DIAG.duplicateDeclaration.name(d.name.name, kindLabel(prev.kind), prev.name.range.start.line), [
        ctx.relatedHere(prev.name.range, "first declared here"),
      ]);
      continue;
    }
    ctx.symbols.set(d.name.name, d);
  }
}

function warnUnused(ctx: Ctx, decls: NamedDecl[]): void {
  for (const d of decls) {
    if (d.kind === "model" || d.kind === "agent" || d.kind === "index" || ctx.symbols.get(d.name.name) !== d) continue;
    if (ctx.used.has(d.name.name)) continue;
    ctx.report(d.name.range, DIAG.unused.declaration(kindLabel(d.kind), d.name.name));
  }
}
