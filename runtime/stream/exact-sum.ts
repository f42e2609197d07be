// Exact floating-point sums that can add and take away values forever without
// drifting, for the stream's windows: the state is the exact sum held as a
// short list of non-overlapping doubles ("partials", smallest first; Shewchuk's
// expansion arithmetic, the method behind Python's math.fsum), and a value is
// read as the exact sum rounded once to the nearest double. The result depends
// only on the multiset of values in the frame, never on the order they arrived
// or left in: what makes the streamed sum, avg and stddev reproducible
// bit for bit (docs/streaming.md, "Exactness").

/** The exact sum of the values added minus the values taken away. */
export class ExactSum {
  /** Non-overlapping, increasing in magnitude, no zeros; their exact sum is the value. */
  private partials: number[] = [];
  /** Set when an intermediate sum left the double range: the partials are no longer exact. */
  overflowed = false;

  add(x: number): void {
    const p = this.partials;
    if (p.length === 0) {
      if (x !== 0) p.push(x);
      if (!Number.isFinite(x)) this.overflowed = true;
      return;
    }
    let kept = 0;
    for (let i = 0; i < p.length; i++) {
      const y = p[i];
      const hi = x + y;
      // Two-sum (Dekker's fast form, larger operand first): hi + lo == x + y exactly.
      const lo = Math.abs(x) < Math.abs(y) ? x - (hi - y) : y - (hi - x);
      if (lo !== 0) p[kept++] = lo;
      x = hi;
    }
    if (!Number.isFinite(x)) this.overflowed = true;
    if (x !== 0) p[kept++] = x;
    if (kept !== p.length) p.length = kept;
  }

  subtract(x: number): void {
    this.add(-x);
  }

  /** Adds another exact sum (its components). */
  addAll(other: ExactSum): void {
    for (const c of other.partials) this.add(c);
    if (other.overflowed) this.overflowed = true;
  }

  clear(): void {
    this.partials.length = 0;
    this.overflowed = false;
  }

  /** The components (non-overlapping, smallest first). */
  get components(): readonly number[] {
    return this.partials;
  }

  /** The exact value rounded to the nearest double (ties to even); ±Infinity beyond the range, NaN after an overflow. */
  rounded(): number {
    if (this.overflowed) return NaN;
    return roundPartials(this.partials);
  }
}

/**
 * The nearest double to the exact sum of non-overlapping partials (smallest
 * first): add from the largest down until a step is inexact; then, when the
 * remainder is exactly half an ulp and the next component pushes the same
 * way, the tie is not a tie and rounds away.
 */
function roundPartials(p: readonly number[]): number {
  let i = p.length;
  if (i === 0) return 0;
  let hi = p[--i];
  let lo = 0;
  while (i > 0) {
    const x = hi;
    const y = p[--i];
    hi = x + y;
    lo = y - (hi - x);
    if (lo !== 0) break;
  }
  if (i > 0 && ((lo < 0 && p[i - 1] < 0) || (lo > 0 && p[i - 1] > 0))) {
    const y = lo * 2;
    const x = hi + y;
    if (y === x - hi) hi = x;
  }
  return hi;
}

const SPLITTER = 134217729; // 2^27 + 1 (Veltkamp)

/** a·b as hi + lo exactly (Dekker's product; exact while |a|, |b| < 2^996 and the product is not subnormal). */
export function twoProduct(a: number, b: number, out: [number, number]): [number, number] {
  const hi = a * b;
  const ca = SPLITTER * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = SPLITTER * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  out[0] = hi;
  out[1] = al * bl - (hi - ah * bh - al * bh - ah * bl);
  return out;
}

const pair: [number, number] = [0, 0];

/** Adds a·b exactly (two components). */
export function addProduct(acc: ExactSum, a: number, b: number): void {
  twoProduct(a, b, pair);
  acc.add(pair[0]);
  if (pair[1] !== 0) acc.add(pair[1]);
}

/**
 * The sample variance of n values from their exact Σx and Σx²:
 * (n·Σx² − (Σx)²) computed exactly and rounded once, then divided by n(n−1).
 * A deterministic function of the multiset (no cancellation: the difference is exact).
 */
export function sampleVariance(n: number, sum: ExactSum, squares: ExactSum, scratch: ExactSum): number {
  scratch.clear();
  for (const q of squares.components) addProduct(scratch, n, q);
  const s = sum.components;
  for (let i = 0; i < s.length; i++) for (let j = 0; j < s.length; j++) addProduct(scratch, -s[i], s[j]);
  if (sum.overflowed || squares.overflowed || scratch.overflowed) return NaN;
  const e = scratch.rounded();
  return e / (n * (n - 1));
}
