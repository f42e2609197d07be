// The backtracking line search of both Newton fits (binary and multinomial
// logistic).

/**
 * Halves the step t from 1 until theta − t·step decreases the objective by
 * the Armijo condition (f − 1e-4·t·dec, `dec` the step's directional
 * decrease), then moves `theta` there and returns the new objective; null
 * when no step decreases it (in floating point). `trial` is scratch of
 * theta's length.
 */
export function armijoStep(
  theta: Float64Array, step: Float64Array, dec: number, f: number, trial: Float64Array,
  objective: (at: Float64Array) => number,
): number | null {
  let t = 1;
  for (let ls = 0; ls < 40; ls++) {
    for (let j = 0; j < theta.length; j++) trial[j] = theta[j] - t * step[j];
    const fNew = objective(trial);
    if (fNew <= f - 1e-4 * t * dec) {
      theta.set(trial);
      return fNew;
    }
    t *= 0.5;
  }
  return null;
}
