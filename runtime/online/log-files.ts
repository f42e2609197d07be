// The request log's files: names, rotation's compression of closed files,
// the total-size cap (retention), and reading every file back (plain and
// gzip). The writer is log.ts; the reader's gap analysis is log-read.ts.
//
// Layout: `<dir>/<model>/<pid>-<start ms>-p<part>.ndjson`, one file at a time
// per model per process. A file that reached the size limit is closed,
// gzipped to `….ndjson.gz` (the plain file is removed once the .gz is
// complete), and the next part is opened. A large file is gzipped on a worker
// thread at the lowest CPU priority: gzipping a 64 MB part takes a core for a
// second or two, and on a machine with few cores that time was taken from the
// server's own thread (the latency tail of the requests answered meanwhile). When the model's folder exceeds the
// total cap, the oldest compressed files are deleted: files still being
// written, and plain files (possibly another live process's), are never.

import { createReadStream, createWriteStream, readdirSync, readFileSync, statSync } from "node:fs";
import { open, readdir, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { Worker } from "node:worker_threads";
import { createGzip, gunzipSync } from "node:zlib";

export function safeName(model: string): string {
  return model.replace(/[^A-Za-z0-9_.-]/g, "_");
}

export function modelLogDir(dir: string, model: string): string {
  return join(dir, safeName(model));
}

/** `<stamp>-p0001.ndjson`: parts sort by name within a process. */
export function partFileName(stamp: string, part: number): string {
  return `${stamp}-p${String(part).padStart(4, "0")}.ndjson`;
}

/** Files from this size on are gzipped on a low-priority worker thread; smaller ones in process (cheaper than starting a thread). */
export const WORKER_COMPRESS_BYTES = 1024 * 1024;

/** The worker gzips this much of the file at a time: one gzip member each (readers take concatenated members as one stream). */
const MEMBER_BYTES = 4 * 1024 * 1024;

/**
 * Gzips a closed log file next to itself, then removes the plain one. Once
 * `hurry` is aborted (the log is closing: nothing is served any more), a
 * large file's low-priority worker is stopped and the file is gzipped in
 * process instead, at the normal priority: on a busy machine a nice-19 thread
 * may get almost no CPU, and a shutdown must not wait for it.
 */
export async function compressLogFile(path: string, hurry?: AbortSignal): Promise<void> {
  const tmp = `${path}.gz.tmp`;
  const large = (await stat(path)).size >= WORKER_COMPRESS_BYTES;
  const done = large && !hurry?.aborted && (await gzipOnWorker(path, tmp, hurry));
  if (!done) await pipeline(createReadStream(path), createGzip(), createWriteStream(tmp));
  // Not on the serving thread: removing a 64 MB part frees its blocks and its page cache, 20–40 ms in the
  // unlink call on this host's ext4 (mounted with discard), longer while the disk is busy.
  await rename(tmp, `${path}.gz`);
  await unlink(path);
}

// The worker lowers its own thread's priority (Linux: nice is per thread; its id from /proc/thread-self), then
// gzips with the synchronous API so that all of the work is on that thread: zlib's streams would hand it to
// the libuv pool, whose threads run at the server's priority. A child process would have been simpler, but
// spawning one forks the server: ~35 ms of the main thread's CPU copying the page tables of a 1 GB process.
// One worker serves every part of the process, one part at a time, and stays (unref'd) between parts: starting
// a thread and its isolate, and ending it, cost the serving thread ~1 ms of CPU each time (up to 40 ms of wall
// time on a loaded machine), and the online suite rotates ~12 parts a round. The files are opened and closed
// by the caller, so a worker stopped half-way leaks no descriptor.
const GZIP_WORKER = `
const { parentPort } = require("node:worker_threads");
const { readlinkSync, readSync, writeSync } = require("node:fs");
const { setPriority } = require("node:os");
const { gzipSync } = require("node:zlib");
try { setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), 19); } catch {}
let buf = null; // one read buffer for every part (an idle worker runs no GC to free a new one)
parentPort.on("message", ({ input, output, member }) => {
  try {
    if (!buf || buf.length !== member) buf = Buffer.allocUnsafe(member);
    for (let first = true; ; first = false) {
      const n = readSync(input, buf, 0, member, null);
      if (n === 0 && !first) break;
      const gz = gzipSync(buf.subarray(0, n));
      for (let at = 0; at < gz.length; ) at += writeSync(output, gz, at);
      if (n === 0) break;
    }
    parentPort.postMessage({ ok: true });
  } catch (e) {
    parentPort.postMessage({ ok: false, message: String(e && e.message || e) });
  }
});`;

/** The process's gzip worker (started at the first large part), and the parts queued for it, one at a time. */
let gzipWorker: Worker | null = null;
let gzipQueue: Promise<unknown> = Promise.resolve();

/**
 * `src` gzipped into `dst` on the gzip worker at the lowest CPU priority: true once done, false when `hurry`
 * stopped it first (`dst` is then partly written, and the worker is ended); rejects with the worker's error.
 */
function gzipOnWorker(src: string, dst: string, hurry?: AbortSignal): Promise<boolean> {
  const job = gzipQueue.then(() => (hurry?.aborted ? false : gzipNow(src, dst, hurry)));
  gzipQueue = job.catch(() => undefined);
  return job;
}

async function gzipNow(src: string, dst: string, hurry?: AbortSignal): Promise<boolean> {
  // opened and closed off the serving thread (creating a file waits for the file system's journal when it is busy)
  const input = await open(src, "r");
  let output: FileHandle;
  try {
    output = await open(dst, "w");
  } catch (e) {
    await input.close();
    throw e;
  }
  const worker = (gzipWorker ??= new Worker(GZIP_WORKER, { eval: true }));
  const ended = await new Promise<{ ok: boolean; message?: string } | "stopped">((done) => {
    const finish = (r: { ok: boolean; message?: string } | "stopped") => {
      worker.off("message", finish).off("error", failed).off("exit", exited);
      hurry?.removeEventListener("abort", stop);
      worker.unref(); // idle: it does not keep the process alive
      done(r);
    };
    const failed = (e: Error) => finish({ ok: false, message: e.message });
    const exited = (code: number) => finish(stopped ? "stopped" : { ok: false, message: `the gzip worker ended with ${code}` });
    let stopped = false;
    const stop = () => {
      stopped = true;
      void worker.terminate();
    };
    worker.on("message", finish).on("error", failed).on("exit", exited);
    hurry?.addEventListener("abort", stop, { once: true });
    worker.ref(); // a part in progress keeps the process alive until it is done
    worker.postMessage({ input: input.fd, output: output.fd, member: MEMBER_BYTES });
  });
  if (ended === "stopped" || !ended.ok) {
    // a worker that was stopped, failed to start or died is not used again
    if (gzipWorker === worker) gzipWorker = null;
    void worker.terminate();
  }
  await Promise.all([input.close(), output.close()]);
  if (ended === "stopped") return false;
  if (!ended.ok) throw new Error(ended.message);
  return true;
}

type LogFile = { path: string; name: string; bytes: number; mtimeMs: number; gz: boolean };

/** The names that are log files, oldest first; a plain file whose .gz exists is left out (compressed, not yet removed). */
function logFileNames(names: string[]): Array<{ name: string; gz: boolean }> {
  const set = new Set(names);
  const out = [];
  for (const name of names.sort()) {
    const gz = name.endsWith(".ndjson.gz");
    if (!gz && !name.endsWith(".ndjson")) continue;
    if (!gz && set.has(`${name}.gz`)) continue;
    out.push({ name, gz });
  }
  return out;
}

/** The log files of a model folder, oldest first by name (logFileNames). */
export function listLogFiles(modelDir: string): LogFile[] {
  let names: string[];
  try {
    names = readdirSync(modelDir);
  } catch {
    return [];
  }
  const out = [];
  for (const { name, gz } of logFileNames(names)) {
    const path = join(modelDir, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (st?.isFile()) out.push({ path, name, bytes: st.size, mtimeMs: st.mtimeMs, gz });
  }
  return out;
}

/**
 * Deletes the oldest compressed files of a model folder until its total size
 * is at most `maxBytes`; returns the deleted paths. Asynchronous: the writer
 * calls it while serving, and listing, stat-ing and removing files are each a
 * wait on the file system (listLogFiles is the readers' synchronous form).
 */
export async function enforceTotalCap(modelDir: string, maxBytes: number): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(modelDir);
  } catch {
    return [];
  }
  const files: LogFile[] = [];
  for (const { name, gz } of logFileNames(names)) {
    const path = join(modelDir, name);
    const st = await stat(path).catch(() => null);
    if (st?.isFile()) files.push({ path, name, bytes: st.size, mtimeMs: st.mtimeMs, gz });
  }
  let total = files.reduce((s, f) => s + f.bytes, 0);
  const deleted: string[] = [];
  for (const f of files.filter((x) => x.gz).sort((a, b) => a.mtimeMs - b.mtimeMs)) {
    if (total <= maxBytes) break;
    try {
      await unlink(f.path);
      total -= f.bytes;
      deleted.push(f.path);
    } catch {
      // Gone already (another process enforced the cap): nothing to do.
    }
  }
  return deleted;
}

/** A log file's text (gunzipped when compressed). A torn gzip stream yields what could be read. */
export function readLogText(path: string): string {
  const bytes = readFileSync(path);
  if (!path.endsWith(".gz")) return bytes.toString("utf8");
  try {
    return gunzipSync(bytes).toString("utf8");
  } catch {
    return gunzipSync(bytes, { finishFlush: 2 /* Z_SYNC_FLUSH: keep what decompresses */ }).toString("utf8");
  }
}
