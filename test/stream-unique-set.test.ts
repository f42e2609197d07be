// Admission's `unique` values off the JS heap (runtime/stream/unique-set.ts):
// the set must answer exactly as a Map would — a value is held iff it was
// added and not deleted or swept — whatever the values' characters (one-byte,
// UTF-16, lone surrogates, values that differ only in one character, enough
// values that their 32-bit hashes collide), through sweeps that drop and
// compact chunks, and its cursor must read the values held when it was taken.

import { describe, expect, it } from "vitest";
import { mulberry32 } from "../runtime/random.ts";
import { Admission } from "../runtime/stream/admission.ts";
import { UniqueSet } from "../runtime/stream/unique-set.ts";

/** A random value: mostly ASCII ids, some with wide characters, emoji, lone surrogates, the empty string. */
function valueOf(rnd: () => number, i: number): string {
  const r = rnd();
  if (r < 0.7) return `act-${i}`;
  if (r < 0.8) return `été-${i}-ü`; // one byte each (below 256), not ASCII
  if (r < 0.9) return `行-${i}-🏃`;
  if (r < 0.95) return `x${String.fromCharCode(0xd800 + (i % 1024))}${i}`; // a lone surrogate (UTF-8 would merge them)
  return i % 50 === 0 ? "" : `${i}`;
}

describe("UniqueSet", () => {
  it("answers as a Map does through adds, deletes and sweeps, for 300,000 values (32-bit hashes collide)", () => {
    const rnd = mulberry32(11);
    const set = new UniqueSet();
    const ref = new Map<string, number>();
    let t = 0;
    const history: string[] = [];
    const mismatches: string[] = [];
    const earlier = () => history[history.length - 1 - Math.floor(rnd() * Math.min(history.length, 8000))];
    for (let i = 0; i < 300_000; i++) {
      t += Math.floor(rnd() * 3);
      const v = rnd() < 0.05 && i > 0 ? earlier() : valueOf(rnd, i);
      history.push(v);
      const at = t - Math.floor(rnd() * 50);
      const added = set.add(v, at);
      if (added === ref.has(v)) mismatches.push(`add ${v}`);
      if (added) ref.set(v, at);
      if (rnd() < 0.01) {
        const gone = earlier();
        if (set.delete(gone) !== ref.delete(gone)) mismatches.push(`delete ${gone}`);
      }
      if (i % 20_000 === 19_999) {
        const floor = t - 5_000;
        set.sweep(floor);
        // A value before the floor may stay held until its chunk goes; every value within it must stay.
        let within = 0;
        let wrong = 0;
        for (const [k, at2] of ref) {
          if (at2 >= floor) within++;
          if (set.has(k)) continue;
          if (at2 >= floor) wrong++;
          ref.delete(k);
        }
        expect(wrong).toBe(0);
        expect(set.size).toBe(ref.size);
        expect(set.size).toBeLessThan(within + 3 * 4096);
      }
    }
    expect(mismatches).toEqual([]);
    expect([...ref.keys()].filter((k) => !set.has(k))).toEqual([]);
    expect(set.size).toBe(ref.size);
    // Memory follows what is held: most of the 300,000 values expired and their chunks went.
    expect(set.size).toBeLessThan(60_000);
  });

  it("never takes two distinct values for one: 2^18 values of the same length one character apart", () => {
    const set = new UniqueSet();
    const n = 1 << 18;
    const ids = Array.from({ length: n }, (_, i) => `u-${i.toString(36).padStart(4, "0")}`);
    expect(ids.filter((v, i) => !set.add(v, i))).toEqual([]);
    expect(ids.filter((v, i) => set.add(v, i))).toEqual([]);
    expect(set.has("u-zzzzz")).toBe(false);
    expect(set.size).toBe(n);
  });

  it("reads the values held when its cursor was taken, in insertion order, with their times", () => {
    const set = new UniqueSet();
    const values = Array.from({ length: 40_000 }, (_, i) => `v${i}${i % 3 === 0 ? "—" : ""}`);
    values.forEach((v, i) => set.add(v, i));
    set.delete(values[5]);
    const cursor = set.cursor();
    for (let i = 0; i < 1000; i++) set.add(`later-${i}`, 1e9);
    const read: Array<[string, number]> = [];
    for (let part = cursor.next(777, 100); part.length; part = cursor.next(777, 100)) read.push(...part);
    expect(read).toEqual(values.map((v, i) => [v, i] as [string, number]).filter(([, t]) => t >= 100));
  });
});

describe("Admission with the set off the heap", () => {
  it("classifies as the definition says: new once, then duplicate; late below the floor; a late value then counts as seen", () => {
    const a = new Admission(1000);
    expect(a.classify("a", 5000)).toBe("new");
    a.applied(5000);
    expect(a.classify("a", 5000)).toBe("duplicate");
    expect(a.classify(7, 4500)).toBe("new");
    expect(a.classify(7, 4500)).toBe("duplicate");
    expect(a.classify("old", 3000)).toBe("late");
    // The late event is stored: the same value again (even at a time within the lateness) is a duplicate of it.
    expect(a.classify("old", 3000)).toBe("duplicate");
    expect(a.classify("old", 4900)).toBe("duplicate");
    a.release("old"); // its write failed: as if never seen
    expect(a.classify("old", 3000)).toBe("late");
  });

  it("a snapshot restored into a new admission classifies every held value the same", () => {
    const a = new Admission(10_000);
    const rnd = mulberry32(3);
    let t = 0;
    for (let i = 0; i < 50_000; i++) {
      t += Math.floor(rnd() * 5);
      if (a.classify(`e${i}`, t) === "new") a.applied(t);
    }
    const snap = a.snapshot();
    const b = new Admission(10_000);
    b.restore(snap);
    expect(b.watermark).toBe(a.watermark);
    expect(b.size).toBe(snap.seen.length);
    expect(snap.seen.length).toBeGreaterThan(5_000);
    for (const [id] of snap.seen) expect(b.classify(id, t)).toBe("duplicate");
    for (let i = 50_000; i < 51_000; i++) expect(b.classify(`e${i}`, t)).toBe("new");
  });
});
