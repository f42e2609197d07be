// Batch predictions of a model (`fti predict` writes them to the serve
// block's `batch into` table, else predictions.<model>) for monitoring: the
// as-of time, version and prediction of each row.

import type { SpecBundle } from "../api.ts";
import { type Store } from "../store/store.ts";
import { tableRef } from "../store/sql.ts";

export interface BatchPrediction {
  /** The batch run's as-of time, epoch ms. */
  t: number;
  version: number;
  prediction: number | null;
}

export function batchTableOf(bundle: SpecBundle, model: string): string {
  return bundle.serves.find((s) => s.model === model)?.batchTable ?? `predictions.${model}`;
}

export async function readBatchPredictions(
  store: Store,
  bundle: SpecBundle,
  model: string,
  range: { since?: Date; until: Date },
): Promise<BatchPrediction[]> {
  const table = batchTableOf(bundle, model);
  if (!(await store.tableExists(table))) return [];
  const res = await store.readColumns(
    `SELECT as_of, version, prediction FROM ${tableRef(table)}
      WHERE model = ? AND as_of < ? ${range.since ? "AND as_of >= ?" : ""} ORDER BY as_of`,
    range.since ? [model, range.until, range.since] : [model, range.until],
    { timestamps: "ms", float64: ["prediction"] },
  );
  const t = res.columns.as_of as unknown[];
  const version = res.columns.version as unknown[];
  const prediction = res.columns.prediction as Float64Array;
  const out: BatchPrediction[] = [];
  for (let i = 0; i < res.n; i++) {
    out.push({ t: Number(t[i]), version: Number(version[i]), prediction: Number.isFinite(prediction[i]) ? prediction[i] : null });
  }
  return out;
}
