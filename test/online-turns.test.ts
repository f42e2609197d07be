// runtime/online/turns.ts inTurns / whenReady: at once when the work fits in one turn of the event loop, sliced otherwise.

import { describe, expect, it } from "vitest";
import { inTurns, INSTANCES_PER_TURN, whenReady } from "../runtime/online/turns.ts";

describe("inTurns", () => {
  it("a range of one turn's size runs at once and gives no promise", () => {
    const seen: number[] = [];
    const r = inTurns(3, 3 + INSTANCES_PER_TURN, (i) => seen.push(i));
    expect(r).toBeUndefined();
    expect(seen.length).toBe(INSTANCES_PER_TURN);
    expect(seen[0]).toBe(3);
    expect(whenReady(r, () => "now")).toBe("now");
  });

  it("a longer range is a promise: every index once, in order, with the event loop turning between slices", async () => {
    const seen: number[] = [];
    let immediates = 0;
    let over = false;
    const tick = () => {
      immediates++;
      if (!over) setImmediate(tick);
    };
    setImmediate(tick);
    const n = INSTANCES_PER_TURN * 3 + 1;
    const r = inTurns(0, n, (i) => seen.push(i));
    expect(r).toBeInstanceOf(Promise);
    expect(seen.length).toBe(INSTANCES_PER_TURN); // the first slice ran before the first turn
    expect(await whenReady(r, () => "later")).toBe("later");
    over = true;
    expect(seen).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(immediates).toBeGreaterThanOrEqual(3);
  });
});
