// Batch inference: features as of a time for a set of entities → ODTs → MDTs
// → ONNX → a predictions table (and optionally a Parquet file). It goes
// through the same Predictor as online inference, so the two cannot diverge.

import { extname } from "node:path";
import type { Scalar, SpecBundle, ViewPlan } from "../api.ts";
import { UserError } from "../errors.ts";
import { getModel } from "../registry/registry.ts";
import { ident, sqlString, sqlTimestamp, sqlType, tableRef, type Store } from "../store/store.ts";
import { featuresAsOf } from "../training/pit.ts";
import { findModel } from "../training/train.ts";
import { createPredictor } from "./predictor.ts";

export const DEFAULT_BATCH_SIZE = 65_536;

export interface BatchOptions {
  /** Features as of this instant (default: now). */
  asOf?: Date;
  /** csv / parquet / ndjson with the entity keys and the view's request fields. */
  entitiesFile?: string;
  /** A table name, or a `*.parquet` path (written in addition to the predictions table). */
  out?: string;
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

function readerFor(file: string): string {
  const ext = extname(file).toLowerCase();
  if (ext === ".csv" || ext === ".tsv") return `read_csv_auto(${sqlString(file)})`;
  if (ext === ".parquet") return `read_parquet(${sqlString(file)})`;
  if (ext === ".ndjson" || ext === ".jsonl" || ext === ".json") return `read_json_auto(${sqlString(file)})`;
  throw new UserError(`cannot read entities from \`${file}\`: use a .csv, .parquet or .ndjson file`);
}

interface Entities {
  n: number;
  keys: Record<string, Scalar[]>;
  request?: Record<string, Scalar[]>;
}

/** Row objects → columns of Scalars (timestamps as ISO strings). */
function columnsOf(rows: Array<Record<string, unknown>>, names: string[]): Record<string, Scalar[]> {
  const out: Record<string, Scalar[]> = {};
  for (const name of names) {
    out[name] = rows.map((r) => {
      const v = r[name];
      return v instanceof Date ? v.toISOString() : ((v ?? null) as Scalar);
    });
  }
  return out;
}

async function entitiesFromFile(store: Store, view: ViewPlan, file: string): Promise<Entities> {
  const from = readerFor(file);
  let present: string[];
  try {
    present = (await store.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${from}`)).map((r) => r.column_name);
  } catch (e) {
    throw new UserError(`cannot read entities from \`${file}\`: ${(e as Error).message.split("\n")[0]}`);
  }
  const needed = [...view.keys, ...view.requestFields];
  const missing = needed.filter((c) => !present.includes(c.name)).map((c) => c.name);
  if (missing.length > 0) {
    throw new UserError(
      `entities file \`${file}\` lacks ${missing.map((m) => `\`${m}\``).join(", ")}; view \`${view.name}\` needs ` +
        `${needed.map((c) => c.name).join(", ")} (found: ${present.join(", ") || "no columns"})`,
      "add the entity keys and the request fields as columns",
    );
  }
  const select = needed.map((c) => `CAST(${ident(c.name)} AS ${sqlType(c.type)}) AS ${ident(c.name)}`).join(", ");
  const rows = await store.all(`SELECT ${select} FROM ${from}`);
  return {
    n: rows.length,
    keys: columnsOf(rows, view.keys.map((k) => k.name)),
    request: view.requestFields.length ? columnsOf(rows, view.requestFields.map((f) => f.name)) : undefined,
  };
}

/** Every entity with rows in any of the view's feature tables, sorted by key. */
async function entitiesFromStore(store: Store, view: ViewPlan): Promise<Entities> {
  const keys = view.keys.map((k) => ident(k.name)).join(", ");
  const tables = [...new Set(view.features.map((f) => f.table))];
  const existing: string[] = [];
  for (const t of tables) if (await store.tableExists(t)) existing.push(t);
  if (existing.length === 0) {
    throw new UserError(
      `view \`${view.name}\` has no feature rows to predict for (tables ${tables.join(", ") || "none"} are missing)`,
      "run the feature pipeline first (`fti run <spec>`), or pass an entities file",
    );
  }
  const union = existing.map((t) => `SELECT DISTINCT ${keys} FROM ${tableRef(t)}`).join(" UNION ");
  const rows = await store.all(`SELECT * FROM (${union}) ORDER BY ${keys}`);
  return { n: rows.length, keys: columnsOf(rows, view.keys.map((k) => k.name)) };
}

function slice(cols: Record<string, Scalar[]> | undefined, from: number, to: number): Record<string, Scalar[]> | undefined {
  if (!cols) return undefined;
  const out: Record<string, Scalar[]> = {};
  for (const [k, v] of Object.entries(cols)) out[k] = v.slice(from, to);
  return out;
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
  const entities = opts.entitiesFile ? await entitiesFromFile(store, view, opts.entitiesFile) : await entitiesFromStore(store, view);

  const parquet = opts.out?.toLowerCase().endsWith(".parquet") ? opts.out : undefined;
  const serve = bundle.serves.find((s) => s.model === modelName);
  const table = (opts.out && !parquet ? opts.out : undefined) ?? serve?.batchTable ?? `predictions.${modelName}`;

  const keyNames = view.keys.map((k) => k.name);
  const inputNames = plan.inputs.map((i) => i.name);
  const outRows: unknown[][] = [];
  let batches = 0;
  let nulls = 0;
  for (let from = 0; from < entities.n; from += batchSize) {
    const to = Math.min(entities.n, from + batchSize);
    const keys = slice(entities.keys, from, to)!;
    const frame = await featuresAsOf(store, bundle, view.name, { keys, time: asOf, request: slice(entities.request, from, to) });
    const rows: Array<Record<string, Scalar>> = new Array(frame.n);
    for (let i = 0; i < frame.n; i++) {
      const row: Record<string, Scalar> = {};
      for (const name of inputNames) {
        const col = frame.columns[name];
        if (!col) throw new Error(`featuresAsOf returned no column \`${name}\` for view \`${view.name}\``);
        row[name] = col[i] ?? null;
      }
      rows[i] = row;
    }
    const pred = await predictor.predictRows(rows);
    for (let i = 0; i < frame.n; i++) {
      const p = pred[i];
      if (Number.isNaN(p)) nulls++;
      outRows.push([...keyNames.map((k) => frame.keys[k][i]), asOf, modelName, predictor.version, Number.isNaN(p) ? null : p]);
    }
    batches++;
  }

  await writePredictions(store, view, table, asOf, modelName, outRows);
  if (parquet) {
    await store.run(
      `COPY (SELECT * FROM ${tableRef(table)} WHERE as_of = ${sqlTimestamp(asOf)} AND model = ${sqlString(modelName)}` +
        ` ORDER BY ${keyNames.map(ident).join(", ")}) TO ${sqlString(parquet)} (FORMAT parquet)`,
    );
  }
  return {
    model: modelName,
    version: predictor.version,
    asOf: asOf.toISOString(),
    rows: outRows.length,
    nullPredictions: nulls,
    table,
    parquet,
    batches,
    ms: Math.round((performance.now() - t0) * 10) / 10,
  };
}

/** Creates the table if needed and replaces this model's rows for the same as_of, in one transaction. */
async function writePredictions(
  store: Store,
  view: ViewPlan,
  table: string,
  asOf: Date,
  model: string,
  rows: unknown[][],
): Promise<void> {
  const parts = table.split(".");
  const columns = [
    ...view.keys.map((k) => `${ident(k.name)} ${sqlType(k.type)}`),
    `as_of TIMESTAMP NOT NULL`,
    `model VARCHAR NOT NULL`,
    `version INTEGER NOT NULL`,
    `prediction DOUBLE`,
  ];
  await store.transaction(async () => {
    if (parts.length > 1) await store.run(`CREATE SCHEMA IF NOT EXISTS ${ident(parts[0])}`);
    await store.run(`CREATE TABLE IF NOT EXISTS ${tableRef(table)} (${columns.join(", ")})`);
    await store.run(`DELETE FROM ${tableRef(table)} WHERE as_of = ? AND model = ?`, [asOf, model]);
    if (rows.length > 0) {
      await store.appendRows(table, [...view.keys.map((k) => k.name), "as_of", "model", "version", "prediction"], rows);
    }
  });
}
