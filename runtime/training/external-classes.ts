// The classes of an externally trained multiclass ONNX model (`fti register`):
// which class each of its K probability columns is. By default the columns
// are the train split's classes in fti's own order (sorted: strings by code
// units, ints numerically — the order `fti train` gives its models and
// scikit-learn its `classes_`); a model that says otherwise carries metadata
// `fti.classes`, a JSON array of the classes in column order (what fti's own
// ONNX export writes). Either way the model's classes must be exactly the
// train split's: a class it cannot predict, or one no training row has, is an
// error naming them, not a silently wrong metric.

import type { ModelPlan } from "../api.ts";
import { UserError } from "../errors.ts";

export const CLASSES_METADATA = "fti.classes";

const shown = (values: ReadonlyArray<string | number>) => values.map((v) => JSON.stringify(v)).join(", ");

/**
 * The model's classes in column order (values as the train split has them), from its
 * metadata or the train classes' order; `trained` is the train split's sorted classes.
 */
export function externalClassOrder(
  plan: ModelPlan,
  metadata: Record<string, string>,
  outputs: number,
  trained: ReadonlyArray<string | number>,
): Array<string | number> {
  const fail = (what: string, hint: string) => new UserError(`cannot register \`${plan.name}\`: ${what}`, hint);
  const text = metadata[CLASSES_METADATA];
  if (text === undefined) {
    if (outputs !== trained.length) {
      throw fail(
        `the ONNX model gives ${outputs} probabilities per row but the train split has ${trained.length} classes (${shown(trained)})`,
        `train the model on the same classes, or say which class each output is with metadata \`${CLASSES_METADATA}\` (a JSON array)`,
      );
    }
    return [...trained];
  }
  let declared: unknown;
  try {
    declared = JSON.parse(text);
  } catch {
    declared = undefined;
  }
  if (!Array.isArray(declared) || !declared.every((c) => typeof c === "string" || typeof c === "number")) {
    throw fail(`its metadata \`${CLASSES_METADATA}\` must be a JSON array of strings or numbers, found ${JSON.stringify(text.slice(0, 80))}`, "write the classes in the order of the model's outputs");
  }
  if (declared.length !== outputs) {
    throw fail(`its metadata \`${CLASSES_METADATA}\` lists ${declared.length} classes but the model gives ${outputs} probabilities per row`, "list one class per output, in output order");
  }
  const byText = new Map(trained.map((c) => [String(c), c]));
  const keys = declared.map(String);
  const repeated = keys.filter((k, i) => keys.indexOf(k) !== i);
  const unknown = declared.filter((c) => !byText.has(String(c)));
  const missing = trained.filter((c) => !keys.includes(String(c)));
  if (repeated.length > 0 || unknown.length > 0 || missing.length > 0) {
    const parts = [
      repeated.length > 0 ? `lists ${shown(repeated)} twice` : "",
      unknown.length > 0 ? `has ${shown(unknown)}, which no train row has` : "",
      missing.length > 0 ? `lacks ${shown(missing)}, which train rows have` : "",
    ].filter(Boolean);
    throw fail(`its classes (metadata \`${CLASSES_METADATA}\`) must be the train split's (${shown(trained)}): it ${parts.join(" and ")}`, "train the model on the same classes (check the view's `where` and the split)");
  }
  return keys.map((k) => byText.get(k)!);
}

/** Class indices of `trained` order re-read as indices of `order` (−1, a test label unseen in training, stays). */
export function reindexLabels(y: Float64Array, trained: ReadonlyArray<string | number>, order: ReadonlyArray<string | number>): Float64Array {
  const to = trained.map((c) => order.findIndex((o) => String(o) === String(c)));
  return y.map((c) => (c < 0 ? c : to[c]));
}

/**
 * A multiclass model's outputs must be probabilities: each in [0, 1] and each
 * row's K summing to 1 (to 1e-3: float32 sums). Returns the first row that is
 * not, as a message, or null.
 */
export function notProbabilities(pred: Float32Array, n: number, k: number): string | null {
  for (let i = 0; i < n; i++) {
    let sum = 0;
    let ok = true;
    for (let c = 0; c < k; c++) {
      const p = pred[i * k + c];
      if (!(p >= -1e-6 && p <= 1 + 1e-6)) ok = false;
      sum += p;
    }
    if (!ok || !(Math.abs(sum - 1) <= 1e-3)) {
      return `test row ${i} gets [${Array.from(pred.subarray(i * k, i * k + k), (v) => +v.toPrecision(4)).join(", ")}]`;
    }
  }
  return null;
}
