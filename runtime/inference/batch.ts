// Batch inference: features as of a time for a set of entities → ODTs → MDTs
// → ONNX → a predictions table (and optionally a Parquet file). It goes
// through the same code as online inference (the generated ODT `compute`,
// the generated `encode` in Predictor, the same ONNX session), so the two
// cannot diverge.
//
// The data path is column-wise and bulk: the entity spine is built in DuckDB
// from the entities file (or the feature tables), ONE point-in-time join
// covers every entity, then batch by batch only the feature columns come to
// JS, are encoded into one Float32 matrix and scored by one ONNX call, and
// the predictions go back as (row id, value) columns; the keys are joined
// back in SQL when the predictions table is written.

import type { ModelPlan, SpecBundle, ViewPlan } from "../api.ts";
import { UserError } from "../errors.ts";
import { getModel } from "../registry/registry.ts";
import { cleanUp, ident, sqlString, sqlTimestamp, sqlType, tableRef, type Store } from "../store/store.ts";
import { pitJoin, type PitJoinResult } from "../retrieval/pit.ts";
import { findModel } from "../bundle.ts";
import { spineFromFile, spineFromStore, type EntitySpine } from "../retrieval/entity-spine.ts";
import { featureBatches } from "./feature-batches.ts";
import { addOdtColumns } from "../retrieval/odt-columns.ts";
import { createPredictor, type Predictor } from "./predictor.ts";

export const DEFAULT_BATCH_SIZE = 65_536;

export interface BatchOptions {
  /** Features as of this instant (default: now). */
  asOf?: Date;
  /** csv / parquet / ndjson with the entity keys and the view's request fields. */
  entitiesFile?: string;
  /** A table name, or a `*.parquet` path (written in addition to the predictions table). */
  out?: string;
  /** Rows encoded and scored per ONNX call (bounds the JS memory of a run). */
  batchSize?: number;
  /** A specific registry version (default: production, else latest). */
  version?: number;
}

export interface BatchReport {
  model: string;
  version: number;
  asOf: string;
  rows: number;
  /** Rows whose prediction is null (NaN: e.g. missing features and no impute). */
  nullPredictions: number;
  table: string;
  parquet?: string;
  batches: number;
  ms: number;
}

export async function predictBatch(
  store: Store,
  bundle: SpecBundle,
  modelName: string,
  opts: BatchOptions = {},
): Promise<BatchReport> {
  const t0 = performance.now();
  const { plan, view } = findModel(bundle, modelName);
  if (view.requestFields.length > 0 && !opts.entitiesFile) {
    throw new UserError(
      `model \`${modelName}\` needs request fields ${view.requestFields.map((f) => f.name).join(", ")} ` +
        `(view \`${view.name}\`'s on-demand features); pass an entities file with them`,
      `a csv/parquet/ndjson file with columns ${[...view.keys, ...view.requestFields].map((c) => c.name).join(", ")}`,
    );
  }
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new UserError(`batch size must be a positive integer, got ${batchSize}`);
  const asOf = opts.asOf ?? new Date();
  if (Number.isNaN(asOf.getTime())) throw new UserError("the as-of time is not a valid date");

  const record = await getModel(store, modelName, opts.version);
  const predictor = await createPredictor(bundle, modelName, record);

  const parquet = opts.out?.toLowerCase().endsWith(".parquet") ? opts.out : undefined;
  const serve = bundle.serves.find((s) => s.model === modelName);
  const table = (opts.out && !parquet ? opts.out : undefined) ?? serve?.batchTable ?? `predictions.${modelName}`;

  // One transaction: a consistent snapshot of the feature tables, private
  // temp tables, and the predictions replaced all at once (or not at all).
  const scored = await store.transaction(async () => {
    const spine = opts.entitiesFile ? await spineFromFile(store, view, opts.entitiesFile, asOf) : await spineFromStore(store, view, asOf);
    const predTable = `${spine.table}_pred`;
    let joined: PitJoinResult | undefined;
    try {
      joined = await pitJoin(store, bundle, view, spine.table, { asOf: "inclusive" });
      await store.run(`DROP TABLE IF EXISTS ${ident(predTable)}`);
      await store.run(`CREATE TEMP TABLE ${ident(predTable)} (__sid BIGINT, prediction DOUBLE)`);
      const result = await scoreInBatches(store, view, plan, predictor, joined, spine.n, batchSize, predTable);
      await writePredictions(store, view, table, asOf, predictor, spine, predTable);
      return { ...result, rows: spine.n };
    } finally {
      await cleanUp(
        store,
        ...(joined ? [`DROP TABLE IF EXISTS ${ident(joined.table)}`] : []),
        `DROP TABLE IF EXISTS ${ident(predTable)}`,
        `DROP TABLE IF EXISTS ${ident(spine.table)}`,
      );
    }
  });

  if (parquet) {
    await store.run(
      `COPY (SELECT * FROM ${tableRef(table)} WHERE as_of = ${sqlTimestamp(asOf)} AND model = ${sqlString(modelName)}` +
        ` ORDER BY ${view.keys.map((k) => ident(k.name)).join(", ")}) TO ${sqlString(parquet)} (FORMAT parquet)`,
    );
  }
  return {
    model: modelName,
    version: predictor.version,
    asOf: asOf.toISOString(),
    rows: scored.rows,
    nullPredictions: scored.nulls,
    table,
    parquet,
    batches: scored.batches,
    ms: Math.round((performance.now() - t0) * 10) / 10,
  };
}

/**
 * Reads the joined features batch by batch (feature-batches.ts), adds the
 * ODTs, scores them and appends (__sid, prediction) to `predTable`. The read
 * of the next batch is started before the current one is scored, so DuckDB
 * works on it while ONNX runs.
 */
async function scoreInBatches(
  store: Store,
  view: ViewPlan,
  plan: ModelPlan,
  predictor: Predictor,
  joined: PitJoinResult,
  n: number,
  batchSize: number,
  predTable: string,
): Promise<{ batches: number; nulls: number }> {
  const reader = await featureBatches(store, view, joined, n);
  let batches = 0;
  let nulls = 0;
  let next = n > 0 ? reader.read(0, Math.min(n, batchSize)) : null;
  try {
    for (let from = 0; from < n; from += batchSize) {
      const to = Math.min(n, from + batchSize);
      const m = to - from;
      const columns = await next!;
      next = to < n ? reader.read(to, Math.min(n, to + batchSize)) : null;
      addOdtColumns(view.odts, columns, m, from);
      for (const input of plan.inputs) {
        if (!columns[input.name]) throw new Error(`the feature frame of view \`${view.name}\` has no column \`${input.name}\``);
      }
      const pred = await predictor.predictColumns(columns, m);
      for (let i = 0; i < m; i++) if (Number.isNaN(pred[i])) nulls++;
      const sids = new Float64Array(m);
      for (let i = 0; i < m; i++) sids[i] = from + i;
      await store.appendColumns(predTable, { __sid: sids, prediction: pred });
      batches++;
    }
  } finally {
    // after a failure, let the prefetch settle (its error is not the one to report)
    if (next) await next.catch(() => undefined);
  }
  return { batches, nulls };
}

/**
 * Creates the table if needed and replaces this model's rows for the same
 * as_of with the new predictions (NaN → NULL), keys joined back from the
 * spine.
 */
async function writePredictions(
  store: Store,
  view: ViewPlan,
  table: string,
  asOf: Date,
  predictor: Predictor,
  spine: EntitySpine,
  predTable: string,
): Promise<void> {
  const parts = table.split(".");
  const keys = view.keys.map((k) => ident(k.name));
  const columns = [
    ...view.keys.map((k) => `${ident(k.name)} ${sqlType(k.type)}`),
    `as_of TIMESTAMP NOT NULL`,
    `model VARCHAR NOT NULL`,
    `version INTEGER NOT NULL`,
    `prediction DOUBLE`,
  ];
  if (parts.length > 1) await store.run(`CREATE SCHEMA IF NOT EXISTS ${ident(parts[0])}`);
  await store.run(`CREATE TABLE IF NOT EXISTS ${tableRef(table)} (${columns.join(", ")})`);
  await store.run(`DELETE FROM ${tableRef(table)} WHERE as_of = ? AND model = ?`, [asOf, predictor.model]);
  await store.run(
    `INSERT INTO ${tableRef(table)} (${[...keys, "as_of", "model", "version", "prediction"].join(", ")})
       SELECT ${keys.map((k) => `s.${k}`).join(", ")}, ?, ?, ${predictor.version},
              CASE WHEN isnan(p.prediction) THEN NULL ELSE p.prediction END
         FROM ${ident(spine.table)} AS s JOIN ${ident(predTable)} AS p ON s.__sid = p.__sid`,
    [asOf, predictor.model],
  );
}
