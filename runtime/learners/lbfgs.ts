// Limited-memory BFGS with a backtracking (Armijo) line search, for smooth
// convex objectives (multinomial logistic regression with many parameters,
// multinomial.ts). Deterministic: plain Float64 arithmetic in a fixed order.
// Stops when a step decreases the objective by less than 1e-13 of its value
// (twice in a row), when the gradient vanishes, when no step along the
// search direction decreases it (converged), or after `maxIter` steps.

/** f(x) and its gradient into g. */
export type ObjectiveWithGradient = (x: Float64Array, g: Float64Array) => number;

const MEMORY = 10;

/** Minimises `fg` from x (updated in place); returns the steps taken and whether it converged. */
export function minimiseLbfgs(x: Float64Array, fg: ObjectiveWithGradient, maxIter: number): { iterations: number; converged: boolean } {
  const P = x.length;
  const g = new Float64Array(P);
  const gNew = new Float64Array(P);
  const dir = new Float64Array(P);
  const trial = new Float64Array(P);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(MEMORY);
  let f = fg(x, g);
  let small = 0;
  for (let it = 1; it <= maxIter; it++) {
    if (maxAbs(g) === 0) return { iterations: it - 1, converged: true };
    // two-loop recursion: dir = −H·g
    dir.set(g);
    for (let m = S.length - 1; m >= 0; m--) {
      alpha[m] = rho[m] * dot(S[m], dir);
      axpy(-alpha[m], Y[m], dir);
    }
    const gamma = S.length ? dot(S[S.length - 1], Y[Y.length - 1]) / dot(Y[Y.length - 1], Y[Y.length - 1]) : 1 / Math.max(1, maxAbs(g));
    for (let j = 0; j < P; j++) dir[j] *= gamma;
    for (let m = 0; m < S.length; m++) axpy(alpha[m] - rho[m] * dot(Y[m], dir), S[m], dir);
    for (let j = 0; j < P; j++) dir[j] = -dir[j];
    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // not a descent direction (round-off): restart from the gradient
      S.length = Y.length = rho.length = 0;
      for (let j = 0; j < P; j++) dir[j] = -g[j] / Math.max(1, maxAbs(g));
      slope = dot(g, dir);
    }
    let t = 1;
    let fNew = NaN;
    let accepted = false;
    for (let ls = 0; ls < 40; ls++) {
      for (let j = 0; j < P; j++) trial[j] = x[j] + t * dir[j];
      fNew = fg(trial, gNew);
      if (fNew <= f + 1e-4 * t * slope) {
        accepted = true;
        break;
      }
      t *= 0.5;
    }
    if (!accepted) return { iterations: it, converged: true }; // no decrease possible in floating point
    const s = new Float64Array(P);
    const yv = new Float64Array(P);
    for (let j = 0; j < P; j++) {
      s[j] = trial[j] - x[j];
      yv[j] = gNew[j] - g[j];
    }
    const sy = dot(s, yv);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(yv, yv))) {
      if (S.length === MEMORY) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
    const decrease = f - fNew;
    x.set(trial);
    g.set(gNew);
    f = fNew;
    small = decrease <= 1e-13 * (1 + Math.abs(f)) ? small + 1 : 0;
    if (small >= 2) return { iterations: it, converged: true };
  }
  return { iterations: maxIter, converged: false };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j] * b[j];
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let j = 0; j < y.length; j++) y[j] += a * x[j];
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let j = 0; j < a.length; j++) if (Math.abs(a[j]) > m) m = Math.abs(a[j]);
  return m;
}
