// The tail of a paced run's latencies, read so that a reader can tell how
// sure it is: percentiles by nearest rank, how many answers lie above a p99.9
// (in 20 s at 1,000 req/s, ~19: one stall of the machine moves it), the answers
// pooled over every round (3 rounds: ~57 above it of ~57,000) and a 95 % interval of the percentile from the order statistics.
//
// The interval assumes independent samples. A pause delays the answers in
// flight and the ones due during it, several in a row, so the real uncertainty
// is wider; the interval is a lower bound on it, not a guarantee.

/** Percentile of sorted values (nearest rank). */
export function pct(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[rankOf(sorted.length, p) - 1];
}

/**
 * The nearest rank of percentile `p` among `n` values, 1-based: ⌈p/100 · n⌉. Computed on p·n, then divided:
 * 99.9 / 100 · 20,000 is 19,980.000000000004 in floating point, whose ceiling would be one rank too high.
 */
function rankOf(n: number, p: number): number {
  return Math.min(n, Math.max(1, Math.ceil(Math.round(p * n * 1e6) / 1e8)));
}

export interface TailPercentile {
  /** The value (nearest rank). */
  value: number;
  /** How many answers lie above it ("the 20th-worst" is 19 above). */
  above: number;
  /** 95 % interval of the percentile from the order statistics (independent samples assumed). */
  low: number;
  high: number;
}

/**
 * Percentile `p` of sorted values with its 95 % interval: the values at ranks
 * n·q ∓ 1.96·√(n·q·(1−q)) (the normal approximation of the binomial count of
 * answers below the true percentile).
 */
export function tailPercentile(sorted: ArrayLike<number>, p: number): TailPercentile {
  const n = sorted.length;
  if (n === 0) return { value: NaN, above: 0, low: NaN, high: NaN };
  const q = p / 100;
  const rank = rankOf(n, p);
  const half = 1.96 * Math.sqrt(n * q * (1 - q));
  const at = (r: number) => sorted[Math.min(n, Math.max(1, Math.round(r))) - 1];
  return { value: sorted[rank - 1], above: n - rank, low: at(q * n - half), high: at(q * n + half) };
}

/** The values of several runs in one sorted array (the answers of every round pooled). */
export function pooled(runs: ReadonlyArray<ArrayLike<number>>): Float64Array {
  const out = new Float64Array(runs.reduce((s, r) => s + r.length, 0));
  let at = 0;
  for (const r of runs) {
    out.set(r instanceof Float64Array ? r : Float64Array.from(r), at);
    at += r.length;
  }
  return out.sort();
}
