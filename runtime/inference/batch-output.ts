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

import { renameSync, rmSync } from "node:fs";
import type { ModelPlan, ViewPlan } from "../api.ts";
import { UserError } from "../errors.ts";
import { cleanUp, type Store } from "../store/store.ts";
import { ident, sqlString, tableRef } from "../store/sql.ts";
import type { EntitySpine } from "../retrieval/entity-spine.ts";
import { inputColumnsSelect } from "./batch-inputs.ts";
import { classSelect } from "./class-output.ts";
import type { Predictor } from "./predictor.ts";

/** The error of a score paired with another row than its own: a bug, never the user's (not a UserError). */
const MISALIGNED = "batch inference: the scores and the joined rows are out of step at spine row ";

export interface OutputTargets {
  table: string;
  rejectsTable: string;
  parquet?: string;
  rejectsParquet?: string;
  /** How earlier predictions are replaced: by the one as-of time, or by (keys, as_of) pairs. */
  replace: "as_of" | "keys_and_time";
}

/** Where the scored rows come from: (__sid, prediction, staged inputs) row by row as the joined table stores its rows, the joined table, which inputs are staged. */
export interface ScoredTables {
  pred: string;
  joined: string;
  staged: readonly number[];
}

/** Parquet files written beside their targets: `publish` (renames them into place) once the store has committed, else `discard`. */
export interface StagedFiles {
  publish(): void;
  discard(): void;
}

/**
 * Writes the scored rows of the spine (those not in the rejects) and the
 * rejects. The predictions go to their table in one `INSERT … SELECT` from
 * the joined table and the scores (the input table only for the columns it
 * carries untyped), the rejects in one from the invalid rows; a temp table of
 * either only when a Parquet file is written too. The Parquet files are only
 * staged: the caller publishes them after its transaction commits, so a
 * failed commit leaves the earlier files with the earlier rows.
 */
export async function writeBatchOutput(
  store: Store,
  view: ViewPlan,
  plan: ModelPlan,
  predictor: Predictor,
  spine: EntitySpine,
  scored: ScoredTables,
  targets: OutputTargets,
): Promise<StagedFiles> {
  const typed = new Set([...view.keys, ...view.requestFields].map((c) => c.name));
  // The joined table holds every spine column (__row, __t, the keys and request fields in their spec types).
  const carried = spine.input.columns.map((c) => (typed.has(c) ? `j.${ident(c)}` : `i.${ident(c)}`) + ` AS ${ident(c)}`);
  const untyped = spine.input.columns.some((c) => !typed.has(c));
  const model = sqlString(predictor.model);
  // The scores were appended in the joined table's storage order (batch.ts): joined by position,
  // no hash join. Each pair's __sid must agree, else the statement fails (never a score on another row).
  const misaligned = `error(${sqlString(MISALIGNED)} || j.__sid)`;
  const outOfStep = "j.__sid IS DISTINCT FROM p.__sid";
  // multiclass: the class, its probability and every class's (class-output.ts)
  const prediction = predictor.classes
    ? classSelect(predictor.classes, "p", outOfStep, misaligned).join(",\n              ")
    : `CASE WHEN ${outOfStep} THEN ${misaligned}::DOUBLE
                   WHEN isnan(p.prediction) THEN NULL ELSE p.prediction END AS prediction`;
  // No input column at all: a run without an entities file over a view without keys (one series).
  const outSelect = `SELECT ${["j.__row AS row_number", ...carried].join(", ")}, j.__t AS as_of, ${model} AS model, ${predictor.version} AS version,
              ${prediction},
              ${inputColumnsSelect(plan, scored.staged, "p", "j").join(", ")}
         FROM ${ident(scored.joined)} AS j
         POSITIONAL JOIN ${ident(scored.pred)} AS p
         ${untyped ? `JOIN ${ident(spine.input.table)} AS i ON i.__row = j.__row` : ""}
         ANTI JOIN ${ident(spine.invalid.table)} AS r ON r.__row = j.__row
        ORDER BY j.__row`;
  // The spine rows written (not rejected): what a re-run replaces.
  const written = `(SELECT s.* FROM ${ident(spine.table)} AS s ANTI JOIN ${ident(spine.invalid.table)} AS r ON r.__row = s.__row)`;
  // Rejects carry the input as given, as text: it may not convert to the spec's types.
  const asText = spine.input.columns.map((c) => `CAST(i.${ident(c)} AS VARCHAR) AS ${ident(c)}`);
  const rejectsSelect = `SELECT ${["r.__row AS row_number", ...asText].join(", ")}, r.__t AS as_of, ${model} AS model, ${predictor.version} AS version,
              r.status, r.code, r.reason, r.fields
         FROM ${ident(spine.invalid.table)} AS r JOIN ${ident(spine.input.table)} AS i ON i.__row = r.__row
        ORDER BY r.__row`;
  const out = `${spine.table}_out`;
  const rejects = `${spine.table}_rej`;
  try {
    // Each result goes straight into its table, unless it is also written to a Parquet file: then once into a temp table.
    const source = targets.parquet ? await materialize(store, out, outSelect) : outSelect;
    const rejectsSource = targets.rejectsParquet ? await materialize(store, rejects, rejectsSelect) : rejectsSelect;
    await appendToTable(store, source, targets.table, replacePredictions(view, targets, model, written));
    await appendToTable(store, rejectsSource, targets.rejectsTable, `DELETE FROM ${tableRef(targets.rejectsTable)} WHERE model = ${model}`);
    const files = [
      ...(targets.parquet ? [{ table: out, file: targets.parquet }] : []),
      ...(targets.rejectsParquet ? [{ table: rejects, file: targets.rejectsParquet }] : []),
    ];
    return await stageParquetFiles(store, files);
  } finally {
    // After a failure the transaction is aborted and these would fail too: the failure is what to report.
    await cleanUp(store, `DROP TABLE IF EXISTS ${ident(out)}`, `DROP TABLE IF EXISTS ${ident(rejects)}`);
  }
}

/**
 * Each table to its Parquet file, written beside it (`.part`) and renamed by `publish` once all are whole and
 * the store committed: a failed write (a full disk) left an empty file at a new target, DuckDB's tmp_ file
 * beside an existing one, and a predictions file of this run beside the rejects file of the last; a failed
 * commit left this run's files beside the last run's rows. Now the earlier files stay and nothing is left.
 */
async function stageParquetFiles(store: Store, files: Array<{ table: string; file: string }>): Promise<StagedFiles> {
  const part = (file: string) => `${file}.${process.pid}.part`;
  const discard = () => {
    // What is left of a failed write; a failure to remove it must not hide the write's own error.
    for (const { file } of files) {
      try {
        rmSync(part(file), { force: true });
      } catch {
        // not a file (nothing fti wrote)
      }
    }
  };
  try {
    for (const { table, file } of files) await store.run(`COPY (SELECT * FROM ${ident(table)} ORDER BY row_number) TO ${sqlString(part(file))} (FORMAT parquet)`);
  } catch (e) {
    discard();
    throw e;
  }
  return {
    publish: () => {
      try {
        for (const { file } of files) renameSync(part(file), file);
      } finally {
        discard();
      }
    },
    discard,
  };
}

/** `select` stored as temp table `name`; returns a SELECT of it. */
async function materialize(store: Store, name: string, select: string): Promise<string> {
  await store.run(`DROP TABLE IF EXISTS ${ident(name)}`);
  await store.run(`CREATE TEMP TABLE ${ident(name)} AS ${select}`);
  return `SELECT * FROM ${ident(name)}`;
}

/** The DELETE of the earlier predictions this run replaces (`written`: a relation of the spine rows written, with `__t` and the keys). */
function replacePredictions(view: ViewPlan, targets: OutputTargets, model: string, written: string): string {
  const t = tableRef(targets.table);
  if (targets.replace === "as_of") return `DELETE FROM ${t} WHERE model = ${model} AND as_of IN (SELECT DISTINCT __t FROM ${written})`;
  const same = [...view.keys.map((k) => `${t}.${ident(k.name)} = o.${ident(k.name)}`), `${t}.as_of = o.__t`];
  return `DELETE FROM ${t} USING ${written} AS o WHERE ${t}.model = ${model} AND ${same.join(" AND ")}`;
}

/** Creates `table` like the rows of `select` if needed, adds the columns it lacks, runs the `replace` DELETE, inserts by name. */
async function appendToTable(store: Store, select: string, table: string, replace: string): Promise<void> {
  const parts = table.split(".");
  if (parts.length > 1) await store.run(`CREATE SCHEMA IF NOT EXISTS ${ident(parts[0])}`);
  const columns = (await store.all<{ column_name: string; column_type: string }>(`DESCRIBE ${select}`)).map((c) => ({
    name: c.column_name,
    type: c.column_type,
  }));
  if (!(await store.tableExists(table))) {
    await store.run(`CREATE TABLE ${tableRef(table)} AS ${select} LIMIT 0`);
  }
  const have = new Set((await store.tableColumns(table)).map((c) => c.name.toLowerCase()));
  for (const c of columns) {
    if (!have.has(c.name.toLowerCase())) await store.run(`ALTER TABLE ${tableRef(table)} ADD COLUMN ${ident(c.name)} ${c.type}`);
  }
  try {
    await store.run(replace);
    await store.run(`INSERT INTO ${tableRef(table)} BY NAME ${select}`);
  } catch (e) {
    if ((e as Error).message.includes(MISALIGNED)) throw e;
    throw new UserError(
      `cannot write to ${table}: ${(e as Error).message.split("\n")[0]}`,
      "an earlier run wrote columns of other types there; write to another table with --out",
    );
  }
}
