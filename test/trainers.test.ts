// Trainers (linear, logistic, gbdt) on synthetic data with a known truth, and
// the metrics against hand-computed values.

import { describe, expect, it } from "vitest";
import { binColumns, computeBinEdges, fitGbdt } from "../runtime/learners/gbdt.ts";
import { predict, trainModel, type GbdtModel } from "../runtime/learners/index.ts";
import {
  accuracy,
  auc,
  baselinePredictions,
  computeMetrics,
  logloss,
  mae,
  r2,
  rmse,
} from "../runtime/learners/metrics.ts";
import { mulberry32 as rng } from "../runtime/random.ts";

function matrix(n: number, d: number, r: () => number, lo = -3, hi = 3): Float32Array {
  const X = new Float32Array(n * d);
  for (let i = 0; i < X.length; i++) X[i] = lo + (hi - lo) * r();
  return X;
}

function rows(X: Float32Array, d: number, from: number, to: number): Float32Array {
  return X.slice(from * d, to * d);
}

describe("metrics", () => {
  it("regression metrics match hand-computed values", () => {
    const t = [1, 2, 3, 4];
    const p = [1, 2, 3, 5];
    expect(mae(t, p)).toBeCloseTo(0.25, 12);
    expect(rmse(t, p)).toBeCloseTo(0.5, 12);
    // SS_res = 1, SS_tot = 5
    expect(r2(t, p)).toBeCloseTo(0.8, 12);
    expect(r2([2, 2], [2, 2])).toBe(1);
    expect(r2([2, 2], [1, 2])).toBe(0);
  });

  it("auc averages tied ranks", () => {
    expect(auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBeCloseTo(0.75, 12);
    // positives {0.5, 0.9}, negatives {0.5, 0.2}: 0.5 + 1 + 1 + 1 of 4 pairs
    expect(auc([0, 1, 0, 1], [0.5, 0.5, 0.2, 0.9])).toBeCloseTo(0.875, 12);
    expect(auc([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3])).toBeCloseTo(0.5, 12);
    expect(auc([1, 1], [0.2, 0.3])).toBeNaN();
  });

  it("logloss clips probabilities to [1e-15, 1 - 1e-15]; accuracy thresholds at 0.5", () => {
    expect(logloss([1, 0], [0.8, 0.4])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 12);
    // p = 0 for a positive: -log(1e-15) instead of Infinity
    expect(logloss([1, 0], [0, 0])).toBeCloseTo((-Math.log(1e-15) - Math.log1p(-1e-15)) / 2, 9);
    expect(Number.isFinite(logloss([0], [1]))).toBe(true);
    expect(accuracy([1, 0, 1, 0], [0.9, 0.6, 0.4, 0.1])).toBe(0.5);
  });

  it("baseline: train mean, or the train positive rate as a constant probability", () => {
    expect(Array.from(baselinePredictions("regression", [1, 2, 6], 2))).toEqual([3, 3]);
    const pb = baselinePredictions("binary_classification", [1, 0, 0, 0], 3);
    expect(Array.from(pb)).toEqual([0.25, 0.25, 0.25]);
    const m = computeMetrics("binary_classification", [1, 0, 0, 0], baselinePredictions("binary_classification", [1, 0, 0, 0], 4));
    expect(Object.keys(m).sort()).toEqual(["accuracy", "auc", "logloss"]);
    expect(m.accuracy).toBe(0.75); // the majority class
    expect(m.auc).toBe(0.5);
    expect(Object.keys(computeMetrics("regression", [1, 2], [1, 2])).sort()).toEqual(["mae", "r2", "rmse"]);
  });
});

describe("linear", () => {
  const r = rng(1);
  const n = 3000;
  const d = 3;
  const X = matrix(n, d, r);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = 3 * X[i * d] - 2 * X[i * d + 1] + 5 + (r() - 0.5) * 0.1;

  it("recovers y = 3 x0 - 2 x1 + 5", () => {
    const m = trainModel("linear", "regression", X, n, d, y, { l2: 0 });
    if (m.kind !== "linear") throw new Error("kind");
    expect(m.weights[0]).toBeCloseTo(3, 2);
    expect(m.weights[1]).toBeCloseTo(-2, 2);
    expect(m.weights[2]).toBeCloseTo(0, 2);
    expect(m.intercept).toBeCloseTo(5, 2);
    const p = predict(m, X, n, d);
    expect(rmse(y, p)).toBeLessThan(0.05);
  });

  it("l2 shrinks the weights but not the intercept", () => {
    const m0 = trainModel("linear", "regression", X, n, d, y, { l2: 0 });
    const m1 = trainModel("linear", "regression", X, n, d, y, { l2: 1e5 });
    if (m0.kind !== "linear" || m1.kind !== "linear") throw new Error("kind");
    expect(Math.abs(m1.weights[0])).toBeLessThan(Math.abs(m0.weights[0]) / 2);
    // heavy shrinkage: predictions tend to the mean of y, which the free intercept keeps
    const p = predict(m1, X, n, d);
    const meanP = p.reduce((a, b) => a + b, 0) / n;
    const meanY = y.reduce((a, b) => a + b, 0) / n;
    expect(meanP).toBeCloseTo(meanY, 6);
  });

  it("survives a duplicated column and a constant column without l2", () => {
    const d2 = 3;
    const X2 = new Float32Array(n * d2);
    for (let i = 0; i < n; i++) {
      X2[i * d2] = X[i * d];
      X2[i * d2 + 1] = X[i * d]; // duplicate
      X2[i * d2 + 2] = 7; // constant
    }
    const y2 = new Float64Array(n);
    for (let i = 0; i < n; i++) y2[i] = 2 * X[i * d] + 1;
    const m = trainModel("linear", "regression", X2, n, d2, y2, { l2: 0 });
    if (m.kind !== "linear") throw new Error("kind");
    expect(m.weights[0] + m.weights[1]).toBeCloseTo(2, 4);
    expect(rmse(y2, predict(m, X2, n, d2))).toBeLessThan(1e-3);
  });

  it("rejects NaN inputs with a clear message", () => {
    const Xn = X.slice();
    Xn[5] = NaN;
    expect(() => trainModel("linear", "regression", Xn, n, d, y, {})).toThrow(/X\[1, 2\] is NaN.*impute/);
    expect(() => trainModel("linear", "binary_classification", X, n, d, y, {})).toThrow(/regression algorithm/);
  });
});

describe("logistic", () => {
  const r = rng(2);
  const n = 4000;
  const d = 3;
  const X = matrix(n, d, r, -2, 2);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const z = 2 * X[i * d] - 1 * X[i * d + 1] + 0.5;
    y[i] = r() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }

  it("recovers the signs and ratio of the coefficients and beats the baseline", () => {
    const m = trainModel("logistic", "binary_classification", X, n, d, y, { l2: 1, iterations: 50 });
    if (m.kind !== "logistic") throw new Error("kind");
    expect(m.converged).toBe(true);
    expect(m.weights[0]).toBeGreaterThan(0);
    expect(m.weights[1]).toBeLessThan(0);
    expect(m.weights[0] / -m.weights[1]).toBeGreaterThan(1.6);
    expect(m.weights[0] / -m.weights[1]).toBeLessThan(2.5);
    expect(Math.abs(m.weights[2])).toBeLessThan(0.2);
    const p = predict(m, X, n, d);
    const base = baselinePredictions("binary_classification", y, n);
    expect(logloss(y, p)).toBeLessThan(logloss(y, base) - 0.2);
    expect(auc(y, p)).toBeGreaterThan(0.8);
  });

  it("is deterministic and the model is plain JSON", () => {
    const a = trainModel("logistic", "binary_classification", X, n, d, y, { l2: 0.5 });
    const b = trainModel("logistic", "binary_classification", X, n, d, y, { l2: 0.5 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const c = JSON.parse(JSON.stringify(a));
    expect(Array.from(predict(c, X, 10, d))).toEqual(Array.from(predict(a, X, 10, d)));
  });

  it("rejects labels other than 0/1", () => {
    const bad = y.slice();
    bad[3] = 2;
    expect(() => trainModel("logistic", "binary_classification", X, n, d, bad, {})).toThrow(/y\[3\] = 2 is not 0 or 1/);
  });
});

describe("gbdt", () => {
  const r = rng(3);
  const nTrain = 4000;
  const nTest = 2000;
  const n = nTrain + nTest;
  const d = 3;
  const X = matrix(n, d, r);
  const y = new Float64Array(n);
  const yc = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x0 = X[i * d];
    const x1 = X[i * d + 1];
    y[i] = Math.sin(x0) * 3 + x1 * x1 + (r() - 0.5) * 0.5;
    yc[i] = r() < 1 / (1 + Math.exp(-(2 * Math.sin(x0 * 1.5) + x1 * x1 - 3))) ? 1 : 0;
    if (r() < 0.1) X[i * d + 1] = NaN; // 10% missing in x1
  }
  const XTrain = rows(X, d, 0, nTrain);
  const XTest = rows(X, d, nTrain, n);
  const params = { trees: 100, depth: 4, learning_rate: 0.1, min_leaf: 20, bins: 64, l2: 1 };

  it("regression beats the mean baseline MAE by a wide margin", () => {
    const m = trainModel("gbdt", "regression", XTrain, nTrain, d, y.subarray(0, nTrain), params);
    const p = predict(m, XTest, nTest, d);
    const yTest = y.subarray(nTrain);
    const base = baselinePredictions("regression", y.subarray(0, nTrain), nTest);
    expect(mae(yTest, p)).toBeLessThan(0.35 * mae(yTest, base));
    expect(r2(yTest, p)).toBeGreaterThan(0.8);
  });

  it("classification beats the prior on AUC and logloss", () => {
    const m = trainModel("gbdt", "binary_classification", XTrain, nTrain, d, yc.subarray(0, nTrain), params);
    const p = predict(m, XTest, nTest, d);
    for (const v of p) expect(v > 0 && v < 1).toBe(true);
    const yTest = yc.subarray(nTrain);
    const base = baselinePredictions("binary_classification", yc.subarray(0, nTrain), nTest);
    const mm = computeMetrics("binary_classification", yTest, p);
    const mb = computeMetrics("binary_classification", yTest, base);
    expect(mm.auc).toBeGreaterThan(0.8);
    expect(mm.logloss).toBeLessThan(mb.logloss - 0.1);
    expect(mm.accuracy).toBeGreaterThan(mb.accuracy);
  });

  it("learns where missing values go", () => {
    // y = 10 when x0 is missing, else x0: NaN must land with the large values
    const m0 = 2000;
    const Xm = new Float32Array(m0);
    const ym = new Float64Array(m0);
    const rr = rng(9);
    for (let i = 0; i < m0; i++) {
      if (i % 5 === 0) {
        Xm[i] = NaN;
        ym[i] = 10;
      } else {
        Xm[i] = rr() * 4 - 2;
        ym[i] = Xm[i];
      }
    }
    const m = trainModel("gbdt", "regression", Xm, m0, 1, ym, { trees: 50, depth: 3, min_leaf: 5, learning_rate: 0.3, l2: 0 });
    const p = predict(m, Float32Array.from([NaN, -1.5, 1.5]), 3, 1);
    expect(p[0]).toBeGreaterThan(9);
    expect(p[1]).toBeCloseTo(-1.5, 0);
    expect(p[2]).toBeCloseTo(1.5, 0);
  });

  it("is deterministic, JSON-able, and respects min_leaf", () => {
    const a = trainModel("gbdt", "regression", XTrain, nTrain, d, y.subarray(0, nTrain), { ...params, trees: 10 });
    const b = trainModel("gbdt", "regression", XTrain, nTrain, d, y.subarray(0, nTrain), { ...params, trees: 10 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const c = JSON.parse(JSON.stringify(a)) as GbdtModel;
    expect(Array.from(predict(c, XTest, nTest, d))).toEqual(Array.from(predict(a, XTest, nTest, d)));
    // no split can leave both children >= n/2 + 1 rows: every tree is one leaf
    const big = trainModel("gbdt", "regression", XTrain, nTrain, d, y.subarray(0, nTrain), { ...params, trees: 3, min_leaf: nTrain / 2 + 1 });
    if (big.kind !== "gbdt") throw new Error("kind");
    for (const t of big.trees) expect(t.feature).toEqual([-1]);
  });

  it("bins at most `bins` quantiles per feature, NaN in its own bin", () => {
    const m0 = 1000;
    const Xb = new Float32Array(m0 * 2);
    for (let i = 0; i < m0; i++) {
      Xb[i * 2] = i % 3; // three distinct values
      Xb[i * 2 + 1] = i % 7 === 0 ? NaN : i;
    }
    const edges = computeBinEdges(Xb, m0, 2, 16);
    expect(Array.from(edges[0])).toEqual([0.5, 1.5]);
    expect(edges[1].length).toBeLessThanOrEqual(15);
    for (let k = 1; k < edges[1].length; k++) expect(edges[1][k]).toBeGreaterThan(edges[1][k - 1]);
    const codes = binColumns(Xb, m0, 2, edges);
    expect(Array.from(codes.subarray(0, 4))).toEqual([0, 1, 2, 0]);
    expect(codes[m0]).toBe(edges[1].length + 1); // row 0 of feature 1 is NaN
    for (let i = 1; i < m0; i++) {
      if (i % 7 === 0) continue;
      const b = codes[m0 + i];
      // the code is the first edge the value is <= to
      if (b < edges[1].length) expect(Xb[i * 2 + 1]).toBeLessThanOrEqual(edges[1][b]);
      if (b > 0) expect(Xb[i * 2 + 1]).toBeGreaterThan(edges[1][b - 1]);
    }
  });

  it("the WebAssembly and TypeScript kernels build identical models", () => {
    // 6 features: exercises the 4-feature and the single-feature kernels
    const m0 = 3000;
    const d6 = 6;
    const rr = rng(21);
    const X6 = matrix(m0, d6, rr);
    for (let i = 0; i < X6.length; i++) if (rr() < 0.08) X6[i] = NaN;
    const yr = new Float64Array(m0);
    const yb = new Float64Array(m0);
    for (let i = 0; i < m0; i++) {
      const a = X6[i * d6] || 0;
      const b = X6[i * d6 + 4] || 0;
      yr[i] = Math.sin(a) + b * b + rr();
      yb[i] = rr() < 1 / (1 + Math.exp(-(a - b))) ? 1 : 0;
    }
    const p = { trees: 15, depth: 5, learning_rate: 0.2, min_leaf: 5, bins: 200, l2: 0.5 };
    for (const [task, yy] of [["regression", yr], ["binary_classification", yb]] as const) {
      const w = fitGbdt(X6, m0, d6, yy, task, p, { engine: "wasm" });
      const j = fitGbdt(X6, m0, d6, yy, task, p, { engine: "js" });
      expect(w.trees[0].feature.length).toBeGreaterThan(20);
      expect(JSON.stringify(w)).toBe(JSON.stringify(j));
    }
  });

  it("grows deep trees (more than 256 leaves)", () => {
    const m = trainModel("gbdt", "regression", XTrain, nTrain, d, y.subarray(0, nTrain), {
      trees: 2,
      depth: 12,
      min_leaf: 1,
      learning_rate: 1,
      l2: 0,
    });
    if (m.kind !== "gbdt") throw new Error("kind");
    expect(m.trees[0].feature.filter((f) => f < 0).length).toBeGreaterThan(256);
    // nearly interpolates the training data
    expect(r2(y.subarray(0, nTrain), predict(m, XTrain, nTrain, d))).toBeGreaterThan(0.97);
  });

  it("rejects bad parameters", () => {
    expect(() => trainModel("gbdt", "regression", XTrain, nTrain, d, y.subarray(0, nTrain), { bins: 256 })).toThrow(/bins/);
    expect(() => trainModel("gbdt", "regression", XTrain, nTrain, d, y.subarray(0, nTrain), { depth: 0 })).toThrow(/depth/);
  });
});
