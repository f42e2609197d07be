// The off-heap entity-key index of the online cache (runtime/online/key-index.ts)
// against a Map on the same operations: it must answer exactly as the Map did.

import { describe, expect, it } from "vitest";
import { KeyIndex } from "../runtime/online/key-index.ts";

/** A deterministic pseudo-random generator (LCG). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

describe("KeyIndex", () => {
  it("answers get/has/size/keys as a Map does, over many keys and growth from a small start", () => {
    const r = rng(7);
    const ix = new KeyIndex(4);
    const ref = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      // Repeats (last write wins), composite-key JSON, empty and long keys.
      const pick = r();
      const key = pick < 0.1 ? `a${Math.floor(r() * 50)}` : pick < 0.2 ? JSON.stringify(["x", Math.floor(r() * 1e6)]) : pick < 0.21 ? "" : `k${i}-${"z".repeat(Math.floor(r() * 40))}`;
      ix.set(key, i);
      ref.set(key, i);
    }
    expect(ix.size).toBe(ref.size);
    for (const [k, v] of ref) expect(ix.get(k)).toBe(v);
    expect([...ix.keys()]).toEqual([...ref.keys()]);
    for (let i = 0; i < 2000; i++) {
      const miss = `m${i}`;
      expect(ix.get(miss)).toBeUndefined();
      expect(ix.has(miss)).toBe(false);
    }
  });

  it("compares keys exactly: non-ASCII, astral, lone surrogates and prefixes are distinct keys", () => {
    const keys = ["é", "e\u0301", "😀", "\ud83d", "\ude00", "\ud83d\ude00x", "ab", "abc", "a", "\u0000", "Ω-1"];
    const ix = KeyIndex.of(keys);
    expect(ix.size).toBe(keys.length);
    keys.forEach((k, i) => expect(ix.get(k)).toBe(i));
    expect(ix.get("\ufffd")).toBeUndefined();
    expect(ix.get("abcd")).toBeUndefined();
    expect([...ix.keys()]).toEqual(keys);
  });

  it("an empty index finds nothing", () => {
    const ix = new KeyIndex();
    expect(ix.size).toBe(0);
    expect(ix.get("a")).toBeUndefined();
    expect([...ix.keys()]).toEqual([]);
  });
});
