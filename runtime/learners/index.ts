// Uniform facade over the trainers: one call to fit, one to predict, and a
// TrainedModel that is plain JSON-able data (stored in the registry as is,
// and exported to ONNX by runtime/onnx/export.ts).

import { fitGbdt, predictGbdt, type GbdtParams, type GbdtTree } from "./gbdt.ts";
import { fitLinear, predictLinear, type LinearParams } from "./linear.ts";
import { fitLogistic, predictLogistic, type LogisticParams } from "./logistic.ts";
import { fitMultinomial, predictMultinomial } from "./multinomial.ts";
import { fitGbdtMulticlass, predictGbdtMulticlass } from "./gbdt-multiclass.ts";
import { defaultParams, type BuiltinAlgorithm, type Task } from "../catalogue.ts";

export type { Task } from "../catalogue.ts";
export type { GbdtParams, GbdtTree } from "./gbdt.ts";
export type { LinearParams } from "./linear.ts";
export type { LogisticParams } from "./logistic.ts";
export { baselinePredictions, computeMetrics, mae, rmse, r2, auc, logloss, accuracy, macroF1 } from "./metrics.ts";

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
 * Multinomial logistic regression over K classes (multinomial.ts):
 * P(class c) = softmax(intercepts + W x)_c, W row-major [K × width].
 */
export interface MultinomialModel {
  kind: "logistic";
  task: "multiclass_classification";
  width: number;
  params: LogisticParams;
  /** K. */
  classes: number;
  weights: number[];
  intercepts: number[];
  iterations: number;
  converged: boolean;
}

/**
 * Gradient-boosted trees: raw = baseScore + sum of the trees' leaf values;
 * prediction = raw (regression) or sigmoid(raw) (classification). Multiclass
 * (gbdt-multiclass.ts): per class c, raw_c = baseScores[c] + its trees
 * (trees[r * K + c]); the prediction is softmax(raw).
 */
export interface GbdtModel {
  kind: "gbdt";
  task: Task;
  width: number;
  params: GbdtParams;
  baseScore: number;
  baseScores?: number[];
  trees: GbdtTree[];
}

export type TrainedModel = LinearModel | LogisticModel | MultinomialModel | GbdtModel;

/** Outputs per row of a model's predictions: K class probabilities for multiclass, else 1. */
export function outputsOf(model: TrainedModel): number {
  if (model.task !== "multiclass_classification") return 1;
  return model.kind === "logistic" ? model.classes : model.kind === "gbdt" && model.baseScores ? model.baseScores.length : 1;
}

/** K for class-index labels 0..K-1: max + 1; each class must be present (the caller indexes the train split's classes). */
function classCount(y: Float64Array): number {
  let max = -1;
  for (let i = 0; i < y.length; i++) if (y[i] > max) max = y[i];
  return max + 1;
}

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
 * accepts it); y holds regression targets, 0/1 labels, or (multiclass) class
 * indices 0..K-1, K = max + 1.
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
      if (task === "regression") {
        throw new Error("logistic is a classification algorithm; use linear or gbdt for regression");
      }
      const p = pick(DEFAULT_PARAMS.logistic, params);
      if (task === "multiclass_classification") {
        const fit = fitMultinomial(X, n, d, y, classCount(y), p);
        return { kind, task, width: d, params: p, classes: fit.intercepts.length, ...fit };
      }
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
      if (task === "multiclass_classification") {
        const fit = fitGbdtMulticlass(X, n, d, y, classCount(y), p, { threads: options.threads });
        return { kind, task, width: d, params: p, baseScore: fit.baseScore, baseScores: fit.baseScores, trees: fit.trees };
      }
      const fit = fitGbdt(X, n, d, y, task, p, { threads: options.threads });
      return { kind, task, width: d, params: p, baseScore: fit.baseScore, trees: fit.trees };
    }
    default:
      throw new Error(`unknown model kind ${String(kind)}`);
  }
}

/** Predictions for row-major X [n × d]: regression values, P(class 1), or (multiclass) the K class probabilities row-major [n × K]. */
export function predict(model: TrainedModel, X: Float32Array, n: number, d: number): Float64Array {
  if (d !== model.width) throw new Error(`predict: the model takes ${model.width} columns, X has ${d}`);
  switch (model.kind) {
    case "linear":
      return predictLinear(model, X, n, d);
    case "logistic":
      return model.task === "multiclass_classification" ? predictMultinomial(model, X, n, d) : predictLogistic(model, X, n, d);
    case "gbdt":
      if (model.baseScores) return predictGbdtMulticlass({ task: model.task, baseScore: model.baseScore, baseScores: model.baseScores, trees: model.trees }, X, n, d);
      return predictGbdt({ task: model.task, baseScore: model.baseScore, trees: model.trees }, X, n, d);
  }
}
