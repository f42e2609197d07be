// The durable log of a stream: segment files of NDJSON events, one writer per
// process. An event is acknowledged only once its line is written durably
// (the file is opened with O_DSYNC: each write returns once its data is on
// disk, as a write then an fdatasync would). Up to MAX_WRITES_IN_FLIGHT writes
// overlap, each at its own offset, acknowledged strictly in the order they
// began (a request arriving meanwhile does not wait for the write in flight,
// then for its own); beyond that, group commit: the requests arriving while
// the writes are in flight share the next. The batch feature pipeline reads
// the segments as more rows of the source (by `unique`: an event in two
// segments, or in the file too, counts once); a restarted server rebuilds its
// state from them.
//
// Layout: `<store dir>/streams/<source>/<start ms>-<pid>-<part>.ndjson`. A
// part is preallocated: zeros written and synced before its first event, so a
// durable write into it changes no metadata (no file size, no block
// allocation) and waits for no journal commit — which every other process's
// fsync shares: the quiet runs' 0.7–0.9 s segment writes. A process never
// writes to another's file, so what a crash leaves (a torn last line, the
// part's zeros, a hole where a write was in flight while a later one had
// finished) is the end of a file nobody writes any more: readers take the
// complete lines before the first NUL byte (`writtenEnd`). The next part is
// prepared in the background once a part is half full, so moving on to it
// costs the appends waiting then no disk trip: a folder sync queues behind
// every other write of the disk (a checkpoint's tens of MB). A later part of
// zeros does not seal a file (`sealedSegmentFiles`).

import { closeSync, constants, existsSync, fsyncSync, openSync, readdirSync, readFileSync, readSync, unlinkSync } from "node:fs";
import { hostname } from "node:os";
import { mkdir, open, rm, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { holderIsGone, parseHolder } from "./writer-lock.ts";

/** Where the segments of `source` are, for the store at `storePath`. */
export function streamDir(storePath: string, source: string): string {
  return join(dirname(storePath), "streams", source.replace(/[^A-Za-z0-9_.-]/g, "_"));
}

const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
/** A writer's first part is this large, each next one 4× the one before, up to the part limit: a short-lived server (a test) zero-fills little. */
const FIRST_PART_BYTES = 1024 * 1024;
/** Durable writes in flight at once: each holds a thread of libuv's pool (4 by default, which checkpoints and DuckDB use too). */
const MAX_WRITES_IN_FLIGHT = 3;
/**
 * The zeros of a new part are written in chunks of this size, a datasync
 * after each and then a pause as long as the chunk took: a segment write's
 * flush waits behind at most one chunk (a disk cache flush takes every write
 * the disk holds), and gets the disk half the time while a part is prepared.
 */
const ZERO_CHUNK_BYTES = 1024 * 1024;

/** When one durable write ran (performance.now() ms): from its start to its acknowledgement (its data and every earlier write's on disk). Requests in one group commit share it. */
export interface WriteTiming {
  startMs: number;
  endMs: number;
}

interface Pending {
  lines: string[];
  resolve: (t: WriteTiming) => void;
  reject: (e: Error) => void;
}

/** A segment part, preallocated: its first `room` bytes are zeros already on disk. */
interface Part {
  fh: FileHandle;
  file: string;
  room: number;
  /** Where the next write goes: the bytes handed to writes so far. */
  end: number;
  /** Its lines and bytes acknowledged (the same object as the writer's `positions` entry). */
  acked: SegmentPosition;
  inFlight: number;
  /** A write to it failed: every later write to it is refused too, and the part is cut back to `acked` and left. */
  broken: boolean;
  /** Told when its last write in flight settles. */
  onIdle: Array<() => void>;
}

type OpenedPart = Pick<Part, "fh" | "file" | "room">;

export class SegmentWriter {
  private current: Part | null = null;
  private part = 0;
  /** The next part, being preallocated (or ready) while the current one fills. */
  private spare: Promise<OpenedPart> | null = null;
  /** The spare settled (ready, or failed: moving on then reports it). */
  private spareSettled = false;
  /** Writes that went past their part's room, its next part not ready yet (growing the file). */
  grown = 0;
  /** Parts this writer moved on to with their spare already open, and those it had to wait for. */
  readonly rollovers = { ready: 0, waited: 0 };
  private readonly stamp = `${Date.now()}-${process.pid}`;
  private queue: Pending[] = [];
  private inFlight = 0;
  private rolling = false;
  /** The acknowledgements, in the order the writes were started: each waits for every earlier one. */
  private acks: Promise<void> = Promise.resolve();
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
    /** Writes in flight at once (1: one at a time, every append arriving meanwhile in the next). */
    private readonly maxInFlight = MAX_WRITES_IN_FLIGHT,
  ) {}

  /** Appends the lines (one event each); resolves once they are on disk, and every line appended before them, with when the write carrying them ran. */
  append(lines: string[]): Promise<WriteTiming> {
    if (lines.length === 0) {
      const now = performance.now();
      return Promise.resolve({ startMs: now, endMs: now });
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ lines, resolve, reject });
      this.pump();
    });
  }

  /** Starts a write of everything queued while fewer than MAX_WRITES_IN_FLIGHT are in flight (group commit beyond that). */
  private pump(): void {
    while (this.queue.length && this.inFlight < this.maxInFlight && !this.rolling) {
      const text = Buffer.from(this.queue.map((b) => b.lines.join("\n")).join("\n") + "\n", "utf8");
      const part = this.current;
      if (!part || part.broken || (part.end > 0 && part.end + text.length > part.room && this.mayMoveOn(part))) {
        void this.roll();
        return;
      }
      this.start(part, this.queue, text);
      this.queue = [];
    }
  }

  /** Writes `text` at the part's end, at once; its requests are answered once it and every write started before it are done. */
  private start(part: Part, batch: Pending[], text: Buffer): void {
    const offset = part.end;
    if (offset + text.length > part.room) this.grown++;
    part.end += text.length;
    part.inFlight++;
    this.inFlight++;
    const startMs = performance.now();
    // Positional, into zeros already on disk: with O_DSYNC the write is durable when it returns and changes no metadata (no journal commit to wait for).
    const wrote = part.fh.write(text, 0, text.length, offset).then(({ bytesWritten }) => {
      if (bytesWritten !== text.length) throw new Error(`a short write to ${basename(part.file)} (${bytesWritten} of ${text.length} bytes)`);
      const ms = performance.now() - startMs;
      if (ms > this.writeTimes.longestMs) this.writeTimes.longestMs = ms;
      if (ms > 100) this.writeTimes.over100ms++;
    });
    wrote.catch(() => undefined); // met in order below
    if (!this.spare && part.end >= part.room / 2) this.prepareNext();
    const n = batch.reduce((k, b) => k + b.lines.length, 0);
    this.acks = this.acks.then(async () => {
      let error = await wrote.then(() => null, (e: Error) => e);
      // After a failed write, nothing later in the part is acknowledged (it would follow a hole).
      if (!error && part.broken) error = new Error(`an earlier write to ${basename(part.file)} failed`);
      if (error) part.broken = true;
      else {
        part.acked.lines += n;
        part.acked.bytes = offset + text.length;
        this.written += n;
        this.syncs++;
      }
      const timing = { startMs, endMs: performance.now() };
      for (const b of batch) error ? b.reject(error) : b.resolve(timing);
      this.inFlight--;
      if (--part.inFlight === 0) for (const f of part.onIdle.splice(0)) f();
      this.pump();
    });
  }

  /**
   * Whether a full part is left now: once the next one is ready. While its
   * zeros are still being written (a slow disk), the lines go on past the full
   * part's room — appends that grow the file, as unpreallocated writes are,
   * rather than every request waiting for the next part — up to twice the
   * part limit.
   */
  private mayMoveOn(part: Part): boolean {
    return this.spare === null || this.spareSettled || part.end >= 2 * this.maxBytes;
  }

  /** Moves on to the next part once the current one's writes are done (so a written next part seals only a finished file). */
  private async roll(): Promise<void> {
    this.rolling = true;
    try {
      const old = this.current;
      if (old) {
        await idle(old);
        // A broken part is cut back before anything else is written; a full one's zeros go in the background.
        if (old.broken) await finishPart(old);
        else void finishPart(old);
      }
      await this.next();
    } catch (e) {
      for (const b of this.queue.splice(0)) b.reject(e as Error);
    } finally {
      this.rolling = false;
    }
    this.pump();
  }

  /** Opens the next part (preallocated ahead once the current one was half full: normally ready, nothing to wait for). */
  private async next(): Promise<void> {
    const spare = this.spare ?? this.openPart(this.part + 1);
    this.spare = null;
    let settled = false;
    void spare.then(() => (settled = true), () => undefined);
    await Promise.resolve(); // a spare opened earlier has settled by now
    if (this.current) this.rollovers[settled ? "ready" : "waited"]++;
    this.current = null;
    let opened: OpenedPart;
    try {
      opened = await spare;
    } catch (e) {
      throw new Error(`the next segment could not be created in ${this.dir} (${(e as Error).message})`);
    }
    this.part++;
    const acked = { lines: 0, bytes: 0 };
    this.current = { ...opened, end: 0, acked, inFlight: 0, broken: false, onIdle: [] };
    this.positions.set(basename(opened.file), acked);
  }

  /** Preallocates the next part in the background (a failure is met, and reported, when it is needed). */
  private prepareNext(): void {
    const spare = (this.spare = this.openPart(this.part + 1));
    this.spareSettled = false;
    const settle = () => {
      if (this.spare === spare) this.spareSettled = true;
    };
    spare.then(settle, settle);
  }

  /** Resolves once the next part is ready (once the current one is half full): moving on to it then waits for no disk. */
  async nextPartReady(): Promise<void> {
    await this.spare?.catch(() => undefined);
  }

  /** Part `part`'s size: a writer's first parts are smaller (FIRST_PART_BYTES, then 4× each), up to the limit. */
  private roomOf(part: number): number {
    return Math.min(this.maxBytes, FIRST_PART_BYTES * 4 ** Math.min(part - 1, 10));
  }

  /**
   * Creates part `part`, writes its zeros and syncs them, then the folder (the
   * name is durable before any event is acknowledged in it), off the event
   * loop. Zeros written, not fallocate(2)'d: the first write into an unwritten
   * extent is a metadata change (a journal commit) again.
   */
  private async openPart(part: number): Promise<OpenedPart> {
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${this.stamp}-${String(part).padStart(4, "0")}.ndjson`);
    const room = this.roomOf(part);
    try {
      const z = await open(file, "wx");
      try {
        const zeros = Buffer.alloc(Math.min(room, ZERO_CHUNK_BYTES));
        for (let at = 0; at < room; at += zeros.length) {
          const t0 = performance.now();
          await z.write(zeros, 0, Math.min(zeros.length, room - at), at);
          await z.datasync();
          if (at + zeros.length < room) await new Promise((r) => setTimeout(r, performance.now() - t0));
        }
        await z.sync();
      } finally {
        await z.close();
      }
      const fh = await open(file, constants.O_WRONLY | constants.O_DSYNC);
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
      return { fh, file, room };
    } catch (e) {
      await rm(file, { force: true }).catch(() => undefined);
      throw e;
    }
  }

  async close(): Promise<void> {
    while (this.rolling || this.queue.length || this.inFlight) await new Promise((r) => setTimeout(r, 5));
    const last = this.current;
    this.current = null;
    if (last) await finishPart(last);
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

const idle = (part: Part): Promise<void> => (part.inFlight === 0 ? Promise.resolve() : new Promise((done) => part.onIdle.push(done)));

/** A part nothing more is written to: cut to what was acknowledged (its zeros, a broken part's unacknowledged writes), closed. */
async function finishPart(part: Part): Promise<void> {
  // Not synced: after a crash the zeros are still read as the end of the written lines.
  await part.fh.truncate(part.acked.bytes).catch(() => undefined);
  await part.fh.close().catch(() => undefined);
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

/**
 * Where the written lines of a segment's bytes end, looking from `from` (a
 * line's start): after the last newline before the first NUL byte — a
 * preallocated part's zeros not written yet, or the hole a crash left where a
 * write was in flight (every write after it was unacknowledged: the writer
 * acknowledges in order) — or before the end. A segment line is JSON: it
 * never holds a NUL byte.
 */
export function writtenEnd(buf: Buffer, from = 0): number {
  const nul = buf.indexOf(0, from);
  const stop = nul < 0 ? buf.length : nul;
  if (stop <= from) return from;
  const nl = buf.lastIndexOf(0x0a, stop - 1);
  return nl < from ? from : nl + 1;
}

/** Every complete line of every segment (or of `files`) up to its written end: a torn last line, never acknowledged, is left out. */
export function readSegmentLines(dir: string, files: readonly string[] = segmentFiles(dir)): SegmentLine[] {
  const out: SegmentLine[] = [];
  for (const file of files) {
    const buf = readFileSync(file);
    const end = writtenEnd(buf);
    if (end === 0) continue;
    const lines = buf.toString("utf8", 0, end - 1).split("\n");
    lines.forEach((t, i) => {
      if (t.trim() !== "") out.push({ file, line: i + 1, text: t });
    });
  }
  return out;
}

/**
 * The complete lines of one segment file after `from` (its first lines, as a
 * checkpoint covered them) up to its written end, numbered on from there; null
 * when the file is shorter than `from` says (not the file the checkpoint saw).
 */
export function readSegmentTail(file: string, from: SegmentPosition): { lines: SegmentLine[]; end: SegmentPosition } | null {
  const buf = readFileSync(file);
  if (buf.length < from.bytes || (from.bytes > 0 && buf[from.bytes - 1] !== 0x0a)) return null;
  const end = writtenEnd(buf, from.bytes);
  const lines: SegmentLine[] = [];
  if (end === from.bytes) return { lines, end: { ...from } };
  const texts = buf.toString("utf8", from.bytes, end - 1).split("\n");
  texts.forEach((t, i) => {
    if (t.trim() !== "") lines.push({ file, line: from.lines + i + 1, text: t });
  });
  return { lines, end: { lines: from.lines + texts.length, bytes: end } };
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
    // A later part seals a file once it holds a line (the writer preallocates its next part ahead: zeros until then).
    const later = parsed.some((o) => o.m && o.m[1] === start && o.m[2] === pid && Number(o.m[3]) > Number(part) && holdsALine(o.f));
    const writing = holder !== null && holder.pid === Number(pid) && !holderIsGone({ pid: Number(pid), host: holder.host });
    if (later || holderIsGone({ pid: Number(pid), host: hostname() }) || !writing) out.push(f);
  }
  return out;
}

/** Whether a segment's first byte is written (a preallocated part is zeros until its first line). */
const holdsALine = (file: string): boolean => {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return false;
  }
  try {
    const b = Buffer.alloc(1);
    return readSync(fd, b, 0, 1, 0) === 1 && b[0] !== 0;
  } finally {
    closeSync(fd);
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
