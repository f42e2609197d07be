// The running aggregate of one window over the rows of its current frame
// (T − w, T] of one entity (engine.ts decides which rows enter and leave): a
// row enters once and leaves once, each in O(1) amortised (min/max: O(log n)
// for a row arriving out of order), and the value is read without looking
// at the rows. Sums are exact (exact-sum.ts), so what is read depends only on
// the rows in the frame, whatever the order they came in.

import type { Scalar, WindowAgg } from "../api.ts";
import { cmpStr, fin } from "../expr.ts";
import { ExactSum, sampleVariance, addProduct } from "./exact-sum.ts";

export type Value = Scalar | Date;

/** One input row of a group, as the windows see it. */
export interface BufferedRow {
  t: number;
  id: Scalar;
  /** The value of each window's argument on this row (1 for `count()`). */
  args: Value[];
}

/** Compares row ids as DuckDB orders them (strings by code point, numbers by value). */
export function cmpId(a: Scalar, b: Scalar): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === "string" && typeof b === "string") return cmpStr(a, b);
  return (a as number) < (b as number) ? -1 : 1;
}

/** Compares two non-null values of one type (min, max, last's tie-break). */
export function cmpValue(a: Value, b: Value): number {
  if (typeof a === "string") return cmpStr(a, b as string);
  if (a instanceof Date) return a.getTime() - (b as Date).getTime();
  if (typeof a === "boolean") return Number(a) - Number(b);
  return (a as number) - (b as number);
}

/** A row's place: later time first decides, then the greater row id. */
export const after = (a: { t: number; id: Scalar }, b: { t: number; id: Scalar }): boolean => a.t > b.t || (a.t === b.t && cmpId(a.id, b.id) > 0);

/** A window's running aggregate over the rows of its frame. */
export interface WindowAcc {
  enter(r: BufferedRow): void;
  leave(r: BufferedRow): void;
  /** The aggregate over the frame `rows[start..]` (read by `last`, and to recompute a sum after an overflow). */
  value(rows: readonly BufferedRow[], start: number): Scalar | Date;
}

/** count(x) (count() counts every row: its argument is 1). */
class CountAcc implements WindowAcc {
  n = 0;
  constructor(private readonly wi: number) {}
  enter(r: BufferedRow): void {
    if (r.args[this.wi] !== null) this.n++;
  }
  leave(r: BufferedRow): void {
    if (r.args[this.wi] !== null) this.n--;
  }
  value(): Scalar {
    return this.n;
  }
}

/** sum and avg: the exact sum rounded once (avg: that sum divided by the count, as DuckDB's avg does). */
class SumAcc implements WindowAcc {
  private n = 0;
  private readonly sum = new ExactSum();
  constructor(
    private readonly wi: number,
    private readonly avg: boolean,
  ) {}
  enter(r: BufferedRow): void {
    const x = r.args[this.wi];
    if (x === null) return;
    this.n++;
    this.sum.add(x as number);
  }
  leave(r: BufferedRow): void {
    const x = r.args[this.wi];
    if (x === null) return;
    this.n--;
    if (this.n === 0) this.sum.clear();
    else this.sum.subtract(x as number);
  }
  value(rows: readonly BufferedRow[], start: number): Scalar {
    if (this.n === 0) return null;
    if (this.sum.overflowed) recompute(this.sum, null, rows, start, this.wi);
    const s = this.sum.rounded();
    return fin(this.avg ? s / this.n : s);
  }
}

/** Sample stddev from the exact Σx and Σx² (exact-sum.ts `sampleVariance`). */
class StddevAcc implements WindowAcc {
  private n = 0;
  private readonly sum = new ExactSum();
  private readonly squares = new ExactSum();
  private readonly scratch = new ExactSum();
  constructor(private readonly wi: number) {}
  enter(r: BufferedRow): void {
    const x = r.args[this.wi];
    if (x === null) return;
    this.n++;
    this.sum.add(x as number);
    addProduct(this.squares, x as number, x as number);
  }
  leave(r: BufferedRow): void {
    const x = r.args[this.wi];
    if (x === null) return;
    this.n--;
    if (this.n === 0) {
      this.sum.clear();
      this.squares.clear();
      return;
    }
    this.sum.subtract(x as number);
    addProduct(this.squares, -(x as number), x as number);
  }
  value(rows: readonly BufferedRow[], start: number): Scalar {
    if (this.n < 2) return null;
    if (this.sum.overflowed || this.squares.overflowed) recompute(this.sum, this.squares, rows, start, this.wi);
    const v = sampleVariance(this.n, this.sum, this.squares, this.scratch);
    return fin(Math.sqrt(v));
  }
}

/** After an intermediate sum left the double range: the sums again from the frame's rows (NaN, so null, if they overflow again). */
function recompute(sum: ExactSum, squares: ExactSum | null, rows: readonly BufferedRow[], start: number, wi: number): void {
  sum.clear();
  squares?.clear();
  for (let k = start; k < rows.length; k++) {
    const x = rows[k].args[wi];
    if (x === null) continue;
    sum.add(x as number);
    if (squares) addProduct(squares, x as number, x as number);
  }
}

/**
 * min/max: a monotonic deque of the frame's rows in (time, id) order whose
 * values strictly decrease (max) or increase (min) — each row in it is the
 * extreme of itself and every later row, so the first is the frame's.
 */
class ExtremeAcc implements WindowAcc {
  private q: BufferedRow[] = [];
  private head = 0;
  constructor(
    private readonly wi: number,
    private readonly sign: 1 | -1,
  ) {}

  /** > 0 when a beats b (max: greater; min: smaller). */
  private beats(a: Value, b: Value): number {
    return this.sign * cmpValue(a, b);
  }

  enter(r: BufferedRow): void {
    const x = r.args[this.wi];
    if (x === null) return;
    const q = this.q;
    // Its place in (time, id) order: usually the end.
    let pos = q.length;
    while (pos > this.head && after(q[pos - 1], r)) pos--;
    // A later row at least as extreme outlives it in every frame: it never decides.
    if (pos < q.length && this.beats(q[pos].args[this.wi]!, x) >= 0) return;
    let from = pos;
    while (from > this.head && this.beats(x, q[from - 1].args[this.wi]!) >= 0) from--;
    q.splice(from, pos - from, r);
  }

  leave(r: BufferedRow): void {
    // Rows leave oldest first; only the first of the deque can be the one leaving.
    if (this.head < this.q.length && this.q[this.head] === r) {
      this.head++;
      if (this.head > 32 && this.head * 2 > this.q.length) {
        this.q = this.q.slice(this.head);
        this.head = 0;
      }
    }
  }

  value(): Scalar | Date {
    return this.head < this.q.length ? this.q[this.head].args[this.wi] : null;
  }
}

/** `last`: the frame's latest row with a non-null argument; at one instant the greatest row id, then the greatest value. */
class LastAcc implements WindowAcc {
  constructor(private readonly wi: number) {}
  enter(): void {}
  leave(): void {}
  value(rows: readonly BufferedRow[], start: number): Scalar | Date {
    let best: BufferedRow | null = null;
    for (let k = rows.length - 1; k >= start; k--) {
      const r = rows[k];
      const x = r.args[this.wi];
      if (x === null) continue;
      if (best === null) best = r;
      else if (r.t !== best.t || cmpId(r.id, best.id) !== 0) break;
      else if (cmpValue(x, best.args[this.wi]!) > 0) best = r;
    }
    return best ? best.args[this.wi] : null;
  }
}

/** The accumulator of window `wi` (not ewma: a running sum in engine.ts). */
export function windowAcc(agg: WindowAgg, wi: number): WindowAcc {
  switch (agg) {
    case "count":
      return new CountAcc(wi);
    case "sum":
    case "avg":
      return new SumAcc(wi, agg === "avg");
    case "stddev":
      return new StddevAcc(wi);
    case "min":
      return new ExtremeAcc(wi, -1);
    case "max":
      return new ExtremeAcc(wi, 1);
    case "last":
      return new LastAcc(wi);
    case "ewma":
      throw new Error("ewma is kept as a running weighted sum");
  }
}
