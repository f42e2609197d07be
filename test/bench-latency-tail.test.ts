// bench/lib/latency-tail.ts: the percentiles the online suite's goals are read on.

import { describe, expect, it } from "vitest";
import { pct, pooled, tailPercentile } from "../bench/lib/latency-tail.ts";

describe("bench latency tail", () => {
  const ranks = (n: number) => Float64Array.from({ length: n }, (_, i) => i + 1); // value = rank

  it("nearest rank: p99.9 of 20,000 answers has 20 above it, with its 95 % interval in ranks around it", () => {
    const xs = ranks(20_000);
    expect(pct(xs, 99.9)).toBe(19_980);
    const t = tailPercentile(xs, 99.9);
    expect(t.value).toBe(19_980);
    expect(t.above).toBe(20);
    // n·q = 19,980, 1.96·√(n·q·(1−q)) = 8.76: ranks 19,971 and 19,989
    expect([t.low, t.high]).toEqual([19_971, 19_989]);
  });

  it("the interval stays inside the data", () => {
    const t = tailPercentile(ranks(1000), 99.9);
    expect(t.value).toBe(999);
    expect(t.low).toBe(997);
    expect(t.high).toBe(1000);
    expect(tailPercentile(new Float64Array(0), 99).value).toBeNaN();
  });

  it("pooled: every run's values in one sorted array", () => {
    const all = pooled([[3, 1], Float64Array.of(2, 5), [], [4]]);
    expect(Array.from(all)).toEqual([1, 2, 3, 4, 5]);
    expect(tailPercentile(all, 50).value).toBe(3);
  });
});
