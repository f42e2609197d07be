// The request log: one NDJSON line per scored instance, appended to
// `<dir>/<model>/<pid>-<start ms>-p<part>.ndjson`. Files belong to the
// process that writes them (never shared, never the DuckDB store), so
// `fti materialize`, `fti train` and `fti verify` can use the store while the
// service runs. The format is documented in runtime/online/CONTEXT.md.
//
// Every entry carries `proc` (the writing process) and `seq` (1, 2, 3, … per
// process and model), so a reader can tell which entries are missing; a clean
// shutdown writes an `end` marker with the last seq. Two modes:
// - default: `append` only queues (no I/O on the request path); a timer
//   flushes the queue in batches. The loss window: on SIGKILL or a crash, the
//   entries queued since the last flush (up to `flushMs`, 100 ms); on power
//   loss also what the OS had not written back.
// - durable: `appendDurable` resolves once the entries are written and
//   fdatasync'ed (group commit: requests arriving during one sync share the
//   next), so an answered request is on disk; a failed write rejects it.
// A failed write is visible at once: `failing` is set, `onError` is told
// (throttled), the batch is truncated away (no torn line) and retried; the
// queue is bounded and what falls off it is counted in `dropped`.

import { mkdir, open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { makeDirs } from "../make-dirs.ts";
import type { RejectedRequestEntry } from "./rejections.ts";
import type { RequestLogEntry } from "./types.ts";

/** What the log writes: a scored instance, or (runtime/monitor) a rejected request; numbered by the log. */
/** A request log entry; agents log their own shape (runtime/agents/chat.ts), under `agent.<name>`. */
export type LoggedEntry = (RequestLogEntry | RejectedRequestEntry | { model: string }) & { proc?: string; seq?: number };

/**
 * An entry already serialized by its writer: `head` is the JSON text of the
 * entry without `proc`, `seq` and its closing brace (`{"v":2,…,"prediction":1.5`);
 * the log appends `,"proc":…,"seq":…}`, the same text `JSON.stringify` gives
 * the entry object with those two keys set last. The service serializes a
 * prediction's parts once for its answer and its log line (service.ts).
 */
export class SerializedEntry {
  constructor(
    readonly model: string,
    readonly head: string,
  ) {}
}
import { compressLogFile, enforceTotalCap, modelLogDir, partFileName } from "./log-files.ts";

export interface RequestLogOptions {
  /** Milliseconds between flushes (default 100). */
  flushMs?: number;
  /** Flush as soon as this many entries are queued (default 2000). */
  maxBatch?: number;
  /** Entries kept while writes fail; older ones beyond this are dropped and counted (default 100,000). */
  maxPending?: number;
  /** fdatasync each batch; `appendDurable` waits for it (default false). */
  durable?: boolean;
  /** A file is closed (and compressed) once it reaches this size (default 64 MiB). */
  maxFileBytes?: number;
  /** Per model folder, the oldest compressed files are deleted beyond this total (default 1 GiB). */
  maxTotalBytes?: number;
  /** Gzip closed files (default true). */
  compress?: boolean;
  onError?: (e: Error) => void;
  /** Told when writes work again after failing. */
  onRecover?: (msg: string) => void;
}

export interface RequestLogStats {
  written: number;
  /** Entries queued or being written (answered, not yet on disk). */
  pending: number;
  dropped: number;
  /** Durable entries whose write failed (their requests were refused). */
  refused: number;
  writeErrors: number;
  /** The last write failed and nothing has been written since. */
  failing: boolean;
  lastError: string | null;
  rotated: number;
  deletedFiles: number;
  files: string[];
}

interface Commit {
  left: number;
  failed: boolean;
  resolve: () => void;
  reject: (e: Error) => void;
}

interface Queued {
  model: string;
  /**
   * The line as UTF-8, encoded when it is queued (LineBlocks). Held as a string until its flush, a ~1 KB
   * line outlived the young generation's collections often enough to be promoted: under a paced 1,000
   * predictions/s, 1.0–1.2 KB of old space per answer with the log on vs 0.26 KB with it off
   * (`--trace-gc-nvp`): a growing old space and, in time, a major GC's pause between requests.
   */
  bytes: Buffer;
  commit?: Commit;
}

interface ModelFile {
  dir: string;
  part: number;
  path: string;
  fh: FileHandle | null;
  /** Bytes known to be good in the current file (a failed write is truncated back to it). */
  size: number;
  seq: number;
}

/** The size of the blocks queued lines are encoded into. */
const LINE_BLOCK_BYTES = 256 * 1024;

/**
 * Queued lines encoded as UTF-8 into large blocks off the JS heap, each line a view of its block. One
 * Buffer.from per line (a slice of Buffer's 8 KB pool) kept the strings off the heap too, but made a new
 * pool ArrayBuffer every ~7 lines: the young generation was collected 4× as often (126 scavenges vs 30 in
 * 15 s at 1,000 predictions/s). A block is left to the GC once full; its lines are written by then or soon.
 */
class LineBlocks {
  private block = Buffer.allocUnsafeSlow(LINE_BLOCK_BYTES);
  private at = 0;

  /** `head` then `tail` as one line's bytes (written separately: a rope of the two would be flattened, a copy). */
  encode(head: string, tail: string): Buffer {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units)
    const most = 3 * (head.length + tail.length);
    if (most > LINE_BLOCK_BYTES / 8) return Buffer.from(head + tail);
    if (this.at + most > LINE_BLOCK_BYTES) {
      this.block = Buffer.allocUnsafeSlow(LINE_BLOCK_BYTES);
      this.at = 0;
    }
    const start = this.at;
    this.at += this.block.write(head, this.at);
    this.at += this.block.write(tail, this.at);
    return this.block.subarray(start, this.at);
  }

  /** Starts the current block again: only when no queued line is left (all written), so no view of it is read again. */
  reuse(): void {
    this.at = 0;
  }
}

/** The bytes of lines to write: one view when they lie end to end in one block (the usual case), else a copy of them joined. */
function joined(items: readonly Queued[]): Buffer {
  const first = items[0].bytes;
  let end = first.byteOffset + first.length;
  for (let i = 1; i < items.length; i++) {
    const b = items[i].bytes;
    if (b.buffer !== first.buffer || b.byteOffset !== end) return Buffer.concat(items.map((q) => q.bytes));
    end += b.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}

/** Error lines while failing: the first at once, then at most one per interval. */
const ERROR_REPORT_MS = 10_000;

export class RequestLog {
  readonly dir: string;
  readonly durable: boolean;
  /** The writing process's id in file names and entries: `<pid>-<start ms>`. */
  readonly proc = `${process.pid}-${Date.now()}`;
  private readonly procJson = JSON.stringify(this.proc);
  private readonly o: Required<Omit<RequestLogOptions, "onError" | "onRecover" | "durable">>;
  private readonly onError: (e: Error) => void;
  private readonly onRecover: (msg: string) => void;
  private queue: Queued[] = [];
  /** Entries taken off the queue by the write in progress (still pending: a failed write queues them again). */
  private writing = 0;
  private readonly lines = new LineBlocks();
  private readonly files = new Map<string, ModelFile>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private flushQueued = false;
  /** The compressions of closed parts, one after the other (one gzip process at a time, however fast parts fill). */
  private compressing: Promise<void> = Promise.resolve();
  /** Aborted by close(): a part still being gzipped at low priority is finished in process (log-files.ts). */
  private readonly closing = new AbortController();
  private closed = false;
  private s = { written: 0, dropped: 0, refused: 0, writeErrors: 0, rotated: 0, deletedFiles: 0 };
  private failing = false;
  private lastError: string | null = null;
  private lastReportMs = 0;

  constructor(dir: string, opts: RequestLogOptions = {}) {
    this.dir = dir;
    this.durable = opts.durable ?? false;
    this.o = {
      flushMs: opts.flushMs ?? 100,
      maxBatch: opts.maxBatch ?? 2000,
      maxPending: opts.maxPending ?? 100_000,
      maxFileBytes: opts.maxFileBytes ?? 64 * 1024 * 1024,
      maxTotalBytes: opts.maxTotalBytes ?? 1024 * 1024 * 1024,
      compress: opts.compress ?? true,
    };
    this.onError = opts.onError ?? ((e) => process.stderr.write(`error: request log: ${e.message}\n`));
    this.onRecover = opts.onRecover ?? ((m) => process.stderr.write(`request log: ${m}\n`));
  }

  /** True while writes fail (nothing written since the last failure). */
  get isFailing(): boolean {
    return this.failing;
  }

  /** Queues one entry (numbering it); never blocks on I/O. */
  append(entry: LoggedEntry | SerializedEntry): void {
    this.enqueue(entry);
    if (this.queue.length >= this.o.maxBatch) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.o.flushMs);
      this.timer.unref();
    }
  }

  /** Queues entries and resolves once they are written and synced; rejects if the write failed (they are not retried). */
  appendDurable(entries: ReadonlyArray<LoggedEntry | SerializedEntry>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const commit: Commit = { left: entries.length, failed: false, resolve, reject };
      for (const e of entries) this.enqueue(e, commit);
      if (!this.flushQueued) {
        this.flushQueued = true;
        void this.flush();
      }
    });
  }

  private enqueue(entry: LoggedEntry | SerializedEntry, commit?: Commit): void {
    if (this.closed) throw new Error("the request log is closed");
    const f = this.fileOf(entry.model);
    const seq = ++f.seq;
    let bytes: Buffer;
    if (entry instanceof SerializedEntry) bytes = this.lines.encode(entry.head, `,"proc":${this.procJson},"seq":${seq}}\n`);
    else {
      entry.proc = this.proc;
      entry.seq = seq;
      // JSON.stringify writes NaN and ±Infinity as null (JSON has neither), which is what the log wants.
      bytes = this.lines.encode(JSON.stringify(entry), "\n");
    }
    this.queue.push({ model: entry.model, bytes, commit });
    if (this.queue.length > this.o.maxPending) {
      const n = this.queue.length - this.o.maxPending;
      for (const q of this.queue.splice(0, n)) this.settle(q, new Error("the request log queue overflowed"));
      this.s.dropped += n;
    }
  }

  /** Writes everything queued so far; resolves when it is written (synced too in durable mode). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => {
      this.flushQueued = false;
      return this.writeBatch();
    });
    return this.flushing;
  }

  private async writeBatch(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.writing = batch.length;
    const byModel = new Map<string, Queued[]>();
    for (const q of batch) {
      let list = byModel.get(q.model);
      if (!list) byModel.set(q.model, (list = []));
      list.push(q);
    }
    const retry: Queued[] = [];
    for (const [model, items] of byModel) {
      const err = await this.writeModel(model, items);
      if (!err) {
        for (const q of items) this.settle(q);
        continue;
      }
      // Durable entries fail their requests now; the others wait for the next flush.
      for (const q of items) {
        if (q.commit) {
          this.settle(q, err);
          this.s.refused++;
        } else retry.push(q);
      }
    }
    this.writing = 0;
    if (retry.length) this.queue = [...retry, ...this.queue];
    // everything queued is written: the block is free again (no new ArrayBuffer per 256 KB of lines)
    if (this.queue.length === 0) this.lines.reuse();
  }

  /** Appends the lines of one model; returns the error when the write failed (the file is truncated back). */
  private async writeModel(model: string, items: Queued[], entries = items.length): Promise<Error | null> {
    const f = this.fileOf(model);
    const buf = joined(items);
    try {
      const fh = await this.handle(f);
      let at = 0;
      while (at < buf.length) at += (await fh.write(buf, at, buf.length - at, f.size + at)).bytesWritten;
      if (this.durable) await fh.datasync();
      f.size += buf.length;
      this.s.written += entries;
      this.recovered();
      if (f.size >= this.o.maxFileBytes) await this.rotate(f);
      return null;
    } catch (e) {
      await this.truncateBack(f);
      this.failed(e as Error);
      return e as Error;
    }
  }

  private settle(q: Queued, err?: Error): void {
    const c = q.commit;
    if (!c || c.failed) return;
    if (err) {
      c.failed = true;
      c.reject(err);
    } else if (--c.left === 0) c.resolve();
  }

  private failed(e: Error): void {
    this.s.writeErrors++;
    this.lastError = e.message;
    const now = Date.now();
    if (!this.failing || now - this.lastReportMs >= ERROR_REPORT_MS) {
      this.lastReportMs = now;
      this.onError(new Error(`${e.message} (${this.queue.length} entries waiting; ${this.s.dropped} dropped so far)`));
    }
    this.failing = true;
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.onRecover(`writes work again after ${this.s.writeErrors} failed writes`);
  }

  /** Cuts a partly written batch off the file, so a failed write leaves no torn line; then reopens next time. */
  private async truncateBack(f: ModelFile): Promise<void> {
    const fh = f.fh;
    f.fh = null;
    if (!fh) return;
    try {
      await fh.truncate(f.size);
    } catch {
      // The reader reports a torn line if this fails too.
    }
    await fh.close().catch(() => undefined);
  }

  private fileOf(model: string): ModelFile {
    let f = this.files.get(model);
    if (!f) {
      const dir = modelLogDir(this.dir, model);
      f = { dir, part: 1, path: join(dir, partFileName(this.proc, 1)), fh: null, size: 0, seq: 0 };
      this.files.set(model, f);
    }
    return f;
  }

  private async handle(f: ModelFile): Promise<FileHandle> {
    if (f.fh) return f.fh;
    // One level asynchronously (the logs folder exists after the first part); a missing parent by makeDirs:
    // Node 20's recursive mkdir, async too, spins for ever where a folder cannot be made (`--logs /proc/x`).
    await mkdir(f.dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") makeDirs(f.dir);
      else if (e.code !== "EEXIST") throw e;
    });
    const fh = await open(f.path, "a+");
    f.size = (await fh.stat()).size;
    f.fh = fh;
    return fh;
  }

  /** Closes the current part, compresses it in the background, enforces the total cap, and moves to the next part. */
  private async rotate(f: ModelFile): Promise<void> {
    const closed = f.path;
    const fh = f.fh;
    f.fh = null;
    f.part++;
    f.path = join(f.dir, partFileName(this.proc, f.part));
    f.size = 0;
    this.s.rotated++;
    if (fh) await fh.close().catch(() => undefined);
    const after = async () => {
      this.s.deletedFiles += (await enforceTotalCap(f.dir, this.o.maxTotalBytes)).length;
    };
    if (!this.o.compress) return after();
    const report = (e: Error) => this.onError(new Error(`compressing ${closed}: ${e.message}`));
    // the chain never rejects: a failed compression is reported and the next one still runs
    this.compressing = this.compressing.then(() => compressLogFile(closed, this.closing.signal).then(after)).catch(report);
  }

  stats(): RequestLogStats {
    return {
      ...this.s,
      pending: this.queue.length + this.writing,
      failing: this.failing,
      lastError: this.lastError,
      files: [...this.files.values()].map((f) => f.path),
    };
  }

  /** Entries answered but not on disk: dropped from the queue, or still queued. */
  lost(): number {
    return this.s.dropped + this.queue.length;
  }

  /**
   * Flushes (one retry), writes each model's `end` marker, syncs and closes
   * the files, waits for compressions. Entries that still cannot be written
   * are reported through onError and counted by `lost()`.
   */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
    if (this.queue.length) await this.flush();
    this.closed = true;
    if (this.queue.length) this.onError(new Error(`${this.queue.length} request log entries could not be written`));
    for (const [model, f] of this.files) {
      if (f.seq === 0) continue;
      const end = { v: 2, kind: "end", proc: this.proc, model, seq: f.seq, lost: this.lost(), ts: new Date().toISOString() };
      const err = await this.writeModel(model, [{ model, bytes: Buffer.from(JSON.stringify(end) + "\n") }], 0);
      if (err) continue;
      try {
        await f.fh?.sync();
        await f.fh?.close();
      } catch (e) {
        this.onError(e as Error);
      }
      f.fh = null;
    }
    this.closing.abort();
    await this.compressing;
  }
}

export { readRequestLog, type ReadLogResult, type LogGap } from "./log-read.ts";
