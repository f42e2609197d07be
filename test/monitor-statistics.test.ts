import { describe, expect, it } from "vitest";
import { categoricalPsi, ksPValue, ksStatistic, numericPsi, psi, PSI_EPSILON } from "../runtime/monitor/drift.ts";
import { columnStatistics, KS_POINTS } from "../runtime/statistics/statistics.ts";

const ONE_TO_TEN = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

/** D by brute force: both ECDFs evaluated at every value of either sample. */
function bruteKs(a: number[], b: number[]): number {
  let d = 0;
  for (const x of [...a, ...b]) {
    const fa = a.filter((v) => v <= x).length / a.length;
    const fb = b.filter((v) => v <= x).length / b.length;
    d = Math.max(d, Math.abs(fa - fb));
  }
  return d;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe("column statistics", () => {
  it("counts nulls (null, NaN, unparsable) and summarises the rest", () => {
    const s = columnStatistics("x", "float", [1, null, 3, NaN, 5, Infinity]);
    expect(s).toMatchObject({ count: 6, nulls: 3, null_rate: 0.5 });
    expect(s.numeric).toMatchObject({ mean: 3, min: 1, max: 5 });
    expect(s.numeric!.std).toBeCloseTo(Math.sqrt(8 / 3), 12);
  });

  it("cuts numbers at the training deciles; each bin's fraction is counted, not assumed", () => {
    const s = columnStatistics("x", "int", ONE_TO_TEN);
    expect(s.numeric!.bins.edges).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(s.numeric!.bins.fractions).toEqual(new Array(10).fill(0.1));
    // Ties collapse cut points: 8 zeros and 2 ones give one cut at 0.
    const t = columnStatistics("y", "int", [0, 0, 0, 0, 0, 0, 0, 0, 1, 1]);
    expect(t.numeric!.bins).toEqual({ edges: [0], fractions: [0.8, 0.2] });
  });

  it("keeps every value for KS up to KS_POINTS, evenly spaced order statistics beyond", () => {
    expect(columnStatistics("x", "int", ONE_TO_TEN).numeric!.quantiles).toEqual(ONE_TO_TEN);
    const many = Array.from({ length: 10 * KS_POINTS }, (_, i) => i);
    const q = columnStatistics("x", "int", many).numeric!.quantiles;
    expect(q.length).toBe(KS_POINTS);
    expect(q[0]).toBe(5);
    expect(q[KS_POINTS - 1]).toBe(10 * KS_POINTS - 5);
  });

  it("profiles strings and bools by their top values", () => {
    const s = columnStatistics("sport", "string", ["run", "ride", "run", null, "swim", "run"]);
    expect(s.null_rate).toBeCloseTo(1 / 6, 12);
    expect(s.categorical).toEqual({
      top: [
        { value: "run", fraction: 0.6 },
        { value: "ride", fraction: 0.2 },
        { value: "swim", fraction: 0.2 },
      ],
      other: 0,
      distinct: 3,
    });
    const b = columnStatistics("flag", "bool", [true, false, true, true]);
    expect(b.categorical!.top).toEqual([
      { value: "true", fraction: 0.75 },
      { value: "false", fraction: 0.25 },
    ]);
  });
});

describe("PSI", () => {
  it("matches a hand computation over the training deciles", () => {
    const train = columnStatistics("x", "int", ONE_TO_TEN).numeric!;
    // Live bins: (-inf,1] 3 values, (4,5] 2, (9,inf) 5; the seven others are empty (floored at ε).
    const live = [1, 1, 1, 5, 5, 10, 10, 10, 10, 11];
    const e = PSI_EPSILON;
    const expected = 0.2 * Math.log(3) + 0.1 * Math.log(2) + 0.4 * Math.log(5) + 7 * (e - 0.1) * Math.log(e / 0.1);
    expect(numericPsi(train, live)).toBeCloseTo(expected, 12);
    expect(numericPsi(train, ONE_TO_TEN)).toBe(0);
  });

  it("compares categories over the training top values plus other", () => {
    const train = columnStatistics("c", "string", ["a", "a", "b", "c"]).categorical!;
    const e = PSI_EPSILON;
    // live: a .25, b .25, c 0, other (d) .5 against a .5, b .25, c .25, other 0
    const expected = (0.25 - 0.5) * Math.log(0.5) + (e - 0.25) * Math.log(e / 0.25) + (0.5 - e) * Math.log(0.5 / e);
    expect(categoricalPsi(train, ["a", "d", "d", "b"])).toBeCloseTo(expected, 12);
  });

  it("is symmetric in its two arguments and zero only for equal distributions", () => {
    expect(psi([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(psi([0.25, 0.75], [0.5, 0.5]), 15);
    expect(psi([0.5, 0.5], [0.5, 0.5])).toBe(0);
  });
});

describe("KS", () => {
  it("matches a hand computation", () => {
    // ECDF gaps after 1..11: .2 .1 0 .1 0 .1 .2 .3 .4 .1 0
    expect(ksStatistic(ONE_TO_TEN, [1, 1, 1, 5, 5, 10, 10, 10, 10, 11])).toBeCloseTo(0.4, 15);
    expect(ksStatistic(ONE_TO_TEN, ONE_TO_TEN)).toBe(0);
  });

  it("equals a brute-force supremum on random samples with ties", () => {
    const rnd = lcg(7);
    for (let trial = 0; trial < 50; trial++) {
      const a = Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 15)).sort((x, y) => x - y);
      const b = Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 15) + 2).sort((x, y) => x - y);
      expect(ksStatistic(a, b)).toBeCloseTo(bruteKs(a, b), 12);
    }
  });

  it("gives the classic 5% critical value of the Kolmogorov distribution", () => {
    // Q(1.3581) = 0.05; with n1 = n2 = 2·10^6, λ = (1000 + 0.12 + 0.00011)·D.
    const d = 1.3581 / (1000 + 0.12 + 0.11 / 1000);
    expect(ksPValue(d, 2e6, 2e6)).toBeCloseTo(0.05, 4);
    expect(ksPValue(0, 10, 10)).toBe(1);
  });
});
