// The request log's files: names, rotation's compression of closed files,
// the total-size cap (retention), and reading every file back (plain and
// gzip). The writer is log.ts; the reader's gap analysis is log-read.ts.
//
// Layout: `<dir>/<model>/<pid>-<start ms>-p<part>.ndjson`, one file at a time
// per model per process. A file that reached the size limit is closed,
// gzipped to `….ndjson.gz` (the plain file is removed once the .gz is
// complete), and the next part is opened. A large file is gzipped by a child
// process at the lowest CPU priority: gzipping a 64 MB part takes a core for a
// second or two, and on a machine with few cores that second was taken from
// the server's own thread (the latency tail of the requests answered meanwhile). When the model's folder exceeds the
// total cap, the oldest compressed files are deleted: files still being
// written, and plain files (possibly another live process's), are never.

import { spawn } from "node:child_process";
import { createReadStream, createWriteStream, readdirSync, readFileSync, renameSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
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

/** Files from this size on are gzipped in a low-priority child process; smaller ones in process (cheaper than starting a process). */
export const CHILD_COMPRESS_BYTES = 1024 * 1024;

/** Gzips a closed log file next to itself, then removes the plain one. */
export async function compressLogFile(path: string): Promise<void> {
  const tmp = `${path}.gz.tmp`;
  if (statSync(path).size >= CHILD_COMPRESS_BYTES) await gzipInChild(path, tmp);
  else await pipeline(createReadStream(path), createGzip(), createWriteStream(tmp));
  renameSync(tmp, `${path}.gz`);
  unlinkSync(path);
}

// The child lowers its own priority before its first zlib work: the threads zlib then starts inherit it (Linux
// priorities are per thread). The same gzip stream as in process: the file is byte-identical either way.
const GZIP_CHILD = `
import { setPriority } from "node:os";
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
try { setPriority(19); } catch {}
const [src, dst] = process.argv.slice(1);
try {
  await pipeline(createReadStream(src), createGzip(), createWriteStream(dst));
} catch (e) {
  process.stderr.write(e.message);
  process.exitCode = 1;
}`;

/** `node` gzipping `src` into `dst` at the lowest CPU priority; rejects with the child's message when it fails. */
function gzipInChild(src: string, dst: string): Promise<void> {
  return new Promise((done, fail) => {
    // NODE_OPTIONS cleared: the child needs no loader, and a profiling flag meant for the server must not apply to it.
    const child = spawn(process.execPath, ["--input-type=module", "-e", GZIP_CHILD, src, dst], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", fail);
    child.on("close", (code, signal) => (code === 0 ? done() : fail(new Error(err.trim() || `the gzip process ended with ${code ?? signal}`))));
  });
}

/** The log files of a model folder, oldest first by name; a plain file whose .gz exists is left out (compressed, not yet removed). */
export function listLogFiles(modelDir: string): Array<{ path: string; name: string; bytes: number; mtimeMs: number; gz: boolean }> {
  let names: string[];
  try {
    names = readdirSync(modelDir);
  } catch {
    return [];
  }
  const set = new Set(names);
  const out = [];
  for (const name of names.sort()) {
    const gz = name.endsWith(".ndjson.gz");
    if (!gz && !name.endsWith(".ndjson")) continue;
    if (!gz && set.has(`${name}.gz`)) continue;
    const path = join(modelDir, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st?.isFile()) continue;
    out.push({ path, name, bytes: st.size, mtimeMs: st.mtimeMs, gz });
  }
  return out;
}

/**
 * Deletes the oldest compressed files of a model folder until its total size
 * is at most `maxBytes`; returns the deleted paths.
 */
export function enforceTotalCap(modelDir: string, maxBytes: number): string[] {
  const files = listLogFiles(modelDir);
  let total = files.reduce((s, f) => s + f.bytes, 0);
  const deleted: string[] = [];
  for (const f of files.filter((x) => x.gz).sort((a, b) => a.mtimeMs - b.mtimeMs)) {
    if (total <= maxBytes) break;
    try {
      unlinkSync(f.path);
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
