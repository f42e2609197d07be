// A triggered retrain: train a challenger on the labels known at the clock's
// now (registered as staging), then promote it when its `require` gates pass
// and — with `promote if better(metric)` and a production champion — it beats
// the champion on the same recent labelled rows (challenger.ts). The running
// `fti serve` notices the new production version and swaps it in.

import type { ModelPlan, SpecBundle } from "../api.ts";
import { getModel, promote, type ModelRecord } from "../registry/registry.ts";
import type { Store } from "../store/store.ts";
import { trainModelFromSpec } from "../training/train.ts";
import { compareVersions, type Comparison } from "./challenger.ts";
import type { JobResult } from "./runs.ts";

async function productionVersion(store: Store, model: string): Promise<ModelRecord | null> {
  try {
    const r = await getModel(store, model);
    return r.stage === "production" ? r : null;
  } catch {
    return null; // no version yet
  }
}

export async function retrainModel(store: Store, bundle: SpecBundle, plan: ModelPlan, now: Date): Promise<JobResult> {
  const champion = await productionVersion(store, plan.name);
  const report = await trainModelFromSpec(store, bundle, plan.name, { until: now, promote: false });
  const gatesPass = report.failingGates.length === 0;
  let comparison: Comparison | null = null;
  let promoted = gatesPass;
  const metric = plan.retrain?.promoteIfBetter;
  if (gatesPass && metric && champion) {
    const challenger = await getModel(store, plan.name, report.version);
    comparison = await compareVersions(store, bundle, plan, metric, champion, challenger, now);
    promoted = comparison.better;
  }
  if (promoted) await promote(store, plan.name, report.version);
  return {
    rows: report.rows.train + report.rows.test,
    version_from: champion?.version ?? null,
    version_to: promoted ? report.version : (champion?.version ?? null),
    detail: {
      challenger: report.version,
      promoted,
      reason: promoted ? (comparison ? `better ${comparison.metric}` : "gates pass") : !gatesPass ? `gates failed: ${report.failingGates.join("; ")}` : `not better on ${metric}`,
      metrics: report.metrics,
      comparison,
    },
  };
}
