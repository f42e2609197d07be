// Drift measures between a column's training statistics and the values of a
// window of served traffic: PSI over the training bins (numbers: the training
// deciles; strings and bools: the training top values plus `other`) and the
// two-sample Kolmogorov–Smirnov statistic for numbers. Formulas and
// thresholds: docs/monitoring.md.

import type { CategoricalSummary, NumericSummary } from "../statistics/statistics.ts";
import { binFractions } from "../statistics/statistics.ts";

/** Fractions below this are raised to it before the PSI's logarithm (an empty bin would be infinite). */
export const PSI_EPSILON = 1e-4;

/** PSI = Σ_i (a_i − e_i) · ln(a_i / e_i), with both fractions floored at PSI_EPSILON. */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i], PSI_EPSILON);
    const a = Math.max(actual[i] ?? 0, PSI_EPSILON);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/** PSI of non-null numbers against the training bins. */
export function numericPsi(train: NumericSummary, values: ArrayLike<number>): number {
  return psi(train.bins.fractions, binFractions(train.bins.edges, values));
}

/** PSI of non-null categories against the training top values plus one `other` bin. */
export function categoricalPsi(train: CategoricalSummary, values: readonly string[]): number {
  const index = new Map(train.top.map((t, i) => [t.value, i]));
  const counts = new Array<number>(train.top.length + 1).fill(0);
  for (const v of values) counts[index.get(v) ?? train.top.length]++;
  const actual = counts.map((c) => (values.length ? c / values.length : 0));
  return psi([...train.top.map((t) => t.fraction), train.other], actual);
}

/**
 * Two-sample KS statistic D = sup_x |F_ref(x) − F(x)| of two ascending arrays,
 * evaluated after each distinct value (ties advance both sides together).
 */
export function ksStatistic(ref: ArrayLike<number>, sorted: ArrayLike<number>): number {
  const n1 = ref.length;
  const n2 = sorted.length;
  if (n1 === 0 || n2 === 0) return NaN;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n1 && j < n2) {
    const x = Math.min(ref[i], sorted[j]);
    while (i < n1 && ref[i] === x) i++;
    while (j < n2 && sorted[j] === x) j++;
    d = Math.max(d, Math.abs(i / n1 - j / n2));
  }
  return d;
}

/**
 * Asymptotic p-value of a two-sample KS statistic: Q(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}
 * with λ = (√m + 0.12 + 0.11/√m)·D and m = n1·n2/(n1 + n2) (Stephens' small-sample correction).
 */
export function ksPValue(d: number, n1: number, n2: number): number {
  if (!Number.isFinite(d) || n1 === 0 || n2 === 0) return NaN;
  const m = Math.sqrt((n1 * n2) / (n1 + n2));
  const lambda = (m + 0.12 + 0.11 / m) * d;
  if (lambda < 1e-3) return 1;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += (k % 2 ? 1 : -1) * term;
    if (term < 1e-12) break;
  }
  return Math.min(1, Math.max(0, 2 * sum));
}
