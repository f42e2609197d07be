// The store: one DuckDB file (default `.fti/store.duckdb`) holding the raw
// source tables, the feature group tables, the run log and the quarantine
// (run-log.ts, quarantine.ts: created on open), and the tables other modules
// own and create themselves (registry/: fti_models, online/: fti_online_state,
// retrieval/: fti_table_facts, …).
//
// A thin layer over @duckdb/node-api that gives the rest of the runtime plain
// JS values (bigint → number, timestamps → Date in UTC), serialised access to
// the one connection, transactions that roll back when their function throws,
// and bulk appends through DuckDB data chunks. This file: the Store interface and
// openStore; the store itself is duck-store.ts's. See CONTEXT.md beside this file.

import { dirname, resolve } from "node:path";
import type { DuckDBConnection } from "@duckdb/node-api";
import { UserError } from "../errors.ts";
import { makeDirs } from "../make-dirs.ts";
import type { KeptHashes } from "./content-hash.ts";
import { DuckStore, openPaths } from "./duck-store.ts";
import { readEveryBlock } from "./integrity.ts";
import { createInstance, displayPath, notADatabase, openError } from "./open-errors.ts";
import { defaultStorePath } from "./paths.ts";
import { QUARANTINE_DDL } from "./quarantine.ts";
import { RUN_LOG_TABLE } from "./run-log.ts";
import type { ChunkFunctionSignature, ScalarFunctionSignature } from "./scalar-function.ts";

export type { ChunkFunctionSignature, ScalarFunctionSignature } from "./scalar-function.ts";

// ------------------------------------------------------------------ public types

/** A bound parameter. Dates bind as TIMESTAMP (UTC), bigints as HUGEINT, undefined as NULL. */
export type SqlParam = string | number | boolean | bigint | Date | null | undefined;
/** Positional (`?` or `$1`) parameters as an array, or named (`$name`) ones as an object. */
export type SqlParams = readonly SqlParam[] | Readonly<Record<string, SqlParam>>;

/** A row as `all` returns it: BIGINT → number (string when beyond 2^53), TIMESTAMP → Date, BLOB → Uint8Array. */
export type Row = Record<string, unknown>;

export interface ReadColumnsOptions {
  /** Numeric columns to return as Float64Array (NULL → NaN) instead of arrays. */
  float64?: readonly string[];
  /** How TIMESTAMP columns come back: Date (default), epoch milliseconds, or ISO-8601 strings. */
  timestamps?: "date" | "ms" | "iso";
  /** FLOAT[N] columns to return as one flat Float32Array of n × N values (a null row: N NaNs). */
  vectors?: readonly string[];
}

export interface ColumnarResult {
  n: number;
  names: string[];
  /** DuckDB type names, e.g. "DOUBLE", "TIMESTAMP". */
  types: string[];
  columns: Record<string, unknown[] | Float64Array>;
  /** The columns named in `vectors`: each one flat Float32Array of n × N values. */
  vectors: Record<string, Float32Array>;
}

export interface Store {
  /** Absolute path of the database file, or ":memory:". */
  readonly path: string;
  readonly readOnly: boolean;
  /** The memory_limit the store was opened with (OpenStoreOptions.memoryLimit), if any: what a caller that lowers it sets back. */
  readonly memoryLimit?: string;
  /** True while the current async context is inside `transaction`. */
  readonly inTransaction: boolean;
  /** Runs one or more statements; returns the rows changed by the last one. */
  run(sql: string, params?: SqlParams): Promise<number>;
  /** Runs a query and returns its rows as plain objects. */
  all<T = Row>(sql: string, params?: SqlParams): Promise<T[]>;
  /** Runs a query and returns its result column by column, read chunk by chunk (for large results). */
  readColumns(sql: string, params?: SqlParams, opts?: ReadColumnsOptions): Promise<ColumnarResult>;
  /**
   * The same result read as it streams, handed to `onSlice` in slices of exactly `rows` rows
   * (the last one shorter; `from`: the first row's position), so only one slice is held in JS.
   * Returns the number of rows. `onSlice` runs while the store is busy reading: it must not use the store.
   */
  readColumnsInSlices(
    sql: string,
    params: SqlParams | undefined,
    opts: Omit<ReadColumnsOptions, "vectors">,
    rows: number,
    onSlice: (slice: ColumnarResult, from: number) => Promise<void> | void,
  ): Promise<number>;
  /**
   * Runs `fn` between BEGIN and COMMIT; if it throws, ROLLBACK and rethrow, so
   * the store is as before. While it runs, other callers of this store wait;
   * calls made from inside `fn` (through this object or the argument) run in
   * the transaction. A nested call joins the outer transaction.
   */
  transaction<T>(fn: (store: Store) => Promise<T>): Promise<T>;
  /**
   * Runs `fn` with DuckDB's `preserve_insertion_order` off: an INSERT … SELECT
   * then writes in parallel in no particular order (full row groups, where an
   * order-preserving one leaves a partial row group per input batch for the
   * next checkpoint to merge). Set back afterwards — when `fn` failed inside a
   * transaction (which DuckDB then refuses everything but ROLLBACK in), right
   * after the ROLLBACK.
   */
  withoutInsertionOrder<T>(fn: () => Promise<T>): Promise<T>;
  /**
   * Bulk insert through DuckDB's appender. `columns` name the target columns
   * (any subset, any order); each row gives values in that order. Values are
   * converted to the column types: numbers, bigints, booleans, strings,
   * Dates / ISO strings / epoch-ms numbers for TIMESTAMP, objects as JSON text.
   */
  appendRows(table: string, columns: readonly string[], rows: ReadonlyArray<ReadonlyArray<unknown>>): Promise<number>;
  /** The same, column-major: every array must have the same length. */
  appendColumns(table: string, columns: Readonly<Record<string, ArrayLike<unknown>>>): Promise<number>;
  /** A table or view, optionally schema-qualified ("predictions.time_estimator"); temp tables count. */
  tableExists(name: string): Promise<boolean>;
  /** Column names and DuckDB types of a table, in order ([] when it does not exist). */
  tableColumns(name: string): Promise<Array<{ name: string; type: string }>>;
  /**
   * The table's content hash (content-hash.ts: the sum of every row's hash over all its columns;
   * "-" when empty). Kept while nothing in this process writes the table, and computed by the next
   * open's read of every block (the table is listed in `fti_content_hashed` on a writable store).
   */
  contentHash(table: string): Promise<string>;
  /** Registers a JS function as a DuckDB scalar function on this connection (replacing one of the same name). */
  registerScalarFunction(name: string, signature: ScalarFunctionSignature, fn: (...args: any[]) => unknown): void;
  /** The same, called once per chunk of rows with one array per argument (scalar-function.ts `chunkFunction`). */
  registerChunkFunction(name: string, signature: ChunkFunctionSignature, fn: (args: unknown[][], n: number) => ArrayLike<unknown>): void;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** Database file; default `$FTI_STORE`, else `.fti/store.duckdb` under the cwd. ":memory:" for a throwaway store. */
  path?: string;
  /** DuckDB memory_limit, e.g. "4GB". */
  memoryLimit?: string;
  threads?: number;
  readOnly?: boolean;
  /**
   * While another process holds the file's lock, retry for up to this long
   * (backing off 25 ms → 500 ms) before refusing with "in use by another fti
   * process". Default 0: refuse at once. The CLI waits (STORE_WAIT_MS).
   */
  waitMs?: number;
  /**
   * Read every block before the first write (integrity.ts), so a store
   * damaged in the middle is refused before anything is written. Default:
   * on for a file opened for writing.
   */
  verify?: boolean;
}

/** How long a CLI command waits for a store another process holds (a serving process's reload holds it for up to about a second). */
export const STORE_WAIT_MS = 10_000;

/** The tables every store has from its first open, shared by every pipeline (module-owned tables are created by their module). */
const STORE_TABLES = [RUN_LOG_TABLE, ...QUARANTINE_DDL];

export { defaultStorePath };

/**
 * The storage format of a NEW store file (an existing file keeps the format it
 * was created with). DuckDB writes files readable by v1.0 unless told
 * otherwise, and that format lacks the newer string compression (DICT_FSST),
 * whose analysis + compression costs about half of the dictionary's: writing
 * the feature pipeline's source table took ~27 % less CPU, its group table
 * ~14 % less (docs/benchmarks.md, "Eighth session: learn"). Files in this
 * format need DuckDB ≥ 1.5 to open, which is the version fti pins.
 */
const STORAGE_VERSION = "v1.5.0";

/** Opens (creating if needed) the store and its run log / quarantine tables. */
export async function openStore(opts: OpenStoreOptions = {}): Promise<Store> {
  const memory = opts.path === ":memory:";
  const path = memory ? ":memory:" : opts.path ? resolve(opts.path) : defaultStorePath();
  const readOnly = opts.readOnly ?? false;
  if (!memory) {
    if (openPaths.has(path)) {
      throw new UserError(
        `the store ${displayPath(path)} is already open in this process`,
        "share the open Store object instead of opening the file twice",
      );
    }
    if (!readOnly) {
      try {
        makeDirs(dirname(path));
      } catch (e) {
        const reason = ((e as Error).message ?? String(e)).split(",")[0];
        throw new UserError(`cannot create the folder of the store ${displayPath(path)} (${reason})`, "pass --store (or FTI_STORE) a path in a folder you can write to");
      }
    }
  }
  const config: Record<string, string> = {};
  if (opts.memoryLimit) config.memory_limit = opts.memoryLimit;
  if (opts.threads !== undefined) config.threads = String(opts.threads);
  if (readOnly) config.access_mode = "READ_ONLY";
  config.storage_compatibility_version = STORAGE_VERSION;
  const instance = await createInstance(path, config, readOnly, opts.waitMs ?? 0).catch((e) => {
    // Read-only, DuckDB refuses the in-memory database a data file would open as (isDatabaseFile).
    throw /in-memory database in read-only mode/i.test((e as Error)?.message ?? "") ? notADatabase(path) : e;
  });
  const conn = await instance.connect();
  if (!memory && !(await isDatabaseFile(conn))) {
    conn.closeSync();
    instance.closeSync();
    throw notADatabase(path);
  }
  let hashes: KeptHashes | undefined;
  if (!memory && !readOnly && (opts.verify ?? true)) {
    try {
      hashes = await readEveryBlock(conn);
    } catch (e) {
      conn.closeSync();
      instance.closeSync();
      throw openError(e, path, readOnly);
    }
  }
  // TIMESTAMP columns hold UTC; make every TIMESTAMPTZ conversion UTC too.
  await conn.run("SET TimeZone = 'UTC'");
  // A table created inside a transaction has no statistics yet, so DuckDB
  // estimates it at ~0 rows and turns an ASOF join over it into a nested loop
  // join (quadratic: minutes for a 100k-row spine). Always use the real ASOF join.
  await conn.run("SET asof_loop_join_threshold = 0");
  if (!readOnly) for (const sql of STORE_TABLES) await conn.run(sql);
  if (!memory) openPaths.add(path);
  const store = new DuckStore(path, readOnly, instance, conn, hashes);
  store.memoryLimit = opts.memoryLimit;
  return store;
}

/**
 * Whether the connection's database is a file. DuckDB opens an existing CSV,
 * Parquet or JSON file given as a database path as an in-memory database (a
 * view over the file): every write would be lost when the command ends,
 * after it reported success.
 */
async function isDatabaseFile(conn: DuckDBConnection): Promise<boolean> {
  const rows = (await conn.runAndReadAll("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")).getRows();
  return rows.length === 1 && rows[0][0] !== null;
}

/**
 * Runs clean-up statements (DROP of temp tables and views) ignoring errors, so
 * that a `finally` never replaces the error that got there: after a failed
 * statement inside a transaction DuckDB refuses everything until ROLLBACK.
 */
export async function cleanUp(store: Store, ...sql: string[]): Promise<void> {
  for (const q of sql) {
    try {
      await store.run(q);
    } catch {
      // the rollback removes temp objects anyway
    }
  }
}
