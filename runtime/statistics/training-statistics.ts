// The statistics stored with every model version at training: each model
// input (raw, before the MDTs) and the label over the train split, and the
// model's predictions on the test split. `fti monitor` compares served
// traffic with them.

import type { ModelPlan, Scalar } from "../api.ts";
import { valueAt, type InputColumn } from "../retrieval/columns.ts";
import type { TrainingFrame } from "../retrieval/pit.ts";
import { columnStatistics, pick, type TrainingStatistics } from "./statistics.ts";

export function trainingStatistics(
  plan: ModelPlan,
  frame: TrainingFrame,
  trainRows: ArrayLike<number>,
  testPredictions: ArrayLike<number>,
): TrainingStatistics {
  return {
    features: plan.inputs.map((input) => columnStatistics(input.name, input.type, pickValues(frame.columns[input.name], trainRows))),
    // Float64Array holds NaN for a missing label: numericValue counts it as null.
    label: columnStatistics("label", "float", pick(frame.label, trainRows)),
    predictions: columnStatistics("prediction", "float", Array.from(testPredictions)),
  };
}

/** The given rows of a frame column (none when the frame lacks it). */
function* pickValues(column: InputColumn | undefined, rows: ArrayLike<number>): Generator<Scalar> {
  if (!column) return;
  for (let i = 0; i < rows.length; i++) yield valueAt(column, rows[i]);
}
