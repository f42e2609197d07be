// Models: view, task, algorithm with typed hyperparameters, the MDTs per
// input, split, metrics and `require` gates. Serve blocks are checked here
// too, since they only name a model.

import type { Arg, Expr, ModelDecl, ServeDecl } from "../ast.ts";
import type { IrAlgorithm, IrMdt, IrModel, IrModelInput, IrOdt, IrServe, IrSource, IrType, IrView } from "../ir.ts";
import {
  ALGORITHM_KINDS,
  ALGORITHMS,
  MDT_KINDS,
  METRICS,
  metricsOf,
  TASKS,
  type BuiltinAlgorithm,
  type Hyperparameter,
  type Task,
} from "../../runtime/catalogue.ts";
import { DIAG, type Message } from "../messages.ts";
import { checkClassLabel } from "./class-label.ts";
import { runClauses, type ClauseCheck } from "./clauses.ts";
import type { Ctx } from "./context.ts";
import { isNumeric, show } from "./types.ts";

/**
 * Real metrics fti does not compute (or computes for the other task): a
 * spelling hint would name a different metric (`mape` is one edit from `mae`),
 * so these get none.
 */
const OTHER_METRICS = new Set([
  ...Object.keys(METRICS),
  ...["mape", "smape", "mse", "msle", "rmsle", "medae", "median_absolute_error", "explained_variance", "huber", "poisson", "tweedie"],
  ...["f1", "precision", "recall", "brier", "pr_auc", "average_precision", "roc_auc", "log_loss", "error", "mcc", "kappa"],
]);

/** What a name that is not a metric of the task may have meant: nothing when it is a different real metric. */
function metricCandidates(name: string, valid: string[]): string[] {
  return OTHER_METRICS.has(name.toLowerCase()) ? [] : valid;
}

/** The built-in algorithms that do `task`. */
function algorithmsFor(task: Task): string[] {
  return (Object.keys(ALGORITHMS) as BuiltinAlgorithm[]).filter((a) => (ALGORITHMS[a].tasks as readonly Task[]).includes(task));
}

function numberArg(e: Expr): number | undefined {
  if (e.kind === "number") return e.value;
  if (e.kind === "unary" && e.op === "-" && e.operand.kind === "number") return -e.operand.value;
  return undefined;
}

/** What the clause checks of one model find, filled in clause order. */
interface ModelDraft {
  views: Map<string, IrView>;
  odts: Map<string, IrOdt>;
  sources: ReadonlyMap<string, IrSource>;
  where: string;
  view?: IrView;
  task?: IrModel["task"];
  algorithm?: IrAlgorithm;
  /** Every view feature and ODT, each with its MDT steps. */
  inputs: IrModelInput[];
  /** Inputs with a `transform` line (reported or not: no "needs one_hot" on top). */
  transformed: Set<string>;
  split?: IrModel["split"];
  metrics: string[];
  requires: IrModel["requires"];
}

type ModelClause = ClauseCheck<ModelDecl, ModelDraft>;

const missing = (ctx: Ctx, decl: ModelDecl, d: ModelDraft, what: string, example: string): false => {
  ctx.report(decl.name.range, DIAG.missingClause.modelClause(d.where, what, example));
  return false;
};

const viewClause: ModelClause = {
  clause: "view",
  check(ctx, decl, d) {
    if (!decl.view) return missing(ctx, decl, d, "view", "view <view name>");
    const v = ctx.resolve(decl.view, ["view"], "view");
    d.view = v && d.views.get(v.name.name);
    if (d.view) {
      d.inputs = [
        ...d.view.features.map((f) => ({ name: f.name, from: "feature" as const, type: f.type, mdts: [] as IrMdt[] })),
        ...d.view.odts.map((o) => ({ name: o, from: "odt" as const, type: d.odts.get(o)!.returns, mdts: [] as IrMdt[] })),
      ];
      if (d.inputs.length === 0) {
        ctx.report(decl.view.range, DIAG.missingClause.modelInputs(d.where, d.view.name));
        return false;
      }
    }
    return !!d.view;
  },
};

/** The task, and whether the view's label fits it. */
const taskClause: ModelClause = {
  clause: "task",
  check(ctx, decl, d) {
    if (!decl.task) return missing(ctx, decl, d, "task", "task regression");
    if (!(TASKS as readonly string[]).includes(decl.task.name)) {
      ctx.report(decl.task.range, DIAG.unknownOption.task(decl.task.name, TASKS));
      return false;
    }
    d.task = decl.task.name as IrModel["task"];
    if (!d.view) return true;
    const lt = d.view.label.type;
    const view = d.view;
    const label = `\`${view.label.name} = ${view.label.text}\``;
    let ok = true;
    if (d.task === "regression" && !isNumeric(lt)) {
      ctx.report(decl.task.range, DIAG.labelTaskMisfit.regression(label, view.name, show(lt)));
      ok = false;
    }
    if (d.task === "binary_classification" && lt.base !== "bool") {
      const condition = `label ${view.label.name} = ${lt.base === "int" ? `${view.label.text} == 1` : lt.base === "string" ? `${view.label.text} == "..."` : `${view.label.text} > 15`}`;
      ctx.report(decl.task.range, DIAG.labelTaskMisfit.binary(label, view.name, show(lt), condition));
      ok = false;
    }
    if (d.task === "multiclass_classification" && !checkClassLabel(ctx, decl.task.range, view, d.sources.get(view.spine.source))) ok = false;
    return ok;
  },
};

const algorithmClause: ModelClause = {
  clause: "algorithm",
  check(ctx, decl, d) {
    if (!decl.algorithm) return missing(ctx, decl, d, "algorithm", "algorithm gbdt(trees: 200)");
    d.algorithm = checkAlgorithm(ctx, decl.algorithm, d.task);
    return !!d.algorithm;
  },
};

/** `transform f, g: step, step`: the MDT steps of inputs, one line per input. */
const transformClause: ModelClause = {
  clause: "transform",
  check(ctx, decl, d) {
    let ok = true;
    for (const tr of decl.transforms) {
      const steps = tr.steps.map((s) => checkMdt(ctx, s));
      const misplaced = steps.findIndex((s, i) => s?.kind === "one_hot" && i !== steps.length - 1);
      if (steps.every((s) => s) && misplaced >= 0) ctx.report(tr.steps[misplaced].range, DIAG.mdtMisfit.oneHotNotLast());
      if (steps.some((s) => !s) || misplaced >= 0) {
        ok = false;
        for (const f of tr.features) d.transformed.add(f.name);
        continue;
      }
      for (const f of tr.features) if (!applyTransform(ctx, d, f, tr, steps as IrMdt[])) ok = false;
    }
    return ok;
  },
};

/** One input's steps from a transform line; false after an error. */
function applyTransform(ctx: Ctx, d: ModelDraft, f: { name: string; range: Arg["range"] }, tr: ModelDecl["transforms"][number], steps: IrMdt[]): boolean {
  if (!d.view) return true;
  const input = d.inputs.find((i) => i.name === f.name);
  if (!input) {
    ctx.report(f.range, DIAG.unknownName.viewFeature(f.name, d.view.name, d.inputs.map((i) => i.name)));
    return false;
  }
  if (d.transformed.has(f.name)) {
    ctx.report(f.range, DIAG.duplicate.transform(f.name));
    return false;
  }
  d.transformed.add(f.name);
  input.mdts = steps;
  return fitsType(ctx, input.name, input.type, steps, tr.steps.map((s) => s.range));
}

/** Every input must end up numeric, and missing only where the algorithm can take it. */
const inputsClause: ModelClause = {
  clause: "inputs",
  check(ctx, decl, d) {
    let ok = true;
    for (const input of d.inputs) {
      const lastKind = input.mdts.at(-1)?.kind;
      if (input.type.base === "string" && lastKind !== "one_hot" && !(d.transformed.has(input.name) && !input.mdts.length)) {
        ctx.report(decl.name.range, DIAG.mdtMisfit.stringInput(input.name));
        ok = false;
      }
      const linear = d.algorithm && (d.algorithm.kind === "linear" || d.algorithm.kind === "logistic");
      if (linear && input.type.nullable && !input.mdts.some((m) => m.kind === "impute") && lastKind !== "one_hot") {
        ctx.report(decl.algorithm!.range, DIAG.missingValues.input(input.name, d.algorithm!.kind));
        ok = false;
      }
    }
    return ok;
  },
};

const splitClause: ModelClause = {
  clause: "split",
  check(ctx, decl, d) {
    d.split = checkSplit(ctx, decl);
    // Rows without time: only a random split (the same rows on every run) has a meaning.
    if (d.split && d.view && d.view.spine.eventTime === null && d.split.kind !== "random") {
      ctx.report(decl.split!.range, DIAG.untimedSplit.model(decl.name.name, d.view.name, d.view.spine.source));
      return false;
    }
    return !!d.split;
  },
};

/** `metric` and `require`: metrics of the task; a gate compares with a number literal. */
const metricsClause: ModelClause = {
  clause: "metric, require",
  check(ctx, decl, d) {
    let ok = true;
    // An unknown task (reported by its clause): the metric names are still checked, against every task's.
    const valid: string[] = d.task ? metricsOf(d.task) : [...new Set(TASKS.flatMap((t) => metricsOf(t)))];
    const task = d.task ?? "any task";
    for (const m of decl.metrics) {
      if (!valid.includes(m.name)) {
        ctx.report(m.range, DIAG.unknownMetric.metric(m.name, task, valid, metricCandidates(m.name, valid)));
        ok = false;
      } else if (!d.metrics.includes(m.name)) d.metrics.push(m.name);
    }
    for (const r of decl.requires) {
      const value = numberArg(r.value);
      if (!valid.includes(r.metric.name)) {
        ctx.report(r.metric.range, DIAG.unknownMetric.require(r.metric.name, task, valid, metricCandidates(r.metric.name, valid)));
        ok = false;
      } else if (value === undefined) {
        ctx.report(r.value.range, DIAG.typeMismatch.requireLiteral());
        ok = false;
      } else d.requires.push({ metric: r.metric.name, op: r.op, value });
    }
    if (!d.metrics.length) d.metrics.push(...valid);
    return ok;
  },
};

/** A model's clause checks, in order (later ones read what earlier ones found). */
export const MODEL_CLAUSES: readonly ModelClause[] = [viewClause, taskClause, algorithmClause, transformClause, inputsClause, splitClause, metricsClause];

export function checkModel(
  ctx: Ctx,
  decl: ModelDecl,
  views: Map<string, IrView>,
  odts: Map<string, IrOdt>,
  sources: ReadonlyMap<string, IrSource>,
): IrModel | undefined {
  const d: ModelDraft = { views, odts, sources, where: `model \`${decl.name.name}\``, inputs: [], transformed: new Set(), metrics: [], requires: [] };
  const ok = runClauses(ctx, decl, d, MODEL_CLAUSES);
  if (!ok || !d.view || !d.task || !d.algorithm || !d.split) return undefined;
  return {
    name: decl.name.name,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    view: d.view.name,
    task: d.task,
    algorithm: d.algorithm,
    inputs: d.inputs,
    split: d.split,
    metrics: d.metrics,
    requires: d.requires,
  };
}

function checkAlgorithm(ctx: Ctx, alg: NonNullable<ModelDecl["algorithm"]>, task: IrModel["task"] | undefined): IrAlgorithm | undefined {
  const name = alg.name.name;
  if (name === "onnx") {
    if (!alg.file) {
      ctx.report(alg.range, DIAG.missingClause.onnxFile());
      return undefined;
    }
    return { kind: "onnx", file: alg.file.value };
  }
  if (!Object.hasOwn(ALGORITHMS, name)) {
    ctx.report(alg.name.range, DIAG.unknownOption.algorithm(name, [...ALGORITHM_KINDS]));
    return undefined;
  }
  const builtin = ALGORITHMS[name as BuiltinAlgorithm];
  const spec: Record<string, Hyperparameter> = builtin.params;
  if (task && !(builtin.tasks as readonly Task[]).includes(task)) {
    ctx.report(alg.name.range, DIAG.taskMisfit.algorithm(name, task, algorithmsFor(task).join(" or ")));
    return undefined;
  }
  const params: Record<string, number> = Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, v.default]));
  let ok = true;
  for (const a of alg.args) {
    if (!a.name) {
      ctx.report(a.range, DIAG.hyperparameter.positional(name, Object.keys(spec)[0]));
      ok = false;
      continue;
    }
    const hs = spec[a.name.name];
    if (!hs) {
      ctx.report(a.name.range, DIAG.hyperparameter.unknown(name, a.name.name, Object.keys(spec)));
      ok = false;
      continue;
    }
    const v = numberArg(a.value);
    if (v === undefined || (hs.type === "int" && !Number.isInteger(v)) || v < hs.min || v > hs.max) {
      ctx.report(a.value.range, DIAG.hyperparameter.range(a.name.name, hs.type === "int", hs.min, hs.max));
      ok = false;
      continue;
    }
    params[a.name.name] = v;
  }
  if (!ok) return undefined;
  return { kind: name, params } as IrAlgorithm;
}

function checkMdt(ctx: Ctx, call: { name: { name: string; range: Arg["range"] }; args: Arg[]; range: Arg["range"] }): IrMdt | undefined {
  const name = call.name.name;
  const named = new Map(call.args.filter((a) => a.name).map((a) => [a.name!.name, a]));
  const positional = call.args.filter((a) => !a.name);
  const bad = (m: Message, range = call.range) => {
    ctx.report(range, m);
    return undefined;
  };
  const noArgs = () => (call.args.length ? bad(DIAG.mdtMisfit.noArguments(name)) : true);
  switch (name) {
    case "standard_scale":
    case "min_max_scale":
    case "log1p":
      return noArgs() ? { kind: name } : undefined;
    case "clip": {
      const min = named.get("min") ? numberArg(named.get("min")!.value) : undefined;
      const max = named.get("max") ? numberArg(named.get("max")!.value) : undefined;
      if ((named.has("min") && min === undefined) || (named.has("max") && max === undefined) || (min === undefined && max === undefined) || positional.length)
        return bad(DIAG.mdtMisfit.clipArgs());
      if (min !== undefined && max !== undefined && min > max) return bad(DIAG.mdtMisfit.clipOrder());
      return { kind: "clip", min: min ?? null, max: max ?? null };
    }
    case "impute": {
      const a = call.args[0];
      if (call.args.length !== 1) return bad(DIAG.mdtMisfit.imputeArity());
      if (a.name?.name === "constant") {
        const v = numberArg(a.value) ?? (a.value.kind === "string" ? a.value.value : undefined);
        if (v === undefined) return bad(DIAG.mdtMisfit.imputeConstant(), a.value.range);
        return { kind: "impute", strategy: "constant", value: v };
      }
      if (!a.name && a.value.kind === "name" && (a.value.name === "mean" || a.value.name === "median")) return { kind: "impute", strategy: a.value.name };
      return bad(DIAG.mdtMisfit.imputeStrategy(), a.range);
    }
    case "bucketize": {
      const items = positional.length === 1 && positional[0].value.kind === "list" ? positional[0].value.items : positional.map((p) => p.value);
      const bounds = items.map(numberArg);
      if (!bounds.length || bounds.some((b) => b === undefined) || named.size) return bad(DIAG.mdtMisfit.bucketizeArgs());
      for (let i = 1; i < bounds.length; i++) if (bounds[i]! <= bounds[i - 1]!) return bad(DIAG.mdtMisfit.bucketizeOrder());
      return { kind: "bucketize", boundaries: bounds as number[] };
    }
    case "one_hot": {
      if (!call.args.length) return { kind: "one_hot" };
      const c = named.get("categories");
      if (!c || c.value.kind !== "list" || c.value.items.some((i) => i.kind !== "string") || call.args.length !== 1)
        return bad(DIAG.mdtMisfit.oneHotArgs());
      return { kind: "one_hot", categories: c.value.items.map((i) => (i as { value: string }).value) };
    }
  }
  ctx.report(call.name.range, DIAG.unknownMdt.named(name, MDT_KINDS));
  return undefined;
}

/** Numeric MDTs need numeric values; one_hot takes strings, bools and ints. */
function fitsType(ctx: Ctx, input: string, type: IrType, steps: IrMdt[], ranges: Arg["range"][]): boolean {
  let current = type.base;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    if (s.kind === "one_hot") {
      if (current === "float") {
        ctx.report(ranges[i], DIAG.mdtMisfit.oneHotFloat(input, current));
        return false;
      }
      continue;
    }
    if (s.kind === "impute" && s.strategy === "constant") {
      if ((typeof s.value === "string") !== (current === "string")) {
        ctx.report(ranges[i], DIAG.mdtMisfit.imputeConstantType(current === "string", input));
        return false;
      }
      continue;
    }
    if (current !== "int" && current !== "float") {
      ctx.report(ranges[i], DIAG.mdtMisfit.numericInput(s.kind, input, current));
      return false;
    }
    if (s.kind === "bucketize") current = "int"; // a bucket index: one_hot may follow
    else if (s.kind !== "impute") current = "float";
  }
  return true;
}

function checkSplit(ctx: Ctx, decl: ModelDecl): IrModel["split"] | undefined {
  const s = decl.split;
  if (!s) return { kind: "random", testFraction: 0.2, seed: 42 };
  const named = new Map(s.args.map((a) => [a.name?.name ?? "", a]));
  if (s.kind.name === "time") {
    const last = named.get("test_last");
    if (last && s.args.length === 1) {
      if (last.value.kind !== "duration" || last.value.ms <= 0) {
        ctx.report(last.value.range, DIAG.invalidSplit.testLast());
        return undefined;
      }
      return { kind: "last", testLastMs: last.value.ms };
    }
    const a = named.get("test_from");
    if (!a || a.value.kind !== "date" || s.args.length !== 1) {
      ctx.report(s.range, DIAG.invalidSplit.time());
      return undefined;
    }
    const iso = a.value.iso.length === 10 ? `${a.value.iso}T00:00:00` : a.value.iso.replace(/Z$/, "");
    return { kind: "time", testFrom: iso };
  }
  if (s.kind.name === "random") {
    const f = named.get("test_fraction");
    const seed = named.get("seed");
    const fraction = f ? numberArg(f.value) : 0.2;
    const seedValue = seed ? numberArg(seed.value) : 42;
    const unknown = s.args.find((a) => !a.name || !["test_fraction", "seed"].includes(a.name.name));
    if (unknown || fraction === undefined || !(fraction > 0 && fraction < 1) || seedValue === undefined || !Number.isInteger(seedValue)) {
      ctx.report((unknown ?? s).range, DIAG.invalidSplit.random());
      return undefined;
    }
    return { kind: "random", testFraction: fraction, seed: seedValue };
  }
  ctx.report(s.kind.range, DIAG.invalidSplit.unknown(s.kind.name));
  return undefined;
}

export function checkServe(ctx: Ctx, decl: ServeDecl, models: Map<string, IrModel>): IrServe | undefined {
  const m = ctx.resolve(decl.model, ["model"], "model");
  if (!decl.online && !decl.batch) {
    ctx.report(decl.model.range, DIAG.serveNothing.model(decl.model.name));
    return undefined;
  }
  if (!m || !models.has(m.name.name)) return undefined;
  return {
    model: m.name.name,
    loc: { line: decl.model.range.start.line, column: decl.model.range.start.column },
    online: !!decl.online,
    ...(decl.batch ? { batchTable: decl.batch.table } : {}),
  };
}
