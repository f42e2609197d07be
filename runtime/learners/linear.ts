// Ridge / ordinary least squares regression by the normal equations.
//
// Minimises  ||y - X w - b||^2 + l2 * ||w||^2  (the intercept b is not
// penalised). X and y are centred first (which is exact for an unpenalised
// intercept and keeps the system well conditioned), X^T X and X^T y are
// accumulated in Float64, and (X^T X + l2 I) w = X^T y is solved by Cholesky.
// A singular system (l2 = 0 with a constant or collinear column) is
// regularised by a tiny diagonal jitter, so it still yields finite weights.

import type { AlgorithmParams } from "../catalogue.ts";

/** `l2`: the penalty on the non-intercept weights (0 = ordinary least squares). */
export type LinearParams = AlgorithmParams<"linear">;

export interface LinearFit {
  weights: number[];
  intercept: number;
}

/** Throws a clear error when X is too short or holds a NaN / infinite value. */
export function assertDenseFinite(what: string, X: Float32Array, n: number, d: number): void {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 0 || d < 0) {
    throw new Error(`${what}: bad matrix size n=${n}, d=${d}`);
  }
  if (X.length < n * d) throw new Error(`${what}: X has ${X.length} values, expected n*d = ${n * d}`);
  for (let i = 0; i < n * d; i++) {
    const v = X[i];
    if (!Number.isFinite(v)) {
      const row = Math.floor(i / d);
      const col = i % d;
      throw new Error(
        `${what}: X[${row}, ${col}] is ${v}; linear models need complete, finite inputs ` +
          `(add an impute transform for columns with missing values)`,
      );
    }
  }
}

export function assertTargets(what: string, y: Float64Array, n: number, binary: boolean): void {
  if (y.length !== n) throw new Error(`${what}: y has ${y.length} values, expected ${n}`);
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (binary ? v !== 0 && v !== 1 : !Number.isFinite(v)) {
      throw new Error(`${what}: label y[${i}] = ${v} is not ${binary ? "0 or 1" : "a finite number"}`);
    }
  }
}

/**
 * Solves A x = b for a symmetric positive (semi)definite k×k matrix A
 * (row-major, only the upper triangle is read) by Cholesky. When a pivot
 * collapses, a diagonal jitter growing by 100× per attempt is added.
 */
export function solveSpd(A: Float64Array, b: Float64Array, k: number): Float64Array {
  let maxDiag = 0;
  for (let i = 0; i < k; i++) maxDiag = Math.max(maxDiag, Math.abs(A[i * k + i]));
  const scale = maxDiag > 0 ? maxDiag : 1;
  const L = new Float64Array(k * k);
  for (let attempt = 0; attempt < 12; attempt++) {
    const jitter = attempt === 0 ? 0 : scale * 1e-12 * Math.pow(100, attempt - 1);
    if (cholesky(A, L, k, jitter)) {
      // forward then back substitution: L z = b, L^T x = z
      const x = new Float64Array(k);
      for (let i = 0; i < k; i++) {
        let s = b[i];
        for (let j = 0; j < i; j++) s -= L[i * k + j] * x[j];
        x[i] = s / L[i * k + i];
      }
      for (let i = k - 1; i >= 0; i--) {
        let s = x[i];
        for (let j = i + 1; j < k; j++) s -= L[j * k + i] * x[j];
        x[i] = s / L[i * k + i];
      }
      return x;
    }
  }
  throw new Error("linear solve failed: the normal equations are not positive definite (NaN in the data?)");
}

function cholesky(A: Float64Array, L: Float64Array, k: number, jitter: number): boolean {
  L.fill(0);
  for (let j = 0; j < k; j++) {
    const ajj = A[j * k + j] + jitter;
    let s = ajj;
    for (let p = 0; p < j; p++) s -= L[j * k + p] * L[j * k + p];
    // relative pivot test: a pivot lost to round-off means a (near) singular matrix
    if (!(s > 1e-13 * Math.max(Math.abs(ajj), 1e-300))) return false;
    const ljj = Math.sqrt(s);
    L[j * k + j] = ljj;
    for (let i = j + 1; i < k; i++) {
      // A is symmetric: read the upper triangle A[j][i]
      let t = A[j * k + i];
      for (let p = 0; p < j; p++) t -= L[i * k + p] * L[j * k + p];
      L[i * k + j] = t / ljj;
    }
  }
  return true;
}

export function fitLinear(X: Float32Array, n: number, d: number, y: Float64Array, params: LinearParams): LinearFit {
  assertDenseFinite("linear", X, n, d);
  assertTargets("linear", y, n, false);
  const l2 = params.l2;
  if (!(l2 >= 0)) throw new Error(`linear: l2 must be >= 0, got ${l2}`);
  if (n === 0) throw new Error("linear: no training rows");

  const mx = new Float64Array(d);
  let my = 0;
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) mx[j] += X[o + j];
    my += y[i];
  }
  for (let j = 0; j < d; j++) mx[j] /= n;
  my /= n;

  const A = new Float64Array(d * d);
  const b = new Float64Array(d);
  const row = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) row[j] = X[o + j] - mx[j];
    const yc = y[i] - my;
    for (let j = 0; j < d; j++) {
      const rj = row[j];
      b[j] += rj * yc;
      const aj = j * d;
      for (let k = j; k < d; k++) A[aj + k] += rj * row[k];
    }
  }
  for (let j = 0; j < d; j++) A[j * d + j] += l2;
  const w = d > 0 ? solveSpd(A, b, d) : new Float64Array(0);
  let intercept = my;
  for (let j = 0; j < d; j++) intercept -= w[j] * mx[j];
  return { weights: Array.from(w), intercept };
}

/** X w + b per row (NaN inputs give NaN). */
export function predictLinear(fit: LinearFit, X: Float32Array, n: number, d: number): Float64Array {
  const w = fit.weights;
  if (w.length !== d) throw new Error(`linear predict: model has ${w.length} weights but X has ${d} columns`);
  if (X.length < n * d) throw new Error(`linear predict: X has ${X.length} values, expected ${n * d}`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    let s = fit.intercept;
    for (let j = 0; j < d; j++) s += w[j] * X[o + j];
    out[i] = s;
  }
  return out;
}
