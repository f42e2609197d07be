// A damaged store is refused before anything is written into it (issue 11
// #14). DuckDB checks a block's checksum only when it reads the block, and a
// damaged block in the middle of the file is otherwise found by whichever
// query first reads it — after a run has already written megabytes of new
// blocks into the file. So a store opened for writing first reads every
// block of every table once: each column through an aggregate the optimizer
// cannot answer from statistics (`bit_xor(hash(col))`). The cost is one scan
// of the store (measured in docs/reliability.md); read-only opens skip it
// (they write nothing). A table listed in `fti_content_hashed` is read through
// its content hash instead (content-hash.ts: every column of every row too),
// which the store then keeps: the read costs ~20 % more for that table, and
// saves the whole hash where it is asked for.

import type { DuckDBConnection } from "@duckdb/node-api";
import { CONTENT_HASHED, contentHashKey, contentHashSql, contentHashText, type KeptHashes } from "./content-hash.ts";

/**
 * Reads every column of every table of the open database once; a damaged block throws DuckDB's
 * checksum error. Returns the content hashes it computed, by content-hash.ts `contentHashKey`, with each
 * table's unqualified lower-case name.
 */
export async function readEveryBlock(conn: DuckDBConnection): Promise<KeptHashes> {
  const rows = async (sql: string) => (await conn.runAndReadAll(sql)).getRows();
  const [[database]] = (await rows("SELECT current_database()")) as Array<[string]>;
  const tables = (await rows(
    "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary",
  )) as Array<[string, string]>;
  const listed = tables.some(([s, t]) => s === "main" && t === CONTENT_HASHED)
    ? new Set(((await rows(`SELECT schema_name, table_name FROM ${CONTENT_HASHED}`)) as Array<[string, string]>).map(([s, t]) => contentHashKey(database, s, t)))
    : new Set<string>();
  const hashes: KeptHashes = new Map();
  for (const [schema, table] of tables) {
    const ref = `${quote(schema)}.${quote(table)}`;
    const key = contentHashKey(database, schema, table);
    if (!listed.has(key)) {
      await conn.run(`SELECT bit_xor(hash(COLUMNS(*))) FROM ${ref}`);
      continue;
    }
    const columns = (await conn.runAndReadAll(
      `SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND schema_name = ? AND table_name = ? ORDER BY column_index`,
      [schema, table],
    )).getRows().map((r) => String(r[0]));
    const [[h]] = (await conn.runAndReadAll(contentHashSql(ref, columns))).getRows();
    hashes.set(key, { table: table.toLowerCase(), hash: contentHashText(h) });
  }
  return hashes;
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
