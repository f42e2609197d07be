// The run log, `fti_runs`: one row per pipeline run (ok or failed) with its
// statistics as JSON. Created when the store opens; pipelines write it
// through `recordRun`.

import type { Store } from "./store.ts";

export const RUN_LOG_TABLE = `CREATE TABLE IF NOT EXISTS fti_runs (
     run_id VARCHAR NOT NULL,
     kind VARCHAR NOT NULL,
     spec VARCHAR,
     started_at TIMESTAMP NOT NULL,
     finished_at TIMESTAMP,
     status VARCHAR NOT NULL,
     stats JSON
   )`;

export interface RunRecord {
  runId: string;
  kind: string;
  spec: string;
  startedAt: Date;
  finishedAt: Date;
  status: "ok" | "failed";
  stats: unknown;
}

export async function recordRun(store: Store, run: RunRecord): Promise<void> {
  await store.run(
    `INSERT INTO fti_runs (run_id, kind, spec, started_at, finished_at, status, stats) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [run.runId, run.kind, run.spec, run.startedAt, run.finishedAt, run.status, JSON.stringify(run.stats)],
  );
}

/** A short id for a run: `<kind>-<yyyymmddThhmmss>-<random>`. */
export function newRunId(kind: string, at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "");
  return `${kind}-${stamp}-${Math.random().toString(36).slice(2, 8)}`;
}
