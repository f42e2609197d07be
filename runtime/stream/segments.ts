// The durable log of a stream: segment files of NDJSON events, one writer per
// process. An event is acknowledged only once its line is written durably
// (the file is opened with O_DSYNC: each write returns once its data is on
// disk, as a write then an fdatasync would; group commit: the events of
// requests arriving during one write share the next). The batch feature pipeline reads the segments as more rows
// of the source (by `unique`: an event in two segments, or in the file too,
// counts once); a restarted server rebuilds its state from them.
//
// Layout: `<store dir>/streams/<source>/<start ms>-<pid>-<part>.ndjson`. A
// process never appends to another's file, so a line torn by a crash is the
// last line of a file nobody writes any more: readers take complete lines only.
// The next part is created (and the folder synced) in the background once a
// part is half full, so moving on to it costs the appends waiting then no disk
// trip: a folder sync queues behind every other write of the disk (a
// checkpoint's tens of MB), and it used to be a synchronous one, holding the
// event loop too. An empty later part does not seal a file (`sealedSegmentFiles`).

import { closeSync, constants, existsSync, fsyncSync, openSync, readdirSync, readFileSync, statSync, unlinkSync } from "node:fs";
import { hostname } from "node:os";
import { mkdir, open, rm, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { holderIsGone, parseHolder } from "./writer-lock.ts";

/** Where the segments of `source` are, for the store at `storePath`. */
export function streamDir(storePath: string, source: string): string {
  return join(dirname(storePath), "streams", source.replace(/[^A-Za-z0-9_.-]/g, "_"));
}

const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;

/** When one durable write ran (performance.now() ms): from its start to its data on disk. Requests in one group commit share it. */
export interface WriteTiming {
  startMs: number;
  endMs: number;
}

interface Pending {
  lines: string[];
  resolve: (t: WriteTiming) => void;
  reject: (e: Error) => void;
}

/** A segment part opened ahead of its use, its name already durable in the folder. */
interface OpenedPart {
  fh: FileHandle;
  file: string;
}

export class SegmentWriter {
  private fh: FileHandle | null = null;
  private file = "";
  private size = 0;
  private part = 0;
  /** The next part, being opened (or open) while the current one fills. */
  private spare: Promise<OpenedPart> | null = null;
  /** Parts this writer moved on to with their spare already open, and those it had to wait for. */
  readonly rollovers = { ready: 0, waited: 0 };
  private readonly stamp = `${Date.now()}-${process.pid}`;
  private queue: Pending[] = [];
  private flushing = false;
  /** Per file this writer wrote (by name): its complete lines and bytes, all synced (what a checkpoint covers). */
  readonly positions = new Map<string, SegmentPosition>();
  /** Events written and synced by this writer. */
  written = 0;
  syncs = 0;
  /** Its durable writes' time (ms, from the call to the data on disk): the longest, and how many took over 100 ms (a disk stall shows here, not on the event loop). */
  readonly writeTimes = { longestMs: 0, over100ms: 0 };

  constructor(
    readonly dir: string,
    /** A part's size limit (tests use a small one). */
    private readonly maxBytes = MAX_SEGMENT_BYTES,
  ) {}

  /** Appends the lines (one event each); resolves once they are on disk, with when the write carrying them ran. */
  append(lines: string[]): Promise<WriteTiming> {
    if (lines.length === 0) {
      const now = performance.now();
      return Promise.resolve({ startMs: now, endMs: now });
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ lines, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length) {
        const batch = this.queue;
        this.queue = [];
        const text = batch.map((b) => b.lines.join("\n")).join("\n") + "\n";
        const startMs = performance.now();
        try {
          await this.write(text);
          const timing = { startMs, endMs: performance.now() };
          const n = batch.reduce((k, b) => k + b.lines.length, 0);
          this.written += n;
          const at = this.positions.get(basename(this.file))!;
          at.lines += n;
          at.bytes = this.size;
          for (const b of batch) b.resolve(timing);
        } catch (e) {
          for (const b of batch) b.reject(e as Error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async write(text: string): Promise<void> {
    const bytes = Buffer.byteLength(text);
    if (!this.fh || (this.size > 0 && this.size + bytes > this.maxBytes)) await this.next();
    const fh = this.fh!;
    try {
      // The file is opened with O_DSYNC: the write returns once its data is durable (one trip to the
      // thread pool, not a write and then an fdatasync: under load each trip waits for a CPU).
      const t0 = performance.now();
      const { bytesWritten } = await fh.write(text, null, "utf8");
      if (bytesWritten !== bytes) throw new Error(`a short write to ${basename(this.file)} (${bytesWritten} of ${bytes} bytes)`);
      const ms = performance.now() - t0;
      if (ms > this.writeTimes.longestMs) this.writeTimes.longestMs = ms;
      if (ms > 100) this.writeTimes.over100ms++;
      this.syncs++;
      this.size += bytes;
      if (!this.spare && this.size >= this.maxBytes / 2) this.prepareNext();
    } catch (e) {
      // No torn or unacknowledged line stays behind: cut the file back to what was synced.
      await fh.truncate(this.size).catch(() => undefined);
      throw e;
    }
  }

  /** Moves on to the next part (opened ahead once the current one was half full: normally ready, nothing to wait for). */
  private async next(): Promise<void> {
    const spare = this.spare ?? this.openPart(this.part + 1);
    this.spare = null;
    let settled = false;
    void spare.then(() => (settled = true), () => undefined);
    await Promise.resolve(); // a spare opened earlier has settled by now
    if (this.fh) this.rollovers[settled ? "ready" : "waited"]++;
    let opened: OpenedPart;
    try {
      opened = await spare;
    } catch (e) {
      throw new Error(`the next segment could not be created in ${this.dir} (${(e as Error).message})`);
    }
    const old = this.fh;
    this.fh = opened.fh;
    this.file = opened.file;
    this.part++;
    this.size = 0;
    this.positions.set(basename(this.file), { lines: 0, bytes: 0 });
    // Its last write returned before this: closing it waits for nothing the appends need.
    void old?.close().catch(() => undefined);
  }

  /** Opens the next part in the background (a failure is met, and reported, when it is needed). */
  private prepareNext(): void {
    this.spare = this.openPart(this.part + 1);
    this.spare.catch(() => undefined);
  }

  /** Resolves once the next part is open (once the current one is half full): moving on to it then waits for no disk. */
  async nextPartReady(): Promise<void> {
    await this.spare?.catch(() => undefined);
  }

  /** Creates part `part` and syncs the folder (the new name is durable before any event is acknowledged in it), off the event loop. */
  private async openPart(part: number): Promise<OpenedPart> {
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${this.stamp}-${String(part).padStart(4, "0")}.ndjson`);
    const fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_DSYNC);
    try {
      const d = await open(this.dir, "r");
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
    return { fh, file };
  }

  async close(): Promise<void> {
    while (this.flushing || this.queue.length) await new Promise((r) => setTimeout(r, 5));
    await this.fh?.close();
    this.fh = null;
    // The spare part was never written: it goes (an empty part left behind would be harmless too).
    const spare = this.spare;
    this.spare = null;
    const opened = await spare?.catch(() => null);
    if (opened) {
      await opened.fh.close().catch(() => undefined);
      await rm(opened.file, { force: true });
    }
  }
}

/** How far into a segment file: its first `lines` complete lines, `bytes` long. */
export interface SegmentPosition {
  lines: number;
  bytes: number;
}

/** One event line of a segment. */
export interface SegmentLine {
  file: string;
  /** 1-based line number in its file. */
  line: number;
  text: string;
}

/** The segment files of a stream, in order (by name: start time, process, part). */
export function segmentFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith(".ndjson")).sort().map((n) => join(dir, n));
}

/** Every complete line of every segment (or of `files`; a torn last line, never acknowledged, is left out). */
export function readSegmentLines(dir: string, files: readonly string[] = segmentFiles(dir)): SegmentLine[] {
  const out: SegmentLine[] = [];
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const end = text.lastIndexOf("\n");
    if (end < 0) continue;
    const lines = text.slice(0, end).split("\n");
    lines.forEach((t, i) => {
      if (t.trim() !== "") out.push({ file, line: i + 1, text: t });
    });
  }
  return out;
}

/**
 * The complete lines of one segment file after `from` (its first lines, as a
 * checkpoint covered them), numbered on from there; null when the file is
 * shorter than `from` says (not the file the checkpoint saw).
 */
export function readSegmentTail(file: string, from: SegmentPosition): { lines: SegmentLine[]; end: SegmentPosition } | null {
  const buf = readFileSync(file);
  if (buf.length < from.bytes || (from.bytes > 0 && buf[from.bytes - 1] !== 0x0a)) return null;
  const end = buf.lastIndexOf(0x0a);
  const lines: SegmentLine[] = [];
  if (end < from.bytes) return { lines, end: { ...from } };
  const texts = buf.subarray(from.bytes, end).toString("utf8").split("\n");
  texts.forEach((t, i) => {
    if (t.trim() !== "") lines.push({ file, line: from.lines + i + 1, text: t });
  });
  return { lines, end: { lines: from.lines + texts.length, bytes: end + 1 } };
}

/**
 * The segment files no writer appends to any more: a later part of the same
 * writer exists, or the writer's process is gone, or it no longer holds the
 * stream's writer lock (writer-lock.ts). Names: `<start ms>-<pid>-<part>.ndjson`.
 */
export function sealedSegmentFiles(dir: string): string[] {
  const files = segmentFiles(dir);
  const parsed = files.map((f) => ({ f, m: /^(\d+)-(\d+)-(\d+)\.ndjson$/.exec(basename(f)) }));
  const holder = parseHolder(existsSync(join(dir, "writer.lock")) ? readFileSync(join(dir, "writer.lock"), "utf8") : null);
  const out: string[] = [];
  for (const { f, m } of parsed) {
    if (!m) continue;
    const [, start, pid, part] = m;
    // A later part seals a file once it holds a line (the writer opens its next part ahead, empty until then).
    const later = parsed.some((o) => o.m && o.m[1] === start && o.m[2] === pid && Number(o.m[3]) > Number(part) && sizeOf(o.f) > 0);
    const writing = holder !== null && holder.pid === Number(pid) && !holderIsGone({ pid: Number(pid), host: holder.host });
    if (later || holderIsGone({ pid: Number(pid), host: hostname() }) || !writing) out.push(f);
  }
  return out;
}

const sizeOf = (file: string): number => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};

/** Removes a segment file whose lines the offline store keeps; the folder is synced so the removal is durable. */
export function removeSegment(file: string): void {
  unlinkSync(file);
  const d = openSync(dirname(file), "r");
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
}
