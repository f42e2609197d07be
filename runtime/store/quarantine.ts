// The quarantine, `fti_quarantine`: every row a pipeline rejected, with all
// its reasons and the row as read. Created when the store opens (any run may
// quarantine); features/sources.ts writes it.

import type { Store } from "./store.ts";

/** The table, and `reason_kind` added to stores made before it existed (their rows keep it NULL). */
export const QUARANTINE_DDL = [
  `CREATE TABLE IF NOT EXISTS fti_quarantine (
     run_id VARCHAR NOT NULL,
     source VARCHAR NOT NULL,
     row_number BIGINT,
     row_json JSON,
     reason VARCHAR NOT NULL,
     quarantined_at TIMESTAMP NOT NULL,
     file VARCHAR
   )`,
  // The reason with its values elided (`km: … fails check (> 0)`), written beside it: summaries group by it.
  "ALTER TABLE fti_quarantine ADD COLUMN IF NOT EXISTS reason_kind VARCHAR",
];

/** One kind of reason a run quarantined rows for: the reason with its quoted values elided, how often, one example. */
export interface QuarantineReason {
  source: string;
  reason: string;
  rows: number;
  example: string;
}

/**
 * A run's quarantine reasons by kind (`date: … is not a timestamp`, written
 * beside each reason; a row quarantined by a store older than that column is
 * its own kind), most frequent first, at most `perSource` per source, each
 * with one full reason as its example: why rows were refused, without one
 * line per row.
 */
export async function quarantineReasons(store: Pick<Store, "all">, runId: string, perSource = 3): Promise<QuarantineReason[]> {
  const rows = await store.all<{ source: string; reason: string; rows: bigint | number; example: string }>(
    `SELECT source, reason, rows, example FROM (
       SELECT source, coalesce(reason_kind, reason) AS reason, count(*) AS rows, min(reason) AS example,
              row_number() OVER (PARTITION BY source ORDER BY count(*) DESC, coalesce(reason_kind, reason)) AS rank
       FROM fti_quarantine WHERE run_id = $run_id
       GROUP BY source, coalesce(reason_kind, reason))
     WHERE rank <= $per_source ORDER BY source, rank`,
    { run_id: runId, per_source: perSource },
  );
  return rows.map((r) => ({ source: r.source, reason: r.reason, rows: Number(r.rows), example: r.example }));
}
