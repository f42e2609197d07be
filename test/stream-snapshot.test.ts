// A checkpoint's state is taken at once and read afterwards, a slice at a
// time, while events go on being applied (copy-on-write: engine.ts
// `beginSnapshot`, admission.ts `beginSnapshot`). What is read must be the
// state as of when it was taken, whatever was applied, recomputed, swept or
// released in between; and the live state must be what it would have been
// without the snapshot.

import { describe, expect, it } from "vitest";
import type { SpecBundle, StreamRow } from "../runtime/api.ts";
import { mulberry32 } from "../runtime/random.ts";
import { Admission } from "../runtime/stream/admission.ts";
import { StreamEngine, type EntitySnapshot, type SourceSnapshot } from "../runtime/stream/engine.ts";

const { spec } = (await import("../generated/athlete/index.ts")) as { spec: SpecBundle };
const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 5, 1);

/** Activities of `athletes` athletes over the last days, in random order (ties and out-of-order included). */
function activities(n: number, seed: number, athletes: number, from = 0): StreamRow[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, (_, i) => {
    const km = Math.round((3 + rnd() * 12) * 4) / 4;
    return {
      activity_id: `e-${from + i}`, athlete_id: `a${Math.floor(rnd() * athletes)}`, started_at: new Date(NOW - Math.floor(rnd() * 200) * HOUR), sport: rnd() < 0.2 ? "treadmill" : "run",
      distance_km: km, elapsed_time_s: Math.round(km * (280 + rnd() * 80)), elevation_gain_m: Math.round(rnd() * 200), planned_pace_min_km: 5.4,
      avg_hr: rnd() < 0.2 ? null : Math.round(130 + rnd() * 40), route_id: `r${Math.floor(rnd() * 7)}`,
    };
  });
}

/** A snapshot's entities per group, by key (the order entities were created in is not state). */
const byKey = (s: SourceSnapshot) => Object.fromEntries(s.groups.map((g) => [g.name, Object.fromEntries(g.entities.map((e) => [e.key, e]))]));

describe("an engine snapshot read while events are applied (copy-on-write)", () => {
  it("reads the state as of when it was taken, and leaves the live state as without it", () => {
    const first = activities(3000, 1, 300);
    const later = activities(2500, 2, 360, 3000); // some athletes and routes new, most changed
    const engine = new StreamEngine(spec);
    for (const r of first) engine.apply("activities", r);
    const expected = engine.snapshot("activities");

    const groups = engine.beginSnapshot("activities");
    expect(groups.map((g) => g.name)).toEqual(expected.groups.map((g) => g.name));
    const read: EntitySnapshot[][] = groups.map(() => []);
    const rnd = mulberry32(3);
    let k = 0;
    // What is done to the engine meanwhile, done again to one without a snapshot at the end.
    const ops: Array<(e: StreamEngine) => void> = [];
    const run = (op: (e: StreamEngine) => void) => {
      ops.push(op);
      op(engine);
    };
    // Reads a few entities of a random group, then applies a few events, until every group is read.
    while (groups.some((g, i) => read[i].length < g.reader.count)) {
      const gi = Math.floor(rnd() * groups.length);
      read[gi].push(...groups[gi].reader.next(1 + Math.floor(rnd() * 20), 1 + Math.floor(rnd() * 400)));
      for (const r of later.slice(k, (k += Math.floor(rnd() * 40)))) run((e) => e.apply("activities", r));
      // A recomputation drops entities and builds them again (a late event's correction).
      if (k > 1000 && k < 1040) {
        const rows = [...first, ...later.slice(0, k)].sort((a, b) => (a.started_at as Date).getTime() - (b.started_at as Date).getTime());
        const athletes = new Set(["a1", "a2", "a250"]);
        run((e) => e.recompute("activities", new Map(expected.groups.map((g) => [g.name, athletes])), rows));
      }
    }
    for (const g of groups) {
      expect(g.reader.next(10, 10)).toEqual([]);
      g.reader.end();
    }
    expect(k).toBeGreaterThan(1000); // most of `later` was applied while the snapshot was read
    expect({ groups: groups.map((g, i) => ({ name: g.name, entities: read[i] })) }).toEqual(expected);

    for (const r of later.slice(k)) run((e) => e.apply("activities", r));
    const plain = new StreamEngine(spec);
    for (const r of first) plain.apply("activities", r);
    for (const op of ops) op(plain);
    expect(byKey(engine.snapshot("activities"))).toEqual(byKey(plain.snapshot("activities")));
  });

  it("a snapshot restored into a new engine gives every entity's online row as the engine it came from had it", () => {
    const engine = new StreamEngine(spec);
    for (const r of activities(2000, 4, 150)) engine.apply("activities", r);
    const rows = new Map([...engine.rows("activities")].map((u) => [`${u.group}|${u.keys.join("|")}`, u]));
    const groups = engine.beginSnapshot("activities");
    const snap: SourceSnapshot = { groups: groups.map((g) => ({ name: g.name, entities: [] as EntitySnapshot[] })) };
    groups.forEach((g, i) => {
      for (let part = g.reader.next(7, 50); part.length; part = g.reader.next(7, 50)) snap.groups[i].entities.push(...part);
      g.reader.end();
    });
    const again = new StreamEngine(spec);
    expect(again.restore("activities", snap)).toBe(true);
    expect(new Map([...again.rows("activities")].map((u) => [`${u.group}|${u.keys.join("|")}`, u]))).toEqual(rows);
  });
});

describe("an admission snapshot read while events are admitted", () => {
  it("reads the watermark and unique values as of when it was taken, whatever is swept, released or added meanwhile", () => {
    const a = new Admission(10 * HOUR);
    const rnd = mulberry32(5);
    let t = NOW;
    let n = 0;
    const admit = () => {
      const id = `u${n++}`;
      t += Math.floor(rnd() * 4000);
      const at = t - Math.floor(rnd() * 12 * HOUR); // some late, most within the lateness
      if (a.classify(id, at) === "new") {
        if (rnd() < 0.02) a.release(id); // its write failed
        else a.applied(at);
      }
    };
    for (let i = 0; i < 20_000; i++) admit();
    const expected = a.snapshot();
    expect(expected.seen.length).toBeGreaterThan(5000);

    const reader = a.beginSnapshot();
    const seen: Array<[string, number]> = [];
    for (let part = reader.next(333); part.length; part = reader.next(333)) {
      seen.push(...part);
      for (let i = 0; i < 500; i++) admit(); // enough to sweep many times over, were sweeps not held
    }
    reader.end();
    expect({ watermark: reader.watermark, seen }).toEqual(expected);

    // Held sweeps happen afterwards: what falls out of the lateness is dropped again.
    for (let i = 0; i < 5000; i++) admit();
    const floor = a.watermark - a.latenessMs;
    expect(a.snapshot().seen.every(([, at]) => at >= floor)).toBe(true);
    expect(a.size).toBeLessThan(n - 20_000);
  });
});
