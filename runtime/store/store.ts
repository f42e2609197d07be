// The store: one DuckDB file (default `.fti/store.duckdb`) holding the raw
// source tables, the feature group tables, the run log and the quarantine
// (run-log.ts, quarantine.ts: created on open), and the tables other modules
// own and create themselves (registry/: fti_models, online/: fti_online_state,
// retrieval/: fti_table_facts, …).
//
// A thin layer over @duckdb/node-api that gives the rest of the runtime plain
// JS values (bigint → number, timestamps → Date in UTC), serialised access to
// the one connection, transactions that roll back when their function throws,
// and bulk appends through DuckDB data chunks. See CONTEXT.md beside this file.

import { AsyncLocalStorage } from "node:async_hooks";
import { dirname, relative, resolve } from "node:path";
import {
  DuckDBConnection,
  DuckDBDataChunk,
  DuckDBInstance,
  DuckDBTimestampValue,
  type DuckDBType,
  type DuckDBValue,
} from "@duckdb/node-api";
import { environmentError } from "../environment-errors.ts";
import { UserError } from "../errors.ts";
import { defaultStorePath } from "./paths.ts";
import { QUARANTINE_DDL } from "./quarantine.ts";
import { RUN_LOG_TABLE } from "./run-log.ts";
import { readEveryBlock } from "./integrity.ts";
import { CONTENT_HASHED, CONTENT_HASHED_TABLE, contentHashKey, contentHashSql, contentHashText, statementMayWrite, type KeptHashes } from "./content-hash.ts";
import { chunkFunction, scalarFunction, type ChunkFunctionSignature, type ScalarFunctionSignature } from "./scalar-function.ts";
import { ident, tableRef } from "./sql.ts";
import { arrayLengthOf, jsValue, toDuck, writeNumbers } from "./values.ts";
import { float64Reader, valueReader, vectorReader } from "./column-readers.ts";
import { makeDirs } from "../make-dirs.ts";

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

// ------------------------------------------------------------------ parameters

function bindValue(v: SqlParam): DuckDBValue {
  if (v === undefined) return null;
  if (v instanceof Date) return new DuckDBTimestampValue(BigInt(v.getTime()) * 1000n);
  return v;
}

function bindParams(params?: SqlParams): DuckDBValue[] | Record<string, DuckDBValue> | undefined {
  if (params === undefined) return undefined;
  if (Array.isArray(params)) return (params as readonly SqlParam[]).map(bindValue);
  const out: Record<string, DuckDBValue> = {};
  for (const [k, v] of Object.entries(params as Record<string, SqlParam>)) out[k] = bindValue(v);
  return out;
}

// ------------------------------------------------------------------ the store

const CHUNK_ROWS = 2048;

/** Databases open in this process (DuckDB's file lock does not stop a second open from the same process). */
const openPaths = new Set<string>();

/** The tables every store has from its first open, shared by every pipeline (module-owned tables are created by their module). */
const STORE_TABLES = [RUN_LOG_TABLE, ...QUARANTINE_DDL];

class DuckStore implements Store {
  readonly path: string;
  readonly readOnly: boolean;
  memoryLimit?: string;
  private instance: DuckDBInstance | null;
  private conn: DuckDBConnection | null;
  private readonly ctx = new AsyncLocalStorage<DuckStore>();
  private queue: Promise<void> = Promise.resolve();
  private txQueue: Promise<void> = Promise.resolve();
  private tempCounter = 0;
  /** Settings to RESET after the transaction's ROLLBACK (withoutInsertionOrder could not inside it). */
  private readonly resetAfterRollback = new Set<string>();
  private readonly functions = new Map<string, (...args: any[]) => unknown>();
  /**
   * Content hashes (content-hash.ts) of tables nothing in this process has written since they were
   * computed, by contentHashKey; the table's unqualified lower-case name beside each. Any statement
   * that may write one forgets it first (forgetWritten), a ROLLBACK forgets them all.
   */
  private readonly hashes: KeptHashes = new Map();

  constructor(path: string, readOnly: boolean, instance: DuckDBInstance, conn: DuckDBConnection, hashes?: KeptHashes) {
    this.path = path;
    this.readOnly = readOnly;
    this.instance = instance;
    this.conn = conn;
    if (hashes) this.hashes = hashes;
  }

  /** Forgets the kept content hash of every table `sql` may write (content-hash.ts `statementMayWrite`). */
  private forgetWritten(sql: string): void {
    for (const [key, h] of this.hashes) if (statementMayWrite(sql, h.table)) this.hashes.delete(key);
  }

  get inTransaction(): boolean {
    return this.ctx.getStore() === this;
  }

  private connection(): DuckDBConnection {
    if (!this.conn) throw new Error("the store is closed");
    return this.conn;
  }

  /**
   * Runs `fn` with the connection to itself, one statement at a time. Outside
   * a transaction callers queue on `queue` (which a transaction holds for its
   * whole length); calls from inside the transaction queue on `txQueue`.
   */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const inTx = this.inTransaction;
    const prev = inTx ? this.txQueue : this.queue;
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    if (inTx) this.txQueue = next;
    else this.queue = next;
    await prev;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  run(sql: string, params?: SqlParams): Promise<number> {
    return this.exclusive(async () => {
      this.forgetWritten(sql);
      const res = await this.connection().run(sql, bindParams(params));
      return Number(res.rowsChanged);
    });
  }

  all<T = Row>(sql: string, params?: SqlParams): Promise<T[]> {
    return this.exclusive(async () => {
      this.forgetWritten(sql);
      const reader = await this.connection().runAndReadAll(sql, bindParams(params));
      const rows = reader.getRowObjectsJS();
      for (const row of rows) {
        for (const k in row) {
          const v = row[k];
          if (v !== null && (typeof v === "bigint" || (typeof v === "object" && !(v instanceof Date)))) {
            (row as Record<string, unknown>)[k] = jsValue(v);
          }
        }
      }
      return rows as T[];
    });
  }

  readColumns(sql: string, params?: SqlParams, opts: ReadColumnsOptions = {}): Promise<ColumnarResult> {
    return this.exclusive(() => this.readColumnsUnlocked(sql, params, opts));
  }

  readColumnsInSlices(
    sql: string,
    params: SqlParams | undefined,
    opts: Omit<ReadColumnsOptions, "vectors">,
    rows: number,
    onSlice: (slice: ColumnarResult, from: number) => Promise<void> | void,
  ): Promise<number> {
    if (!Number.isInteger(rows) || rows <= 0) throw new Error(`readColumnsInSlices: slice size must be a positive integer, got ${rows}`);
    return this.exclusive(() => this.readColumnsUnlocked(sql, params, opts, { rows, onSlice }).then((r) => r.n));
  }

  /** The one chunk-wise reader of both: the whole result, or slices of exactly `rows` rows (the last one shorter). */
  private async readColumnsUnlocked(
    sql: string,
    params: SqlParams | undefined,
    opts: ReadColumnsOptions,
    sliced?: { rows: number; onSlice: (slice: ColumnarResult, from: number) => Promise<void> | void },
  ): Promise<ColumnarResult> {
    this.forgetWritten(sql);
    const result = await this.connection().stream(sql, bindParams(params));
    const names = result.columnNames();
    const typeIds = names.map((_, i) => result.columnTypeId(i));
    const types = names.map((_, i) => result.columnType(i).toString());
    const f64 = new Set(opts.float64 ?? []);
    const ts = opts.timestamps ?? "date";
    const vectorNames = new Set(opts.vectors ?? []);
    // Each chunk is converted as it arrives and dropped (column-readers.ts).
    const newReaders = () =>
      names.map((name, c) =>
        vectorNames.has(name) ? vectorReader(types[c], c) : f64.has(name) ? float64Reader(typeIds[c]) : valueReader(typeIds[c], ts),
      );
    const collect = (n: number): ColumnarResult => {
      const columns: Record<string, unknown[] | Float64Array> = {};
      const vectors: Record<string, Float32Array> = {};
      names.forEach((name, c) => {
        const col = readers[c].finish(n);
        if (vectorNames.has(name)) vectors[name] = col as Float32Array;
        else columns[name] = col as unknown[] | Float64Array;
      });
      return { n, names, types, columns, vectors };
    };
    let readers = newReaders();
    let n = 0;
    let emitted = 0;
    let rest = null as ColumnarResult | null; // rows read past the last full slice
    const emit = async (last: boolean) => {
      let part = concatColumns(rest, collect(n));
      readers = newReaders();
      n = 0;
      while (part.n >= sliced!.rows || (last && part.n > 0)) {
        const m = Math.min(part.n, sliced!.rows);
        await sliced!.onSlice(sliceColumns(part, 0, m), emitted);
        emitted += m;
        part = sliceColumns(part, m, part.n);
      }
      rest = part.n > 0 ? part : null;
    };
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const m = chunk.rowCount;
      for (let c = 0; c < names.length; c++) readers[c].add(chunk.getColumnVector(c), m);
      n += m;
      if (sliced && n + (rest?.n ?? 0) >= sliced.rows) await emit(false);
    }
    if (!sliced) return collect(n);
    await emit(true);
    return { n: emitted, names, types, columns: {}, vectors: {} };
  }

  async transaction<T>(fn: (store: Store) => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn(this);
    return this.exclusive(async () => {
      const conn = this.connection();
      await conn.run("BEGIN TRANSACTION");
      let result: T;
      try {
        result = await this.ctx.run(this, () => fn(this));
        await this.txQueue; // statements fn started but did not await
      } catch (e) {
        await this.txQueue.catch(() => undefined);
        // A hash computed inside the transaction may be of rows the ROLLBACK takes back.
        this.hashes.clear();
        try {
          await conn.run("ROLLBACK");
        } catch {
          // the transaction may already be aborted; nothing more to undo
        }
        for (const setting of this.resetAfterRollback) await conn.run(`RESET ${setting}`);
        this.resetAfterRollback.clear();
        throw e;
      }
      try {
        await conn.run("COMMIT");
      } catch (e) {
        this.hashes.clear();
        try {
          await conn.run("ROLLBACK");
        } catch {
          // already rolled back by the failed commit
        }
        throw e;
      }
      return result;
    });
  }

  async withoutInsertionOrder<T>(fn: () => Promise<T>): Promise<T> {
    await this.run("SET preserve_insertion_order = false");
    try {
      return await fn();
    } finally {
      try {
        await this.run("RESET preserve_insertion_order");
      } catch (e) {
        if (!this.inTransaction) throw e;
        this.resetAfterRollback.add("preserve_insertion_order");
      }
    }
  }

  appendRows(table: string, columns: readonly string[], rows: ReadonlyArray<ReadonlyArray<unknown>>): Promise<number> {
    return this.appendGeneric(table, columns, rows.length, (r, c) => rows[r][c]);
  }

  appendColumns(table: string, columns: Readonly<Record<string, ArrayLike<unknown>>>): Promise<number> {
    const names = Object.keys(columns);
    const arrays = names.map((k) => columns[k]);
    const n = arrays.length ? arrays[0].length : 0;
    for (let i = 0; i < arrays.length; i++) {
      if (arrays[i].length !== n) {
        throw new Error(`appendColumns: column \`${names[i]}\` has ${arrays[i].length} values, \`${names[0]}\` has ${n}`);
      }
    }
    return this.appendGeneric(table, names, n, (r, c) => arrays[c][r]);
  }

  private async appendGeneric(
    table: string,
    columns: readonly string[],
    nRows: number,
    get: (row: number, col: number) => unknown,
  ): Promise<number> {
    if (nRows === 0) return 0;
    // Everything in one exclusive section: the staging table and the insert
    // must not interleave with other callers.
    return this.exclusive(async () => {
      const conn = this.connection();
      const where = await this.locateUnlocked(table);
      if (!where) throw new Error(`appendRows: table \`${table}\` does not exist`);
      this.hashes.delete(contentHashKey(where.catalog, where.schema, table.split(".").pop()!));
      const described = where.columns;
      const lower = described.map((c) => c.name.toLowerCase());
      const idx = columns.map((c) => lower.indexOf(c.toLowerCase()));
      const missing = columns.filter((_, i) => idx[i] < 0);
      if (missing.length) throw new Error(`appendRows: table \`${table}\` has no column ${missing.map((m) => `\`${m}\``).join(", ")}`);
      const direct = columns.length === described.length && idx.every((v, i) => v === i);
      let target = { table: table.split(".").pop()!, schema: where.schema, catalog: where.catalog };
      let staging: string | null = null;
      if (!direct) {
        staging = `__fti_append_${++this.tempCounter}`;
        const defs = columns.map((c, i) => `${ident(c)} ${described[idx[i]].type}`).join(", ");
        await conn.run(`CREATE TEMP TABLE ${ident(staging)} (${defs})`);
        target = { table: staging, schema: "main", catalog: "temp" };
      }
      try {
        const appender = await conn.createAppender(target.table, target.schema, target.catalog);
        try {
          const types: DuckDBType[] = [];
          for (let c = 0; c < appender.columnCount; c++) types.push(appender.columnType(c));
          const typeIds = types.map((t) => t.typeId);
          for (let start = 0; start < nRows; start += CHUNK_ROWS) {
            const m = Math.min(CHUNK_ROWS, nRows - start);
            const chunk = DuckDBDataChunk.create(types, m);
            for (let c = 0; c < columns.length; c++) {
              const vec = chunk.getColumnVector(c);
              const tid = typeIds[c];
              const length = arrayLengthOf(types[c]);
              if (!writeNumbers(vec, tid, m, (r) => get(start + r, c), columns[c])) {
                for (let r = 0; r < m; r++) vec.setItem(r, toDuck(get(start + r, c), tid, columns[c], length));
              }
              vec.flush();
            }
            appender.appendDataChunk(chunk);
          }
          appender.flushSync();
        } finally {
          appender.closeSync();
        }
        if (staging) {
          const cols = columns.map(ident).join(", ");
          await conn.run(`INSERT INTO ${tableRef(table)} (${cols}) SELECT ${cols} FROM ${ident(staging)}`);
        }
      } finally {
        // Best effort: after a failure inside a transaction DuckDB refuses
        // every statement until ROLLBACK, which drops the temp table anyway.
        if (staging) await conn.run(`DROP TABLE IF EXISTS ${ident(staging)}`).catch(() => undefined);
      }
      return nRows;
    });
  }

  /** Where a table lives and its columns; temp tables first, as DuckDB resolves names. */
  private async locateUnlocked(
    name: string,
  ): Promise<{ catalog: string; schema: string; columns: Array<{ name: string; type: string }> } | null> {
    const parts = name.split(".");
    const schema = parts.length > 1 ? parts[0] : null;
    const tbl = parts.length > 1 ? parts[1] : parts[0];
    const reader = await this.connection().runAndReadAll(
      `SELECT database_name, schema_name, column_name, data_type FROM duckdb_columns()
        WHERE lower(table_name) = lower(?) AND (? IS NULL OR lower(schema_name) = lower(?))
        ORDER BY CASE WHEN database_name = 'temp' THEN 0 ELSE 1 END, database_name, schema_name, column_index`,
      [tbl, schema, schema],
    );
    const rows = reader.getRowObjectsJS() as Array<{ database_name: string; schema_name: string; column_name: string; data_type: string }>;
    if (rows.length === 0) return null;
    const { database_name: catalog, schema_name: sch } = rows[0];
    return {
      catalog,
      schema: sch,
      columns: rows
        .filter((r) => r.database_name === catalog && r.schema_name === sch)
        .map((r) => ({ name: r.column_name, type: r.data_type })),
    };
  }

  private async describeUnlocked(name: string): Promise<Array<{ name: string; type: string }>> {
    return (await this.locateUnlocked(name))?.columns ?? [];
  }

  tableColumns(name: string): Promise<Array<{ name: string; type: string }>> {
    return this.exclusive(() => this.describeUnlocked(name));
  }

  contentHash(table: string): Promise<string> {
    return this.exclusive(async () => {
      const where = await this.locateUnlocked(table);
      if (!where) throw new Error(`contentHash: table \`${table}\` does not exist`);
      const name = table.split(".").pop()!;
      const key = contentHashKey(where.catalog, where.schema, name);
      const kept = this.hashes.get(key);
      if (kept) return kept.hash;
      const conn = this.connection();
      const ref = `${ident(where.catalog)}.${ident(where.schema)}.${ident(name)}`;
      const [[h]] = (await conn.runAndReadAll(contentHashSql(ref, where.columns.map((c) => c.name)))).getRows();
      const hash = contentHashText(h);
      this.hashes.set(key, { table: name.toLowerCase(), hash });
      if (!this.readOnly && where.catalog !== "temp") {
        await conn.run(CONTENT_HASHED_TABLE);
        await conn.run(
          `INSERT INTO ${CONTENT_HASHED} SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM ${CONTENT_HASHED} WHERE schema_name = ? AND table_name = ?)`,
          [where.schema, name, where.schema, name],
        );
      }
      return hash;
    });
  }

  async tableExists(name: string): Promise<boolean> {
    const parts = name.split(".");
    const schema = parts.length > 1 ? parts[0] : null;
    const tbl = parts.length > 1 ? parts[1] : parts[0];
    const rows = await this.all<{ n: number }>(
      `SELECT (SELECT count(*) FROM duckdb_tables() WHERE lower(table_name) = lower($t) AND ($s IS NULL OR lower(schema_name) = lower($s)))
            + (SELECT count(*) FROM duckdb_views() WHERE NOT internal AND lower(view_name) = lower($t) AND ($s IS NULL OR lower(schema_name) = lower($s))) AS n`,
      { t: tbl, s: schema },
    );
    return rows[0].n > 0;
  }

  registerScalarFunction(name: string, signature: ScalarFunctionSignature, fn: (...args: any[]) => unknown): void {
    if (this.functions.get(name) === fn) return;
    this.connection().registerScalarFunction(scalarFunction(name, signature, fn));
    this.functions.set(name, fn);
  }

  registerChunkFunction(name: string, signature: ChunkFunctionSignature, fn: (args: unknown[][], n: number) => ArrayLike<unknown>): void {
    if (this.functions.get(name) === fn) return;
    this.connection().registerScalarFunction(chunkFunction(name, signature, fn));
    this.functions.set(name, fn);
  }

  async close(): Promise<void> {
    // Wait for whatever is running, then close.
    await this.exclusive(async () => {
      this.conn?.closeSync();
      this.instance?.closeSync();
      this.conn = null;
      this.instance = null;
      openPaths.delete(this.path);
    });
  }
}

export { defaultStorePath };

function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith("..") ? rel : abs;
}

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

function notADatabase(path: string): UserError {
  return new UserError(
    `the store path ${displayPath(path)} is a data file (CSV, Parquet or JSON), not a DuckDB database`,
    "pass the path of the store's .duckdb file (a path where nothing is yet creates a store)",
  );
}

/** DuckDBInstance.create, retried while another process holds the file's lock (up to `waitMs`). */
async function createInstance(path: string, config: Record<string, string>, readOnly: boolean, waitMs: number): Promise<DuckDBInstance> {
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

function isLockError(e: unknown): boolean {
  return /Could not set lock on file|Conflicting lock/i.test((e as Error)?.message ?? "");
}

function openError(e: unknown, path: string, readOnly: boolean): Error {
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

/**
 * Runs clean-up statements (DROP of temp tables and views) ignoring errors, so
 * that a `finally` never replaces the error that got there: after a failed
 * statement inside a transaction DuckDB refuses everything until ROLLBACK.
 */
/** Rows [from, to) of a result's columns (typed arrays as views, no copy). */
function sliceColumns(r: ColumnarResult, from: number, to: number): ColumnarResult {
  if (from === 0 && to === r.n) return r;
  const columns: ColumnarResult["columns"] = {};
  for (const name of r.names) {
    const col = r.columns[name];
    columns[name] = col instanceof Float64Array ? col.subarray(from, to) : col.slice(from, to);
  }
  return { ...r, n: to - from, columns, vectors: {} };
}

/** `a`'s rows then `b`'s (same columns); `a` may be null. */
function concatColumns(a: ColumnarResult | null, b: ColumnarResult): ColumnarResult {
  if (!a) return b;
  const columns: ColumnarResult["columns"] = {};
  for (const name of b.names) {
    const x = a.columns[name];
    const y = b.columns[name];
    if (x instanceof Float64Array && y instanceof Float64Array) {
      const both = new Float64Array(x.length + y.length);
      both.set(x);
      both.set(y, x.length);
      columns[name] = both;
    } else columns[name] = (x as unknown[]).concat(y as unknown[]);
  }
  return { ...b, n: a.n + b.n, columns };
}

export async function cleanUp(store: Store, ...sql: string[]): Promise<void> {
  for (const q of sql) {
    try {
      await store.run(q);
    } catch {
      // the rollback removes temp objects anyway
    }
  }
}
