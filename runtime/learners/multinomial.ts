// Multinomial (softmax) logistic regression with an L2 penalty: `logistic`
// for multiclass_classification. K classes, one weight vector and intercept
// per class; P(y = c | x) = softmax(b + W x)_c. Fitted by Newton's method
// with a backtracking line search, like the binary case (logistic.ts):
// deterministic, converged to machine precision in a few iterations.
//
// Minimises  sum_i [logsumexp(z_i) - z_i,y_i] + (l2 / 2) * sum_c ||w_c||^2
//            + (1 / 2) * sum_j (sum_c theta_c,j)^2
// The last term fixes the one direction the softmax cannot see (adding the
// same vector to every class's parameters changes no probability): it makes
// the Hessian positive definite, and it is zero at the optimum (the penalty
// already centres the weights; the intercepts are free to centre), so the
// probabilities are those of the plain penalised fit. The intercepts are not
// penalised (scikit-learn's multinomial LogisticRegression with C = 1 / l2).
// Newton costs K²(d+1)²/2 multiply-adds per row for the Hessian: fine for a
// few classes and inputs (penguins: 3 × 8 parameters, ~5 iterations), not for
// 10 classes × 50 inputs (56 s of CPU on 20 000 rows). Above NEWTON_MAX_WORK
// per row the same objective is minimised by L-BFGS instead (lbfgs.ts: the
// gradient alone, K(d+1) per row; up to 10 × `iterations` steps): the
// objective is strictly convex, so both reach the same optimum, and both are
// deterministic.

import { minimiseLbfgs } from "./lbfgs.ts";
import { assertDenseFinite, solveSpd } from "./linear.ts";
import { armijoStep } from "./line-search.ts";
import { softmax } from "./softmax.ts";
import type { LogisticParams } from "./logistic.ts";

/** Hessian multiply-adds per row (K²(d+1)²/2) above which L-BFGS replaces Newton. */
export const NEWTON_MAX_WORK = 20_000;

export interface MultinomialFit {
  /** Row-major [classes × d]: class c's weights are weights[c * d .. (c + 1) * d). */
  weights: number[];
  intercepts: number[];
  iterations: number;
  converged: boolean;
}

/** The class scores of row i: z[c] = theta_c . [x_i, 1]. */
function scores(X: Float32Array, i: number, d: number, theta: Float64Array, k: number, z: Float64Array): void {
  const o = i * d;
  const s = d + 1;
  for (let c = 0; c < k; c++) {
    const t = c * s;
    let v = theta[t + d];
    for (let j = 0; j < d; j++) v += theta[t + j] * X[o + j];
    z[c] = v;
  }
}

function objective(X: Float32Array, n: number, d: number, y: Float64Array, k: number, theta: Float64Array, l2: number): number {
  const z = new Float64Array(k);
  const p = new Float64Array(k);
  let f = 0;
  for (let i = 0; i < n; i++) {
    scores(X, i, d, theta, k, z);
    f += softmax(z, 0, p, 0, k) - z[y[i]];
  }
  return f + penalty(theta, d, k, l2);
}

function penalty(theta: Float64Array, d: number, k: number, l2: number): number {
  const s = d + 1;
  let ww = 0;
  let centre = 0;
  for (let j = 0; j < s; j++) {
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const v = theta[c * s + j];
      if (j < d) ww += v * v;
      sum += v;
    }
    centre += sum * sum;
  }
  return 0.5 * l2 * ww + 0.5 * centre;
}

/** Labels must be class indices 0..classes-1, each class present. */
function checkLabels(y: Float64Array, n: number, classes: number): void {
  if (y.length !== n) throw new Error(`logistic: y has ${y.length} values, expected ${n}`);
  if (!(Number.isInteger(classes) && classes >= 2)) throw new Error(`logistic: a multiclass fit needs at least 2 classes, got ${classes}`);
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (!(Number.isInteger(v) && v >= 0 && v < classes)) throw new Error(`logistic: label y[${i}] = ${v} is not a class index 0..${classes - 1}`);
  }
}

export function fitMultinomial(
  X: Float32Array,
  n: number,
  d: number,
  y: Float64Array,
  classes: number,
  params: LogisticParams,
  /** Default: Newton up to NEWTON_MAX_WORK, else L-BFGS (tests compare the two). */
  solver?: "newton" | "lbfgs",
): MultinomialFit {
  assertDenseFinite("logistic", X, n, d);
  if (n === 0) throw new Error("logistic: no training rows");
  checkLabels(y, n, classes);
  const l2 = params.l2;
  if (!(l2 >= 0)) throw new Error(`logistic: l2 must be >= 0, got ${l2}`);
  const maxIter = Math.floor(params.iterations);
  if (!(maxIter >= 1)) throw new Error(`logistic: iterations must be >= 1, got ${params.iterations}`);
  const k = classes;
  const s = d + 1;
  const P = k * s;
  const theta = new Float64Array(P);
  // start from the class priors, centred (the optimum has centred intercepts)
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) counts[y[i]]++;
  let meanLog = 0;
  for (let c = 0; c < k; c++) meanLog += Math.log(Math.max(counts[c], 0.5) / n) / k;
  for (let c = 0; c < k; c++) theta[c * s + d] = Math.log(Math.max(counts[c], 0.5) / n) - meanLog;

  const fit = (it: number, converged: boolean): MultinomialFit => {
    const weights: number[] = [];
    const intercepts: number[] = [];
    for (let c = 0; c < k; c++) {
      for (let j = 0; j < d; j++) weights.push(theta[c * s + j]);
      intercepts.push(theta[c * s + d]);
    }
    return { weights, intercepts, iterations: it, converged };
  };
  if ((solver ?? ((P * P) / 2 > NEWTON_MAX_WORK ? "lbfgs" : "newton")) === "lbfgs") {
    const r = minimiseLbfgs(theta, (t, g) => gradient(X, n, d, y, k, t, l2, g), 10 * maxIter);
    return fit(r.iterations, r.converged);
  }
  const H = new Float64Array(P * P);
  const g = new Float64Array(P);
  const trial = new Float64Array(P);
  let f = objective(X, n, d, y, k, theta, l2);
  let it = 0;
  let converged = false;
  while (it < maxIter) {
    it++;
    gradientAndHessian(X, n, d, y, k, theta, l2, g, H);
    const step = solveSpd(H, g, P);
    let dec = 0;
    for (let j = 0; j < P; j++) dec += g[j] * step[j];
    if (!(dec > 0) || dec < 1e-12 * (1 + Math.abs(f))) {
      converged = true;
      break;
    }
    const fNew = armijoStep(theta, step, dec, f, trial, (at) => objective(X, n, d, y, k, at, l2));
    if (fNew === null) {
      converged = true;
      break;
    }
    f = fNew;
  }
  return fit(it, converged);
}

/** The objective at theta, and its gradient into g: one pass over the rows (L-BFGS's evaluation). */
function gradient(X: Float32Array, n: number, d: number, y: Float64Array, k: number, theta: Float64Array, l2: number, g: Float64Array): number {
  const s = d + 1;
  g.fill(0);
  const z = new Float64Array(k);
  const p = new Float64Array(k);
  let f = 0;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    scores(X, i, d, theta, k, z);
    f += softmax(z, 0, p, 0, k) - z[y[i]];
    for (let c = 0; c < k; c++) {
      const r = p[c] - (c === y[i] ? 1 : 0);
      const gc = c * s;
      for (let j = 0; j < d; j++) g[gc + j] += r * X[o + j];
      g[gc + d] += r;
    }
  }
  for (let j = 0; j < s; j++) {
    let sum = 0;
    for (let c = 0; c < k; c++) sum += theta[c * s + j];
    for (let c = 0; c < k; c++) g[c * s + j] += sum + (j < d ? l2 * theta[c * s + j] : 0);
  }
  return f + penalty(theta, d, k, l2);
}

/** One pass over the rows: the objective's gradient and Hessian (upper triangle) at theta, in Float64. */
function gradientAndHessian(
  X: Float32Array, n: number, d: number, y: Float64Array, k: number,
  theta: Float64Array, l2: number, g: Float64Array, H: Float64Array,
): void {
  const s = d + 1;
  const P = k * s;
  H.fill(0);
  g.fill(0);
  const z = new Float64Array(k);
  const p = new Float64Array(k);
  const x = new Float64Array(s);
  x[d] = 1;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) x[j] = X[o + j];
    scores(X, i, d, theta, k, z);
    softmax(z, 0, p, 0, k);
    const yi = y[i];
    for (let c = 0; c < k; c++) {
      const r = p[c] - (c === yi ? 1 : 0);
      const gc = c * s;
      for (let j = 0; j < s; j++) g[gc + j] += r * x[j];
      // d²/dz_c dz_c' = p_c (δ_cc' − p_c'); blocks (c, c') with c' >= c
      for (let c2 = c; c2 < k; c2++) {
        const a = c2 === c ? Math.max(p[c] * (1 - p[c]), 1e-300) : -p[c] * p[c2];
        const col = c2 * s;
        for (let j = 0; j < s; j++) {
          const ax = a * x[j];
          const row = (gc + j) * P + col;
          for (let m = c2 === c ? j : 0; m < s; m++) H[row + m] += ax * x[m];
        }
      }
    }
  }
  for (let j = 0; j < s; j++) {
    let sum = 0;
    for (let c = 0; c < k; c++) sum += theta[c * s + j];
    for (let c = 0; c < k; c++) {
      const at = c * s + j;
      g[at] += sum + (j < d ? l2 * theta[at] : 0);
      if (j < d) H[at * P + at] += l2;
      for (let c2 = c; c2 < k; c2++) H[at * P + c2 * s + j] += 1;
    }
  }
}

/** Class probabilities, row-major [n × classes]. */
export function predictMultinomial(fit: { weights: number[]; intercepts: number[] }, X: Float32Array, n: number, d: number): Float64Array {
  const k = fit.intercepts.length;
  if (fit.weights.length !== k * d) throw new Error(`logistic predict: model has ${fit.weights.length / k} weights per class but X has ${d} columns`);
  if (X.length < n * d) throw new Error(`logistic predict: X has ${X.length} values, expected ${n * d}`);
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let c = 0; c < k; c++) {
      let v = fit.intercepts[c];
      const w = c * d;
      for (let j = 0; j < d; j++) v += fit.weights[w + j] * X[o + j];
      out[i * k + c] = v;
    }
    softmax(out, i * k, out, i * k, k);
  }
  return out;
}
