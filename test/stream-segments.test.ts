// The segment writer moves on to its next part without a disk trip on the
// appends' path: the next part is created and preallocated (zeros written and
// synced, the folder synced) in the background once the current one is half
// full, so the rollover finds it ready. A next part of zeros does not seal the
// file being written (compaction would remove it), a written one does; close
// removes an unused one and cuts the last one to its lines. Writes overlap and
// are acknowledged in order; a failed one refuses every later one in its part.
// Readers stop at a part's zeros and at a crash's hole (a NUL byte): the lines
// after a hole were never acknowledged.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readSegmentLines, readSegmentTail, SegmentWriter, sealedSegmentFiles, segmentFiles, writtenEnd } from "../runtime/stream/segments.ts";
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
    await w.nextPartReady();
    await w.append([line(3)]);
    expect(readSegmentLines(dir).map((l) => JSON.parse(l.text).id)).toEqual(["e0", "e1", "e2", "e3"]);
    expect([...w.positions.values()].map((p) => p.lines)).toEqual([3, 1]);
    await w.close();
  });
});

describe("preallocated parts and overlapping writes", () => {
  it("writes into a part of zeros already on disk, and cuts it to its lines at close", async () => {
    const dir = tmp();
    const w = new SegmentWriter(dir);
    await w.append([line(0), line(1)]);
    const [file] = segmentFiles(dir);
    const bytes = w.positions.get(basename(file))!.bytes;
    const buf = readFileSync(file);
    // The first part is 1 MB of zeros (then 4×, up to 64 MB); the lines at its start.
    expect(buf.length).toBe(1 << 20);
    expect(buf.subarray(bytes).every((b) => b === 0)).toBe(true);
    expect(readSegmentLines(dir).map((l) => JSON.parse(l.text).id)).toEqual(["e0", "e1"]);
    await w.close();
    expect(statSync(file).size).toBe(bytes);
  });

  it("acknowledges overlapping writes in the order they were appended, every line once in order", async () => {
    const dir = tmp();
    const w = new SegmentWriter(dir, 4096);
    const order: number[] = [];
    await Promise.all(Array.from({ length: 200 }, (_, i) => w.append([line(i)]).then(() => order.push(i))));
    expect(order).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(readSegmentLines(dir).map((l) => JSON.parse(l.text).id)).toEqual(Array.from({ length: 200 }, (_, i) => `e${i}`));
    expect([...w.positions.values()].reduce((n, p) => n + p.lines, 0)).toBe(200);
    await w.close();
    for (const f of segmentFiles(dir)) expect(statSync(f).size).toBe(w.positions.get(basename(f))!.bytes);
  });

  it("a failed write refuses every later write of its part, cuts the part back, and the next appends go to a new part", async () => {
    const dir = tmp();
    const w = new SegmentWriter(dir);
    await w.append([line(0)]);
    const part = (w as unknown as { current: { fh: { write: (...a: unknown[]) => Promise<unknown> } } }).current;
    const write = part.fh.write.bind(part.fh);
    let calls = 0;
    // The next write fails after the one after it is on disk: that one follows a hole, and must not be acknowledged.
    part.fh.write = (...a: unknown[]) => (++calls === 1 ? new Promise((_, reject) => setTimeout(() => reject(new Error("EIO")), 30)) : write(...a));
    const failed = w.append([line(1)]);
    const after = w.append([line(2)]);
    const results = await Promise.allSettled([failed, after]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    await w.append([line(3)]);
    const files = segmentFiles(dir);
    expect(files).toHaveLength(2);
    expect(statSync(files[0]).size).toBe(w.positions.get(basename(files[0]))!.bytes);
    expect(readSegmentLines(dir).map((l) => JSON.parse(l.text).id)).toEqual(["e0", "e3"]);
    await w.close();
  });

  it("while the next part's zeros are still being written, the lines go on past the full part's room: no append waits for it", async () => {
    const dir = tmp();
    const w = new SegmentWriter(dir, 400);
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const inner = w as unknown as { openPart: (part: number) => Promise<unknown> };
    const openPart = inner.openPart.bind(w);
    inner.openPart = async (part: number) => {
      if (part > 1) await slow;
      return openPart(part);
    };
    let i = 0;
    // Up to twice the part limit (800 bytes here).
    for (let k = 0; k < 6; k++) await w.append([line(i++), line(i++)]);
    const [first] = segmentFiles(dir);
    expect(statSync(first).size).toBeGreaterThan(600);
    expect(w.grown).toBeGreaterThan(0);
    expect(w.rollovers).toEqual({ ready: 0, waited: 0 });
    release();
    await w.nextPartReady();
    await w.append([line(i++)]);
    expect(w.rollovers).toEqual({ ready: 1, waited: 0 });
    expect(readSegmentLines(dir).map((l) => JSON.parse(l.text).id)).toEqual(Array.from({ length: i }, (_, k) => `e${k}`));
    await w.close();
  });
});

describe("readers at a part's zeros and a crash's hole", () => {
  const write = (dir: string, name: string, ...parts: Array<string | number>) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), Buffer.concat(parts.map((p) => (typeof p === "number" ? Buffer.alloc(p) : Buffer.from(p)))));
    return join(dir, name);
  };

  it("takes the complete lines before the first NUL: zeros, a torn line then zeros, a hole before later lines", () => {
    const dir = tmp();
    const a = `${line(0)}\n${line(1)}\n`;
    write(dir, "1000-1-0001.ndjson", a, 5000);
    write(dir, "1000-1-0002.ndjson", `${line(2)}\n{"id":"torn`, 300);
    write(dir, "1000-1-0003.ndjson", `${line(3)}\n`, 120, `${line(4)}\n${line(5)}\n`, 4000);
    write(dir, "1000-1-0004.ndjson", 64, `${line(6)}\n`);
    write(dir, "1000-1-0005.ndjson", `${line(7)}\n${line(8)}`); // a torn last line, no zeros (as before)
    const ids = readSegmentLines(dir).map((l) => `${basename(l.file).slice(7, 11)}:${l.line}:${JSON.parse(l.text).id}`);
    expect(ids).toEqual(["0001:1:e0", "0001:2:e1", "0002:1:e2", "0003:1:e3", "0005:1:e7"]);
    // The tail after a checkpoint's position stops at the same place, and says where.
    const first = join(dir, "1000-1-0001.ndjson");
    const tail = readSegmentTail(first, { lines: 1, bytes: Buffer.byteLength(`${line(0)}\n`) })!;
    expect(tail.lines.map((l) => [l.line, JSON.parse(l.text).id])).toEqual([[2, "e1"]]);
    expect(tail.end).toEqual({ lines: 2, bytes: Buffer.byteLength(a) });
    expect(readSegmentTail(first, tail.end)).toEqual({ lines: [], end: tail.end });
    const holed = readSegmentTail(join(dir, "1000-1-0003.ndjson"), { lines: 0, bytes: 0 })!;
    expect(holed.lines.map((l) => JSON.parse(l.text).id)).toEqual(["e3"]);
    // Past the zeros of a part (more written later): read on from where the written lines ended.
    write(dir, "1000-1-0001.ndjson", a, `${line(9)}\n`, 4000);
    expect(readSegmentTail(first, tail.end)!.lines.map((l) => [l.line, JSON.parse(l.text).id])).toEqual([[3, "e9"]]);
  });

  it("writtenEnd: the end of the last complete line before the first NUL, from a line's start", () => {
    const b = (s: string) => Buffer.from(s.replaceAll("0", "\u0000"));
    expect(writtenEnd(b("ab\ncd\n000"))).toBe(6);
    expect(writtenEnd(b("ab\ncd000"))).toBe(3);
    expect(writtenEnd(b("000ab\n"))).toBe(0);
    expect(writtenEnd(b("ab\n00cd\n"))).toBe(3);
    expect(writtenEnd(b("ab\ncd\n"), 3)).toBe(6);
    expect(writtenEnd(b("ab\n0"), 3)).toBe(3);
    expect(writtenEnd(b(""))).toBe(0);
  });

  it("a later part of zeros seals nothing; one holding a line does", () => {
    const dir = tmp();
    write(dir, `1000-${process.pid}-0001.ndjson`, `${line(0)}\n`);
    write(dir, `1000-${process.pid}-0002.ndjson`, 4096);
    writeFileSync(join(dir, "writer.lock"), JSON.stringify({ pid: process.pid, host: hostname() }));
    expect(sealedSegmentFiles(dir)).toEqual([]);
    write(dir, `1000-${process.pid}-0002.ndjson`, `${line(1)}\n`, 4000);
    expect(sealedSegmentFiles(dir)).toEqual([join(dir, `1000-${process.pid}-0001.ndjson`)]);
  });
});
