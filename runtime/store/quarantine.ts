// The quarantine, `fti_quarantine`: every row a pipeline rejected, with all
// its reasons and the row as read. Created when the store opens (any run may
// quarantine); features/sources.ts writes it.

import type { Store } from "./store.ts";

export const QUARANTINE_TABLE = `CREATE TABLE IF NOT EXISTS fti_quarantine (
     run_id VARCHAR NOT NULL,
     source VARCHAR NOT NULL,
     row_number BIGINT,
     row_json JSON,
     reason VARCHAR NOT NULL,
     quarantined_at TIMESTAMP NOT NULL,
     file VARCHAR
   )`;

/** One kind of reason a run quarantined rows for: the reason with its quoted values elided, how often, one example. */
export interface QuarantineReason {
  source: string;
  reason: string;
  rows: number;
  example: string;
}

/**
 * A run's quarantine reasons by kind (each field's value elided: reasons read
 * `field: VALUE what failed`, several joined by "; "), most frequent first, at
 * most `perSource` per source: "date: … is not a timestamp" (560 rows, e.g. 'Aug 1 2004'),
 * so a summary shows why rows were refused without one line per row.
 */
export async function quarantineReasons(store: Pick<Store, "all">, runId: string, perSource = 3): Promise<QuarantineReason[]> {
  const rows = await store.all<{ source: string; reason: string; rows: bigint | number; example: string }>(
    `SELECT source, reason, rows, example FROM (
       SELECT source, reason, count(*) AS rows, min(example) AS example,
              row_number() OVER (PARTITION BY source ORDER BY count(*) DESC, reason) AS rank
       FROM (SELECT source, regexp_replace(reason, '(^|; )([^:;]+): (''([^'']|'''')*''|-?[0-9][^ ;]*|-?Infinity|NaN|null) ', '\\1\\2: … ', 'g') AS reason, reason AS example
             FROM fti_quarantine WHERE run_id = $run_id)
       GROUP BY source, reason)
     WHERE rank <= $per_source ORDER BY source, rank`,
    { run_id: runId, per_source: perSource },
  );
  return rows.map((r) => ({ source: r.source, reason: r.reason, rows: Number(r.rows), example: r.example }));
}
