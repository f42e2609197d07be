// The classes of a multiclass model: the distinct label values of the TRAIN
// split, sorted (strings by UTF-16 code units — the frame codes a string label
// by that order — ints numerically), stored with the model version. Labels
// become class indices 0..K-1 for the learners; a test label that is not a
// training class becomes -1: it stays in the test split and counts against
// the model (never predicted; probability 0), and is reported by value.

import type { ModelPlan, Scalar } from "../api.ts";
import { MAX_CLASSES } from "../catalogue.ts";
import { UserError } from "../errors.ts";
import type { TrainingFrame } from "../retrieval/pit.ts";

export interface ClassLabels {
  /** The classes, in the order of the model's probability outputs. */
  classes: Array<string | number>;
  yTrain: Float64Array;
  /** -1 for a label unseen in training. */
  yTest: Float64Array;
  /** Test rows per label value unseen in training. */
  unseen: Record<string, number>;
}

/** The frame's label value of row i: a string label's text, or the number. */
function labelValue(frame: TrainingFrame, i: number): string | number {
  const v = frame.label[i];
  return frame.labelClasses ? frame.labelClasses[v] : v;
}

/** Each row's label as an index among a model version's `classes` (-1: not one of them): how another version's predictions are scored. */
export function classIndices(frame: TrainingFrame, rows: ArrayLike<number>, classes: ReadonlyArray<string | number>): number[] {
  const index = new Map(classes.map((c, i) => [String(c), i]));
  return Array.from(rows, (i) => index.get(String(labelValue(frame, i))) ?? -1);
}

export function classLabels(plan: ModelPlan, frame: TrainingFrame, train: Int32Array, test: Int32Array): ClassLabels {
  // frame codes (string labels) and int values both sort numerically in class order
  const seen = [...new Set(Array.from(train, (i) => frame.label[i]))].sort((a, b) => a - b);
  const classes = seen.map((v) => (frame.labelClasses ? frame.labelClasses[v] : v));
  const shown = (values: Array<Scalar>) => values.slice(0, 5).map((v) => JSON.stringify(v)).join(", ") + (values.length > 5 ? ", …" : "");
  if (classes.length < 2) {
    throw new UserError(
      `model \`${plan.name}\`: the train split has ${classes.length === 0 ? "no label" : `one class (${shown(classes)})`} in ${train.length} rows; a classifier needs at least two`,
      "check the label and the view's `where`, or train on more data",
    );
  }
  if (classes.length > MAX_CLASSES) {
    throw new UserError(
      `model \`${plan.name}\`: the train split has ${classes.length} classes (${shown(classes)}); multiclass classification takes at most ${MAX_CLASSES}`,
      "is the label an id or a measured value? Label the column that holds the classes, or group its values into fewer classes",
    );
  }
  const index = new Map(seen.map((v, c) => [v, c]));
  const yTrain = Float64Array.from(train, (i) => index.get(frame.label[i])!);
  const unseen: Record<string, number> = {};
  const yTest = Float64Array.from(test, (i) => {
    const c = index.get(frame.label[i]);
    if (c !== undefined) return c;
    const key = String(labelValue(frame, i));
    unseen[key] = (unseen[key] ?? 0) + 1;
    return -1;
  });
  return { classes, yTrain, yTest, unseen };
}
