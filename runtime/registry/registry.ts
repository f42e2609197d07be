// The model registry: one table, `fti_models`, in the store. A row is one
// model version: its fitted MDT state, ONNX bytes (with a checksum), metrics
// next to the naive baseline, the gates that decided its stage, and lineage
// back to the spec, the view and the feature tables it was trained on.

import { createHash } from "node:crypto";
import type { FittedState } from "../api.ts";
import { UserError } from "../errors.ts";
import type { TrainingStatistics } from "../statistics/statistics.ts";
import type { Store } from "../store/store.ts";
import { checkedColumn } from "./row-shape.ts";
import { readStatistics, writeStatistics } from "./statistics.ts";

export const REGISTRY_TABLE = "fti_models";

export type Stage = "production" | "staging" | "archived";

/** One `require` gate of the spec, evaluated on the test split. */
export interface GateResult {
  metric: string;
  op: "<" | "<=" | ">" | ">=";
  /** The threshold from the spec. */
  value: number;
  /** The measured metric (null when it could not be computed). */
  actual: number | null;
  pass: boolean;
}

export interface ModelLineage {
  specHash: string;
  /** The spec file the model was trained from, as compiled. */
  specFile: string;
  view: string;
  featureTables: Array<{ group: string; version: number; table: string }>;
  /** Label event times of the training frame (ISO). */
  trainingRange: { from: string; to: string };
  rows: { train: number; test: number };
  /** How the rows were split, as declared in the spec. */
  split: unknown;
}

/** What a caller hands `registerModel`: everything but the version, timestamp and checksum. */
export interface NewModelRecord {
  model: string;
  stage: Stage;
  spec_hash: string;
  transforms_hash: string;
  view: string;
  task: "regression" | "binary_classification" | "multiclass_classification";
  /** "linear" | "logistic" | "gbdt" | "onnx" (external). */
  algorithm: string;
  params: unknown;
  metrics: Record<string, number | null>;
  baseline: Record<string, number | null>;
  lineage: ModelLineage;
  mdt_state: FittedState;
  onnx: Uint8Array;
  /** True when the version was made production (by its gates or `fti promote`); stays true once archived. */
  promoted: boolean;
  gates: GateResult[];
  /** Column statistics of the training data (see monitor/statistics.ts); absent for versions registered without them. */
  statistics?: TrainingStatistics | null;
}

export interface ModelRecord extends NewModelRecord {
  version: number;
  created_at: Date;
  onnx_sha256: string;
}

/** A registry row without the ONNX bytes (what `listModels` returns). */
export type ModelSummary = Omit<ModelRecord, "onnx">;

const COLUMNS_SQL = `
  model VARCHAR NOT NULL,
  version INTEGER NOT NULL,
  stage VARCHAR NOT NULL CHECK (stage IN ('production', 'staging', 'archived')),
  created_at TIMESTAMP NOT NULL,
  spec_hash VARCHAR NOT NULL,
  transforms_hash VARCHAR NOT NULL,
  view VARCHAR NOT NULL,
  task VARCHAR NOT NULL,
  algorithm VARCHAR NOT NULL,
  params JSON,
  metrics JSON,
  baseline JSON,
  lineage JSON,
  mdt_state JSON NOT NULL,
  onnx BLOB NOT NULL,
  onnx_sha256 VARCHAR NOT NULL,
  promoted BOOLEAN NOT NULL,
  gates JSON,
  PRIMARY KEY (model, version)`;

const SUMMARY_COLUMNS =
  "model, version, stage, created_at, spec_hash, transforms_hash, view, task, algorithm, " +
  "CAST(params AS VARCHAR) AS params, CAST(metrics AS VARCHAR) AS metrics, CAST(baseline AS VARCHAR) AS baseline, " +
  "CAST(lineage AS VARCHAR) AS lineage, CAST(mdt_state AS VARCHAR) AS mdt_state, onnx_sha256, promoted, CAST(gates AS VARCHAR) AS gates";

interface RawRow {
  model: string;
  version: number;
  stage: Stage;
  created_at: Date;
  spec_hash: string;
  transforms_hash: string;
  view: string;
  task: "regression" | "binary_classification" | "multiclass_classification";
  algorithm: string;
  params: string | null;
  metrics: string | null;
  baseline: string | null;
  lineage: string | null;
  mdt_state: string;
  onnx_sha256: string;
  promoted: boolean;
  gates: string | null;
  onnx?: Uint8Array;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Creates the registry table if needed. */
export async function ensureRegistry(store: Store): Promise<void> {
  if (!(await store.tableExists(REGISTRY_TABLE))) {
    await store.run(`CREATE TABLE IF NOT EXISTS ${REGISTRY_TABLE} (${COLUMNS_SQL})`);
  }
}

function parseJson<T>(text: string | null): T {
  // NaN/Infinity metrics are stored as null (JSON has no NaN).
  return (text === null ? null : JSON.parse(text)) as T;
}

function toSummary(r: RawRow): ModelSummary {
  // A version below 1 (a hand edit of fti_models) was listed and served: fti numbers them 1, 2, …
  const version = checkedColumn<number>(r.model, Number(r.version), "version", Number(r.version));
  const checked = <T>(column: "metrics" | "baseline" | "lineage" | "gates", text: string | null) => checkedColumn<T>(r.model, version, column, parseJson(text));
  return {
    model: r.model,
    version,
    stage: r.stage,
    created_at: r.created_at,
    spec_hash: r.spec_hash,
    transforms_hash: r.transforms_hash,
    view: r.view,
    task: r.task,
    algorithm: r.algorithm,
    params: parseJson(r.params),
    metrics: checked<ModelRecord["metrics"] | null>("metrics", r.metrics) ?? {},
    baseline: checked<ModelRecord["baseline"] | null>("baseline", r.baseline) ?? {},
    lineage: checked<ModelLineage>("lineage", r.lineage),
    mdt_state: parseJson(r.mdt_state),
    onnx_sha256: r.onnx_sha256,
    promoted: Boolean(r.promoted),
    gates: checked<GateResult[] | null>("gates", r.gates) ?? [],
  };
}

/** Registered model names, sorted. */
async function modelNames(store: Store): Promise<string[]> {
  if (!(await store.tableExists(REGISTRY_TABLE))) return [];
  const rows = await store.all<{ model: string }>(`SELECT DISTINCT model FROM ${REGISTRY_TABLE} ORDER BY model`);
  return rows.map((r) => r.model);
}

async function unknownModel(store: Store, name: string): Promise<UserError> {
  const names = await modelNames(store);
  return new UserError(
    names.length === 0
      ? `model \`${name}\` not found; no models are registered`
      : `model \`${name}\` not found; registered models: ${names.join(", ")}`,
    `train it with \`fti train <spec> ${name}\``,
  );
}

async function unknownVersion(store: Store, name: string, version: number): Promise<UserError> {
  const rows = await store.all<{ version: number }>(
    `SELECT version FROM ${REGISTRY_TABLE} WHERE model = ? ORDER BY version`,
    [name],
  );
  return new UserError(
    `model \`${name}\` has no version ${version}; versions: ${rows.map((r) => Number(r.version)).join(", ")}`,
  );
}

/** JSON text for a column; NaN/±Infinity become null. */
function json(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v));
}

/**
 * Registers a new version of `record.model` and returns its number (1, 2, …
 * per model). A version registered as production archives the previous one.
 */
export async function registerModel(store: Store, record: NewModelRecord): Promise<number> {
  await ensureRegistry(store);
  const sha = sha256Hex(record.onnx);
  const b64 = Buffer.from(record.onnx.buffer, record.onnx.byteOffset, record.onnx.byteLength).toString("base64");
  let version = 0;
  await store.transaction(async () => {
    const [row] = await store.all<{ v: number }>(
      `SELECT coalesce(max(version), 0) + 1 AS v FROM ${REGISTRY_TABLE} WHERE model = ?`,
      [record.model],
    );
    version = Number(row.v);
    if (record.stage === "production") {
      await store.run(`UPDATE ${REGISTRY_TABLE} SET stage = 'archived' WHERE model = ? AND stage = 'production'`, [
        record.model,
      ]);
    }
    await store.run(
      `INSERT INTO ${REGISTRY_TABLE} (model, version, stage, created_at, spec_hash, transforms_hash, view, task,
         algorithm, params, metrics, baseline, lineage, mdt_state, onnx, onnx_sha256, promoted, gates)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, from_base64(?), ?, ?, ?)`,
      [
        record.model,
        version,
        record.stage,
        new Date(),
        record.spec_hash,
        record.transforms_hash,
        record.view,
        record.task,
        record.algorithm,
        json(record.params ?? null),
        json(record.metrics),
        json(record.baseline),
        json(record.lineage),
        json(record.mdt_state),
        b64,
        sha,
        record.promoted || record.stage === "production",
        json(record.gates),
      ],
    );
    if (record.statistics) await writeStatistics(store, record.model, version, json(record.statistics));
  });
  return version;
}

/** Every registered version (without ONNX bytes), by model then version. */
export async function listModels(store: Store): Promise<ModelSummary[]> {
  if (!(await store.tableExists(REGISTRY_TABLE))) return [];
  const rows = await store.all<RawRow>(`SELECT ${SUMMARY_COLUMNS} FROM ${REGISTRY_TABLE} ORDER BY model, version`);
  return rows.map(toSummary);
}

/**
 * One version of a model with its ONNX bytes: `version`, else the production
 * version, else the latest. The checksum is verified on read.
 */
export async function getModel(store: Store, name: string, version?: number): Promise<ModelRecord> {
  if (!(await store.tableExists(REGISTRY_TABLE))) throw await unknownModel(store, name);
  const select = `SELECT ${SUMMARY_COLUMNS}, onnx FROM ${REGISTRY_TABLE} WHERE model = ?`;
  const rows =
    version !== undefined
      ? await store.all<RawRow>(`${select} AND version = ?`, [name, version])
      : await store.all<RawRow>(
          `${select} ORDER BY (stage = 'production') DESC, version DESC LIMIT 1`,
          [name],
        );
  if (rows.length === 0) {
    const exists = await store.all(`SELECT 1 FROM ${REGISTRY_TABLE} WHERE model = ? LIMIT 1`, [name]);
    throw exists.length === 0 ? await unknownModel(store, name) : await unknownVersion(store, name, version!);
  }
  const raw = rows[0];
  const onnx = new Uint8Array(raw.onnx ?? new Uint8Array(0));
  const record: ModelRecord = { ...toSummary(raw), onnx, statistics: await readStatistics(store, name, Number(raw.version)) };
  if (sha256Hex(onnx) !== record.onnx_sha256) {
    throw new UserError(
      `model \`${name}\` version ${record.version}: the stored ONNX bytes do not match their checksum ${record.onnx_sha256}`,
    );
  }
  return record;
}

/**
 * Makes `version` the production version of `name`; the previous production
 * version becomes archived. Returns the previous production version, if any.
 */
export async function promote(
  store: Store,
  name: string,
  version: number,
): Promise<{ model: string; version: number; previous: number | null }> {
  if (!(await store.tableExists(REGISTRY_TABLE))) throw await unknownModel(store, name);
  let previous: number | null = null;
  await store.transaction(async () => {
    const rows = await store.all<{ version: number; stage: Stage }>(
      `SELECT version, stage FROM ${REGISTRY_TABLE} WHERE model = ?`,
      [name],
    );
    if (rows.length === 0) throw await unknownModel(store, name);
    if (!rows.some((r) => Number(r.version) === version)) throw await unknownVersion(store, name, version);
    // The latest production version; a hand-edited registry may hold several, and every other one is archived.
    const prods = rows.filter((r) => r.stage === "production").map((r) => Number(r.version));
    const others = prods.filter((v) => v !== version);
    previous = others.length ? Math.max(...others) : prods.length ? version : null;
    if (prods.length === 1 && previous === version) return;
    await store.run(`UPDATE ${REGISTRY_TABLE} SET stage = 'archived' WHERE model = ? AND stage = 'production' AND version <> ?`, [name, version]);
    await store.run(
      `UPDATE ${REGISTRY_TABLE} SET stage = 'production', promoted = true WHERE model = ? AND version = ?`,
      [name, version],
    );
  });
  return { model: name, version, previous };
}

/** The version served by default among one model's versions: the latest production one, else the latest (as `getModel` picks it). */
export function servedVersion<T extends Pick<ModelSummary, "version" | "stage">>(versions: readonly T[]): T | undefined {
  const production = versions.filter((v) => v.stage === "production");
  const pool = production.length ? production : versions;
  return pool.reduce<T | undefined>((best, v) => (!best || v.version > best.version ? v : best), undefined);
}

/**
 * Warnings for models with more than one production version (a registry edited
 * by hand: `promote` and `registerModel` keep one): which versions, and which
 * one is served.
 */
export function productionWarnings(rows: ReadonlyArray<Pick<ModelSummary, "model" | "version" | "stage">>): string[] {
  const byModel = new Map<string, number[]>();
  for (const r of rows) if (r.stage === "production") byModel.set(r.model, [...(byModel.get(r.model) ?? []), r.version]);
  return [...byModel]
    .filter(([, versions]) => versions.length > 1)
    .map(([model, versions]) => {
      const sorted = versions.sort((a, b) => a - b);
      return `model \`${model}\` has ${sorted.length} production versions (${sorted.map((v) => `@${v}`).join(", ")}); @${sorted.at(-1)}, the latest, is the one used; \`fti models promote ${model}@<version>\` keeps one`;
    });
}

/** productionWarnings of one model's versions, as the store holds them (what `models show` and `predict` say without a version). */
export async function modelProductionWarnings(store: Store, model: string): Promise<string[]> {
  return productionWarnings((await listModels(store)).filter((r) => r.model === model));
}
