// Rows into a table through DuckDB's appender, in data chunks of CHUNK_ROWS,
// each value converted to its column's type (values.ts); numbers straight into
// the vector's memory when the column takes them (writeNumbers).

import { DuckDBDataChunk, type DuckDBConnection, type DuckDBType } from "@duckdb/node-api";
import { arrayLengthOf, toDuck, writeNumbers } from "./values.ts";

const CHUNK_ROWS = 2048;

/** Appends `nRows` rows to `target`, whose columns are exactly `columns` in order; `get(row, col)` gives each value. */
export async function appendInChunks(
  conn: DuckDBConnection,
  target: { table: string; schema: string; catalog: string },
  columns: readonly string[],
  nRows: number,
  get: (row: number, col: number) => unknown,
): Promise<void> {
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
}
