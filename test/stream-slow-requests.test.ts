// Where the slow events requests' time goes (runtime/stream/slow-requests.ts):
// the phases of a request over the threshold add up to its time in the server
// and nothing of a fast one is counted; the segment writer says when the
// write carrying an append ran (a request arriving while 3 writes are in
// flight waits for one to end, then rides the next: group commit), which is
// what splits `queue` from `write`.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SegmentWriter } from "../runtime/stream/segments.ts";
import { INGEST_PHASES, SLOW_REQUEST_MS, SlowRequests, type IngestMarks } from "../runtime/stream/slow-requests.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Marks from the durations of each phase, in order, beginning at `at`. */
function marks(at: number, d: { validate: number; gate: number; queue: number; write: number; resume: number; apply: number }): IngestMarks {
  const validated = at + d.validate;
  const pastGate = validated + d.gate;
  const appended = pastGate;
  const writeStart = appended + d.queue;
  const writeEnd = writeStart + d.write;
  const durable = writeEnd + d.resume;
  return { start: at, validated, pastGate, appended, writeStart, writeEnd, durable, applied: durable + d.apply };
}

describe("SlowRequests", () => {
  it("adds up the phases of the requests over the threshold only, each phase to its own total", () => {
    const slow = new SlowRequests();
    slow.note(marks(100, { validate: 1, gate: 0, queue: 2, write: 3, resume: 1, apply: 2 })); // 9 ms: not slow
    slow.note(marks(100, { validate: 0, gate: 0, queue: 0, write: SLOW_REQUEST_MS, resume: 0, apply: 0 })); // exactly the threshold: not slow
    expect(slow.requests).toBe(0);
    expect(Object.values(slow.ms)).toEqual([0, 0, 0, 0, 0, 0]);
    slow.note(marks(1000, { validate: 1, gate: 20, queue: 4, write: 30, resume: 8, apply: 2 }));
    slow.note(marks(2000, { validate: 2, gate: 0, queue: 16, write: 0, resume: 64, apply: 1 }));
    expect(slow.requests).toBe(2);
    expect(slow.ms).toEqual({ validate: 3, gate: 20, queue: 20, write: 30, resume: 72, apply: 3 });
    expect(INGEST_PHASES.reduce((n, p) => n + slow.ms[p], 0)).toBe(65 + 83);
  });

  it("counts a request with nothing to write (duplicates only) without a queue or a write", () => {
    const slow = new SlowRequests();
    const m = marks(0, { validate: 1, gate: 30, queue: 0, write: 0, resume: 2, apply: 0 });
    slow.note(m);
    expect(slow.ms).toEqual({ validate: 1, gate: 30, queue: 0, write: 0, resume: 2, apply: 0 });
  });
});

describe("SegmentWriter's write timing", () => {
  it("resolves each append with the write that carried it, in order: up to 3 writes overlap, appends made meanwhile share the next", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fti-slow-"));
    dirs.push(dir);
    const w = new SegmentWriter(join(dir, "streams", "s"));
    const line = (i: number) => JSON.stringify({ id: `e${i}` });
    const t0 = performance.now();
    const first = await w.append([line(0)]); // the part is ready from here on
    expect(first.startMs).toBeGreaterThanOrEqual(t0);
    expect(first.endMs).toBeGreaterThanOrEqual(first.startMs);
    const t = await Promise.all(Array.from({ length: 6 }, (_, i) => w.append([line(i + 1)])));
    // The first three start at once, each its own write; the second begins before the first is acknowledged.
    expect(new Set(t.slice(0, 3)).size).toBe(3);
    expect(t[1].startMs).toBeLessThan(t[0].endMs);
    // The other three waited for a write to end, and went as one.
    expect(t[3]).toBe(t[4]);
    expect(t[4]).toBe(t[5]);
    expect(t[3].startMs).toBeGreaterThanOrEqual(t[0].endMs);
    // Acknowledged in the order they were appended.
    for (let i = 1; i < t.length; i++) expect(t[i].endMs).toBeGreaterThanOrEqual(t[i - 1].endMs);
    expect(w.syncs).toBe(5);
    const none = await w.append([]);
    expect(none.endMs).toBe(none.startMs);
    await w.close();
  });
});
