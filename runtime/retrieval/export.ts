// `fti training-data`: a view's point-in-time training data as Parquet.
//
// The rows are those of the training frame (buildTrainingFrame), with the
// same values, but they never pass through JS as a whole: the spine and the
// PIT join stay in DuckDB (the joined table sorted into spine order as it is
// stored: the spine itself is not numbered, one sort instead of two), only the
// columns the ODTs read are read into JS, in slices of the spine, and the ODT
// values are appended, in the same order, to a temp table; one COPY puts the
// two side by side (POSITIONAL JOIN: no hash join, no sort) and writes the
// file in spine order. So the time and memory are those of the SQL, plus the
// ODTs' inputs and outputs.

import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { ColumnType, OdtPlan, Scalar, SpecBundle, ViewPlan } from "../api.ts";
import { findView } from "../bundle.ts";
import { cleanUp, type Store } from "../store/store.ts";
import { ident, sqlString, sqlType } from "../store/sql.ts";
import type { InputColumns } from "./columns.ts";
import { addOdtColumns } from "./odt-columns.ts";
import { buildSpine, pitJoin, type PitJoinResult, type SpineRange } from "./pit.ts";

/** Spine rows per read of the ODT inputs (default): bounds the JS memory whatever the spine's size. */
export const ODT_SLICE_ROWS = 262_144;

export interface ExportOptions extends SpineRange {
  /** Rows per slice of the ODT inputs read into JS (default ODT_SLICE_ROWS). */
  sliceRows?: number;
}

/**
 * Writes a view's training frame (keys, event_time, label, features, ODT
 * values, request fields) to a Parquet file, in spine order; returns the row count.
 */
export async function exportTrainingData(
  store: Store,
  bundle: SpecBundle,
  viewName: string,
  outPath: string,
  opts: ExportOptions = {},
): Promise<number> {
  const view = findView(bundle, viewName);
  const abs = resolve(outPath);
  mkdirSync(dirname(abs), { recursive: true });
  // One transaction: a consistent snapshot, and the temp tables stay private.
  return store.transaction(async () => {
    // One sort, of the joined rows into spine order, instead of one to number the spine and one to read it back.
    const spine = await buildSpine(store, bundle, view, { from: opts.from, to: opts.to, numbered: false });
    const odtTable = `__fti_export_odt_${view.name}`;
    let joined: PitJoinResult | undefined;
    try {
      joined = await pitJoin(store, bundle, view, spine.table, { asOf: view.asOf, orderBy: spine.order });
      const odts = view.odts.length ? await writeOdtColumns(store, view, joined, odtTable, opts.sliceRows ?? ODT_SLICE_ROWS) : false;
      const select = exportColumns(view, joined).map((c) => `${c.expr} AS ${ident(c.name)}`);
      const from = `${ident(joined.table)} AS p${odts ? ` POSITIONAL JOIN ${ident(odtTable)} AS o` : ""}`;
      await store.run(`COPY (SELECT ${select.join(", ")} FROM ${from}) TO ${sqlString(abs)} (FORMAT parquet)`);
      return joined.n;
    } finally {
      await cleanUp(
        store,
        `DROP TABLE IF EXISTS ${ident(odtTable)}`,
        ...(joined ? [`DROP TABLE IF EXISTS ${ident(joined.table)}`] : []),
        `DROP TABLE IF EXISTS ${ident(spine.table)}`,
      );
    }
  });
}

/**
 * The file's columns, in order: keys, event_time, the label (by its name),
 * the view's features, the ODT values, the request fields; a name already
 * taken (case-insensitively) is left out. Each typed from the plans, as
 * SELECT expressions over the joined table `p` and the ODT table `o`.
 * Timestamps are cut to the millisecond, as the training frame reads them.
 */
function exportColumns(view: ViewPlan, joined: PitJoinResult): Array<{ name: string; expr: string }> {
  const out: Array<{ name: string; expr: string }> = [];
  const seen = new Set<string>();
  const add = (name: string, expr: string) => {
    if (seen.has(name.toLowerCase())) return;
    seen.add(name.toLowerCase());
    out.push({ name, expr });
  };
  const typed = (source: string, type: ColumnType) =>
    type === "timestamp" ? `date_trunc('millisecond', CAST(${source} AS TIMESTAMP))` : `CAST(${source} AS ${sqlType(type)})`;
  for (const k of view.keys) add(k.name, typed(`p.${ident(k.name)}`, k.type));
  add("event_time", "p.__t");
  add(view.label.name, "p.__label");
  const inJoin = new Map(joined.features.map((f) => [f.name, f.type]));
  for (const f of view.features) if (inJoin.has(f.name)) add(f.name, typed(`p.${ident(f.name)}`, f.type));
  for (const odt of view.odts) add(odt.name, `o.${ident(odt.name)}`);
  for (const f of view.requestFields) add(f.name, typed(`p.${ident(f.name)}`, f.type));
  for (const [name, type] of inJoin) add(name, typed(`p.${ident(name)}`, type));
  return out;
}

/**
 * Computes the ODTs over the joined rows (stored in spine order: row ids
 * 0..n−1), slice by slice, appending one row per spine row, in
 * order, to the temp table `table` (one column per ODT, typed by its return
 * type). Inputs are read as the training frame reads them (timestamps as ISO
 * strings, nulls as null), so the values equal the frame's.
 */
async function writeOdtColumns(store: Store, view: ViewPlan, joined: PitJoinResult, table: string, sliceRows: number): Promise<true> {
  if (!Number.isInteger(sliceRows) || sliceRows < 1) throw new Error(`training-data export: slice size must be a positive integer, got ${sliceRows}`);
  const defs = view.odts.map((o) => `${ident(o.name)} ${sqlType(o.returns.type)}`);
  await store.run(`DROP TABLE IF EXISTS ${ident(table)}`);
  await store.run(`CREATE TEMP TABLE ${ident(table)} (${defs.join(", ")})`);
  const have = new Set((await store.tableColumns(joined.table)).map((c) => c.name));
  const inputs = odtInputs(view.odts).filter((c) => have.has(c));
  // Row ids of a table written in this transaction start at a large base (DuckDB's transaction-local
  // storage): number from it, and check the ids are one contiguous run.
  const [ids] = await store.all<{ base: string | null; span: number; n: number }>(
    `SELECT min(rowid)::VARCHAR AS base, (max(rowid) - min(rowid) + 1)::DOUBLE AS span, count(*)::DOUBLE AS n FROM ${ident(joined.table)}`,
  );
  if (ids.n !== joined.n || (ids.n > 0 && ids.span !== ids.n) || (ids.base !== null && !/^-?\d+$/.test(ids.base))) {
    throw new Error(`training-data export: the joined table's ${ids.n} rows are not numbered 0..${joined.n - 1} (span ${ids.span})`);
  }
  const row = `(rowid - ${ids.base ?? 0}::BIGINT)`;
  for (let from = 0; from < joined.n; from += sliceRows) {
    const to = Math.min(joined.n, from + sliceRows);
    const res = await store.readColumns(
      `SELECT ${row} AS __row${inputs.map((c) => `, ${ident(c)}`).join("")} FROM ${ident(joined.table)} WHERE ${row} >= ${from} AND ${row} < ${to} ORDER BY rowid`,
      undefined,
      { float64: ["__row"], timestamps: "iso" },
    );
    // The positional join in the COPY needs exactly the rows from..to−1, in order.
    const sid = res.columns.__row as Float64Array;
    if (res.n !== to - from || (res.n > 0 && (sid[0] !== from || sid[res.n - 1] !== to - 1))) {
      throw new Error(`training-data export: read ${res.n} joined rows for spine rows ${from}..${to - 1}`);
    }
    const columns: InputColumns = {};
    for (const c of inputs) columns[c] = res.columns[c] as Scalar[];
    addOdtColumns(view.odts, columns, res.n, from);
    const rows: Record<string, ArrayLike<unknown>> = {};
    for (const o of view.odts) rows[o.name] = columns[o.name] as Scalar[];
    await store.appendColumns(table, rows);
  }
  return true;
}

/** The columns the ODTs read: request fields, and features by their frame name ("group.feature" → "feature"). */
function odtInputs(odts: readonly OdtPlan[]): string[] {
  const names = new Set<string>();
  for (const o of odts) {
    for (const p of o.requestParams) names.add(p.name);
    for (const f of o.featureParams) names.add(f.includes(".") ? f.split(".", 2)[1] : f);
  }
  return [...names];
}
