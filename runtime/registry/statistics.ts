// The training statistics of each model version, in their own table
// (`fti_model_statistics`, keyed like `fti_models`): written in the same
// transaction as the version, read with it by `getModel`. A separate table
// keeps stores made before statistics existed readable as they are.

import type { TrainingStatistics } from "../statistics/statistics.ts";
import type { Store } from "../store/store.ts";

export const STATISTICS_TABLE = "fti_model_statistics";

/** Inside the caller's transaction: stores one version's statistics (JSON text). */
export async function writeStatistics(store: Store, model: string, version: number, json: string): Promise<void> {
  await store.run(
    `CREATE TABLE IF NOT EXISTS ${STATISTICS_TABLE} (model VARCHAR NOT NULL, version INTEGER NOT NULL, statistics JSON NOT NULL, PRIMARY KEY (model, version))`,
  );
  await store.run(`INSERT INTO ${STATISTICS_TABLE} (model, version, statistics) VALUES (?, ?, ?)`, [model, version, json]);
}

/** One version's statistics, or null (none stored, or a store without the table). */
export async function readStatistics(store: Store, model: string, version: number): Promise<TrainingStatistics | null> {
  if (!(await store.tableExists(STATISTICS_TABLE))) return null;
  const rows = await store.all<{ s: string }>(
    `SELECT CAST(statistics AS VARCHAR) AS s FROM ${STATISTICS_TABLE} WHERE model = ? AND version = ?`,
    [model, version],
  );
  return rows.length ? (JSON.parse(rows[0].s) as TrainingStatistics) : null;
}
