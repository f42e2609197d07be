// `fti training-data`: a view's point-in-time training data as Parquet.
//
// The rows are those of the training frame (buildTrainingFrame), with the
// same values, written by ONE streaming statement: COPY (spine query ASOF
// JOIN the groups, the ODTs as SQL macros where they have an exact SQL form,
// else as DuckDB scalar functions calling the generated `compute` chunk by
// chunk, ORDER BY the spine's order unless asked for no order) TO the file. Nothing
// is stored on the way (no spine table, no joined table): the memory is that
// of the join and the final sort, which DuckDB spills past its memory_limit.

import { renameSync, rmSync } from "node:fs";
import os from "node:os";
import type { ColumnType, SpecBundle, ViewPlan } from "../api.ts";
import { findView } from "../bundle.ts";
import type { Store } from "../store/store.ts";
import { ident, sqlString, sqlType } from "../store/sql.ts";
import { UserError } from "../errors.ts";
import { checkOutputFile } from "../output-file.ts";
import { withLowerMemoryLimit, type ReapplyLimit } from "../store/memory-limit.ts";
import { byteSize } from "../store/byte-size.ts";
import { EXPORT_MEMORY_LIMIT, exportMemoryFor } from "./export-memory.ts";
import { odtCalls, type OdtInput, type OdtMode } from "./odt-sql.ts";
import { pitSelect, spineBounds, spineQuery, type PitSelect, type SpineRange } from "./pit.ts";

export interface ExportOptions extends SpineRange {
  /**
   * DuckDB's memory_limit while the COPY runs, at most (a lower limit of the
   * store stays); null: the store's own. Default: exportMemoryFor the file's columns.
   */
  memoryLimit?: string | null;
  /** How the ODTs are computed: "auto" (default) in SQL where their plan has an exact SQL form; "js": every one by its `compute`. */
  odts?: OdtMode;
  /**
   * The rows in whatever order the join gives them (it changes from run to
   * run) instead of spine order: the same rows, without the sort into spine
   * order (`fti training-data --unordered`). Default false.
   */
  unordered?: boolean;
  /**
   * The caller closes the store right after (`fti training-data`): the store's
   * own memory_limit is not set back after the COPY. Setting it makes DuckDB
   * flush its allocator — handing back the ~700 MB the 3 M-event export used,
   * 0.1–0.4 s of wall — which the store's close does anyway (docs/benchmarks.md,
   * "Fifteenth session: export"). Default false: the store's limit is set back.
   */
  closingStore?: boolean;
}

export { EXPORT_MEMORY_LIMIT };

/**
 * Writes a view's training frame (keys, event_time, label, features, ODT
 * values, request fields) to a Parquet file, in spine order (or, `unordered`,
 * in the join's order); returns the row count.
 */
export async function exportTrainingData(
  store: Store,
  bundle: SpecBundle,
  viewName: string,
  outPath: string,
  opts: ExportOptions = {},
): Promise<number> {
  const view = findView(bundle, viewName);
  const abs = checkOutputFile(outPath, "--out", store.path);
  // One transaction: a consistent snapshot; the memory cap set around it (a failed statement aborts the transaction).
  const cap = opts.memoryLimit === undefined ? exportMemoryFor(outputColumns(view), os.totalmem()) : opts.memoryLimit;
  return withMemoryLimit(store, cap, opts.closingStore === true, (reapply) => store.transaction(async () => {
    const spine = await spineQuery(store, bundle, view, opts);
    const relation = `(${spine.sql})`;
    const columns = ["__t", "__label", ...view.keys.map((k) => k.name), ...view.requestFields.map((f) => f.name)];
    const pit = await pitSelect(store, bundle, view, { relation, columns, ...(await spineBounds(store, relation)) }, view.asOf);
    const select = (await exportColumns(store, view, pit, opts.odts ?? "auto")).map((c) => `${c.expr} AS ${ident(c.name)}`);
    // The first export after a feature run has just built the group's facts and tie winners (pitSelect):
    // DuckDB's allocator keeps what they freed (~120 MB at 3 M events), and a fast COPY grew on top of it
    // (1,021 MB against 907 MB for a later export). Setting the cap again hands it back (~1–40 ms).
    await reapply();
    // The sort into spine order is what the export costs beyond an unordered ASOF join + COPY (docs/benchmarks.md).
    const order = opts.unordered ? "" : ` ORDER BY ${spine.orderColumns.map((c) => `p.${c}`).join(", ")}`;
    // Written beside the target and renamed: a failure (an ODT that throws) leaves no partial file.
    const part = `${abs}.${process.pid}.part`;
    try {
      const copy = `COPY (SELECT ${select.join(", ")} FROM (${pit.sql}) AS p${order}) TO ${sqlString(part)} (FORMAT parquet)`;
      const [r] = await store.all<{ Count: number | bigint }>(copy);
      renameSync(part, abs);
      return Number(r.Count);
    } finally {
      rmSync(part, { force: true });
    }
  })).catch((e: Error) => {
    throw /out of memory/i.test(e.message) ? outOfMemory(e, cap) : e;
  });
}

/** How many columns the file has: the names exportColumns writes, a repeated one once. */
function outputColumns(view: ViewPlan): number {
  const names = [...view.keys.map((k) => k.name), "event_time", view.label.name, ...view.features.map((f) => f.name), ...view.odts.map((o) => o.name), ...view.requestFields.map((f) => f.name)];
  return new Set(names.map((n) => n.toLowerCase())).size;
}

/** DuckDB could not do the COPY within its memory_limit (a cap too low for the join's working blocks). */
function outOfMemory(e: Error, cap: string | null): UserError {
  return new UserError(
    `the export ran out of memory${cap ? ` within its memory limit of ${cap}` : ""}: ${e.message.split("\n")[0]}`,
    cap ? "give it more with --memory-limit (e.g. 1GB, or off for the store's own limit)" : "the store's own memory_limit is too low for this export: open it with more",
  );
}

/**
 * The file's columns, in order: keys, event_time, the label (by its name),
 * the view's features, the ODT values, the request fields; a name already
 * taken (case-insensitively) is left out. Each typed from the plans, as
 * SELECT expressions over the joined rows `p`; the ODTs are calls of their
 * macros or scalar functions (odt-sql.ts) over the request fields and features of `p`.
 * Timestamps are cut to the millisecond, as the training frame reads them.
 */
async function exportColumns(store: Store, view: ViewPlan, joined: PitSelect, odts: OdtMode): Promise<Array<{ name: string; expr: string }>> {
  const out: Array<{ name: string; expr: string }> = [];
  const seen = new Set<string>();
  const add = (name: string, expr: string) => {
    if (seen.has(name.toLowerCase())) return;
    seen.add(name.toLowerCase());
    out.push({ name, expr });
  };
  const typed = (source: string, type: ColumnType) =>
    type === "timestamp" ? `date_trunc('millisecond', CAST(${source} AS TIMESTAMP))` : `CAST(${source} AS ${sqlType(type)})`;
  // The spine's keys and request fields are already of their types (spineQuery casts them): a
  // plain reference, which the ORDER BY then shares, so the sort carries each of them once.
  const spineColumn = (name: string, type: ColumnType) => (type === "timestamp" ? typed(`p.${ident(name)}`, type) : `p.${ident(name)}`);
  for (const k of view.keys) add(k.name, spineColumn(k.name, k.type));
  add("event_time", "p.__t");
  add(view.label.name, "p.__label");
  const inJoin = new Map(joined.features.map((f) => [f.name, f.type]));
  for (const f of view.features) if (inJoin.has(f.name)) add(f.name, typed(`p.${ident(f.name)}`, f.type));
  for (const c of await odtCalls(store, view, odtInputs(view, joined), odts)) add(c.odt.name, c.sql);
  for (const f of view.requestFields) add(f.name, spineColumn(f.name, f.type));
  for (const [name, type] of inJoin) add(name, typed(`p.${ident(name)}`, type));
  return out;
}

/** What the ODTs may read, by frame name (as the frame holds them): the request fields and the features, as columns of `p`. */
function odtInputs(view: ViewPlan, joined: PitSelect): Map<string, OdtInput> {
  const inputs = new Map<string, OdtInput>();
  const add = (name: string, type: ColumnType) => inputs.set(name, { type, expr: `p.${ident(name)}` });
  for (const f of view.requestFields) add(f.name, f.type);
  for (const f of joined.features) add(f.name, f.type);
  return inputs;
}

/** Runs `fn` under the export's memory cap (store/memory-limit.ts), kept after it when the store closes next; null: the store's own limit. */
async function withMemoryLimit<T>(store: Store, limit: string | null, keep: boolean, fn: (reapply: ReapplyLimit) => Promise<T>): Promise<T> {
  if (limit === null) return fn(async () => {});
  const wanted = byteSize(limit);
  if (wanted === null || wanted <= 0) throw new UserError(`memory limit \`${limit}\` is not a size`, "write it as DuckDB does, e.g. 640MB or 2GB");
  return withLowerMemoryLimit(store, limit, fn, { keep });
}
