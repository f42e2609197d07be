// runtime/online/young-generation.ts: allocation only while the event loop is idle.

import { getHeapSpaceStatistics } from "node:v8";
import { describe, expect, it } from "vitest";
import { BYTES_PER_TICK, IDLE_BELOW, IDLE_GC_AFTER_BUSY, IDLE_GC_TICKS, YoungGenerationKeeper } from "../runtime/online/young-generation.ts";

describe("YoungGenerationKeeper", () => {
  it("allocates on the ticks whose event loop was idle, never on busy ones", () => {
    const busy = [0.5, 0, IDLE_BELOW / 2, IDLE_BELOW, 0.9, 0];
    let i = 0;
    const keeper = new YoungGenerationKeeper({ utilization: () => busy[i++], fullGc: () => {} });
    const allocated = busy.map(() => keeper.tick());
    expect(allocated).toEqual([false, true, true, false, false, true]);
    expect(keeper.idleTicks).toBe(3);
    expect(keeper.ticks).toBe(6);
  });

  it("one full GC per lull that follows IDLE_GC_AFTER_BUSY busy ticks, at its IDLE_GC_TICKS-th idle tick", () => {
    let busy = 0;
    const gcs: number[] = [];
    const keeper = new YoungGenerationKeeper({ utilization: () => busy, fullGc: () => gcs.push(keeper.ticks) });
    const ticks = (n: number) => {
      for (let i = 0; i < n; i++) keeper.tick();
    };
    ticks(IDLE_GC_TICKS * 3); // a lull with no traffic before it: no GC
    expect(gcs).toEqual([]);
    busy = 0.5;
    ticks(IDLE_GC_AFTER_BUSY - 1); // too little traffic
    busy = 0;
    ticks(IDLE_GC_TICKS * 2);
    expect(gcs).toEqual([]);
    busy = 0.5;
    ticks(1); // the traffic adds up
    busy = 0;
    ticks(IDLE_GC_TICKS - 1); // not yet
    expect(gcs).toEqual([]);
    ticks(IDLE_GC_TICKS * 3); // the lull's one GC
    const at = IDLE_GC_TICKS * 3 + (IDLE_GC_AFTER_BUSY - 1) + IDLE_GC_TICKS * 2 + 1 + IDLE_GC_TICKS;
    expect(gcs).toEqual([at]);
    busy = 0.5;
    ticks(IDLE_GC_AFTER_BUSY); // traffic again: the next lull gets its GC
    busy = 0;
    ticks(IDLE_GC_TICKS);
    expect(gcs.length).toBe(2);
    expect(keeper.idleGcs).toBe(2);
  });

  it("an idle tick allocates about BYTES_PER_TICK in the young generation (the new space)", () => {
    const keeper = new YoungGenerationKeeper({ utilization: () => 0, fullGc: () => {} });
    keeper.tick(); // compiled before it is measured
    const newSpaceUsed = () => getHeapSpaceStatistics().find((s) => s.space_name === "new_space")!.space_used_size;
    // a scavenge between the two reads empties the new space: then the tick is measured again
    const grew: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = newSpaceUsed();
      keeper.tick();
      const d = newSpaceUsed() - before;
      grew.push(d);
      if (d >= 0) break;
    }
    const d = grew.at(-1)!;
    expect(d).toBeGreaterThanOrEqual(BYTES_PER_TICK * 0.9);
    expect(d).toBeLessThanOrEqual(BYTES_PER_TICK * 1.5);
  });

  it("start is idempotent and stop ends the timer (the process is not kept alive by it)", async () => {
    const keeper = new YoungGenerationKeeper({ utilization: () => 0, fullGc: () => {} });
    keeper.start();
    keeper.start();
    await new Promise((r) => setTimeout(r, 350));
    keeper.stop();
    const ticks = keeper.ticks;
    expect(ticks).toBeGreaterThanOrEqual(1);
    expect(ticks).toBeLessThanOrEqual(4);
    await new Promise((r) => setTimeout(r, 250));
    expect(keeper.ticks).toBe(ticks);
  });
});
