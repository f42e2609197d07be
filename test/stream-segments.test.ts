// The segment writer moves on to its next part without a disk trip on the
// appends' path: the next part is created (and the folder synced) in the
// background once the current one is half full, so the rollover finds it open. An empty next part does not seal the file being written
// (compaction would remove it), a written one does; close removes an unused one.

import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readSegmentLines, SegmentWriter, sealedSegmentFiles, segmentFiles } from "../runtime/stream/segments.ts";
import { FileWriterLock } from "../runtime/stream/writer-lock.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "fti-segments-"));
  dirs.push(d);
  return join(d, "streams", "activities");
};
const line = (i: number) => JSON.stringify({ id: `e${i}`, pad: "x".repeat(40) });

describe("SegmentWriter", () => {
  it("opens the next part ahead, moves on to it without waiting, and keeps every line in order", async () => {
    const dir = tmp();
    const lock = new FileWriterLock(dir);
    expect(await lock.acquire()).toBeNull();
    const w = new SegmentWriter(dir, 400);
    await w.append([line(0)]);
    await w.nextPartReady();
    expect(segmentFiles(dir)).toHaveLength(1); // less than half full: no next part yet
    await w.append([line(1), line(2), line(3)]);
    await w.nextPartReady();
    const [first, spare] = segmentFiles(dir);
    expect(spare).toBeDefined();
    expect(sealedSegmentFiles(dir)).toEqual([]); // the empty next part seals nothing yet
    let i = 4;
    const rolled = () => w.rollovers.ready + w.rollovers.waited;
    // Between two appends the next part has had time to open (in a live stream: the seconds a part takes to fill).
    for (let part = 1; part <= 3; part++) {
      while (rolled() < part) {
        await w.nextPartReady();
        await w.append([line(i++), line(i++)]);
      }
    }
    expect(w.rollovers).toEqual({ ready: 3, waited: 0 });
    expect(sealedSegmentFiles(dir)).toContain(first);
    const lines = readSegmentLines(dir);
    expect(lines.map((l) => JSON.parse(l.text).id)).toEqual(Array.from({ length: i }, (_, k) => `e${k}`));
    const synced = [...w.positions.values()].reduce((n, p) => n + p.lines, 0);
    expect(synced).toBe(i);
    await w.close();
    // The next part opened ahead and never written is gone; every written one stays.
    const names = readdirSync(dir).filter((n) => n.endsWith(".ndjson"));
    expect(names.sort()).toEqual([...w.positions.keys()].sort());
    expect(existsSync(join(dir, basename(first)))).toBe(true);
    await lock.release();
  });

  it("a single append larger than a part goes into one part whole", async () => {
    const dir = tmp();
    const w = new SegmentWriter(dir, 100);
    await w.append([line(0), line(1), line(2)]);
    await w.append([line(3)]);
    expect(readSegmentLines(dir).map((l) => JSON.parse(l.text).id)).toEqual(["e0", "e1", "e2", "e3"]);
    expect([...w.positions.values()].map((p) => p.lines)).toEqual([3, 1]);
    await w.close();
  });
});
