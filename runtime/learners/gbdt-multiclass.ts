// Multiclass gradient boosting (softmax log loss): each round grows one tree
// per class, on that class's gradients at the round's start scores F
// (g = p_c − [y = c], h = p_c (1 − p_c), p = softmax(F)), and adds its leaf
// values to the class's scores. The trees come from the binary grower
// (gbdt.ts) unchanged: class c's softmax probability is handed to its
// gradient pass as a log-odds, raw = F_c − log Σ_{j≠c} exp F_j (whose sigmoid
// is p_c), with the label y = [y = c]; the grower's pending leaf values are
// zeroed first, so that pass adds nothing to raw. The scores and the raw
// values are computed here, on the caller's thread, row by row in a fixed
// order: with the grower's own guarantee, the forest is bit-identical for any
// thread count (test/gbdt-threads.test.ts).
//
// Layout: trees[r * K + c] is round r's tree of class c; baseScores[c] =
// log(train share of c). Prediction: each class's base score plus its trees'
// leaf values, then softmax (runtime/onnx/export.ts: a TreeEnsembleRegressor
// with K targets, then Softmax).

import { defaultThreads } from "./gbdt-threads.ts";
import { softmax } from "./softmax.ts";
import { predictGbdtRaw, TreeGrower, validateParams, type GbdtFit, type GbdtOptions, type GbdtParams, type GbdtTree } from "./gbdt.ts";

/** A multiclass forest's fit: the base scores and the trees of every class, round by round. */
export type GbdtMulticlassFit = GbdtFit & { baseScores: number[] };

/** y holds class indices 0..classes-1 (each present); `params.trees` is the number of rounds. */
export function fitGbdtMulticlass(
  X: Float32Array,
  n: number,
  d: number,
  y: Float64Array,
  classes: number,
  params: GbdtParams,
  options: GbdtOptions = {},
): GbdtMulticlassFit {
  validateParams(params);
  const threads = options.threads ?? defaultThreads();
  if (!(Number.isInteger(threads) && threads >= 1)) throw new Error(`gbdt: threads must be an integer >= 1, got ${threads}`);
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 0) throw new Error(`gbdt: bad matrix size n=${n}, d=${d}`);
  if (X.length < n * d) throw new Error(`gbdt: X has ${X.length} values, expected n*d = ${n * d}`);
  if (y.length !== n) throw new Error(`gbdt: y has ${y.length} values, expected ${n}`);
  if (!(Number.isInteger(classes) && classes >= 2)) throw new Error(`gbdt: a multiclass fit needs at least 2 classes, got ${classes}`);
  const K = classes;
  const counts = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (!(Number.isInteger(v) && v >= 0 && v < K)) throw new Error(`gbdt: label y[${i}] = ${v} is not a class index 0..${K - 1}`);
    counts[v]++;
  }
  const baseScores = Array.from(counts, (c) => Math.log(Math.max(c, 1e-15 * n) / n));
  const F = new Float64Array(n * K);
  for (let i = 0; i < n; i++) F.set(baseScores, i * K);
  const raw = new Float64Array(n * K);
  const grower = new TreeGrower(X, n, d, true, params, { ...options, threads });
  try {
    const { ws } = grower;
    const trees: GbdtTree[] = [];
    for (let r = 0; r < params.trees; r++) {
      classLogOdds(F, n, K, raw);
      for (let c = 0; c < K; c++) {
        ws.leafValue.fill(0);
        for (let i = 0; i < n; i++) {
          ws.raw[i] = raw[i * K + c];
          ws.y[i] = y[i] === c ? 1 : 0;
        }
        trees.push(grower.grow());
        // the tree's leaf values, by each row's leaf (marked by grow), into class c's scores
        const { leafOf, leafValue } = ws;
        for (let i = 0; i < n; i++) F[i * K + c] += leafValue[leafOf[i]];
      }
    }
    return { task: "multiclass_classification", baseScore: 0, baseScores, trees };
  } finally {
    grower.close();
  }
}

/**
 * raw[i, c] = F[i, c] − log Σ_{j≠c} exp F[i, j]: the log-odds of class c's
 * softmax probability. The sums over the other classes are prefix + suffix
 * sums (no cancellation, O(K) per row).
 */
function classLogOdds(F: Float64Array, n: number, K: number, raw: Float64Array): void {
  const e = new Float64Array(K);
  const suffix = new Float64Array(K + 1);
  for (let i = 0; i < n; i++) {
    const o = i * K;
    let m = -Infinity;
    for (let c = 0; c < K; c++) if (F[o + c] > m) m = F[o + c];
    for (let c = 0; c < K; c++) e[c] = Math.exp(F[o + c] - m);
    suffix[K] = 0;
    for (let c = K - 1; c >= 0; c--) suffix[c] = suffix[c + 1] + e[c];
    let prefix = 0;
    for (let c = 0; c < K; c++) {
      raw[o + c] = F[o + c] - m - Math.log(prefix + suffix[c + 1]);
      prefix += e[c];
    }
  }
}

/** Class probabilities, row-major [n × K]: per class its base score plus its trees, then softmax. */
export function predictGbdtMulticlass(fit: GbdtMulticlassFit, X: Float32Array, n: number, d: number, threads?: number): Float64Array {
  const K = fit.baseScores.length;
  if (fit.trees.length % K !== 0) throw new Error(`gbdt predict: ${fit.trees.length} trees is not a whole number of rounds of ${K} classes`);
  const out = new Float64Array(n * K);
  for (let c = 0; c < K; c++) {
    const trees = fit.trees.filter((_, t) => t % K === c);
    const z = predictGbdtRaw({ task: fit.task, baseScore: fit.baseScores[c], trees }, X, n, d, threads);
    for (let i = 0; i < n; i++) out[i * K + c] = z[i];
  }
  for (let i = 0; i < n; i++) softmax(out, i * K, out, i * K, K);
  return out;
}
