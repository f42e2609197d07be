// Uniform facade over the trainers: one call to fit, one to predict, and a
// TrainedModel that is plain JSON-able data (stored in the registry as is,
// and exported to ONNX by runtime/onnx/export.ts).

import { fitGbdt, predictGbdt, type GbdtParams, type GbdtTree } from "./gbdt.ts";
import { fitLinear, predictLinear, type LinearParams } from "./linear.ts";
import { fitLogistic, predictLogistic, type LogisticParams } from "./logistic.ts";
import { defaultParams, type BuiltinAlgorithm, type Task } from "../catalogue.ts";

export type { Task } from "../catalogue.ts";
export type { GbdtParams, GbdtTree } from "./gbdt.ts";
export type { LinearParams } from "./linear.ts";
export type { LogisticParams } from "./logistic.ts";
export { baselinePredictions, computeMetrics, mae, rmse, r2, auc, logloss, accuracy } from "./metrics.ts";

export type ModelKind = BuiltinAlgorithm;

/** The spec's defaults (runtime/catalogue.ts): what a parameter left out of a call takes. */
export const DEFAULT_PARAMS = {
  linear: defaultParams("linear") satisfies LinearParams,
  logistic: defaultParams("logistic") satisfies LogisticParams,
  gbdt: defaultParams("gbdt") satisfies GbdtParams,
};

/** Ridge regression: prediction = intercept + weights · x. */
export interface LinearModel {
  kind: "linear";
  task: "regression";
  /** Input width. */
  width: number;
  params: LinearParams;
  weights: number[];
  intercept: number;
}

/** L2 logistic regression: P(y = 1) = sigmoid(intercept + weights · x). */
export interface LogisticModel {
  kind: "logistic";
  task: "binary_classification";
  width: number;
  params: LogisticParams;
  weights: number[];
  intercept: number;
  iterations: number;
  converged: boolean;
}

/**
 * Gradient-boosted trees: raw = baseScore + sum of the trees' leaf values;
 * prediction = raw (regression) or sigmoid(raw) (classification).
 */
export interface GbdtModel {
  kind: "gbdt";
  task: Task;
  width: number;
  params: GbdtParams;
  baseScore: number;
  trees: GbdtTree[];
}

export type TrainedModel = LinearModel | LogisticModel | GbdtModel;

/** Any subset of the algorithm's parameters; missing ones take DEFAULT_PARAMS. */
export type TrainParams = Partial<LinearParams> | Partial<LogisticParams> | Partial<GbdtParams>;

function pick<T extends object>(defaults: T, given: object): T {
  const out = { ...defaults } as Record<string, unknown>;
  for (const key of Object.keys(defaults)) {
    const v = (given as Record<string, unknown>)[key];
    if (v !== undefined) {
      if (typeof v !== "number" || Number.isNaN(v)) throw new Error(`parameter ${key} must be a number, got ${String(v)}`);
      out[key] = v;
    }
  }
  return out as T;
}

/** How to run a fit; it never changes the model. */
export interface TrainRunOptions {
  /** Threads for gbdt's histograms (default: $FTI_THREADS, else the cores); linear and logistic use one. */
  threads?: number;
}

/**
 * Fits a model. X is row-major Float32 [n × d] (NaN = missing, only gbdt
 * accepts it); y holds regression targets or 0/1 labels.
 */
export function trainModel(
  kind: ModelKind,
  task: Task,
  X: Float32Array,
  n: number,
  d: number,
  y: Float64Array,
  params: TrainParams = {},
  options: TrainRunOptions = {},
): TrainedModel {
  switch (kind) {
    case "linear": {
      if (task !== "regression") {
        throw new Error("linear is a regression algorithm; use logistic or gbdt for binary_classification");
      }
      const p = pick(DEFAULT_PARAMS.linear, params);
      const fit = fitLinear(X, n, d, y, p);
      return { kind, task, width: d, params: p, weights: fit.weights, intercept: fit.intercept };
    }
    case "logistic": {
      if (task !== "binary_classification") {
        throw new Error("logistic is a binary_classification algorithm; use linear or gbdt for regression");
      }
      const p = pick(DEFAULT_PARAMS.logistic, params);
      const fit = fitLogistic(X, n, d, y, p);
      return {
        kind,
        task,
        width: d,
        params: p,
        weights: fit.weights,
        intercept: fit.intercept,
        iterations: fit.iterations,
        converged: fit.converged,
      };
    }
    case "gbdt": {
      const p = pick(DEFAULT_PARAMS.gbdt, params);
      const fit = fitGbdt(X, n, d, y, task, p, { threads: options.threads });
      return { kind, task, width: d, params: p, baseScore: fit.baseScore, trees: fit.trees };
    }
    default:
      throw new Error(`unknown model kind ${String(kind)}`);
  }
}

/** Predictions for row-major X [n × d]: regression values, or P(class 1). */
export function predict(model: TrainedModel, X: Float32Array, n: number, d: number): Float64Array {
  if (d !== model.width) throw new Error(`predict: the model takes ${model.width} columns, X has ${d}`);
  switch (model.kind) {
    case "linear":
      return predictLinear(model, X, n, d);
    case "logistic":
      return predictLogistic(model, X, n, d);
    case "gbdt":
      return predictGbdt({ task: model.task, baseScore: model.baseScore, trees: model.trees }, X, n, d);
  }
}
