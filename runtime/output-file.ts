// An output file a command writes at its end (`fti training-data --out`,
// `fti predict --out x.parquet`): checked before the work starts, so that a
// directory, a folder that cannot hold files (/proc) or one without write
// permission is an error naming the flag at once — not DuckDB's IO error on a
// temporary name after the whole run, reported as a bug in fti.

import { closeSync, openSync, realpathSync, rmSync, statSync } from "node:fs";
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
  let isDirectory = false;
  try {
    isDirectory = statSync(abs).isDirectory();
  } catch {
    // Missing (the usual case), or under something that is not a folder: the probe below says which.
  }
  if (isDirectory) {
    throw new UserError(`${flag} ${path} is a directory`, `pass the path of a file, e.g. ${join(path, "out.parquet")}`);
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

/** True when both paths name one existing file (symbolic links followed). */
function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}
