// Evaluation metrics of the tasks, plus the constant baseline every model is
// compared against. All metrics take truths and predictions: regression
// values, or 0/1 and the probability of class 1, or (multiclass) the class
// index (-1: a class the model never saw in training) and the K class
// probabilities row-major [n × K].

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

/** K for n truths and their row-major [n × K] probabilities. */
function classesOf(yTrue: ArrayLike<number>, yProb: ArrayLike<number>): number {
  const n = yTrue.length;
  const k = n > 0 ? yProb.length / n : 0;
  if (!Number.isInteger(k)) throw new Error(`metrics: ${yProb.length} probabilities for ${n} rows is not a whole number of classes`);
  return k;
}

/** The predicted class of row i: the most probable, the lowest index among ties; -1 when a probability is NaN. */
export function argmaxRow(yProb: ArrayLike<number>, i: number, k: number): number {
  let best = 0;
  const o = i * k;
  for (let c = 0; c < k; c++) {
    const p = yProb[o + c];
    if (Number.isNaN(p)) return -1;
    if (p > yProb[o + best]) best = c;
  }
  return best;
}

/** Multiclass: mean of -log p(true class), clipped like `logloss`; a class unseen in training has p = 0 (clipped). */
export function multiclassLogloss(yTrue: ArrayLike<number>, yProb: ArrayLike<number>): number {
  const n = yTrue.length;
  const k = classesOf(yTrue, yProb);
  if (n === 0) return NaN;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const c = yTrue[i];
    let p = c >= 0 && c < k ? yProb[i * k + c] : 0;
    if (!(p >= LOGLOSS_EPS)) p = Number.isNaN(p) ? p : LOGLOSS_EPS;
    else if (p > 1 - LOGLOSS_EPS) p = 1 - LOGLOSS_EPS;
    s -= Math.log(p);
  }
  return s / n;
}

/** Multiclass: share of rows whose most probable class is the true one. */
export function multiclassAccuracy(yTrue: ArrayLike<number>, yProb: ArrayLike<number>): number {
  const n = yTrue.length;
  const k = classesOf(yTrue, yProb);
  if (n === 0) return NaN;
  let ok = 0;
  for (let i = 0; i < n; i++) if (argmaxRow(yProb, i, k) === yTrue[i]) ok++;
  return ok / n;
}

/**
 * Multiclass: the mean over the model's classes of each class's F1
 * (2·TP / (2·TP + FP + FN)), the predicted class being the most probable.
 * A class neither true nor predicted in any row is left out of the mean; a
 * row of a class unseen in training is a miss (a false positive of the
 * class predicted).
 */
export function macroF1(yTrue: ArrayLike<number>, yProb: ArrayLike<number>): number {
  const n = yTrue.length;
  const k = classesOf(yTrue, yProb);
  if (n === 0) return NaN;
  const tp = new Float64Array(k);
  const fp = new Float64Array(k);
  const fn = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const c = yTrue[i];
    const hat = argmaxRow(yProb, i, k);
    if (hat < 0) return NaN;
    if (hat === c) tp[c]++;
    else {
      fp[hat]++;
      if (c >= 0 && c < k) fn[c]++;
    }
  }
  let sum = 0;
  let classes = 0;
  for (let c = 0; c < k; c++) {
    const den = 2 * tp[c] + fp[c] + fn[c];
    if (den === 0) continue;
    sum += (2 * tp[c]) / den;
    classes++;
  }
  return classes ? sum / classes : NaN;
}

/**
 * The constant model every trained model must beat: the train mean for
 * regression; for classification the train positive rate as a constant
 * probability (logloss of the prior, AUC 0.5, and, thresholded at 0.5, the
 * majority class for accuracy); for multiclass the train class shares as
 * constant probabilities (the majority class for accuracy).
 */
export function baselinePredictions(task: Task, yTrain: ArrayLike<number>, nTest: number): Float64Array {
  const n = yTrain.length;
  if (task === "multiclass_classification") {
    let k = 0;
    for (let i = 0; i < n; i++) if (yTrain[i] + 1 > k) k = yTrain[i] + 1;
    const shares = new Float64Array(k);
    for (let i = 0; i < n; i++) shares[yTrain[i]] += 1 / n;
    const out = new Float64Array(nTest * k);
    for (let i = 0; i < nTest; i++) out.set(shares, i * k);
    return out;
  }
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrain[i];
  mean = n > 0 ? mean / n : task === "regression" ? 0 : 0.5;
  return new Float64Array(nTest).fill(mean);
}

type MetricFunction = (yTrue: ArrayLike<number>, yPred: ArrayLike<number>) => number;

/** The implementation of every metric of the catalogue (a missing one does not compile). */
const METRIC_FUNCTIONS: Record<MetricName, MetricFunction> = {
  mae,
  rmse,
  r2,
  auc,
  logloss,
  accuracy,
  macro_f1: macroF1,
};

/** The multiclass versions of the metrics binary classification shares. */
const MULTICLASS_FUNCTIONS: Partial<Record<MetricName, MetricFunction>> = { logloss: multiclassLogloss, accuracy: multiclassAccuracy };

/** Every metric of the task, by name, in catalogue order (multiclass: yPred holds K probabilities per row). */
export function computeMetrics(task: Task, yTrue: ArrayLike<number>, yPred: ArrayLike<number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of metricsOf(task)) out[m] = ((task === "multiclass_classification" && MULTICLASS_FUNCTIONS[m]) || METRIC_FUNCTIONS[m])(yTrue, yPred);
  return out;
}
