// An output file a command writes at its end (`fti training-data --out`,
// `fti predict --out x.parquet`): checked before the work starts, so that a
// directory, a device or named pipe (the file is renamed over its name), a
// folder that cannot hold files (/proc) or one without write permission is an error naming the flag at once — not DuckDB's IO error on a
// temporary name after the whole run, reported as a bug in fti.

import { closeSync, openSync, realpathSync, rmSync, statSync, type Stats } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UserError } from "./errors.ts";
import { makeDirs } from "./make-dirs.ts";

/**
 * The absolute path of `path`, after checking a file can be created there (its folder is created when missing)
 * and that it is not the store the command has open (`storePath`, or its WAL).
 */
export function checkOutputFile(path: string, flag: string, storePath?: string): string {
  const abs = resolve(path);
  // A store named s.parquet (`--store s.parquet --out s.parquet`) was overwritten by the export: every table lost.
  if (storePath !== undefined && storePath !== ":memory:" && [storePath, `${storePath}.wal`].some((f) => sameFile(abs, f))) {
    throw new UserError(`${flag} ${path} is the store's own file (${storePath})`, "write the output to another file");
  }
  let existing: Stats | undefined;
  try {
    existing = statSync(abs);
  } catch {
    // Missing (the usual case), or under something that is not a folder: the probe below says which.
  }
  if (existing?.isDirectory()) {
    throw new UserError(`${flag} ${path} is a directory`, `pass the path of a file, e.g. ${join(path, "out.parquet")}`);
  }
  // The file is written beside its name and renamed over it: `--out /dev/null` (as root) replaced the
  // device with a regular file, and every later write to /dev/null on the machine filled it.
  if (existing && !existing.isFile()) {
    throw new UserError(`${flag} ${path} is ${kindOf(existing)}, not a file`, "pass the path of a file to create or replace");
  }
  const probe = `${abs}.${process.pid}.probe`;
  try {
    makeDirs(dirname(abs));
    closeSync(openSync(probe, "wx"));
  } catch (e) {
    // Node's message ends with the probe's name: keep the reason (`ENOENT: no such file or directory`).
    const reason = ((e as Error).message ?? String(e)).split(",")[0];
    throw new UserError(`${flag} ${path}: cannot create a file there (${reason})`, "pass a path in a folder you can write to");
  }
  rmSync(probe, { force: true });
  return abs;
}

function kindOf(stats: Stats): string {
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  if (stats.isFIFO()) return "a named pipe";
  if (stats.isSocket()) return "a socket";
  return "something else";
}

/** True when both paths name one existing file (symbolic links followed). */
function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
