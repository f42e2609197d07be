// The checker: AST -> IR, collecting every diagnostic in one run (as Malloy
// and Hamilton do). Declarations are checked in dependency order — sources
// and entities, functions, feature groups, ODTs, views, models, serves — and
// a declaration that fails is left out of the IR, so later checks that use
// it stay quiet instead of cascading.

import type { Decl, ExternFnDecl, FnDecl, NamedDecl, Program } from "../ast.ts";
import type { IrAgent, IrEntity, IrIndex, IrModel, IrOdt, IrServe, IrSource, IrSpec, IrView } from "../ir.ts";
import { DIAG } from "../messages.ts";
import { checkAgent } from "./agents.ts";
import { checkIndex } from "./indexes.ts";
import { Ctx, kindLabel } from "./context.ts";
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
  text: string;
  file: string;
  specDir: string;
  name: string;
  specHash: string;
}

export interface CheckResult {
  ir?: IrSpec;
  ctx: Ctx;
}

export function checkProgram(input: CheckInput): CheckResult {
  const ctx = new Ctx(input.file, input.specDir);
  const decls = input.program.decls;
  collectSymbols(ctx, decls);
  const named = decls.filter((d): d is NamedDecl => d.kind !== "serve");
  const of = <K extends NamedDecl["kind"]>(kind: K) =>
    named.filter((d): d is Extract<NamedDecl, { kind: K }> => d.kind === kind && ctx.symbols.get(d.name.name) === d);

  const sources = new Map<string, IrSource>();
  for (const d of of("source")) {
    const s = checkSource(ctx, d, input.text);
    if (s) sources.set(s.name, s);
  }
  const entities = new Map<string, IrEntity>();
  for (const d of of("entity")) {
    const e = checkEntity(ctx, d);
    if (e) entities.set(e.name, e);
  }
  const functions = checkFunctions(ctx, named.filter((d): d is FnDecl | ExternFnDecl => (d.kind === "fn" || d.kind === "extern_fn") && ctx.symbols.get(d.name.name) === d));

  const groups = new Map<string, CheckedGroup>();
  for (const d of orderGroups(ctx, of("feature_group"))) {
    const g = checkGroup(ctx, d, { sources, entities, groups });
    const schedule = d.schedule && checkSchedule(ctx, d.schedule);
    if (g && schedule) g.ir.schedule = schedule;
    if (g) groups.set(g.ir.name, g);
  }
  const odts = new Map<string, IrOdt>();
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
  if (!ctx.diags.hasErrors) warnUnused(ctx, named);
  if (ctx.diags.hasErrors) return { ctx };
  return {
    ctx,
    ir: {
      name: input.name,
      file: input.file,
      specHash: input.specHash,
      sources: [...sources.values()],
      entities: [...entities.values()],
      functions,
      groups: [...groups.values()].map((g) => g.ir),
      onDemand: [...odts.values()],
      views: [...views.values()],
      models: [...models.values()],
      serves,
      ...(indexes.size ? { indexes: [...indexes.values()] } : {}),
      ...(agents.length ? { agents } : {}),
    },
  };
}

function collectSymbols(ctx: Ctx, decls: Decl[]): void {
  for (const d of decls) {
    if (d.kind === "serve") continue; // serve blocks are named by their model
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
