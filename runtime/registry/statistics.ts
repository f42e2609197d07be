// The training statistics of each model version, in their own table
// (`fti_model_statistics`, keyed like `fti_models`): written in the same
// transaction as the version, read with it by `getModel`. A separate table
// keeps stores made before statistics existed readable as they are.

import { z } from "zod";
import { UserError } from "../errors.ts";
import type { TrainingStatistics } from "../statistics/statistics.ts";
import { pathText } from "../path-text.ts";
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
  return rows.length ? checkedStatistics(model, version, rows[0].s) : null;
}

// Nullable numbers: a statistic of no values (an empty column's mean) is stored as null.
const num = z.number().nullable();
const column = z.looseObject({
  name: z.string(),
  type: z.string(),
  count: z.number(),
  nulls: z.number(),
  null_rate: num,
  numeric: z.looseObject({ mean: num, std: num, min: num, max: num, bins: z.looseObject({ edges: z.array(num), fractions: z.array(num) }), quantiles: z.array(num) }).optional(),
  categorical: z.looseObject({ top: z.array(z.looseObject({ value: z.string(), fraction: num })), other: num, distinct: num }).optional(),
});
const STATISTICS = z.looseObject({ features: z.array(column), label: column, predictions: column }).nullable();

/**
 * The stored text as statistics, or a UserError naming the row and what differs: `fti_model_statistics` is a
 * table anyone with the store can edit, and a `features` of another shape was a TypeError in `fti monitor`
 * and `fti models show` (exit 3).
 */
function checkedStatistics(model: string, version: number, text: string): TrainingStatistics | null {
  const r = STATISTICS.safeParse(JSON.parse(text));
  if (r.success) return r.data as TrainingStatistics | null;
  const issue = r.error.issues[0];
  throw new UserError(
    `model \`${model}\` version ${version}: its training statistics are not what fti writes: ${pathText(["statistics", ...issue.path])}: ${issue.message} (was the table ${STATISTICS_TABLE} edited?)`,
    "restore the row, or train a new version (`fti train`) and promote it",
  );
}
