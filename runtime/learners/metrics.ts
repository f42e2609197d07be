// Evaluation metrics for the two supported tasks, plus the constant baseline
// every model is compared against. All metrics take Float64Array truths and
// predictions (regression values, or the probability of class 1).

import { metricsOf, type MetricName, type Task } from "../catalogue.ts";

export type { Task } from "../catalogue.ts";

/** Probabilities are clipped to [EPS, 1 - EPS] before taking logs. */
export const LOGLOSS_EPS = 1e-15;

function checkLengths(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  if (yTrue.length !== yPred.length) {
    throw new Error(`metrics: yTrue has ${yTrue.length} values but yPred has ${yPred.length}`);
  }
  return yTrue.length;
}

export function mae(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = checkLengths(yTrue, yPred);
  if (n === 0) return NaN;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.abs(yTrue[i] - yPred[i]);
  return s / n;
}

export function rmse(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = checkLengths(yTrue, yPred);
  if (n === 0) return NaN;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const e = yTrue[i] - yPred[i];
    s += e * e;
  }
  return Math.sqrt(s / n);
}

/**
 * Coefficient of determination 1 - SS_res / SS_tot. For a constant yTrue
 * (SS_tot = 0) it is 1 when the predictions are exact and 0 otherwise.
 */
export function r2(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const n = checkLengths(yTrue, yPred);
  if (n === 0) return NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i];
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < n; i++) {
    const e = yTrue[i] - yPred[i];
    const t = yTrue[i] - mean;
    ssRes += e * e;
    ssTot += t * t;
  }
  if (ssTot === 0) return ssRes === 0 ? 1 : Number.isNaN(ssRes) ? NaN : 0;
  return 1 - ssRes / ssTot;
}

/**
 * Area under the ROC curve via the Mann-Whitney rank statistic; tied scores
 * get their average rank (so a tie between a positive and a negative counts
 * one half). NaN when only one class is present or a score is NaN.
 */
export function auc(yTrue: ArrayLike<number>, yScore: ArrayLike<number>): number {
  const n = checkLengths(yTrue, yScore);
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(yScore[i])) return NaN;
    if (yTrue[i] === 1) nPos++;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const scores = Float64Array.from(yScore as ArrayLike<number>);
  order.sort((a, b) => scores[a] - scores[b]);
  let rankSumPos = 0;
  let i = 0;
  while (i < n) {
    let j = i;
    const v = scores[order[i]];
    while (j + 1 < n && scores[order[j + 1]] === v) j++;
    // ranks i+1 .. j+1 (1-based) are tied: each gets their mean
    const avgRank = (i + 1 + (j + 1)) / 2;
    for (let k = i; k <= j; k++) if (yTrue[order[k]] === 1) rankSumPos += avgRank;
    i = j + 1;
  }
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

/** Mean binary cross-entropy, probabilities clipped to [1e-15, 1 - 1e-15]. */
export function logloss(yTrue: ArrayLike<number>, yProb: ArrayLike<number>): number {
  const n = checkLengths(yTrue, yProb);
  if (n === 0) return NaN;
  let s = 0;
  for (let i = 0; i < n; i++) {
    let p = yProb[i];
    if (p < LOGLOSS_EPS) p = LOGLOSS_EPS;
    else if (p > 1 - LOGLOSS_EPS) p = 1 - LOGLOSS_EPS;
    s -= yTrue[i] === 1 ? Math.log(p) : Math.log(1 - p);
  }
  return s / n;
}

/** Share of rows where (p > 0.5) equals the label. */
export function accuracy(yTrue: ArrayLike<number>, yProb: ArrayLike<number>): number {
  const n = checkLengths(yTrue, yProb);
  if (n === 0) return NaN;
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const label = yProb[i] > 0.5 ? 1 : 0;
    if (label === yTrue[i]) ok++;
  }
  return ok / n;
}

/**
 * The constant model every trained model must beat: the train mean for
 * regression; for classification the train positive rate as a constant
 * probability (logloss of the prior, AUC 0.5, and, thresholded at 0.5, the
 * majority class for accuracy).
 */
export function baselinePredictions(task: Task, yTrain: ArrayLike<number>, nTest: number): Float64Array {
  const n = yTrain.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrain[i];
  mean = n > 0 ? mean / n : task === "regression" ? 0 : 0.5;
  return new Float64Array(nTest).fill(mean);
}

/** The implementation of every metric of the catalogue (a missing one does not compile). */
const METRIC_FUNCTIONS: Record<MetricName, (yTrue: ArrayLike<number>, yPred: ArrayLike<number>) => number> = {
  mae,
  rmse,
  r2,
  auc,
  logloss,
  accuracy,
};

/** Every metric of the task, by name, in catalogue order. */
export function computeMetrics(task: Task, yTrue: ArrayLike<number>, yPred: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metricsOf(task)) out[m] = METRIC_FUNCTIONS[m](yTrue, yPred);
  return out;
}
