// Opening a store's DuckDB file: the lock another process holds (retried for
// a while, then refused naming its pid), and what each failure to open says to
// the user (a missing or foreign file, a full disk, a newer format).

import { relative } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { environmentError } from "../environment-errors.ts";
import { UserError } from "../errors.ts";

/** A store path as the user sees it: relative to the working directory when under it. */
export function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith("..") ? rel : abs;
}

export function notADatabase(path: string): UserError {
  return new UserError(
    `the store path ${displayPath(path)} is a data file (CSV, Parquet or JSON), not a DuckDB database`,
    "pass the path of the store's .duckdb file (a path where nothing is yet creates a store)",
  );
}

/** DuckDBInstance.create, retried while another process holds the file's lock (up to `waitMs`). */
export async function createInstance(path: string, config: Record<string, string>, readOnly: boolean, waitMs: number): Promise<DuckDBInstance> {
  const deadline = Date.now() + waitMs;
  let delay = 25;
  for (;;) {
    try {
      return await DuckDBInstance.create(path, config);
    } catch (e) {
      if (!isLockError(e) || Date.now() + delay > deadline) throw openError(e, path, readOnly);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 500);
    }
  }
}

export function isLockError(e: unknown): boolean {
  return /Could not set lock on file|Conflicting lock/i.test((e as Error)?.message ?? "");
}

export function openError(e: unknown, path: string, readOnly: boolean): Error {
  const msg = (e as Error)?.message ?? String(e);
  const shown = displayPath(path);
  const lock = /Could not set lock on file.*?\(PID (\d+)\)/s.exec(msg);
  if (isLockError(e)) {
    return new UserError(
      `the store ${shown} is in use by another fti process (pid ${lock ? lock[1] : "unknown"})`,
      "wait for it to finish (DuckDB allows one writer process per store), or set FTI_STORE to use another file",
    );
  }
  if (readOnly && /does not exist|No such file/i.test(msg)) {
    return new UserError(`the store ${shown} does not exist`, "run the feature pipeline first (`fti features <spec>`)");
  }
  const env = environmentError(e, shown);
  if (env) return env;
  if (/Unable to open|version/i.test(msg)) {
    return new UserError(`cannot open the store ${shown}: ${msg.split("\n")[0]}`);
  }
  return e instanceof Error ? e : new Error(msg);
}
