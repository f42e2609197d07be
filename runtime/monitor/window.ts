// Drift of one window of served values against a column's training
// statistics: the window's own count and null rate, PSI over the training
// bins, KS for numbers (docs/monitoring.md).

import type { ColumnType, Scalar } from "../api.ts";
import { categoricalPsi, ksPValue, ksStatistic, numericPsi } from "./drift.ts";
import { categoryValue, isNumericType, numericValue, type ColumnStatistics } from "../statistics/statistics.ts";

export interface ColumnDrift {
  name: string;
  /** Values in the window, nulls included. */
  count: number;
  null_rate: number;
  /** The training null rate (null when the training statistics lack the column). */
  null_rate_train: number | null;
  /** null_rate − null_rate_train. */
  null_rate_change: number | null;
  /** null when there is no training distribution or no non-null value in the window. */
  psi: number | null;
  ks: number | null;
  ks_p: number | null;
  /** Mean of the window's non-null numbers. */
  mean: number | null;
}

const finite = (x: number) => (Number.isFinite(x) ? x : null);

/** Compares a window's values of one column with its training statistics (`train` may be missing). */
export function columnDrift(name: string, type: ColumnType, values: ReadonlyArray<Scalar | undefined>, train: ColumnStatistics | undefined): ColumnDrift {
  const count = values.length;
  let nulls = 0;
  const numeric = isNumericType(type);
  const nums: number[] = [];
  const cats: string[] = [];
  for (const v of values) {
    const x = numeric ? numericValue(v) : categoryValue(v);
    if (x === null) nulls++;
    else if (numeric) nums.push(x as number);
    else cats.push(x as string);
  }
  const nullRate = count ? nulls / count : 0;
  const out: ColumnDrift = {
    name,
    count,
    null_rate: nullRate,
    null_rate_train: train ? train.null_rate : null,
    null_rate_change: train && count ? nullRate - train.null_rate : null,
    psi: null,
    ks: null,
    ks_p: null,
    mean: nums.length ? nums.reduce((s, x) => s + x, 0) / nums.length : null,
  };
  if (numeric && nums.length && train?.numeric) {
    const sorted = Float64Array.from(nums).sort();
    out.psi = numericPsi(train.numeric, sorted);
    out.ks = finite(ksStatistic(train.numeric.quantiles, sorted));
    out.ks_p = out.ks === null ? null : finite(ksPValue(out.ks, train.count - train.nulls, sorted.length));
  } else if (!numeric && cats.length && train?.categorical) {
    out.psi = categoricalPsi(train.categorical, cats);
  }
  return out;
}
