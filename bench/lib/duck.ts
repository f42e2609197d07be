// The DuckDB references' connection: plain @duckdb/node-api, configured like
// fti's store (same memory_limit, threads and UTC), nothing else of fti.

import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";

export interface RefDb {
  conn: DuckDBConnection;
  close(): void;
}

export async function openRefDb(
  path: string,
  opts: { memoryLimit?: string; threads?: number; readOnly?: boolean; storageVersion?: string } = {},
): Promise<RefDb> {
  const config: Record<string, string> = {};
  if (opts.memoryLimit) config.memory_limit = opts.memoryLimit;
  if (opts.threads !== undefined) config.threads = String(opts.threads);
  if (opts.readOnly) config.access_mode = "READ_ONLY";
  // A new file's storage format (DuckDB's default: readable by v1.0); fti's store uses a newer one (runtime/store/store.ts).
  if (opts.storageVersion) config.storage_compatibility_version = opts.storageVersion;
  const db = await DuckDBInstance.create(path, config);
  const conn = await db.connect();
  await conn.run("SET TimeZone = 'UTC'");
  return {
    conn,
    close() {
      conn.closeSync();
      db.closeSync();
    },
  };
}

/** Rows of a query as plain objects (BIGINT → number). */
export async function rows<T = Record<string, unknown>>(conn: DuckDBConnection, sql: string): Promise<T[]> {
  const r = (await conn.runAndReadAll(sql)).getRowObjectsJS();
  for (const row of r) for (const k in row) if (typeof row[k] === "bigint") (row as Record<string, unknown>)[k] = Number(row[k]);
  return r as T[];
}
