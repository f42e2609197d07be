// The late-event correction reads a few entities' events from the segments
// while events go on (runtime/stream/late-correction.ts `SegmentScan`): it
// must find exactly the lines a synchronous read of every line finds — across
// read chunks that cut lines in two, blank and torn lines, several files, the
// writer's own file read only as far as its appends resolved — and let the
// event loop run meanwhile.

import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { SpecBundle, StreamRow } from "../runtime/api.ts";
import { mulberry32 } from "../runtime/random.ts";
import { StreamEngine } from "../runtime/stream/engine.ts";
import { SegmentScan, type Targets } from "../runtime/stream/late-correction.ts";
import { segmentLine, validateEvent } from "../runtime/stream/validate.ts";

const { spec } = (await import("../generated/athlete/index.ts")) as { spec: SpecBundle };
const plan = spec.sources.find((s) => s.name === "activities")!;
const dir = mkdtempSync(join(tmpdir(), "fti-scan-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function event(rnd: () => number, i: number): StreamRow {
  const km = Math.round((3 + rnd() * 12) * 4) / 4;
  const v = validateEvent(plan, {
    activity_id: `e-${i}`, athlete_id: `a${Math.floor(rnd() * 40)}`, started_at: new Date(Date.UTC(2026, 5, 1) + i * 60_000).toISOString(), sport: "run",
    distance_km: km, elapsed_time_s: Math.round(km * 300), elevation_gain_m: 10, planned_pace_min_km: 5.4, avg_hr: 140, route_id: `r${i % 5}`,
  }, []);
  if ("issues" in v) throw new Error(JSON.stringify(v.issues));
  return v.row;
}

describe("SegmentScan", () => {
  it("keeps exactly the target entities' events, in (file, line) order, and yields to the event loop while it reads", async () => {
    const rnd = mulberry32(4);
    const engine = new StreamEngine(spec);
    const files = ["1000-1-0001.ndjson", "1000-1-0002.ndjson", "2000-2-0001.ndjson"];
    const all: Array<{ file: string; line: number; row: StreamRow }> = [];
    let i = 0;
    for (const [f, name] of files.entries()) {
      const lines: string[] = [];
      for (let k = 0; k < 12_000; k++) {
        if (k % 997 === 0) lines.push(""); // blank lines count as lines
        const row = event(rnd, i++);
        lines.push(segmentLine(plan, row));
        all.push({ file: join(dir, name), line: lines.length, row });
      }
      writeFileSync(join(dir, name), lines.join("\n") + "\n");
      if (f === 0) appendFileSync(join(dir, name), '{"activity_id":"torn"'); // a crash's torn last line: never read
    }
    // The third file is this writer's: only its first 5,000 lines' appends have resolved.
    const own = new Map([[files[2], { lines: 5000, bytes: 0 }]]);
    const text = (await import("node:fs")).readFileSync(join(dir, files[2]), "utf8");
    let nl = -1;
    for (let k = 0; k < 5000; k++) nl = text.indexOf("\n", nl + 1);
    own.get(files[2])!.bytes = Buffer.byteLength(text.slice(0, nl + 1));

    for (const athletes of [["a3", "a17"], Array.from({ length: 300 }, (_, k) => `a${k}`)]) {
      const targets: Targets = { keys: new Map(), values: new Map() };
      for (const g of engine.groupsOf("activities")) {
        targets.keys.set(g.name, new Set(athletes.map((a) => engine.entityKey(g.name, [a]))));
        targets.values.set(g.name, athletes.map((a) => [a]));
      }
      const scan = new SegmentScan(dir, plan, spec, engine, targets, own);
      let ticks = 0;
      let running = true;
      const tick = () => {
        ticks++;
        if (running) setImmediate(tick);
      };
      setImmediate(tick);
      await scan.catchUp();
      running = false;
      expect(scan.finish()).toBe(true);
      const want = all.filter((x) => athletes.includes(x.row.athlete_id as string) && !(x.file.endsWith(files[2]) && x.line > 5000));
      expect(scan.rows()).toEqual(want.map((x) => x.row));
      expect(ticks).toBeGreaterThan(3);
      // Two athletes: a text test before parsing (most lines never parsed); 300 (> 256): every line parsed.
      if (athletes.length === 2) expect(scan.linesParsed).toBeLessThan(scan.linesRead / 5);
      else expect(scan.linesParsed).toBe(all.filter((x) => !(x.file.endsWith(files[2]) && x.line > 5000)).length); // every line but the blank ones
    }
  });

  it("reads what was appended after a first pass, and says when a file of the writer went with lines unread", async () => {
    const d = mkdtempSync(join(tmpdir(), "fti-scan2-"));
    try {
      const engine = new StreamEngine(spec);
      const rnd = mulberry32(9);
      const targets: Targets = { keys: new Map(), values: new Map() };
      for (const g of engine.groupsOf("activities")) {
        targets.keys.set(g.name, new Set([engine.entityKey(g.name, ["a1"])]));
        targets.values.set(g.name, [["a1"]]);
      }
      const name = "3000-3-0001.ndjson";
      const rows = Array.from({ length: 400 }, (_, k) => event(rnd, k));
      const own = new Map([[name, { lines: 0, bytes: 0 }]]);
      const append = (part: StreamRow[]) => {
        const t = part.map((r) => segmentLine(plan, r)).join("\n") + "\n";
        appendFileSync(join(d, name), t);
        own.get(name)!.lines += part.length;
        own.get(name)!.bytes += Buffer.byteLength(t);
      };
      append(rows.slice(0, 150));
      const scan = new SegmentScan(d, plan, spec, engine, targets, own);
      await scan.catchUp();
      append(rows.slice(150, 400));
      expect(scan.finish()).toBe(true);
      expect(scan.rows()).toEqual(rows.filter((r) => r.athlete_id === "a1"));

      const gone = new SegmentScan(d, plan, spec, engine, targets, own);
      await gone.catchUp();
      append(rows.slice(0, 10));
      rmSync(join(d, name)); // compacted away after the first pass
      expect(gone.finish()).toBe(false);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it("stops where the written lines end: a crashed part's zeros, a hole before unacknowledged lines, the writer's own part of zeros", async () => {
    const d = mkdtempSync(join(tmpdir(), "fti-scan3-"));
    try {
      const engine = new StreamEngine(spec);
      const rnd = mulberry32(12);
      const targets: Targets = { keys: new Map(), values: new Map() };
      for (const g of engine.groupsOf("activities")) {
        targets.keys.set(g.name, new Set(["a1", "a2"].map((a) => engine.entityKey(g.name, [a]))));
        targets.values.set(g.name, [["a1"], ["a2"]]);
      }
      const rows = Array.from({ length: 3000 }, (_, k) => event(rnd, k));
      const text = (part: StreamRow[]) => Buffer.from(part.map((r) => segmentLine(plan, r)).join("\n") + "\n");
      // A dead process's part: lines, a hole of 3 MB (across read chunks), lines it never acknowledged, zeros.
      writeFileSync(join(d, "1000-1-0001.ndjson"), Buffer.concat([text(rows.slice(0, 1000)), Buffer.from('{"activity_id":"to'), Buffer.alloc(3 << 20), text(rows.slice(1000, 2000)), Buffer.alloc(1 << 20)]));
      // The writer's own part: preallocated, its first 600 lines acknowledged.
      const own = text(rows.slice(2000, 2600));
      writeFileSync(join(d, "2000-2-0001.ndjson"), Buffer.concat([own, Buffer.alloc(2 << 20)]));
      const scan = new SegmentScan(d, plan, spec, engine, targets, new Map([["2000-2-0001.ndjson", { lines: 600, bytes: own.length }]]));
      await scan.catchUp();
      expect(scan.finish()).toBe(true);
      const want = [...rows.slice(0, 1000), ...rows.slice(2000, 2600)].filter((r) => r.athlete_id === "a1" || r.athlete_id === "a2");
      expect(want.length).toBeGreaterThan(20);
      expect(scan.rows()).toEqual(want);
      // The dead part's zeros are read once: a second pass reads nothing more of it.
      expect(await scan.catchUp()).toBe(0);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
