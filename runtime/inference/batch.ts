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
import { checkOutputFile } from "../output-file.ts";
import { getModel, modelProductionWarnings } from "../registry/registry.ts";
import { cleanUp, type Store } from "../store/store.ts";
import { ident } from "../store/sql.ts";
import { checkInputColumnClash, inputColumnsDdl, stagedColumns, stagedInputs, stageInputs } from "./batch-inputs.ts";
import { pitJoin, type PitJoinResult } from "../retrieval/pit.ts";
import { findModel } from "../bundle.ts";
import { spineFromFile, spineFromStore, spineTables } from "../retrieval/entity-spine.ts";
import { writeBatchOutput, type OutputTargets, type StagedFiles } from "./batch-output.ts";
import { rejectFailedChecks } from "./batch-checks.ts";
import { rejectMissingFeatures } from "./batch-rejects.ts";
import { featureBatches } from "./feature-batches.ts";
import { addOdtColumns } from "../retrieval/odt-columns.ts";
import { createPredictor, type Predictor } from "./predictor.ts";
import type { OnnxWorker } from "./onnx-worker.ts";
import { probabilityColumns, stagedClassColumns } from "./class-output.ts";

export const DEFAULT_BATCH_SIZE = 65_536;

/** Batches encoded and handed to the ONNX worker before the oldest must be done (bounds their memory). */
const MAX_IN_FLIGHT = 2;

export interface BatchOptions {
  /** Features as of this instant (default: now). */
  asOf?: Date;
  /** csv / parquet / ndjson with the entity keys and the view's request fields (and any other columns, carried to the output). */
  entitiesFile?: string;
  /** A column of the entities file: each row is scored as of its own time (as a training row of that time sees its features). */
  timeColumn?: string;
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
  /** The one as-of time (ISO); absent when each row has its own (`timeColumn`). */
  asOf?: string;
  timeColumn?: string;
  /** Rows predicted (written to `table`). */
  rows: number;
  /** Rows online serving would refuse, written to `rejectsTable` with their reason. */
  rejected: { invalid: number; missingFeatures: number };
  /** Rows whose prediction is null (NaN: e.g. missing features and no impute). */
  nullPredictions: number;
  table: string;
  rejectsTable: string;
  parquet?: string;
  rejectsParquet?: string;
  batches: number;
  ms: number;
  /** Said to the user: several production versions of the model, the latest used (registry.ts productionWarnings). */
  warnings: string[];
}

export async function predictBatch(
  store: Store,
  bundle: SpecBundle,
  modelName: string,
  opts: BatchOptions = {},
): Promise<BatchReport> {
  const t0 = performance.now();
  const { plan, view } = findModel(bundle, modelName);
  checkOptions(modelName, view, opts, store.path);
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  const asOf = opts.asOf ?? new Date();
  const targets = outputTargets(bundle, modelName, opts);

  const record = await getModel(store, modelName, opts.version);
  const warnings = opts.version === undefined ? await modelProductionWarnings(store, modelName) : [];
  const predictor = await createPredictor(bundle, modelName, record);

  // One transaction: a consistent snapshot of the feature tables, private
  // temp tables, and the predictions replaced all at once (or not at all).
  // With a time column each row sees what a training row of its time saw
  // (the view's as_of); one as-of time is "now" for every row, as online.
  const joinAsOf = opts.timeColumn ? view.asOf : "inclusive";
  let files: StagedFiles | undefined; // --out x.parquet: renamed into place once the transaction committed
  const scored = await store.transaction(async () => {
    // Rows whose request fields fail the source's checks are rejects (online: 400), never scored.
    const spine = opts.entitiesFile
      ? await rejectFailedChecks(store, view, await spineFromFile(store, view, opts.entitiesFile, { asOf, timeColumn: opts.timeColumn }))
      : await spineFromStore(store, view, asOf);
    const predTable = `${spine.table}_pred`;
    let joined: PitJoinResult | undefined;
    // A run of more than one batch scores in a worker thread: started now, its start (loading
    // onnxruntime and the session again) overlaps the point-in-time join instead of following it.
    const worker = spine.n > batchSize ? predictor.startWorker().catch(() => null) : Promise.resolve(null);
    try {
      checkInputColumnClash(plan, spine.input.columns);
      joined = await pitJoin(store, bundle, view, spine.table, { asOf: joinAsOf });
      const missingFeatures = await rejectMissingFeatures(store, bundle, view, plan, joined, joinAsOf, spine.invalid.table);
      const staged = stagedInputs(plan, (await store.tableColumns(joined.table)).map((c) => c.name));
      await store.run(`DROP TABLE IF EXISTS ${ident(predTable)}`);
      const probabilities = predictor.classes ? probabilityColumns(predictor.outputs).map((c) => `, ${c} DOUBLE`).join("") : "";
      await store.run(`CREATE TEMP TABLE ${ident(predTable)} (__sid BIGINT, prediction DOUBLE${probabilities}${inputColumnsDdl(plan, staged)})`);
      const result = await scoreInBatches(store, view, plan, predictor, await worker, joined, spine.n, batchSize, { table: predTable, staged });
      files = await writeBatchOutput(store, view, plan, predictor, spine, { pred: predTable, joined: joined.table, staged }, targets);
      return { ...result, rows: spine.n - missingFeatures, rejected: { invalid: spine.invalid.n, missingFeatures } };
    } finally {
      await (await worker)?.release();
      await cleanUp(
        store,
        ...(joined ? [`DROP TABLE IF EXISTS ${ident(joined.table)}`] : []),
        `DROP TABLE IF EXISTS ${ident(predTable)}`,
        ...spineTables(spine).map((t) => `DROP TABLE IF EXISTS ${ident(t)}`),
      );
    }
  }).catch((e: unknown) => {
    files?.discard();
    throw e;
  });
  files?.publish();

  return {
    model: modelName,
    version: predictor.version,
    ...(opts.timeColumn ? { timeColumn: opts.timeColumn } : { asOf: asOf.toISOString() }),
    rows: scored.rows,
    rejected: scored.rejected,
    nullPredictions: scored.nulls,
    table: targets.table,
    rejectsTable: targets.rejectsTable,
    parquet: targets.parquet,
    rejectsParquet: targets.rejectsParquet,
    batches: scored.batches,
    ms: Math.round((performance.now() - t0) * 10) / 10,
    warnings,
  };
}

/** What `--out` may name besides a .parquet file: a table, or a table in a schema. */
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
/** `scores.csv` fits `schema.name` but means a file: refused, not made a table `csv` in a schema `scores`. */
const FILE_LIKE = /\.(csv|tsv|txt|json|jsonl|ndjson|arrow|feather|xlsx|pq)$/i;

function checkOptions(modelName: string, view: ViewPlan, opts: BatchOptions, storePath: string): void {
  if (view.requestFields.length > 0 && !opts.entitiesFile) {
    throw new UserError(
      `model \`${modelName}\` needs request fields ${view.requestFields.map((f) => f.name).join(", ")} ` +
        `(values each prediction is given, not read from the store: view \`${view.name}\`'s columns of the row and its ODTs' \`request\` parameters); pass an entities file with them`,
      `a csv/parquet/ndjson file with columns ${[...view.keys, ...view.requestFields].map((c) => c.name).join(", ")}`,
    );
  }
  if (opts.out !== undefined && !opts.out.toLowerCase().endsWith(".parquet") && (!TABLE_NAME.test(opts.out) || FILE_LIKE.test(opts.out))) {
    // `--out scores.csv` or `--out /tmp/x` became a table of that name in the store, reported as written "→ /tmp/x".
    throw new UserError(
      `--out ${opts.out}: neither a table name (\`name\` or \`schema.name\`: letters, digits, _) nor a .parquet file`,
      `batch predictions are written to a table of the store or to Parquet: --out ${opts.out.replace(/\.[A-Za-z0-9]*$/, "")}.parquet`,
    );
  }
  if (opts.out?.toLowerCase().endsWith(".parquet")) {
    checkOutputFile(opts.out, "--out", storePath);
    checkOutputFile(opts.out.replace(/\.parquet$/i, ".rejects.parquet"), "--out (its rejects file)", storePath);
  }
  if (opts.timeColumn !== undefined && !opts.entitiesFile) {
    throw new UserError("a time column needs an entities file (--entities) that has it");
  }
  if (opts.timeColumn !== undefined && opts.asOf !== undefined) {
    throw new UserError("give either one as-of time or a time column, not both");
  }
  const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new UserError(`batch size must be a positive integer, got ${batchSize}`);
  if (opts.asOf && Number.isNaN(opts.asOf.getTime())) throw new UserError("the as-of time is not a valid date");
}

/**
 * What a table the predictions would go to already is, when fti or a source owns it: `--out src_deliveries`
 * added the prediction columns and rows to the source's stored rows (and `fg_…` to a feature group's).
 */
function tableOwner(bundle: SpecBundle, table: string): string | null {
  const parts = table.toLowerCase().split(".");
  const [schema, name] = parts.length === 2 ? parts : ["main", parts[0]];
  if (schema === "temp") return "a temporary table (gone when the command ends)";
  const read = bundle.sources.find((src) => src.location.kind === "table" && [src.location.table.toLowerCase(), `main.${src.location.table.toLowerCase()}`].includes(`${schema}.${name}`));
  if (read) return `the table source \`${read.name}\` reads`;
  if (schema === "main" && /^(src_|fg_|online_|fti_|__fti)/.test(name)) return "one of fti's own tables (src_, fg_, online_, fti_: sources, feature groups, the online store, the registry and logs)";
  return null;
}

/** Where a run writes: the predictions table (serve's `batch into`, else predictions.<model>), its rejects table, Parquet files. */
function outputTargets(bundle: SpecBundle, modelName: string, opts: BatchOptions): OutputTargets {
  const parquet = opts.out?.toLowerCase().endsWith(".parquet") ? opts.out : undefined;
  const serve = bundle.serves.find((s) => s.model === modelName);
  const table = (opts.out && !parquet ? opts.out : undefined) ?? serve?.batchTable ?? `predictions.${modelName}`;
  for (const t of [table, `${table}_rejects`]) {
    const owner = tableOwner(bundle, t);
    if (owner) {
      const named = opts.out && !parquet ? `--out ${opts.out}` : `\`batch into ${table}\` (serve ${modelName})`;
      throw new UserError(`${named}: ${t} is ${owner}; predictions would be appended to it`, "write predictions to a table of their own, e.g. predictions.<model>");
    }
  }
  return {
    table,
    rejectsTable: `${table}_rejects`,
    parquet,
    rejectsParquet: parquet ? parquet.replace(/\.parquet$/i, ".rejects.parquet") : undefined,
    replace: opts.timeColumn ? "keys_and_time" : "as_of",
  };
}

/**
 * Reads the joined features batch by batch (feature-batches.ts: one read in
 * the joined table's storage order, as it streams), adds the ODTs and scores
 * them; then appends (__sid, prediction, staged inputs) to `pred.table` at
 * once, in that same order: row k of it belongs to row k of the joined table
 * (batch-output.ts joins them by position and checks the __sid of each pair).
 */
async function scoreInBatches(
  store: Store,
  view: ViewPlan,
  plan: ModelPlan,
  predictor: Predictor,
  worker: OnnxWorker | null,
  joined: PitJoinResult,
  n: number,
  batchSize: number,
  pred: { table: string; staged: number[] },
): Promise<{ batches: number; nulls: number }> {
  const reader = await featureBatches(store, view, joined, n);
  const k = predictor.outputs;
  const prediction = new Float64Array(n * k);
  const sidAt = new Float64Array(n);
  const inputs = stagedColumns(plan, pred.staged, n);
  let batches = 0;
  // ONNX in the worker thread when it started: a batch is scored while the next one is read and encoded.
  const inFlight: Array<Promise<void>> = [];
  await reader.readAll(batchSize, async (columns, at, m, sids) => {
    sidAt.set(sids, at);
    addOdtColumns(view.odts, columns, m, sids);
    for (const input of plan.inputs) {
      if (!columns[input.name]) throw new Error(`the feature frame of view \`${view.name}\` has no column \`${input.name}\``);
    }
    stageInputs(plan, pred.staged, columns, m, inputs, at);
    batches++;
    if (!worker) {
      prediction.set(await predictor.predictColumns(columns, m), at * k);
      return;
    }
    const scored = worker.predict(predictor.encodeColumns(columns, m), m).then((y) => prediction.set(y, at * k));
    scored.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    inFlight.push(scored);
    if (inFlight.length >= MAX_IN_FLIGHT) await inFlight.shift();
  });
  await Promise.all(inFlight);
  // multiclass: the class index (NaN: none) and the K probability columns
  const scores = k > 1 ? stagedClassColumns(prediction, n, k) : { prediction };
  let nulls = 0;
  for (let i = 0; i < n; i++) if (Number.isNaN(scores.prediction[i])) nulls++;
  await store.appendColumns(pred.table, { __sid: sidAt, ...scores, ...inputs });
  return { batches, nulls };
}
