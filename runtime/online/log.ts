// The request log: one NDJSON line per scored instance, appended to
// `<dir>/<model>/<pid>-<start ms>.ndjson`. Files belong to the process that
// writes them (never shared, never the DuckDB store), so `fti materialize`,
// `fti train` and `fti verify` can use the store while the service runs.
//
// `append` only queues (no I/O on the request path); a timer flushes the
// queue in batches. `close` flushes everything and closes the files: the
// service calls it after the HTTP server stopped accepting requests and
// finished the ones in flight, so every answered request is on disk.

import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { RejectedRequestEntry } from "../monitor/rejections.ts";
import type { RequestLogEntry } from "./types.ts";

export interface RequestLogOptions {
  /** Milliseconds between flushes (default 100). */
  flushMs?: number;
  /** Flush as soon as this many entries are queued (default 2000). */
  maxBatch?: number;
  /** Entries kept while writes fail; older ones beyond this are dropped and counted (default 1e6). */
  maxPending?: number;
  onError?: (e: Error) => void;
}

export interface RequestLogStats {
  written: number;
  pending: number;
  dropped: number;
  writeErrors: number;
  files: string[];
}

export class RequestLog {
  readonly dir: string;
  private readonly flushMs: number;
  private readonly maxBatch: number;
  private readonly maxPending: number;
  private readonly onError: (e: Error) => void;
  private readonly stamp = `${process.pid}-${Date.now()}`;
  private queue: Array<{ model: string; line: string }> = [];
  private readonly handles = new Map<string, { path: string; fh: Promise<FileHandle> }>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  private written = 0;
  private dropped = 0;
  private writeErrors = 0;

  constructor(dir: string, opts: RequestLogOptions = {}) {
    this.dir = dir;
    this.flushMs = opts.flushMs ?? 100;
    this.maxBatch = opts.maxBatch ?? 2000;
    this.maxPending = opts.maxPending ?? 1_000_000;
    this.onError = opts.onError ?? ((e) => process.stderr.write(`request log: ${e.message}\n`));
  }

  /** Queues one entry; never blocks on I/O. */
  append(entry: RequestLogEntry | RejectedRequestEntry | { model: string }): void {
    if (this.closed) throw new Error("the request log is closed");
    // JSON.stringify writes NaN and ±Infinity as null (JSON has neither), which is what the log wants.
    this.queue.push({ model: entry.model, line: JSON.stringify(entry) + "\n" });
    if (this.queue.length > this.maxPending) {
      const n = this.queue.length - this.maxPending;
      this.queue.splice(0, n);
      this.dropped += n;
    }
    if (this.queue.length >= this.maxBatch) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.flush();
      }, this.flushMs);
      this.timer.unref();
    }
  }

  /** Writes everything queued so far; resolves when it is on disk (written, not fsynced). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeBatch());
    return this.flushing;
  }

  private async writeBatch(): Promise<void> {
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    const byModel = new Map<string, string[]>();
    for (const e of batch) {
      let lines = byModel.get(e.model);
      if (!lines) byModel.set(e.model, (lines = []));
      lines.push(e.line);
    }
    const failed: Array<{ model: string; line: string }> = [];
    for (const [model, lines] of byModel) {
      try {
        const fh = await this.handle(model);
        await fh.write(lines.join(""));
        this.written += lines.length;
      } catch (e) {
        this.writeErrors++;
        this.handles.delete(model);
        for (const line of lines) failed.push({ model, line });
        this.onError(e as Error);
      }
    }
    // Keep what could not be written for the next flush, before anything queued since.
    if (failed.length) this.queue = [...failed, ...this.queue];
  }

  private handle(model: string): Promise<FileHandle> {
    let h = this.handles.get(model);
    if (!h) {
      const dir = join(this.dir, safeName(model));
      const path = join(dir, `${this.stamp}.ndjson`);
      const fh = (async () => {
        mkdirSync(dir, { recursive: true });
        return open(path, "a");
      })();
      h = { path, fh };
      this.handles.set(model, h);
    }
    return h.fh;
  }

  stats(): RequestLogStats {
    return {
      written: this.written,
      pending: this.queue.length,
      dropped: this.dropped,
      writeErrors: this.writeErrors,
      files: [...this.handles.values()].map((h) => h.path),
    };
  }

  /** Flushes, syncs and closes the files. Entries that still cannot be written are reported through onError. */
  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
    if (this.queue.length) await this.flush(); // one retry
    this.closed = true;
    if (this.queue.length) this.onError(new Error(`${this.queue.length} request log entries could not be written`));
    for (const h of this.handles.values()) {
      try {
        const fh = await h.fh;
        await fh.sync();
        await fh.close();
      } catch (e) {
        this.onError(e as Error);
      }
    }
    this.handles.clear();
  }
}

function safeName(model: string): string {
  return model.replace(/[^A-Za-z0-9_.-]/g, "_");
}

export interface ReadLogResult {
  entries: RequestLogEntry[];
  files: string[];
  /** Lines that are not valid JSON (a torn last line of a killed process). */
  badLines: number;
}

/** Every entry of a model's request log, ordered by request time; `since`/`until` bound the request time. */
export function readRequestLog(dir: string, model: string, opts: { since?: Date; until?: Date } = {}): ReadLogResult {
  const modelDir = join(dir, safeName(model));
  let names: string[] = [];
  try {
    names = readdirSync(modelDir).filter((f) => f.endsWith(".ndjson")).sort();
  } catch {
    return { entries: [], files: [], badLines: 0 };
  }
  const since = opts.since?.getTime() ?? -Infinity;
  const until = opts.until?.getTime() ?? Infinity;
  const entries: RequestLogEntry[] = [];
  let badLines = 0;
  const files: string[] = [];
  for (const name of names) {
    const path = join(modelDir, name);
    if (!statSync(path).isFile()) continue;
    files.push(path);
    for (const line of readFileSync(path, "utf8").split("\n")) {
      if (!line.trim()) continue;
      let e: RequestLogEntry;
      try {
        e = JSON.parse(line) as RequestLogEntry;
      } catch {
        badLines++;
        continue;
      }
      if (!e || typeof e !== "object" || typeof e.ts !== "string" || e.model !== model) {
        badLines++;
        continue;
      }
      const t = Date.parse(e.ts);
      if (Number.isNaN(t)) {
        badLines++;
        continue;
      }
      if (t >= since && t < until) entries.push(e);
    }
  }
  entries.sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
  return { entries, files, badLines };
}
