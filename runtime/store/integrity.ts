// A damaged store is refused before anything is written into it (issue 11
// #14). DuckDB checks a block's checksum only when it reads the block, and a
// damaged block in the middle of the file is otherwise found by whichever
// query first reads it — after a run has already written megabytes of new
// blocks into the file. So a store opened for writing first reads every
// block of every table once: each column through an aggregate the optimizer
// cannot answer from statistics (`bit_xor(hash(col))`). The cost is one scan
// of the store (measured in docs/reliability.md); read-only opens skip it
// (they write nothing).

import type { DuckDBConnection } from "@duckdb/node-api";

/** Reads every column of every table of the open database once; a damaged block throws DuckDB's checksum error. */
export async function readEveryBlock(conn: DuckDBConnection): Promise<void> {
  const tables = (await conn.runAndReadAll(
    "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary",
  )).getRows() as Array<[string, string]>;
  for (const [schema, table] of tables) {
    await conn.run(`SELECT bit_xor(hash(COLUMNS(*))) FROM ${quote(schema)}.${quote(table)}`);
  }
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
