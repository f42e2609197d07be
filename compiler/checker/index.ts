// The checker: AST -> IR, collecting every diagnostic in one run (as Malloy
// and Hamilton do). Declarations are checked in dependency order — sources
// and entities, functions, feature groups, ODTs, views, models, serves — and
// a declaration that fails is left out of the IR, so later checks that use
// it stay quiet instead of cascading.

import type { Decl, ExternFnDecl, FnDecl, NamedDecl, Program } from "../ast.ts";
import type { IrAgent, IrEntity, IrIndex, IrModel, IrOdt, IrServe, IrSource, IrSpec, IrView } from "../ir.ts";
import { DIAG } from "../messages.ts";
import type { SpecModule } from "../modules.ts";
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
}

export function checkProgram(input: CheckInput): CheckResult {
  const ctx = new Ctx(input.file, input.specDir, { text: input.text, decls: input.program.decls });
  const decls = input.program.decls;
  const env: ImportedEnv = { sources: new Map(), entities: new Map(), groups: new Map(), odts: new Map() };
  const imports = input.modules ? bindImports(ctx, input.modules.spec, input.modules.checked, env) : { pulled: undefined, names: new Map<string, string>() };
  collectSymbols(ctx, decls, imports.names);
  const named = decls.filter((d): d is NamedDecl => d.kind !== "serve");
  const of = <K extends NamedDecl["kind"]>(kind: K) =>
    named.filter((d): d is Extract<NamedDecl, { kind: K }> => d.kind === kind && ctx.symbols.get(d.name.name) === d);

  const sources = env.sources;
  for (const d of of("source")) {
    const s = checkSource(ctx, d, input.text);
    if (s) sources.set(s.name, s);
  }
  const entities = env.entities;
  for (const d of of("entity")) {
    const e = checkEntity(ctx, d);
    if (e) entities.set(e.name, e);
  }
  const functions = checkFunctions(ctx, named.filter((d): d is FnDecl | ExternFnDecl => (d.kind === "fn" || d.kind === "extern_fn") && ctx.symbols.get(d.name.name) === d));

  const groups = env.groups;
  for (const d of orderGroups(ctx, of("feature_group"))) {
    const g = checkGroup(ctx, d, { sources, entities, groups });
    const schedule = d.schedule && checkSchedule(ctx, d.schedule);
    if (g && schedule) g.ir.schedule = schedule;
    if (g) groups.set(g.ir.name, g);
  }
  const odts = env.odts;
  for (const d of of("on_demand")) {
    const o = checkOdt(ctx, d, groups);
    if (o) odts.set(o.name, o);
  }
  const views = new Map<string, IrView>();
  for (const d of of("view")) {
    const v = checkView(ctx, d, { sources, entities, groups, odts }, input.text);
    if (v) views.set(v.name, v);
  }
  const models = new Map<string, IrModel>();
  for (const d of of("model")) {
    const m = checkModel(ctx, d, views, odts);
    if (m) models.set(m.name, m);
  }
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
  for (const d of of("model")) {
    const m = models.get(d.name.name);
    if (!d.retrain || !m) continue;
    const retrain = checkRetrain(ctx, d.retrain, m, serves.find((s) => s.model === m.name), metricsOf(m.task));
    if (retrain) m.retrain = retrain;
  }

  const indexes = new Map<string, IrIndex>();
  for (const d of of("index")) {
    const ix = checkIndex(ctx, d, groups);
    if (ix) indexes.set(ix.name, ix);
  }
  const agents: IrAgent[] = [];
  for (const d of of("agent")) {
    const a = checkAgent(ctx, d, { entities, groups, indexes, models, views, serves });
    if (a) agents.push(a);
  }

  // With errors the program is incomplete, and "unused" would mostly be noise.
  if (!ctx.diags.hasErrors) {
    warnUnused(ctx, named);
    warnUnusedImports(ctx);
  }
  if (ctx.diags.hasErrors) return { ctx };
  const local = <T extends { name: string; module?: string }>(items: Iterable<T>) => [...items].filter((x) => !x.module && !ctx.imported.has(x.name));
  const pulled = imports.pulled;
  const ir: IrSpec = {
    name: input.name,
    file: input.file,
    specHash: input.specHash,
    sources: [...(pulled?.sources ?? []), ...local(sources.values())],
    entities: [...(pulled?.entities ?? []), ...local(entities.values())],
    functions: [...(pulled?.functions ?? []), ...functions],
    groups: [...(pulled?.groups ?? []), ...local([...groups.values()].map((g) => g.ir))],
    // ODTs are model code: an imported one is generated again into the spec's transforms.ts, whose hash covers every step a model runs.
    onDemand: [...(pulled?.odts ?? []), ...local(odts.values())],
    views: [...views.values()],
    models: [...models.values()],
    serves,
    ...(indexes.size ? { indexes: [...indexes.values()] } : {}),
    ...(agents.length ? { agents } : {}),
  };
  const ownGroups = new Map([...groups].filter(([name]) => !ctx.imported.has(name)));
  const signatures = new Map([...ctx.signatures].filter((e): e is [string, FnSignature] => !!e[1] && !ctx.imported.has(e[0])));
  return { ctx, ir, scope: { ir, groups: ownGroups, signatures } };
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
