// The training frame is read into JS columns with DuckDB's memory_limit
// lowered (runtime/retrieval/frame-read.ts, FRAME_READ_MEMORY_LIMIT), so that
// DuckDB's pool does not sit under the frame's columns; the store's own limit
// is set back afterwards, also when the read fails. The frame's values do not
// depend on it.

import { afterEach, describe, expect, it } from "vitest";
import { FRAME_READ_MEMORY_LIMIT } from "../runtime/retrieval/frame-read.ts";
import { buildTrainingFrame, type TrainingFrame } from "../runtime/retrieval/pit.ts";
import { byteSize } from "../runtime/store/byte-size.ts";
import { withLowerMemoryLimit } from "../runtime/store/memory-limit.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { valueAt } from "../runtime/retrieval/columns.ts";
import { loadSyntheticTables, makeBundle } from "./helpers/model-bundles.ts";

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const bundle = makeBundle();
const limitOf = async (s: Store) => (await s.all<{ v: string }>(`SELECT current_setting('memory_limit') AS v`))[0].v;

/** Opens a store with `memoryLimit`, and records the memory_limit in force at each read of the joined table. */
async function recordingStore(memoryLimit: string | undefined): Promise<{ store: Store; during: string[] }> {
  const s = await openStore({ path: ":memory:", memoryLimit });
  await loadSyntheticTables(s);
  const during: string[] = [];
  const read = s.readColumnsInSlices.bind(s) as (...a: unknown[]) => Promise<unknown>;
  (s as unknown as { readColumnsInSlices: (...a: unknown[]) => Promise<unknown> }).readColumnsInSlices = async (...a: unknown[]) => {
    during.push(await limitOf(s));
    return read(...a);
  };
  return { store: s, during };
}

/** Every value of a frame, plainly (typed columns read through valueAt). */
function plain(f: TrainingFrame) {
  const columns = Object.fromEntries(Object.keys(f.columns).map((c) => [c, Array.from({ length: f.n }, (_, i) => valueAt(f.columns[c], i))]));
  return { n: f.n, keys: f.keys, time: Array.from(f.time), label: Array.from(f.label), columns };
}

describe("the training frame's memory", () => {
  it("is read with the memory_limit lowered, and the store's own is set back; the values are those of a store that never lowers it", async () => {
    const high = await recordingStore("2GB");
    store = high.store;
    const before = await limitOf(store);
    const frame = plain(await buildTrainingFrame(store, bundle, "v_user", { sliceRows: 7 }));
    expect(frame.n).toBeGreaterThan(20);
    expect(high.during.length).toBe(1);
    for (const v of high.during) expect(byteSize(v)).toBeLessThanOrEqual(byteSize(FRAME_READ_MEMORY_LIMIT)!);
    expect(byteSize(before)).toBeGreaterThan(byteSize(FRAME_READ_MEMORY_LIMIT)!);
    expect(await limitOf(store)).toBe(before);
    await store.close();

    // A store opened with less than the frame's limit keeps its own throughout.
    const low = await recordingStore("256MB");
    store = low.store;
    const lowBefore = await limitOf(store);
    expect(plain(await buildTrainingFrame(store, bundle, "v_user", { sliceRows: 7 }))).toEqual(frame);
    expect(new Set(low.during)).toEqual(new Set([lowBefore]));
    expect(await limitOf(store)).toBe(lowBefore);
  });

  it("sets DuckDB's default back for a store opened without a limit, also when the read fails", async () => {
    store = await openStore({ path: ":memory:" });
    const before = await limitOf(store);
    await expect(withLowerMemoryLimit(store, "64MB", async () => {
      expect(byteSize(await limitOf(store!))).toBeLessThanOrEqual(64e6);
      throw new Error("the read failed");
    })).rejects.toThrow("the read failed");
    expect(await limitOf(store)).toBe(before);
    expect(await withLowerMemoryLimit(store, "64MB", async () => 42)).toBe(42);
    expect(await limitOf(store)).toBe(before);
    // Setting the lowered limit again (to hand back freed memory) keeps it lowered; not lowered, it leaves the limit.
    const lowered = await withLowerMemoryLimit(store, "64MB", async (reapply) => {
      const first = await limitOf(store!);
      await reapply();
      return [first, await limitOf(store!)];
    });
    expect(lowered[1]).toBe(lowered[0]);
    expect(byteSize(lowered[1])).toBeLessThanOrEqual(64e6);
    expect(await limitOf(store)).toBe(before);
    const kept = await withLowerMemoryLimit(store, "1TB", async (reapply) => {
      await reapply();
      return limitOf(store!);
    });
    expect(kept).toBe(before);
    await expect(withLowerMemoryLimit(store, "lots", async () => 1)).rejects.toThrow("not a size");
  });
});
