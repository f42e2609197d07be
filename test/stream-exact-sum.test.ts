// The stream's exact sums (runtime/stream/exact-sum.ts) and window
// accumulators (runtime/stream/window-acc.ts) against BigInt arithmetic
// (test/helpers/exact-float.ts): values added and taken away in any order
// read as the exact sum rounded once, bit for bit.

import { describe, expect, it } from "vitest";
import { ExactSum } from "../runtime/stream/exact-sum.ts";
import { windowAcc, type BufferedRow } from "../runtime/stream/window-acc.ts";
import { mulberry32 } from "../runtime/random.ts";
import { exactStddev, exactSum, roundScaled, toScaled } from "./helpers/exact-float.ts";

/** Doubles of every magnitude and sign, every mantissa bit used; some tiny, some huge, some repeated. */
function randomDoubles(seed: number, n: number): number[] {
  const rnd = mulberry32(seed);
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    if (r < 0.05 && xs.length) xs.push(-xs[Math.floor(rnd() * xs.length)]);
    else if (r < 0.1) xs.push((rnd() - 0.5) * 2 ** -1060); // subnormal
    else xs.push((rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20) * (1 + rnd() * 2 ** -30));
  }
  return xs;
}

function shuffle<T>(xs: T[], rnd: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

describe("ExactSum", () => {
  it("the BigInt reference converts doubles both ways exactly", () => {
    for (const x of [0, 1, -1, 0.1, 2 ** -1074, -(2 ** -1022), Number.MAX_VALUE, 123.456e-300, 1 / 3]) {
      expect(roundScaled(toScaled(x), 1074)).toBe(x);
    }
  });

  it("reads the exact sum rounded once, whatever the order of adding and taking away", () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const rnd = mulberry32(100 + seed);
      const xs = randomDoubles(seed, 300);
      const kept = xs.map(() => rnd() < 0.6);
      const keep = xs.filter((_, i) => kept[i]);
      const drop = xs.filter((_, i) => !kept[i]);
      const a = new ExactSum();
      for (const x of shuffle(xs, rnd)) a.add(x);
      for (const x of shuffle(drop, rnd)) a.subtract(x);
      const b = new ExactSum();
      for (const x of shuffle(keep, rnd)) b.add(x);
      const want = exactSum(keep);
      expect(a.rounded()).toBe(want);
      expect(b.rounded()).toBe(want);
      expect(a.components.length).toBeLessThan(45);
    }
  });

  it("rounds halfway cases to even, unless a smaller part breaks the tie", () => {
    const sum = (xs: number[]) => {
      const s = new ExactSum();
      for (const x of xs) s.add(x);
      return s.rounded();
    };
    expect(sum([1, 2 ** -53])).toBe(1); // a tie: to even
    expect(sum([1, 2 ** -53, 2 ** -106])).toBe(1 + 2 ** -52); // above the tie
    expect(sum([1 + 2 ** -52, 2 ** -53])).toBe(1 + 2 ** -51); // a tie: to even (up)
    expect(sum([1 + 2 ** -52, 2 ** -53, -(2 ** -106)])).toBe(1 + 2 ** -52); // below the tie
    expect(sum([1e308, 1e308, -1e308])).toBeNaN(); // the intermediate sum overflowed: flagged, not wrong
    expect(sum([0.1, 0.2, 0.3, -0.6])).toBe(exactSum([0.1, 0.2, 0.3, -0.6]));
  });

  it("stddev: n·Σx² − (Σx)² exact, rounded once, whatever rows entered and left in which order", () => {
    for (const seed of [7, 8, 9]) {
      const rnd = mulberry32(seed);
      // A large mean and a small spread: where a textbook one-pass formula cancels every digit.
      const xs = Array.from({ length: 60 }, () => 1e6 + (rnd() - 0.5) * 10 ** Math.floor(rnd() * 6 - 3));
      const rows: BufferedRow[] = xs.map((x, i) => ({ t: i, id: i, args: [x] }));
      const acc = windowAcc("stddev", 0);
      for (const r of shuffle(rows, rnd)) acc.enter(r);
      for (const r of rows.slice(0, 20)) acc.leave(r);
      expect(acc.value(rows, 20)).toBe(exactStddev(xs.slice(20)));
    }
  });
});

describe("window accumulators", () => {
  const row = (t: number, x: number | null): BufferedRow => ({ t, id: t, args: [x] });

  it("a sum whose intermediate overflowed is recomputed from the frame once the huge values left", () => {
    const acc = windowAcc("sum", 0);
    const rows = [row(1, Number.MAX_VALUE), row(2, Number.MAX_VALUE), row(3, 1.5)];
    for (const r of rows) acc.enter(r);
    expect(acc.value(rows, 0)).toBeNull(); // beyond the double range: null, as the SQL's isfinite check gives
    acc.leave(rows[0]);
    expect(acc.value(rows, 1)).toBe(exactSum([Number.MAX_VALUE, 1.5]));
  });

  it("min and max follow rows arriving out of order and leaving oldest first", () => {
    const rnd = mulberry32(42);
    for (const agg of ["min", "max"] as const) {
      const acc = windowAcc(agg, 0);
      const frame: BufferedRow[] = [];
      let t = 0;
      for (let step = 0; step < 2000; step++) {
        if (frame.length > 0 && rnd() < 0.45) {
          acc.leave(frame.shift()!); // the oldest leaves
        } else {
          // Mostly a new latest row; sometimes one older than the latest but in the frame.
          const at = frame.length > 0 && rnd() < 0.3 ? frame[0].t + rnd() * (t - frame[0].t) : (t += 1 + Math.floor(rnd() * 3));
          const r: BufferedRow = { t: at, id: step, args: [rnd() < 0.1 ? null : Math.floor(rnd() * 20)] };
          let i = frame.length;
          while (i > 0 && (frame[i - 1].t > r.t || (frame[i - 1].t === r.t && (frame[i - 1].id as number) > step))) i--;
          frame.splice(i, 0, r);
          acc.enter(r);
        }
        const xs = frame.map((r) => r.args[0]).filter((x): x is number => x !== null);
        const want = xs.length ? (agg === "min" ? Math.min(...xs) : Math.max(...xs)) : null;
        expect(acc.value(frame, 0)).toBe(want);
      }
    }
  });
});
