// The request log's files: names, rotation's compression of closed files,
// the total-size cap (retention), and reading every file back (plain and
// gzip). The writer is log.ts; the reader's gap analysis is log-read.ts.
//
// Layout: `<dir>/<model>/<pid>-<start ms>-p<part>.ndjson`, one file at a time
// per model per process. A file that reached the size limit is closed,
// gzipped to `….ndjson.gz` (the plain file is removed once the .gz is
// complete), and the next part is opened. When the model's folder exceeds the
// total cap, the oldest compressed files are deleted: files still being
// written, and plain files (possibly another live process's), are never.

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

/** Gzips a closed log file next to itself, then removes the plain one. */
export async function compressLogFile(path: string): Promise<void> {
  const tmp = `${path}.gz.tmp`;
  await pipeline(createReadStream(path), createGzip(), createWriteStream(tmp));
  renameSync(tmp, `${path}.gz`);
  unlinkSync(path);
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
