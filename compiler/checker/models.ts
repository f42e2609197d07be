// Models: view, task, algorithm with typed hyperparameters, the MDTs per
// input, split, metrics and `require` gates. Serve blocks are checked here
// too, since they only name a model.

import type { Arg, Expr, ModelDecl, ServeDecl } from "../ast.ts";
import type { IrAlgorithm, IrMdt, IrModel, IrModelInput, IrOdt, IrServe, IrType, IrView } from "../ir.ts";
import { closest } from "../diagnostics.ts";
import type { Ctx } from "./context.ts";
import { MDT_NAMES } from "./exprs.ts";
import { isNumeric, show } from "./types.ts";

export const TASKS = ["regression", "binary_classification"] as const;
export const METRICS: Record<(typeof TASKS)[number], string[]> = {
  regression: ["mae", "rmse", "r2"],
  binary_classification: ["auc", "logloss", "accuracy"],
};
/**
 * Real metrics fti does not compute (or computes for the other task): a
 * spelling hint would name a different metric (`mape` is one edit from `mae`),
 * so these get none.
 */
const OTHER_METRICS = new Set([
  ...Object.values(METRICS).flat(),
  ...["mape", "smape", "mse", "msle", "rmsle", "medae", "median_absolute_error", "explained_variance", "huber", "poisson", "tweedie"],
  ...["f1", "precision", "recall", "brier", "pr_auc", "average_precision", "roc_auc", "log_loss", "error", "mcc", "kappa"],
]);

/** A "did you mean" for a name that is not a metric of the task, unless it is a different real metric. */
function metricHint(name: string, valid: string[]): { hint?: string } {
  if (OTHER_METRICS.has(name.toLowerCase())) return {};
  const hint = closest(name, valid);
  return hint ? { hint: `did you mean \`${hint}\`?` } : {};
}

export interface HyperSpec {
  type: "int" | "float";
  min: number;
  max: number;
  default: number;
}

export const ALGORITHMS: Record<string, Record<string, HyperSpec>> = {
  linear: { l2: { type: "float", min: 0, max: Infinity, default: 0 } },
  logistic: {
    l2: { type: "float", min: 0, max: Infinity, default: 1 },
    // Newton's method: `iterations` caps the steps; there is no step size to set.
    iterations: { type: "int", min: 1, max: 1000, default: 100 },
  },
  gbdt: {
    trees: { type: "int", min: 1, max: 100000, default: 100 },
    depth: { type: "int", min: 1, max: 16, default: 6 },
    learning_rate: { type: "float", min: 1e-6, max: 1, default: 0.1 },
    min_leaf: { type: "int", min: 1, max: 1e9, default: 20 },
    bins: { type: "int", min: 2, max: 255, default: 255 },
    l2: { type: "float", min: 0, max: Infinity, default: 0 },
  },
};

function numberArg(e: Expr): number | undefined {
  if (e.kind === "number") return e.value;
  if (e.kind === "unary" && e.op === "-" && e.operand.kind === "number") return -e.operand.value;
  return undefined;
}

export function checkModel(ctx: Ctx, decl: ModelDecl, views: Map<string, IrView>, odts: Map<string, IrOdt>): IrModel | undefined {
  const where = `model \`${decl.name.name}\``;
  let ok = true;
  const missing = (what: string, example: string) => {
    ctx.error(2014, decl.name.range, `${where} has no \`${what}\`: add \`${example}\``);
    ok = false;
  };

  let view: IrView | undefined;
  if (!decl.view) missing("view", "view <view name>");
  else {
    const v = ctx.resolve(decl.view, ["view"], "view");
    view = v && views.get(v.name.name);
    if (!view) ok = false;
  }

  let task: IrModel["task"] | undefined;
  if (!decl.task) missing("task", "task regression");
  else if (!(TASKS as readonly string[]).includes(decl.task.name)) {
    const hint = closest(decl.task.name, TASKS);
    ctx.error(2012, decl.task.range, `unknown task \`${decl.task.name}\`; the tasks are ${TASKS.join(", ")}`, hint ? { hint: `did you mean \`${hint}\`?` } : {});
    ok = false;
  } else task = decl.task.name as IrModel["task"];

  if (view && task) {
    const lt = view.label.type;
    if (task === "regression" && !isNumeric(lt)) {
      ctx.error(4014, decl.task!.range, `regression needs a numeric label; \`${view.label.name}\` is ${show(lt)}`);
      ok = false;
    }
    if (task === "binary_classification" && lt.base !== "bool" && lt.base !== "int") {
      ctx.error(4014, decl.task!.range, `binary classification needs a bool (or 0/1 int) label; \`${view.label.name}\` is ${show(lt)}`);
      ok = false;
    }
  }

  const algorithm = decl.algorithm ? checkAlgorithm(ctx, decl.algorithm, task) : (missing("algorithm", "algorithm gbdt(trees: 200)"), undefined);
  if (!algorithm) ok = false;

  // Inputs: every view feature and ODT, each with its MDT steps.
  const inputs: IrModelInput[] = view
    ? [
        ...view.features.map((f) => ({ name: f.name, from: "feature" as const, type: f.type, mdts: [] as IrMdt[] })),
        ...view.odts.map((o) => ({ name: o, from: "odt" as const, type: odts.get(o)!.returns, mdts: [] as IrMdt[] })),
      ]
    : [];
  const transformed = new Set<string>();
  for (const tr of decl.transforms) {
    const steps = tr.steps.map((s) => checkMdt(ctx, s));
    if (steps.some((s) => !s)) {
      ok = false;
      for (const f of tr.features) transformed.add(f.name); // reported: no "needs one_hot" on top
      continue;
    }
    const misplaced = steps.findIndex((s, i) => s!.kind === "one_hot" && i !== steps.length - 1);
    if (misplaced >= 0) {
      ctx.error(4006, tr.steps[misplaced].range, `\`one_hot\` expands a value into several columns, so it must be the last step`);
      ok = false;
      for (const f of tr.features) transformed.add(f.name); // reported: no "needs one_hot" on top
      continue;
    }
    for (const f of tr.features) {
      if (!view) continue;
      const input = inputs.find((i) => i.name === f.name);
      if (!input) {
        const hint = closest(f.name, inputs.map((i) => i.name));
        ctx.error(2002, f.range, `\`${f.name}\` is not a feature of view \`${view.name}\``, hint ? { hint: `did you mean \`${hint}\`?` } : {});
        ok = false;
        continue;
      }
      if (transformed.has(f.name)) {
        ctx.error(2007, f.range, `\`${f.name}\` already has a \`transform\` line; list all its steps on one line, e.g. \`transform ${f.name}: impute(median), standard_scale\``);
        ok = false;
        continue;
      }
      transformed.add(f.name);
      if (!fitsType(ctx, input.name, input.type, steps as IrMdt[], tr.steps.map((s) => s.range))) ok = false;
      input.mdts = steps as IrMdt[];
    }
  }
  for (const input of inputs) {
    const lastKind = input.mdts.at(-1)?.kind;
    if (input.type.base === "string" && lastKind !== "one_hot" && !(transformed.has(input.name) && !input.mdts.length)) {
      ctx.error(4006, decl.name.range, `input \`${input.name}\` is a string; a model needs numbers`, { hint: `add \`transform ${input.name}: one_hot\`` });
      ok = false;
    }
    if (algorithm && (algorithm.kind === "linear" || algorithm.kind === "logistic") && input.type.nullable && !input.mdts.some((m) => m.kind === "impute") && lastKind !== "one_hot") {
      ctx.error(4007, decl.algorithm!.range, `input \`${input.name}\` can be missing (no history within the ttl, or null), and a ${algorithm.kind} model cannot take missing values`, {
        hint: `add \`transform ${input.name}: impute(median)\`, or use gbdt, which learns where missing values go`,
      });
      ok = false;
    }
  }

  const split = checkSplit(ctx, decl);
  if (!split) ok = false;

  const valid = task ? METRICS[task] : [];
  const metrics: string[] = [];
  for (const m of decl.metrics) {
    if (!valid.includes(m.name)) {
      ctx.error(4016, m.range, `\`${m.name}\` is not a metric of ${task ?? "this task"}; use ${valid.join(", ")}`, metricHint(m.name, valid));
      ok = false;
    } else if (!metrics.includes(m.name)) metrics.push(m.name);
  }
  const requires: IrModel["requires"] = [];
  for (const r of decl.requires) {
    const value = numberArg(r.value);
    if (!valid.includes(r.metric.name)) {
      ctx.error(4016, r.metric.range, `\`require\` names \`${r.metric.name}\`, which is not a metric of ${task ?? "this task"}; use ${valid.join(", ")}`, metricHint(r.metric.name, valid));
      ok = false;
    } else if (value === undefined) {
      ctx.error(3002, r.value.range, `\`require\` compares with a number literal`);
      ok = false;
    } else requires.push({ metric: r.metric.name, op: r.op, value });
  }

  if (!ok || !view || !task || !algorithm || !split) return undefined;
  return {
    name: decl.name.name,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    view: view.name,
    task,
    algorithm,
    inputs,
    split,
    metrics: metrics.length ? metrics : valid,
    requires,
  };
}

function checkAlgorithm(ctx: Ctx, alg: NonNullable<ModelDecl["algorithm"]>, task: IrModel["task"] | undefined): IrAlgorithm | undefined {
  const name = alg.name.name;
  if (name === "onnx") {
    if (!alg.file) {
      ctx.error(2014, alg.range, "`algorithm onnx` needs the model file: `algorithm onnx \"model.onnx\"`");
      return undefined;
    }
    return { kind: "onnx", file: alg.file.value };
  }
  const spec = ALGORITHMS[name];
  if (!spec) {
    const hint = closest(name, [...Object.keys(ALGORITHMS), "onnx"]);
    ctx.error(2012, alg.name.range, `unknown algorithm \`${name}\`; use linear, logistic, gbdt or onnx "file"`, hint ? { hint: `did you mean \`${hint}\`?` } : {});
    return undefined;
  }
  if (task && ((name === "linear" && task !== "regression") || (name === "logistic" && task !== "binary_classification"))) {
    ctx.error(4014, alg.name.range, `\`${name}\` does not do ${task.replace("_", " ")}`, { hint: task === "regression" ? "use linear or gbdt" : "use logistic or gbdt" });
    return undefined;
  }
  const params: Record<string, number> = Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, v.default]));
  let ok = true;
  for (const a of alg.args) {
    if (!a.name) {
      ctx.error(3010, a.range, `hyperparameters are named: \`${name}(${Object.keys(spec)[0]}: ...)\``);
      ok = false;
      continue;
    }
    const hs = spec[a.name.name];
    if (!hs) {
      const hint = closest(a.name.name, Object.keys(spec));
      ctx.error(3010, a.name.range, `\`${name}\` has no hyperparameter \`${a.name.name}\`; it takes ${Object.keys(spec).join(", ")}`, hint ? { hint: `did you mean \`${hint}\`?` } : {});
      ok = false;
      continue;
    }
    const v = numberArg(a.value);
    if (v === undefined || (hs.type === "int" && !Number.isInteger(v)) || v < hs.min || v > hs.max) {
      ctx.error(3010, a.value.range, `\`${a.name.name}\` must be ${hs.type === "int" ? "an int" : "a number"} in [${hs.min}, ${hs.max === Infinity ? "∞" : hs.max}]`);
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
  const bad = (msg: string, range = call.range) => {
    ctx.error(4006, range, msg);
    return undefined;
  };
  const noArgs = () => (call.args.length ? bad(`\`${name}\` takes no arguments`) : true);
  switch (name) {
    case "standard_scale":
    case "min_max_scale":
    case "log1p":
      return noArgs() ? { kind: name } : undefined;
    case "clip": {
      const min = named.get("min") ? numberArg(named.get("min")!.value) : undefined;
      const max = named.get("max") ? numberArg(named.get("max")!.value) : undefined;
      if ((named.has("min") && min === undefined) || (named.has("max") && max === undefined) || (min === undefined && max === undefined) || positional.length)
        return bad("`clip` takes `min: <number>` and/or `max: <number>`");
      if (min !== undefined && max !== undefined && min > max) return bad("`clip` needs min ≤ max");
      return { kind: "clip", min: min ?? null, max: max ?? null };
    }
    case "impute": {
      const a = call.args[0];
      if (call.args.length !== 1) return bad("`impute` takes one argument: `impute(mean)`, `impute(median)` or `impute(constant: 0)`");
      if (a.name?.name === "constant") {
        const v = numberArg(a.value) ?? (a.value.kind === "string" ? a.value.value : undefined);
        if (v === undefined) return bad("`impute(constant: ...)` needs a number or string literal", a.value.range);
        return { kind: "impute", strategy: "constant", value: v };
      }
      if (!a.name && a.value.kind === "name" && (a.value.name === "mean" || a.value.name === "median")) return { kind: "impute", strategy: a.value.name };
      return bad("`impute` takes `mean`, `median` or `constant: <value>`", a.range);
    }
    case "bucketize": {
      const items = positional.length === 1 && positional[0].value.kind === "list" ? positional[0].value.items : positional.map((p) => p.value);
      const bounds = items.map(numberArg);
      if (!bounds.length || bounds.some((b) => b === undefined) || named.size) return bad("`bucketize` takes increasing number boundaries: `bucketize([0, 5, 10])`");
      for (let i = 1; i < bounds.length; i++) if (bounds[i]! <= bounds[i - 1]!) return bad("`bucketize` boundaries must increase");
      return { kind: "bucketize", boundaries: bounds as number[] };
    }
    case "one_hot": {
      if (!call.args.length) return { kind: "one_hot" };
      const c = named.get("categories");
      if (!c || c.value.kind !== "list" || c.value.items.some((i) => i.kind !== "string") || call.args.length !== 1)
        return bad("`one_hot` takes an optional `categories: [\"a\", \"b\"]`");
      return { kind: "one_hot", categories: c.value.items.map((i) => (i as { value: string }).value) };
    }
  }
  const hint = closest(name, MDT_NAMES);
  ctx.error(4004, call.name.range, `unknown model-dependent transformation \`${name}\`; the MDTs are ${MDT_NAMES.join(", ")}`, hint ? { hint: `did you mean \`${hint}\`?` } : {});
  return undefined;
}

/** Numeric MDTs need numeric values; one_hot takes strings, bools and ints. */
function fitsType(ctx: Ctx, input: string, type: IrType, steps: IrMdt[], ranges: Arg["range"][]): boolean {
  let current = type.base;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i];
    if (s.kind === "one_hot") {
      if (current === "float") {
        ctx.error(4006, ranges[i], `\`one_hot\` needs categories (string, bool or int); \`${input}\` is ${current}`, { hint: "use bucketize first, or a numeric transformation" });
        return false;
      }
      continue;
    }
    if (s.kind === "impute" && s.strategy === "constant") {
      if ((typeof s.value === "string") !== (current === "string")) {
        ctx.error(4006, ranges[i], `\`impute(constant: ...)\` value must be a ${current === "string" ? "string" : "number"} for \`${input}\``);
        return false;
      }
      continue;
    }
    if (current !== "int" && current !== "float") {
      ctx.error(4006, ranges[i], `\`${s.kind}\` needs a numeric input; \`${input}\` is ${current}`);
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
        ctx.error(4015, last.value.range, "`test_last` takes a positive duration: `split time(test_last: 90d)`");
        return undefined;
      }
      return { kind: "last", testLastMs: last.value.ms };
    }
    const a = named.get("test_from");
    if (!a || a.value.kind !== "date" || s.args.length !== 1) {
      ctx.error(4015, s.range, "a time split is `split time(test_from: 2025-06-01)` (rows at or after the date are the test set) or `split time(test_last: 90d)` (the last 90 days of labels)");
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
      ctx.error(4015, (unknown ?? s).range, "a random split is `split random(test_fraction: 0.2, seed: 42)` with 0 < test_fraction < 1 and an int seed");
      return undefined;
    }
    return { kind: "random", testFraction: fraction, seed: seedValue };
  }
  const hint = closest(s.kind.name, ["time", "random"]);
  ctx.error(4015, s.kind.range, `unknown split \`${s.kind.name}\`; use \`time(test_from: <date>)\` or \`random(test_fraction: 0.2, seed: 42)\``, hint ? { hint: `did you mean \`${hint}\`?` } : {});
  return undefined;
}

export function checkServe(ctx: Ctx, decl: ServeDecl, models: Map<string, IrModel>): IrServe | undefined {
  const m = ctx.resolve(decl.model, ["model"], "model");
  if (!decl.online && !decl.batch) {
    ctx.error(4017, decl.model.range, `serve \`${decl.model.name}\` declares nothing to serve`, { hint: "add `online` and/or `batch into predictions.<table>`" });
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
