// Fitting model-dependent transformations (MDTs) on the train split, and
// encoding rows into the model's input matrix.
//
// The generated code owns the *application* of every step (`step.apply` and
// `model.encode`, the one copy in transforms.ts); this module only computes
// the fitted state those functions read. Each step is fitted on the values the
// previous steps produced, so `impute(median), standard_scale` scales the
// imputed column, exactly as inference will see it.

import type { FittedState, MdtStep, ModelPlan, OneHotState, Scalar } from "../api.ts";
import { UserError } from "../errors.ts";
import { valueAt, type InputColumn } from "../retrieval/columns.ts";

/** Frame columns by name (view features, ODT outputs, request fields). */
/** The frame's columns: arrays of Scalars, or NullableFloats (read with `valueAt`). */
export type FrameColumns = Record<string, InputColumn>;
export type RowIndex = Int32Array | number[];

/** The numeric value a statistic sees, or null for a missing one. */
function numeric(v: Scalar | undefined): number | null {
  if (typeof v === "number") return Number.isNaN(v) ? null : v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "bigint") return Number(v);
  return null;
}

function numbersOf(values: Scalar[]): number[] {
  const out: number[] = [];
  for (const v of values) {
    const x = numeric(v);
    if (x !== null) out.push(x);
  }
  return out;
}

function mean(xs: number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

function median(xs: number[]): number {
  const s = Float64Array.from(xs).sort();
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function requireValues(xs: number[], model: ModelPlan, input: string, step: MdtStep, n: number): void {
  if (xs.length === 0) {
    throw new UserError(
      `model \`${model.name}\`: cannot fit ${step.kind} on input \`${input}\`: it has no non-null values in the ${n} train rows`,
      "check the view's features for this input (ttl too short? feature group not materialised for the training range?)",
    );
  }
}

/** Fits one step on the (already transformed) train values of its input. */
function fitStep(model: ModelPlan, input: string, step: MdtStep, values: Scalar[]): unknown {
  switch (step.kind) {
    case "standard_scale": {
      const xs = numbersOf(values);
      requireValues(xs, model, input, step, values.length);
      const m = mean(xs);
      let ss = 0;
      for (const x of xs) ss += (x - m) * (x - m);
      const std = Math.sqrt(ss / xs.length);
      return { mean: m, std: std === 0 || !Number.isFinite(std) ? 1 : std };
    }
    case "min_max_scale": {
      const xs = numbersOf(values);
      requireValues(xs, model, input, step, values.length);
      let min = Infinity;
      let max = -Infinity;
      for (const x of xs) {
        if (x < min) min = x;
        if (x > max) max = x;
      }
      return { min, max };
    }
    case "impute": {
      const strategy = (step.params.strategy as string | undefined) ?? "mean";
      if (strategy === "constant") {
        const value = step.params.value;
        if (typeof value !== "number" && typeof value !== "string") {
          throw new Error(`model \`${model.name}\`: impute(constant) on \`${input}\` has no value (compiler bug)`);
        }
        return { value };
      }
      const xs = numbersOf(values);
      requireValues(xs, model, input, step, values.length);
      if (strategy === "median") return { value: median(xs) };
      if (strategy === "mean") return { value: mean(xs) };
      throw new Error(`model \`${model.name}\`: unknown impute strategy \`${strategy}\` on \`${input}\``);
    }
    case "one_hot": {
      const fixed = step.params.categories as Array<string | number | boolean> | undefined;
      if (fixed) return { categories: fixed.map(String) };
      const seen = new Set<string>();
      for (const v of values) if (v !== null && v !== undefined) seen.add(String(v));
      return { categories: [...seen].sort() };
    }
    case "log1p":
    case "clip":
    case "bucketize":
      return {};
    default: {
      const kind: never = step.kind;
      throw new Error(`unknown MDT kind ${String(kind)}`);
    }
  }
}

function gather(column: InputColumn | undefined, rows: RowIndex, model: ModelPlan, input: string): Scalar[] {
  if (!column) {
    throw new Error(`model \`${model.name}\`: the training frame has no column \`${input}\``);
  }
  const out = new Array<Scalar>(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = valueAt(column, rows[i]);
  return out;
}

/**
 * Fits every input's MDT steps, in order, on the train rows only. Each step
 * sees the output of the generated `apply` of the steps before it. one_hot is
 * always last and is applied by `encode`, so it is never applied here.
 */
export function fitTransforms(model: ModelPlan, columns: FrameColumns, trainRows: RowIndex): FittedState {
  const inputs: Record<string, unknown[]> = {};
  let width = 0;
  for (const input of model.inputs) {
    let values = gather(columns[input.name], trainRows, model, input.name);
    const states: unknown[] = [];
    let inputWidth = 1;
    input.steps.forEach((step, i) => {
      const state = fitStep(model, input.name, step, values);
      states.push(state);
      if (step.kind === "one_hot") {
        inputWidth = (state as OneHotState).categories.length;
      } else if (i < input.steps.length - 1) {
        values = values.map((v) => step.apply(v, state));
      }
    });
    inputs[input.name] = states;
    width += inputWidth;
  }
  return { inputs, width };
}

/** The matrix columns [from, to) of each input under a fitted state (one_hot spans its categories). */
export function inputSpans(model: ModelPlan, state: FittedState): Array<{ name: string; from: number; to: number }> {
  let at = 0;
  return model.inputs.map((input) => {
    const last = input.steps[input.steps.length - 1];
    const states = state.inputs[input.name];
    const w = last?.kind === "one_hot" ? (states[states.length - 1] as OneHotState).categories.length : 1;
    const span = { name: input.name, from: at, to: at + w };
    at += w;
    return span;
  });
}

/**
 * Encodes the given rows of the frame into a row-major Float32Array of
 * rows.length × state.width, through the generated `encode` (the one copy).
 */
export function encodeMatrix(model: ModelPlan, state: FittedState, columns: FrameColumns, rows: RowIndex): Float32Array {
  const names = model.inputs.map((i) => i.name);
  const cols = names.map((name) => {
    const c = columns[name];
    if (!c) throw new Error(`model \`${model.name}\`: the frame has no column \`${name}\``);
    return c;
  });
  const width = state.width;
  const out = new Float32Array(rows.length * width);
  const row: Record<string, Scalar> = {};
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    for (let j = 0; j < names.length; j++) row[names[j]] = valueAt(cols[j], r);
    model.encode(row, state, out, i * width);
  }
  return out;
}
