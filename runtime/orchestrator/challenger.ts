// Champion/challenger: both versions scored on the same recent labelled rows —
// the challenger's test split (labels before the clock's now), which neither
// was trained on: the challenger held it out, and the champion was trained
// earlier, before those labels existed (with `split time(test_last: …)`).
// The challenger replaces production only when it is strictly better on the
// `promote if better(<metric>)` metric and its own `require` gates pass.

import type { ModelPlan, Scalar, SpecBundle } from "../api.ts";
import { isBetter } from "../catalogue.ts";
import { createPredictor } from "../inference/predictor.ts";
import { computeMetrics } from "../learners/metrics.ts";

import type { ModelRecord } from "../registry/registry.ts";
import { buildTrainingFrame } from "../retrieval/pit.ts";
import { valueAt } from "../retrieval/columns.ts";
import type { Store } from "../store/store.ts";
import { splitFrame } from "../training/train.ts";
import { classIndices } from "../training/classes.ts";

export interface Comparison {
  metric: string;
  rows: number;
  champion: { version: number; value: number | null };
  challenger: { version: number; value: number | null };
  better: boolean;
}

/** Scores both versions on the challenger's test split as of `until` and compares them on `metric`. */
export async function compareVersions(
  store: Store,
  bundle: SpecBundle,
  plan: ModelPlan,
  metric: string,
  champion: ModelRecord,
  challenger: ModelRecord,
  until: Date,
): Promise<Comparison> {
  const frame = await buildTrainingFrame(store, bundle, plan.view, { to: until });
  const { test } = splitFrame(plan, frame);
  const rows: Array<Record<string, Scalar>> = [];
  const y: number[] = [];
  for (const i of test) {
    const row: Record<string, Scalar> = {};
    for (const input of plan.inputs) {
      const column = frame.columns[input.name];
      row[input.name] = column ? valueAt(column, i) : null;
    }
    rows.push(row);
    y.push(frame.label[i]);
  }
  const score = async (record: ModelRecord) => {
    const predictor = await createPredictor(bundle, plan.name, record);
    // multiclass: the labels as indices among this version's own classes (the versions' classes may differ)
    const truth = predictor.classes ? classIndices(frame, test, predictor.classes) : y;
    const value = computeMetrics(plan.task, truth, await predictor.predictRows(rows))[metric];
    return Number.isFinite(value) ? value : null;
  };
  const c = await score(champion);
  const n = await score(challenger);
  const better = n !== null && (c === null || isBetter(metric, n, c));
  return {
    metric,
    rows: rows.length,
    champion: { version: champion.version, value: c },
    challenger: { version: challenger.version, value: n },
    better,
  };
}
