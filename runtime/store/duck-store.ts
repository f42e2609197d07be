// The Store over one DuckDB connection: serialised access to it (one statement
// at a time; a transaction holds it for its whole length), transactions that
// roll back when their function throws, plain JS values out (bigint → number,
// timestamps → Date in UTC), bulk appends, content hashes kept until a write.
// store.ts opens it.

import { AsyncLocalStorage } from "node:async_hooks";
import { DuckDBTimestampValue, type DuckDBConnection, type DuckDBInstance, type DuckDBValue } from "@duckdb/node-api";
import { appendInChunks } from "./chunk-append.ts";
import { readResultColumns, type Slicing } from "./column-stream.ts";
import { CONTENT_HASHED, CONTENT_HASHED_TABLE, contentHashKey, contentHashSql, contentHashText, statementMayWrite, type KeptHashes } from "./content-hash.ts";
import { chunkFunction, scalarFunction, type ChunkFunctionSignature, type ScalarFunctionSignature } from "./scalar-function.ts";
import { ident, tableRef } from "./sql.ts";
import type { ColumnarResult, ReadColumnsOptions, Row, SqlParam, SqlParams, Store } from "./store.ts";
import { jsValue } from "./values.ts";

/** Databases open in this process (DuckDB's file lock does not stop a second open from the same process). */
export const openPaths = new Set<string>();

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

export class DuckStore implements Store {
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

  readColumnsInSlices(sql: string, params: SqlParams | undefined, opts: Omit<ReadColumnsOptions, "vectors">, rows: number, onSlice: Slicing["onSlice"]): Promise<number> {
    if (!Number.isInteger(rows) || rows <= 0) throw new Error(`readColumnsInSlices: slice size must be a positive integer, got ${rows}`);
    return this.exclusive(() => this.readColumnsUnlocked(sql, params, opts, { rows, onSlice }).then((r) => r.n));
  }

  /** The one chunk-wise reader of both: the whole result, or slices of exactly `rows` rows (the last one shorter). */
  private async readColumnsUnlocked(sql: string, params: SqlParams | undefined, opts: ReadColumnsOptions, sliced?: Slicing): Promise<ColumnarResult> {
    this.forgetWritten(sql);
    return readResultColumns(await this.connection().stream(sql, bindParams(params)), opts, sliced);
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
        await appendInChunks(conn, target, columns, nRows, get);
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
