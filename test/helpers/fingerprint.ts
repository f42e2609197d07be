// An exact, order-independent fingerprint of a table's rows: the row count and
// the sum of a 64-bit hash of each whole row (as HUGEINT: exact, no overflow).
// A float sum is not one: DuckDB's parallel sum adds in a varying order, so
// its last bits change between runs over the same rows.

import type { Store } from "../../runtime/store/store.ts";

export async function tableFingerprint(store: Store, table: string): Promise<{ rows: string; hash: string }> {
  const [r] = await store.all<{ rows: bigint | number; hash: bigint | number | null }>(
    `SELECT count(*) AS rows, sum(hash(t)::HUGEINT) AS hash FROM ${table} AS t`,
  );
  return { rows: String(r.rows), hash: String(r.hash) };
}
