// What a batch run writes: the predictions and the rejects, each with the
// input's row number and every input column (in the input's order), into a
// table (kept across runs) and optionally a Parquet file (in input order).
// A prediction also carries the model inputs it was computed from
// (`input_<name>`, batch-inputs.ts), which `fti monitor` compares with training.
//
// The predictions table holds history: a run replaces this model's earlier
// predictions for the same as-of time (one as-of time), or for the same
// (keys, as-of) pairs (a time column). The rejects table holds the rejects of
// each model's latest run. A column a run brings that the table lacks is
// added to it.

import type { ModelPlan, ViewPlan } from "../api.ts";
import { UserError } from "../errors.ts";
import { type Store } from "../store/store.ts";
import { ident, sqlString, tableRef } from "../store/sql.ts";
import type { EntitySpine } from "../retrieval/entity-spine.ts";
import { inputColumnsSelect } from "./batch-inputs.ts";
import type { Predictor } from "./predictor.ts";

export interface OutputTargets {
  table: string;
  rejectsTable: string;
  parquet?: string;
  rejectsParquet?: string;
  /** How earlier predictions are replaced: by the one as-of time, or by (keys, as_of) pairs. */
  replace: "as_of" | "keys_and_time";
}

/**
 * Writes the scored rows of the spine (those not in the rejects) and the
 * rejects. `predTable` holds (__sid, prediction).
 */
export async function writeBatchOutput(
  store: Store,
  view: ViewPlan,
  plan: ModelPlan,
  predictor: Predictor,
  spine: EntitySpine,
  predTable: string,
  targets: OutputTargets,
): Promise<void> {
  const typed = new Set([...view.keys, ...view.requestFields].map((c) => c.name));
  const carried = spine.input.columns.map((c) => (typed.has(c) ? `s.${ident(c)}` : `i.${ident(c)}`) + ` AS ${ident(c)}`);
  const model = sqlString(predictor.model);
  const out = `${spine.table}_out`;
  const rejects = `${spine.table}_rej`;
  await store.run(`DROP TABLE IF EXISTS ${ident(out)}`);
  await store.run(
    `CREATE TEMP TABLE ${ident(out)} AS
       SELECT s.__row AS row_number, ${carried.join(", ")}, s.__t AS as_of, ${model} AS model, ${predictor.version} AS version,
              CASE WHEN isnan(p.prediction) THEN NULL ELSE p.prediction END AS prediction, ${inputColumnsSelect(plan, "p").join(", ")}
         FROM ${ident(spine.table)} AS s
         JOIN ${ident(predTable)} AS p ON s.__sid = p.__sid
         JOIN ${ident(spine.input.table)} AS i ON i.__row = s.__row
         ANTI JOIN ${ident(spine.invalid.table)} AS r ON r.__row = s.__row
        ORDER BY s.__row`,
  );
  // Rejects carry the input as given, as text: it may not convert to the spec's types.
  const asText = spine.input.columns.map((c) => `CAST(i.${ident(c)} AS VARCHAR) AS ${ident(c)}`);
  await store.run(`DROP TABLE IF EXISTS ${ident(rejects)}`);
  await store.run(
    `CREATE TEMP TABLE ${ident(rejects)} AS
       SELECT r.__row AS row_number, ${asText.join(", ")}, r.__t AS as_of, ${model} AS model, ${predictor.version} AS version,
              r.status, r.code, r.reason, r.fields
         FROM ${ident(spine.invalid.table)} AS r JOIN ${ident(spine.input.table)} AS i ON i.__row = r.__row
        ORDER BY r.__row`,
  );
  try {
    await appendToTable(store, out, targets.table, replacePredictions(view, targets, model, out));
    await appendToTable(store, rejects, targets.rejectsTable, `DELETE FROM ${tableRef(targets.rejectsTable)} WHERE model = ${model}`);
    if (targets.parquet) await store.run(`COPY (SELECT * FROM ${ident(out)} ORDER BY row_number) TO ${sqlString(targets.parquet)} (FORMAT parquet)`);
    if (targets.rejectsParquet) {
      await store.run(`COPY (SELECT * FROM ${ident(rejects)} ORDER BY row_number) TO ${sqlString(targets.rejectsParquet)} (FORMAT parquet)`);
    }
  } finally {
    await store.run(`DROP TABLE IF EXISTS ${ident(out)}`);
    await store.run(`DROP TABLE IF EXISTS ${ident(rejects)}`);
  }
}

/** The DELETE of the earlier predictions this run replaces. */
function replacePredictions(view: ViewPlan, targets: OutputTargets, model: string, out: string): string {
  const t = tableRef(targets.table);
  if (targets.replace === "as_of") return `DELETE FROM ${t} WHERE model = ${model} AND as_of IN (SELECT DISTINCT as_of FROM ${ident(out)})`;
  const same = [...view.keys.map((k) => ident(k.name)), "as_of"].map((c) => `${t}.${c} = o.${c}`);
  return `DELETE FROM ${t} USING ${ident(out)} AS o WHERE ${t}.model = ${model} AND ${same.join(" AND ")}`;
}

/** Creates `table` like `temp` if needed, adds the columns it lacks, runs the `replace` DELETE, inserts by name. */
async function appendToTable(store: Store, temp: string, table: string, replace: string): Promise<void> {
  const parts = table.split(".");
  if (parts.length > 1) await store.run(`CREATE SCHEMA IF NOT EXISTS ${ident(parts[0])}`);
  const columns = await store.tableColumns(temp);
  if (!(await store.tableExists(table))) {
    await store.run(`CREATE TABLE ${tableRef(table)} AS SELECT * FROM ${ident(temp)} LIMIT 0`);
  }
  const have = new Set((await store.tableColumns(table)).map((c) => c.name.toLowerCase()));
  for (const c of columns) {
    if (!have.has(c.name.toLowerCase())) await store.run(`ALTER TABLE ${tableRef(table)} ADD COLUMN ${ident(c.name)} ${c.type}`);
  }
  try {
    await store.run(replace);
    await store.run(`INSERT INTO ${tableRef(table)} BY NAME SELECT * FROM ${ident(temp)}`);
  } catch (e) {
    throw new UserError(
      `cannot write to ${table}: ${(e as Error).message.split("\n")[0]}`,
      "an earlier run wrote columns of other types there; write to another table with --out",
    );
  }
}
