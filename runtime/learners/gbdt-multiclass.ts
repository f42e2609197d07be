// Multiclass gradient boosting (softmax log loss): each round grows one tree
// per class, on that class's gradients at the round's start scores F
// (g = p_c − [y = c], h = p_c (1 − p_c), p = softmax(F)), and adds its leaf
// values to the class's scores. The trees come from the binary grower
// (gbdt.ts) in its softmax mode: the workspace holds every row's K scores and
// K probabilities, and the gradient pass of class c's tree (fixed row blocks
// on every thread, gbdt-threads.ts) first adds the last tree's leaf values to
// its class's scores, computes the probabilities when c = 0 (a new round),
// then class c's gradients. Each row's arithmetic is its own and the blocks'
// sums are added in block order: the forest is bit-identical for any thread
// count (test/gbdt-threads.test.ts).
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
  const grower = new TreeGrower(X, n, d, true, params, { ...options, threads }, K);
  try {
    const { ws } = grower;
    ws.y.set(y);
    for (let c = 0; c < K; c++) ws.scores.fill(baseScores[c], c * n, (c + 1) * n);
    const trees: GbdtTree[] = [];
    for (let r = 0; r < params.trees; r++) for (let c = 0; c < K; c++) trees.push(grower.grow(c));
    return { task: "multiclass_classification", baseScore: 0, baseScores, trees };
  } finally {
    grower.close();
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
