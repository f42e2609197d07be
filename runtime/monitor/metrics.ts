// The metric names a model's task has (what live performance and the
// retrain triggers can compare), from the trainers' own metric function.

import type { SpecBundle } from "../api.ts";
import { computeMetrics } from "../learners/metrics.ts";
import { findModel } from "../bundle.ts";

export function taskMetrics(bundle: SpecBundle, model: string): string[] {
  const { plan } = findModel(bundle, model);
  return Object.keys(computeMetrics(plan.task, [0, 1], [0, 1]));
}
