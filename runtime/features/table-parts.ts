// A table read as several parts under UNION ALL, so that a statement over
// rows written earlier in the same transaction runs on every thread.
//
// DuckDB gives a table scan as many threads as the table has committed row
// groups (DataTable::MaxThreads), and the rows the run wrote are not
// committed until its one transaction ends: the unique check's hashes of the
// source table just written were read and sorted on ONE thread. Each branch
// of a UNION ALL is a pipeline of its own, run at once: k branches, k threads.
// Contiguous rowid ranges, because DuckDB skips the row groups outside a
// rowid range (parity would read every row group in every branch). A table
// with committed rows already scans on every thread, and its rows of this
// transaction (rowids past the committed ones) land in the last range, which
// scans in parallel then too. A group's input is read in one scan: in parts
// it cost more CPU than it saved wall (docs/benchmarks.md, "Fifteenth
// session: lead").

import type { Store } from "../store/store.ts";
import { tableRef } from "../store/sql.ts";

/** Most parts: a branch per thread, but no more pipelines than this whatever the machine. */
const MAX_PARTS = 32;

/**
 * Conditions on `rowid` that split `table` into one contiguous range per
 * DuckDB thread, covering every row whatever its rowid (the first range has
 * no lower bound, the last no upper bound). `["TRUE"]` (one part) when a
 * column called rowid hides DuckDB's, the table has at most one row, or
 * DuckDB runs one thread.
 */
export async function rowidParts(store: Store, table: string): Promise<string[]> {
  // Only a base table has rowids (a view in its place would fail the statement, and with it the run's transaction).
  const [t] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM duckdb_tables() WHERE lower(table_name) = lower(?)`, [table]);
  if (Number(t.n) !== 1) return ["TRUE"];
  const columns = await store.tableColumns(table);
  if (columns.some((c) => c.name.toLowerCase() === "rowid")) return ["TRUE"];
  // VARCHAR: the rows of a transaction's own storage have rowids from ~2^55, past a JS number's exact range.
  const [r] = await store.all<{ lo: string | null; hi: string | null; threads: string }>(
    `SELECT CAST(min(rowid) AS VARCHAR) AS lo, CAST(max(rowid) AS VARCHAR) AS hi, current_setting('threads') AS threads FROM ${tableRef(table)}`,
  );
  const parts = Math.min(MAX_PARTS, Number(r.threads));
  if (r.lo === null || r.hi === null || !(parts >= 2)) return ["TRUE"];
  const lo = BigInt(r.lo);
  const span = BigInt(r.hi) - lo + 1n;
  if (span < 2n) return ["TRUE"];
  const bounds = Array.from({ length: parts - 1 }, (_, i) => lo + (span * BigInt(i + 1)) / BigInt(parts));
  return Array.from({ length: parts }, (_, i) => {
    const above = i > 0 ? `rowid >= ${bounds[i - 1]}` : "";
    const below = i < parts - 1 ? `rowid < ${bounds[i]}` : "";
    return [above, below].filter(Boolean).join(" AND ");
  });
}
