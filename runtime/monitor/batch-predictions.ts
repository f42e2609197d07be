// Batch predictions of a model (`fti predict` writes them to the serve
// block's `batch into` table, else predictions.<model>) for monitoring: the
// as-of time, version and prediction of each row, and the model inputs it was
// scored with (`input_<name>`, runtime/inference/batch-inputs.ts).

import type { ModelPlan, Scalar, SpecBundle } from "../api.ts";
import { inputColumnName } from "../inference/batch-inputs.ts";
import { type Store } from "../store/store.ts";
import { ident, tableRef } from "../store/sql.ts";

export interface BatchPrediction {
  /** The batch run's as-of time, epoch ms. */
  t: number;
  version: number;
  /** The prediction (a multiclass model's: the class, as text). */
  prediction: number | string | null;
  /** The model inputs in plan.inputs order (null: missing, or a table written before inputs were kept). */
  inputs: Scalar[];
}

export function batchTableOf(bundle: SpecBundle, model: string): string {
  return bundle.serves.find((s) => s.model === model)?.batchTable ?? `predictions.${model}`;
}

export async function readBatchPredictions(
  store: Store,
  bundle: SpecBundle,
  plan: ModelPlan,
  range: { since?: Date; until: Date },
): Promise<BatchPrediction[]> {
  const table = batchTableOf(bundle, plan.name);
  if (!(await store.tableExists(table))) return [];
  const have = new Set((await store.tableColumns(table)).map((c) => c.name.toLowerCase()));
  const inputs = plan.inputs.map((input, i) => ({ input, column: `__in_${i}`, present: have.has(inputColumnName(input.name).toLowerCase()) }));
  const select = inputs.filter((x) => x.present).map((x) => `${ident(inputColumnName(x.input.name))} AS ${x.column}`);
  // a multiclass model's prediction is its class (VARCHAR, or BIGINT for an int label): read as text
  const classes = plan.task === "multiclass_classification";
  const res = await store.readColumns(
    `SELECT as_of, version, ${classes ? "CAST(prediction AS VARCHAR) AS prediction" : "prediction"}${select.map((s) => `, ${s}`).join("")} FROM ${tableRef(table)}
      WHERE model = ? AND as_of < ? ${range.since ? "AND as_of >= ?" : ""} ORDER BY as_of`,
    range.since ? [plan.name, range.until, range.since] : [plan.name, range.until],
    { timestamps: "ms", float64: classes ? [] : ["prediction"] },
  );
  const t = res.columns.as_of as unknown[];
  const version = res.columns.version as unknown[];
  const prediction = res.columns.prediction as ArrayLike<number | string | null>;
  const columns = inputs.map((x) => (x.present ? (res.columns[x.column] as ArrayLike<unknown>) : null));
  const out: BatchPrediction[] = [];
  for (let i = 0; i < res.n; i++) {
    out.push({
      t: Number(t[i]),
      version: Number(version[i]),
      prediction: classes ? (prediction[i] as string | null) ?? null : Number.isFinite(prediction[i]) ? (prediction[i] as number) : null,
      inputs: columns.map((c) => (c ? scalar(c[i]) : null)),
    });
  }
  return out;
}

function scalar(v: unknown): Scalar {
  if (v === undefined || v === null) return null;
  if (typeof v === "bigint") return Number(v);
  return v as Scalar;
}
