// The training pipeline of one model: PIT training frame → split → MDT fit on
// train → encode → built-in trainer → ONNX export → ONNX check against the
// trainer → test metrics (from the ONNX predictions, next to the naive
// baseline) → `require` gates → registry.

import type { FittedState, ModelPlan, SpecBundle, ViewPlan } from "../api.ts";
import { findModel } from "../bundle.ts";
import { mulberry32 } from "../random.ts";
import { UserError } from "../errors.ts";
import { trainingStatistics } from "../statistics/training-statistics.ts";
import { exportOnnx } from "../onnx/export.ts";
import { loadOnnx } from "../onnx/session.ts";
import { registerModel, sha256Hex, type GateResult, type ModelLineage, type Stage } from "../registry/registry.ts";
import type { Store } from "../store/store.ts";
import { predict, trainModel, type TrainedModel } from "../learners/index.ts";
import { baselinePredictions, computeMetrics } from "../learners/metrics.ts";
import { encodeMatrix, fitTransforms, inputSpans } from "./mdt-fit.ts";
import { classLabels } from "./classes.ts";
import { unservableTestRows, type UnservableRows } from "./unservable.ts";
import { futureRows, type FutureRows } from "./future-rows.ts";
import { buildTrainingFrame, type TrainingFrame } from "../retrieval/pit.ts";
import { modelTransformsIdentity } from "../transforms-hash.ts";

export type TrainStep = "frame" | "split" | "fit" | "encode" | "train" | "export" | "verify" | "metrics" | "register";

export interface TrainProgress {
  step: TrainStep;
  message: string;
}

/** Runs one step of the pipeline, timing it and reporting progress. */
export type Timed = <T>(step: TrainStep, message: string, fn: () => T | Promise<T>) => Promise<T>;

export interface TrainOptions {
  onProgress?: (p: TrainProgress) => void;
  /** Only labels before this time (what `fti run` knows at its clock's now); default: every label. */
  until?: Date;
  /** false: register as staging even when the gates pass (`fti run` decides the promotion). */
  promote?: boolean;
  /** Threads for the trainer (gbdt; default $FTI_THREADS, else the cores): the model is the same for every value. */
  threads?: number;
}

export interface TrainReport {
  model: string;
  version: number;
  stage: Stage;
  promoted: boolean;
  algorithm: string;
  task: ModelPlan["task"];
  /** Matrix width after the MDTs. */
  width: number;
  /** A multiclass model's classes, in the order of its probabilities. */
  classes?: Array<string | number>;
  /** Multiclass: test rows per label value that is not a training class (they count as misses). */
  unseenTestLabels?: Record<string, number>;
  /** Test rows the metrics count that serving would refuse (a null key, a join with no row and no imputing): absent when none. */
  unservableTest?: UnservableRows;
  /** Rows dated after the run (a plain `fti train`: a replay's clock takes none): absent when none. */
  futureRows?: FutureRows;
  /** Test-split metrics of the registered (ONNX) model. */
  metrics: Record<string, number>;
  /** The same metrics for the naive baseline (train mean / train positive rate). */
  baseline: Record<string, number>;
  gates: GateResult[];
  /** Failing gates as text, e.g. "mae < 600 (measured 812.4)". */
  failingGates: string[];
  rows: { total: number; train: number; test: number; droppedLabels: number };
  range: { from: string; to: string };
  onnx: { bytes: number; sha256: string; maxAbsDiff: number };
  transformsHash: string;
  timings: Record<string, number>;
}

// ------------------------------------------------------------------ shared with register-external.ts

/** An instant from the spec: a date (`2025-10-01`) or a date-time without zone is UTC. */
export function parseInstant(text: string): number {
  const t = text.trim();
  const zoned = /([zZ]|[+-]\d\d:?\d\d)$/.test(t) || !/\d[T ]\d/.test(t);
  const ms = Date.parse(zoned ? t : t.replace(" ", "T") + "Z");
  if (Number.isNaN(ms)) throw new UserError(`cannot read \`${text}\` as a date or time`);
  return ms;
}

export interface Split {
  train: Int32Array;
  test: Int32Array;
  droppedLabels: number;
}

/** The latest label time with a usable label (epoch ms). */
function latestLabelTime(frame: TrainingFrame): number {
  let max = -Infinity;
  for (let i = 0; i < frame.n; i++) if (Number.isFinite(frame.label[i]) && frame.time[i] > max) max = frame.time[i];
  return max;
}

/**
 * Splits the frame's rows (those with a usable label) into train and test.
 * time: label time < testFrom is train; last: the labels within testLastMs
 * of the latest label are test; random: a seeded draw per row, in frame order. Either side empty is a UserError.
 */
export function splitFrame(plan: ModelPlan, frame: TrainingFrame): Split {
  const train: number[] = [];
  const test: number[] = [];
  let dropped = 0;
  const binary = plan.task === "binary_classification";
  const split = plan.split;
  const isTest =
    split.kind === "time"
      ? ((from) => (i: number) => frame.time[i] >= from)(parseInstant(split.testFrom))
      : split.kind === "last"
        ? ((from) => (i: number) => frame.time[i] > from)(latestLabelTime(frame) - split.testLastMs)
        : ((rnd, f) => () => rnd() < f)(mulberry32(split.seed), split.testFraction);
  for (let i = 0; i < frame.n; i++) {
    const y = frame.label[i];
    if (!Number.isFinite(y)) {
      dropped++;
      continue;
    }
    if (binary && y !== 0 && y !== 1) {
      throw new UserError(
        `model \`${plan.name}\` is a binary classifier but its label has the value ${y} (row ${i}); labels must be 0/1 or true/false`,
      );
    }
    (isTest(i) ? test : train).push(i);
  }
  if (train.length === 0 || test.length === 0) {
    const how =
      split.kind === "time"
        ? `time split at ${split.testFrom}; label times run ${frame.range.from} .. ${frame.range.to}`
        : split.kind === "last"
          ? `the last ${split.testLastMs / 86_400_000} days of labels; label times run ${frame.range.from} .. ${frame.range.to}`
          : `random split, test fraction ${split.testFraction}`;
    throw new UserError(
      `model \`${plan.name}\`: the ${train.length === 0 ? "train" : "test"} split is empty ` +
        `(${train.length} train / ${test.length} test rows of ${frame.n}; ${how})`,
      frame.n === 0
        ? "the view has no labelled rows: run the feature pipeline (`fti features`) and check the label source"
        : split.kind === "time"
          ? "move `split time(test_from: ...)` inside the label time range"
          : split.kind === "last"
            ? "shorten `test_last`, or train on more history"
          : "use more data or a test fraction between 0 and 1",
    );
  }
  return { train: Int32Array.from(train), test: Int32Array.from(test), droppedLabels: dropped };
}

function gather(values: Float64Array, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = values[rows[i]];
  return out;
}

/** Linear models cannot take NaN: name the input that has missing values, with the fix. */
function checkComplete(plan: ModelPlan, state: FittedState, X: Float32Array, n: number): void {
  const d = state.width;
  for (const span of inputSpans(plan, state)) {
    let missing = 0;
    for (let i = 0; i < n; i++) {
      for (let j = span.from; j < span.to; j++) {
        if (!Number.isFinite(X[i * d + j])) {
          missing++;
          break;
        }
      }
    }
    if (missing > 0) {
      throw new UserError(
        `model \`${plan.name}\`: input \`${span.name}\` is missing or not finite in ${missing} of ${n} train rows; ` +
          `${plan.algorithm.kind} models need complete inputs`,
        `add \`transform ${span.name}: impute(median)\` to the model (or use algorithm gbdt, which handles missing values)`,
      );
    }
  }
}

export function lineageOf(bundle: SpecBundle, plan: ModelPlan, view: ViewPlan, frame: TrainingFrame, split: Split): ModelLineage {
  const tables = new Map<string, { group: string; version: number; table: string }>();
  for (const f of view.features) {
    if (tables.has(f.table)) continue;
    const g = bundle.groups.find((g) => g.table === f.table) ?? bundle.groups.find((g) => g.name === f.group);
    tables.set(f.table, { group: f.group, version: g?.version ?? 1, table: f.table });
  }
  return {
    specHash: bundle.specHash,
    specFile: bundle.file,
    view: view.name,
    featureTables: [...tables.values()],
    trainingRange: frame.range,
    rows: { train: split.train.length, test: split.test.length },
    split: plan.split,
  };
}

const compare = {
  "<": (a: number, b: number) => a < b,
  "<=": (a: number, b: number) => a <= b,
  ">": (a: number, b: number) => a > b,
  ">=": (a: number, b: number) => a >= b,
};

export function evaluateGates(plan: ModelPlan, metrics: Record<string, number>): GateResult[] {
  return plan.requires.map((r) => {
    const actual = metrics[r.metric];
    const known = typeof actual === "number" && Number.isFinite(actual);
    return { ...r, actual: known ? actual : null, pass: known && compare[r.op](actual, r.value) };
  });
}

export function describeFailing(gates: GateResult[]): string[] {
  return gates
    .filter((g) => !g.pass)
    .map((g) => `${g.metric} ${g.op} ${g.value} (measured ${g.actual === null ? "n/a" : +g.actual.toPrecision(6)})`);
}

/** The task's metrics the spec asks for (all of them when it names none), plus those its gates read. */
export function selectMetrics(plan: ModelPlan, all: Record<string, number>): Record<string, number> {
  const wanted = new Set([...plan.metrics, ...plan.requires.map((r) => r.metric)]);
  if (wanted.size === 0) return all;
  const out: Record<string, number> = {};
  for (const name of wanted) {
    if (!(name in all)) {
      throw new UserError(
        `model \`${plan.name}\`: metric \`${name}\` is not available for ${plan.task}; available: ${Object.keys(all).join(", ")}`,
      );
    }
    out[name] = all[name];
  }
  return out;
}

/** Everything up to the encoded matrices: shared by training and external registration. */
export interface PreparedData {
  frame: TrainingFrame;
  split: Split;
  state: FittedState;
  /** Labels: regression values, 0/1, or (multiclass) class indices, -1 for a test label unseen in training. */
  yTrain: Float64Array;
  yTest: Float64Array;
  XTest: Float32Array;
  /** Multiclass: test rows per label value unseen in training. */
  unseen?: Record<string, number>;
}

export async function prepareData(
  store: Store,
  bundle: SpecBundle,
  plan: ModelPlan,
  timed: Timed,
  until?: Date,
): Promise<PreparedData> {
  const frame = await timed("frame", `building the training frame of view ${plan.view}`, () =>
    buildTrainingFrame(store, bundle, plan.view, until ? { to: until } : {}),
  );
  const split = await timed("split", `splitting ${frame.n} rows (${plan.split.kind})`, () => splitFrame(plan, frame));
  const state = await timed("fit", `fitting MDTs on ${split.train.length} train rows`, () =>
    fitTransforms(plan, frame.columns, split.train),
  );
  const XTest = await timed("encode", `encoding ${split.test.length} test rows × ${state.width}`, () =>
    encodeMatrix(plan, state, frame.columns, split.test),
  );
  if (plan.task === "multiclass_classification") {
    const labels = classLabels(plan, frame, split.train, split.test);
    // the classes travel with the fitted state: every version's predictions are read against its own
    state.classes = labels.classes;
    return { frame, split, state, yTrain: labels.yTrain, yTest: labels.yTest, XTest, unseen: labels.unseen };
  }
  return {
    frame,
    split,
    state,
    yTrain: gather(frame.label, split.train),
    yTest: gather(frame.label, split.test),
    XTest,
  };
}

/** What a training and a registration report both say about the registered version (the rest is their own). */
export function registrationReport(
  plan: ModelPlan,
  result: { version: number; stage: Stage; metrics: Record<string, number>; baseline: Record<string, number>; gates: GateResult[] },
  data: PreparedData,
): Pick<TrainReport, "model" | "version" | "stage" | "promoted" | "metrics" | "baseline" | "gates" | "failingGates" | "rows"> {
  const { split, frame } = data;
  return {
    model: plan.name,
    version: result.version,
    stage: result.stage,
    promoted: result.stage === "production",
    metrics: result.metrics,
    baseline: result.baseline,
    gates: result.gates,
    failingGates: describeFailing(result.gates),
    rows: { total: frame.n, train: split.train.length, test: split.test.length, droppedLabels: split.droppedLabels },
  };
}

/** Measures on test, decides the stage by the gates, and registers the version. */
export async function scoreAndRegister(
  store: Store,
  bundle: SpecBundle,
  plan: ModelPlan,
  view: ViewPlan,
  data: PreparedData,
  testPredictions: ArrayLike<number>,
  model: { algorithm: string; params: unknown; onnx: Uint8Array },
  timed: Timed,
  promote = true,
): Promise<{
  version: number;
  stage: Stage;
  metrics: Record<string, number>;
  baseline: Record<string, number>;
  gates: GateResult[];
}> {
  const { metrics, baseline, gates } = await timed("metrics", `test metrics on ${data.split.test.length} rows`, () => {
    const yPred = Float64Array.from(testPredictions);
    const metrics = selectMetrics(plan, computeMetrics(plan.task, data.yTest, yPred));
    const base = computeMetrics(plan.task, data.yTest, baselinePredictions(plan.task, data.yTrain, data.yTest.length));
    const baseline: Record<string, number> = {};
    for (const k of Object.keys(metrics)) baseline[k] = base[k];
    return { metrics, baseline, gates: evaluateGates(plan, metrics) };
  });
  const stage: Stage = gates.every((g) => g.pass) && promote ? "production" : "staging";
  const version = await timed("register", `registering ${plan.name} (${stage})`, () =>
    registerModel(store, {
      model: plan.name,
      stage,
      spec_hash: bundle.specHash,
      transforms_hash: modelTransformsIdentity(bundle, plan.name),
      view: view.name,
      task: plan.task,
      algorithm: model.algorithm,
      params: model.params,
      metrics,
      baseline,
      lineage: lineageOf(bundle, plan, view, data.frame, data.split),
      mdt_state: data.state,
      onnx: model.onnx,
      promoted: stage === "production",
      gates,
      statistics: trainingStatistics(plan, data.frame, data.split.train, testPredictions, data.state.classes),
    }),
  );
  return { version, stage, metrics, baseline, gates };
}

/** Milliseconds to one decimal, plus the total since t0. */
export function finishTimings(timings: Record<string, number>, t0: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(timings)) out[k] = Math.round(v * 10) / 10;
  out.total = Math.round((performance.now() - t0) * 10) / 10;
  return out;
}

/** A timer that records each step's milliseconds (summed when a step repeats) and reports progress. */
export function stepTimer(timings: Record<string, number>, onProgress?: (p: TrainProgress) => void): Timed {
  return async (step, message, fn) => {
    onProgress?.({ step, message });
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      timings[step] = (timings[step] ?? 0) + (performance.now() - t0);
    }
  };
}

/** Largest |a - b|, with NaN against NaN counting as equal and NaN against a number as Infinity. */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    const d = Math.abs(x - y);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

// ------------------------------------------------------------------ training

/** The exported ONNX model's predictions on the test rows, checked against the trainer's own (else a bug in the exporter). */
async function verifyOnnx(
  model: string,
  trained: TrainedModel,
  onnx: Uint8Array,
  XTest: Float32Array,
  nTest: number,
  d: number,
): Promise<{ onnxPred: Float32Array; diff: number }> {
  const session = await loadOnnx(onnx);
  if (session.width !== d) {
    throw new Error(`ONNX export check failed for \`${model}\`: the exported model takes width ${session.width}, expected ${d}`);
  }
  const onnxPred = await session.predict(XTest, nTest);
  const own = predict(trained, XTest, nTest, d);
  let scale = 1;
  for (let i = 0; i < own.length; i++) if (Math.abs(own[i]) > scale) scale = Math.abs(own[i]);
  const diff = maxAbsDiff(onnxPred, own);
  if (onnxPred.length !== own.length || !(diff <= 1e-3 * scale)) {
    throw new Error(
      `ONNX export check failed for \`${model}\` (${trained.kind}): onnxruntime's predictions differ from the ` +
        `trainer's by up to ${diff} on ${nTest} test rows (allowed ${1e-3 * scale}); this is a bug in the exporter`,
    );
  }
  return { onnxPred, diff };
}

export async function trainModelFromSpec(
  store: Store,
  bundle: SpecBundle,
  modelName: string,
  opts: TrainOptions = {},
): Promise<TrainReport> {
  const t0 = performance.now();
  const { plan, view } = findModel(bundle, modelName);
  const algorithm = plan.algorithm;
  if (algorithm.kind === "onnx") {
    throw new UserError(
      `model \`${plan.name}\` uses algorithm onnx("${algorithm.file}"): it is trained outside fti, so \`fti train\` cannot train it`,
      `register the file instead: \`fti register ${bundle.file} ${plan.name} ${algorithm.file}\``,
    );
  }
  const timings: Record<string, number> = {};
  const timed = stepTimer(timings, opts.onProgress);

  const data = await prepareData(store, bundle, plan, timed, opts.until);
  const { state, split, frame } = data;
  const d = state.width;
  const nTrain = split.train.length;
  const nTest = split.test.length;
  const XTrain = await timed("encode", `encoding ${nTrain} train rows × ${d}`, () =>
    encodeMatrix(plan, state, frame.columns, split.train),
  );
  if (algorithm.kind !== "gbdt") checkComplete(plan, state, XTrain, nTrain);

  const trained = await timed("train", `training ${algorithm.kind} on ${nTrain} × ${d}`, () =>
    trainModel(algorithm.kind, plan.task, XTrain, nTrain, d, data.yTrain, algorithm.params, { threads: opts.threads }),
  );
  const onnx = await timed("export", "exporting to ONNX", () => exportOnnx(trained, { width: d, classes: state.classes }));

  // The registered artefact is the ONNX file: check it predicts what the trainer does.
  const { onnxPred, diff } = await timed("verify", `checking the ONNX model on ${nTest} test rows`, () =>
    verifyOnnx(plan.name, trained, onnx, data.XTest, nTest, d),
  );

  const result = await scoreAndRegister(
    store,
    bundle,
    plan,
    view,
    data,
    onnxPred,
    { algorithm: algorithm.kind, params: trained.params, onnx },
    timed,
    opts.promote !== false,
  );
  return {
    ...registrationReport(plan, result, data),
    algorithm: algorithm.kind,
    task: plan.task,
    ...(state.classes ? { classes: state.classes, unseenTestLabels: data.unseen ?? {} } : {}),
    ...((u) => (u ? { unservableTest: u } : {}))(unservableTestRows(view, plan, frame, split.test)),
    ...((f) => (f ? { futureRows: f } : {}))(opts.until ? null : futureRows(frame.time, Date.now())),
    width: d,
    range: frame.range,
    onnx: { bytes: onnx.byteLength, sha256: sha256Hex(onnx), maxAbsDiff: diff },
    transformsHash: modelTransformsIdentity(bundle, plan.name),
    timings: finishTimings(timings, t0),
  };
}
