// The statistics stored with every model version at training: each model
// input (raw, before the MDTs) and the label over the train split, and the
// model's predictions on the test split. `fti monitor` compares served
// traffic with them.

import type { ModelPlan, Scalar } from "../api.ts";
import { valueAt, type InputColumn } from "../retrieval/columns.ts";
import type { TrainingFrame } from "../retrieval/pit.ts";
import { argmaxRow } from "../learners/metrics.ts";
import { columnStatistics, pick, type TrainingStatistics } from "./statistics.ts";

export function trainingStatistics(
  plan: ModelPlan,
  frame: TrainingFrame,
  trainRows: ArrayLike<number>,
  testPredictions: ArrayLike<number>,
  classes?: ReadonlyArray<string | number>,
): TrainingStatistics {
  const features = plan.inputs.map((input) => columnStatistics(input.name, input.type, pickValues(frame.columns[input.name], trainRows)));
  if (classes) return { features, ...classStatistics(frame, trainRows, testPredictions, classes) };
  return {
    features,
    // Float64Array holds NaN for a missing label: numericValue counts it as null.
    label: columnStatistics("label", "float", pick(frame.label, trainRows)),
    predictions: columnStatistics("prediction", "float", Array.from(testPredictions)),
  };
}

/** Multiclass: the label and the predictions (the most probable class of each test row) as categories, the classes' text. */
function classStatistics(
  frame: TrainingFrame,
  trainRows: ArrayLike<number>,
  testProbabilities: ArrayLike<number>,
  classes: ReadonlyArray<string | number>,
): Omit<TrainingStatistics, "features"> {
  const k = classes.length;
  const label = Array.from(trainRows, (i) => String(frame.labelClasses ? frame.labelClasses[frame.label[i]] : frame.label[i]));
  const predicted: Scalar[] = [];
  for (let i = 0; i * k < testProbabilities.length; i++) {
    const c = argmaxRow(testProbabilities, i, k);
    predicted.push(c < 0 ? null : String(classes[c]));
  }
  return {
    label: columnStatistics("label", "string", label),
    predictions: columnStatistics("prediction", "string", predicted),
  };
}

/** The given rows of a frame column (none when the frame lacks it). */
function* pickValues(column: InputColumn | undefined, rows: ArrayLike<number>): Generator<Scalar> {
  if (!column) return;
  for (let i = 0; i < rows.length; i++) yield valueAt(column, rows[i]);
}
