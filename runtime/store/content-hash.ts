// A table's content hash: the sum of every row's hash over all its columns
// (order-independent; a row twice counts twice). What a cache of something
// derived from a table keys on when its cheap fingerprint (row count, latest
// ingested_at, time range) cannot see a change: an update in place keeps all
// three (retrieval/tie-winners.ts keeps a tied group's winners by both).
//
// Computing it reads every column of every row (~0.4 s of CPU at 10 M rows).
// A store opened for writing reads every block anyway (integrity.ts), so for
// the tables whose hash was asked for before (listed in `fti_content_hashed`)
// that read computes the hash instead of its per-column checksum; the store
// keeps it while nothing in the process writes the table (DuckDB's file lock
// keeps every other process out while the store is open for writing). Which
// statements may write a table is told from their text, erring on "may":
// `statementMayWrite`.

import { ident } from "./sql.ts";

/** The tables whose content hash a store computes in its open's read of every block. */
export const CONTENT_HASHED = "fti_content_hashed";

export const CONTENT_HASHED_TABLE = `CREATE TABLE IF NOT EXISTS ${CONTENT_HASHED} (schema_name VARCHAR NOT NULL, table_name VARCHAR NOT NULL)`;

/** The query of a table's content hash (one VARCHAR column; NULL for an empty table): `columns` in the table's order. */
export function contentHashSql(tableRef: string, columns: readonly string[]): string {
  return `SELECT sum(hash(${columns.map(ident).join(", ")})::HUGEINT)::VARCHAR AS h FROM ${tableRef}`;
}

/** The hash's text: the sum, or "-" for an empty table. */
export function contentHashText(v: unknown): string {
  return v === null || v === undefined ? "-" : String(v);
}

/** Content hashes kept by a store, by contentHashKey; beside each its table's unqualified lower-case name (what statementMayWrite looks for). */
export type KeptHashes = Map<string, { table: string; hash: string }>;

/** The key a table's hash is kept under: database, schema and table, lower case (DuckDB's names are case-insensitive). */
export function contentHashKey(database: string, schema: string, table: string): string {
  return `${database}\u0000${schema}\u0000${table}`.toLowerCase();
}

/**
 * Whether `sql` may write the table named `table` (unqualified, lower case): unless it is one
 * statement that reads (starts with SELECT or FROM, no `;` but a trailing one), any statement
 * whose text holds the name — quoted, qualified or in any case — may. A statement that writes
 * a table names it (INSERT, UPDATE, DELETE, COPY … FROM, ALTER, DROP, CREATE OR REPLACE), and
 * `WITH …` may lead into any of them, so it counts as a write. Wrong only towards "may": a
 * read taken for a write costs the hash again, never a stale one.
 */
export function statementMayWrite(sql: string, table: string): boolean {
  const text = sql.toLowerCase();
  if (!text.includes(table) && !text.includes(table.replaceAll('"', '""'))) return false;
  const body = text.trim().replace(/;\s*$/, "");
  return !/^(select|from)\b/.test(body) || body.includes(";");
}
