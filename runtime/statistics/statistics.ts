// Column statistics: what a model version saw at training (stored with it in
// the registry) and what `fti monitor` measures per window of served traffic.
// Both sides use the same functions, so a window is binned exactly like the
// training data it is compared with (see docs/monitoring.md for the formulas).

import type { ColumnType, Scalar } from "../api.ts";

/** Number of quantile bins for PSI (deciles); equal cut points collapse into one. */
export const PSI_BINS = 10;
/** Order statistics kept for KS; a column with fewer values keeps all of them (the KS is then exact). */
export const KS_POINTS = 200;
/** Categories kept by name for strings and bools; the rest are counted as `other`. */
export const TOP_VALUES = 20;

export interface NumericSummary {
  mean: number;
  /** Population standard deviation. */
  std: number;
  min: number;
  max: number;
  /**
   * PSI bins: interior cut points `edges` (ascending, distinct) and the fraction
   * of non-null values in each of the edges.length + 1 bins (-inf, e0], (e0, e1], …, (e_last, +inf).
   */
  bins: { edges: number[]; fractions: number[] };
  /** Sorted order statistics at (i + 0.5) / m of the non-null values (all of them when n <= KS_POINTS). */
  quantiles: number[];
}

export interface CategoricalSummary {
  /** The most frequent values (as text; bools are "true"/"false"), by count desc then value, with their fraction of non-null values. */
  top: Array<{ value: string; fraction: number }>;
  /** Fraction of non-null values outside `top`. */
  other: number;
  distinct: number;
}

export interface ColumnStatistics {
  name: string;
  type: ColumnType;
  /** Rows seen, nulls included. */
  count: number;
  nulls: number;
  /** nulls / count (0 when count is 0). */
  null_rate: number;
  numeric?: NumericSummary;
  categorical?: CategoricalSummary;
}

/** Statistics of one model version's training data. */
export interface TrainingStatistics {
  /** Model inputs (raw, before the MDTs) over the train split. */
  features: ColumnStatistics[];
  /** The label over the train split. */
  label: ColumnStatistics;
  /** The model's predictions on the test split. */
  predictions: ColumnStatistics;
}

/** Numeric types are profiled with bins and quantiles; strings and bools by their top values. */
export function isNumericType(t: ColumnType): boolean {
  return t === "int" || t === "float" || t === "timestamp";
}

/** A value as a finite number, or null (null, NaN, ±Infinity, unparsable timestamps). */
export function numericValue(v: Scalar | undefined): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "boolean") return v ? 1 : 0;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}

/** A value as a category label, or null. */
export function categoryValue(v: Scalar | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "number" && !Number.isFinite(v)) return null;
  return String(v);
}

/** Index of the PSI bin of x: the first edge >= x, else the last bin. */
export function binIndex(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] >= x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Fractions of `sorted` per bin of `edges`. */
export function binFractions(edges: readonly number[], values: ArrayLike<number>): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) counts[binIndex(edges, values[i])]++;
  return counts.map((c) => (values.length ? c / values.length : 0));
}

/**
 * Cut points at the deciles of sorted values (the inverse empirical CDF:
 * Q(k/10) = sorted[ceil(k·n/10) − 1] for k = 1..9), distinct, and below the maximum.
 */
export function quantileEdges(sorted: Float64Array, bins = PSI_BINS): number[] {
  const n = sorted.length;
  const edges: number[] = [];
  if (n === 0) return edges;
  for (let k = 1; k < bins; k++) {
    const e = sorted[Math.max(0, Math.ceil((k * n) / bins) - 1)];
    if (e < sorted[n - 1] && (edges.length === 0 || e > edges[edges.length - 1])) edges.push(e);
  }
  return edges;
}

/** Up to `m` evenly spaced order statistics (all values when n <= m). */
export function orderStatistics(sorted: Float64Array, m = KS_POINTS): number[] {
  const n = sorted.length;
  if (n <= m) return Array.from(sorted);
  const out: number[] = [];
  for (let i = 0; i < m; i++) out.push(sorted[Math.floor(((i + 0.5) * n) / m)]);
  return out;
}

export function numericSummary(sorted: Float64Array): NumericSummary | undefined {
  const n = sorted.length;
  if (n === 0) return undefined;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i];
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (sorted[i] - mean) ** 2;
  const edges = quantileEdges(sorted);
  return {
    mean,
    std: Math.sqrt(ss / n),
    min: sorted[0],
    max: sorted[n - 1],
    bins: { edges, fractions: binFractions(edges, sorted) },
    quantiles: orderStatistics(sorted),
  };
}

/** Counts per category, sorted by count desc then value. */
export function categoryCounts(values: readonly string[]): Array<[string, number]> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export function categoricalSummary(values: readonly string[]): CategoricalSummary | undefined {
  if (values.length === 0) return undefined;
  const counts = categoryCounts(values);
  const top = counts.slice(0, TOP_VALUES).map(([value, c]) => ({ value, fraction: c / values.length }));
  const inTop = counts.slice(0, TOP_VALUES).reduce((s, [, c]) => s + c, 0);
  return { top, other: (values.length - inTop) / values.length, distinct: counts.length };
}

/** Statistics of one column's values (any iterable of scalars, nulls included). */
export function columnStatistics(name: string, type: ColumnType, values: Iterable<Scalar | undefined>): ColumnStatistics {
  let count = 0;
  let nulls = 0;
  const numeric = isNumericType(type);
  const nums: number[] = [];
  const cats: string[] = [];
  for (const v of values) {
    count++;
    if (numeric) {
      const x = numericValue(v);
      if (x === null) nulls++;
      else nums.push(x);
    } else {
      const c = categoryValue(v);
      if (c === null) nulls++;
      else cats.push(c);
    }
  }
  const stats: ColumnStatistics = { name, type, count, nulls, null_rate: count ? nulls / count : 0 };
  if (numeric) {
    const summary = numericSummary(Float64Array.from(nums).sort());
    if (summary) stats.numeric = summary;
  } else {
    const summary = categoricalSummary(cats);
    if (summary) stats.categorical = summary;
  }
  return stats;
}

/** The values of `column` at `rows` (an index list into it). */
export function* pick<T>(column: ArrayLike<T>, rows: ArrayLike<number>): Generator<T> {
  for (let i = 0; i < rows.length; i++) yield column[rows[i]];
}
