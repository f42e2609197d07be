// collectGarbage (runtime/online/full-gc.ts): `fti serve` runs one full GC
// after loading a large online store, so the load's dead objects are not left
// for a major GC between requests. It must collect without --expose-gc.

import { describe, expect, it } from "vitest";
import { collectGarbage } from "../runtime/online/full-gc.ts";

describe("collectGarbage", () => {
  it("collects objects that are no longer referenced, in a process started without --expose-gc", () => {
    expect(process.execArgv.join(" ")).not.toContain("--expose-gc");
    let garbage: Array<{ i: number; s: string }> | null = Array.from({ length: 400_000 }, (_, i) => ({ i, s: `row-${i}` }));
    expect(garbage.length).toBe(400_000);
    garbage = null;
    const { beforeBytes, afterBytes } = collectGarbage();
    // 400,000 objects and strings: well over 20 MB, gone after the collection
    expect(beforeBytes - afterBytes).toBeGreaterThan(20 * 2 ** 20);
  });

  it("can run again (the gc function is made once)", () => {
    const a = collectGarbage();
    const b = collectGarbage();
    expect(b.afterBytes).toBeLessThanOrEqual(a.beforeBytes);
  });
});
