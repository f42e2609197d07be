// A loaded model version ready to predict: the registry's fitted MDT state,
// the generated `encode` (the one copy of the MDT code) and an ONNX session.
// Batch and online inference both go through `predictRows`.

import path from "node:path";
import type { ModelPlan, Scalar, SpecBundle } from "../api.ts";
import { UserError } from "../errors.ts";
import { loadOnnx, type OnnxSessionOptions } from "../onnx/session.ts";
import type { ModelRecord } from "../registry/registry.ts";
import { valueAt, type InputColumn } from "../retrieval/columns.ts";
import { checkTransformsFile, MODEL_HASH_PREFIX, modelTransformsIdentity, transformsIdentity } from "../transforms-hash.ts";
import { startOnnxWorker, type OnnxWorker } from "./onnx-worker.ts";
import { checkFittedState } from "./fitted-state.ts";

export interface Predictor {
  model: string;
  version: number;
  /** Matrix width after the MDTs. */
  width: number;
  plan: ModelPlan;
  /** A multiclass model version's classes (its fitted state's), in the order of its probabilities; null for other tasks. */
  classes: ReadonlyArray<string | number> | null;
  /** Values per row of every prediction array: K class probabilities (multiclass, row-major), else 1. */
  outputs: number;
  /** Rows of model inputs by name (view features and ODT values); a missing name is null. */
  predictRows(rows: ReadonlyArray<Record<string, Scalar>>): Promise<Float32Array>;
  /**
   * The same for `n` rows given column-major (batch inference): a missing
   * column or value is null. Encodes into one matrix and runs ONNX once.
   */
  predictColumns(columns: Readonly<Record<string, InputColumn | undefined>>, n: number): Promise<Float32Array>;
  /** The matrix predictColumns scores: `n` rows of column-major inputs encoded (MDTs) into a new row-major Float32Array. */
  encodeColumns(columns: Readonly<Record<string, InputColumn | undefined>>, n: number): Float32Array;
  /**
   * This version's session in a worker thread (onnx-worker.ts: the same bytes and options, so the
   * same predictions), for batch scoring that overlaps ONNX with the next batch; null when it cannot start.
   */
  startWorker(): Promise<OnnxWorker | null>;
}

/**
 * The skew guarantee: a model version is only served by the transformation
 * code it was trained with — its own part of transforms.ts (its MDTs, its
 * view's ODTs, the fns and extern modules they reach), whose hash it recorded
 * at training. A version recorded before per-model hashes holds the whole
 * file's hash: it still serves while the whole file is unchanged. Throws a
 * UserError saying what changed otherwise.
 */
export function checkTransformsHash(bundle: SpecBundle, record: Pick<ModelRecord, "model" | "version" | "transforms_hash">): void {
  // The loaded code is the generated code: its file's text still has the hash the bundle declares.
  if (bundle.transformsFile) checkTransformsFile(bundle.transformsFile, bundle.file, bundle.transformsHash);
  const own = modelTransformsIdentity(bundle, record.model);
  const stored = record.transforms_hash;
  if (stored === own || stored === transformsIdentity(bundle)) return;
  throw new UserError(
    `model \`${record.model}\` version ${record.version} was trained with transforms ${stored}, ` +
      `but the code it runs in the loaded spec \`${bundle.name}\` has transforms ${own} (${whatChanged(bundle, record.model, stored, own)})` +
      `; refusing to predict with mismatched transformation code`,
    `retrain it with \`fti train ${bundle.file} ${record.model}\``,
  );
}

/** Which part of a model's transformation code differs from what a version recorded, as far as the hashes tell. */
function whatChanged(bundle: SpecBundle, model: string, stored: string, own: string): string {
  // A version recorded before per-model hashes is compared with the whole file and every ODT's extern modules.
  const legacy = !stored.startsWith(MODEL_HASH_PREFIX);
  const [storedCode, storedExterns] = stored.split("+externs:");
  const [ownCode, ownExterns] = (legacy ? transformsIdentity(bundle) : own).split("+externs:");
  const externs = legacy ? (bundle.odtExternFiles ?? []) : (bundle.modelExternFiles?.[model] ?? []);
  const moduleNames = externs.map((f) => path.basename(f)).join(", ");
  if (storedCode === ownCode) return `an extern fn module its on_demand features call changed: ${moduleNames}`;
  if (legacy) {
    return (
      `it was trained before per-model hashes, with the hash of the whole transforms.ts of the spec, and that file has changed since` +
      ` — perhaps only another model's MDTs or an on_demand feature it does not use; a version trained now is tied to its own code only`
    );
  }
  const plan = bundle.models.find((m) => m.name === model);
  if (!plan) return `the spec declares no model \`${model}\` now`;
  const odts = bundle.views.find((v) => v.name === plan.view)?.odts.map((o) => o.name) ?? [];
  return (
    `its MDTs (\`transform\` lines)` +
    (odts.length ? `, the on_demand features its view \`${plan.view}\` computes (${odts.join(", ")}) or the fns they call` : "") +
    ` changed` +
    (storedExterns !== ownExterns && externs.length ? `, and so did an extern fn module they call (${moduleNames})` : "")
  );
}

export interface PredictorOptions {
  /** How the ONNX session uses the CPU; default PREDICTOR_ONNX_OPTIONS. */
  onnx?: OnnxSessionOptions;
}

/**
 * One ONNX thread: a row's prediction is then the same alone (online) and
 * in any batch (batch inference, grouped online requests) — with several,
 * onnxruntime sums a lone row's trees in parallel, in another order.
 */
export const PREDICTOR_ONNX_OPTIONS: OnnxSessionOptions = { threads: 1 };

export async function createPredictor(
  bundle: SpecBundle,
  modelName: string,
  record: ModelRecord,
  opts: PredictorOptions = {},
): Promise<Predictor> {
  checkTransformsHash(bundle, record);
  if (record.model !== modelName) {
    throw new Error(`createPredictor: asked for model \`${modelName}\` but was given a registry row of \`${record.model}\``);
  }
  const plan = bundle.models.find((m) => m.name === modelName);
  if (!plan) {
    throw new UserError(
      `spec \`${bundle.name}\` has no model \`${modelName}\`; its models: ${bundle.models.map((m) => m.name).join(", ") || "none"}`,
    );
  }
  const state = record.mdt_state;
  checkFittedState(plan, state, modelName, record.version);
  const width = state.width;
  const session = await loadOnnx(record.onnx, opts.onnx ?? PREDICTOR_ONNX_OPTIONS).catch((e: Error) => {
    // fti train and fti register stored a model that loads: these bytes were changed in the registry since (their checksum with them).
    throw new UserError(
      `model \`${modelName}\` version ${record.version}: its stored ONNX model cannot be loaded (${e.message})`,
      `the registry row was changed after it was written; train the model again (fti train) or register its ONNX file again (fti register)`,
    );
  });
  if (session.width !== null && session.width !== width) {
    throw new UserError(
      `model \`${modelName}\` version ${record.version}: its ONNX input width is ${session.width} but its MDT state produces ${width}`,
    );
  }
  const classes = state.classes ?? null;
  if ((classes?.length ?? 1) !== session.outputs) {
    throw new UserError(
      `model \`${modelName}\` version ${record.version}: its ONNX model has ${session.outputs} output(s) per row but its fitted state lists ${classes?.length ?? 0} classes`,
    );
  }
  const names = plan.inputs.map((i) => i.name);
  const encodeColumns: Predictor["encodeColumns"] = (columns, n) => {
    if (!Number.isInteger(n) || n < 0) throw new Error(`encodeColumns: bad row count ${n}`);
    const cols = names.map((name) => columns[name]);
    cols.forEach((c, j) => {
      if (c && c.length < n) throw new Error(`encodeColumns: column \`${names[j]}\` has ${c.length} values for ${n} rows`);
    });
    const X = new Float32Array(n * width);
    // One row object, refilled per row: encode (the generated MDT code) reads inputs by name.
    const row: Record<string, Scalar> = {};
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < names.length; j++) {
        const c = cols[j];
        row[names[j]] = c ? valueAt(c, i) : null;
      }
      plan.encode(row, state, X, i * width);
    }
    return X;
  };

  return {
    model: modelName,
    version: record.version,
    width,
    plan,
    classes,
    outputs: session.outputs,
    async predictRows(rows) {
      const n = rows.length;
      if (n === 0) return new Float32Array(0);
      const X = new Float32Array(n * width);
      const row: Record<string, Scalar> = {};
      for (let i = 0; i < n; i++) {
        const src = rows[i];
        for (const name of names) row[name] = src[name] ?? null;
        plan.encode(row, state, X, i * width);
      }
      return session.predict(X, n);
    },
    async predictColumns(columns, n) {
      if (!Number.isInteger(n) || n < 0) throw new Error(`predictColumns: bad row count ${n}`);
      if (n === 0) return new Float32Array(0);
      return session.predict(encodeColumns(columns, n), n);
    },
    encodeColumns,
    startWorker: () => startOnnxWorker(record.onnx, opts.onnx ?? PREDICTOR_ONNX_OPTIONS),
  };
}
