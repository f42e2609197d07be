// The input of one source as a relation the validation passes read: the data
// columns as the file (or table) has them, plus `__fti_file` (the file the row
// came from, NULL for a table) and `__fti_pos` (its position). Read order is
// ORDER BY __fti_file, __fti_pos.
//
// Parquet is read in place, through a view with its own column types: the
// passes over it read only the columns they need, and nothing is copied.
// csv and ndjson are parsed once into a temp table (all text), and a table
// source is copied into one, so that every pass sees the same rows.

import { statSync } from "node:fs";
import type { SourcePlan, SpecBundle } from "../api.ts";
import { UserError } from "../errors.ts";
import { cleanUp, type Store } from "../store/store.ts";
import { ident, sqlString, tableRef } from "../store/sql.ts";
import { shiftedRow, stageCsv, writeShiftTable, type CsvReject } from "./csv-input.ts";
import { notUtf8Files, stageNdjsonLines } from "./ndjson-lines.ts";

export interface SourceInput {
  /** The relation: a temp view or temp table name (already quoted). */
  relation: string;
  /** The data columns (not `__fti_file` / `__fti_pos`), in file order, with their DuckDB types. */
  columns: Array<{ name: string; type: string }>;
  /** Files read (absolute), or the table name for a table source. */
  files: string[];
  /** ndjson: one `json` column per row, fields are read with `->>`. */
  ndjson: boolean;
  /** ndjson: every key the objects have, to match fields to (column-match.ts); absent: fields are read by their own names. */
  keys?: string[];
  /**
   * True when `__fti_pos` counts across the files (a staged copy: its rowid), false when it
   * restarts in each file (Parquet read in place: the row's position in its file).
   */
  positionAcrossFiles: boolean;
  /**
   * A relation of `__fti_file`, `__fti_pos` and the data columns `names` (by their names), read
   * without the view `relation` where a staged table can be read itself: binding a view of every
   * column cost ~3 s of CPU per statement for a CSV of 50,000 columns. Absent: read through `relation`.
   */
  readColumns?(names: string[]): string;
  /** SQL of the 1-based row number within its file of the row at (file, pos): pass qualified column references. */
  rowNumber(file: string, pos: string): string;
  /** True when the relation reads the files themselves (Parquet), not a staged copy: every read of it reads them again. */
  inPlace?: boolean;
  /** Files read in place (Parquet) that changed since opened: the passes may disagree. */
  changedFiles(): string[];
  /** Lines that could not be parsed (csv, and ndjson read line by line): quarantined with their row number and reason. */
  rejects: CsvReject[];
  /** Drops the temp objects. */
  close(): Promise<void>;
}

/** Columns the Parquet reader adds; a file that has one of its own is staged instead. */
const PARQUET_EXTRA = ["__fti_file", "__fti_pos", "file_row_number"];

/**
 * Opens the input of `plan`: a UserError when a file cannot be read or a
 * table does not exist.
 */
export async function openSourceInput(store: Store, bundle: SpecBundle, plan: SourcePlan, files: string[]): Promise<SourceInput> {
  const where = `source \`${plan.name}\` (${bundle.file}:${plan.line})`;
  const list = `[${files.map(sqlString).join(", ")}]`;
  const cannotRead = (e: unknown) => {
    const first = ((e as Error).message ?? String(e)).split("\n")[0];
    return new UserError(`${where}: cannot read ${files.join(", ")}: ${first}`);
  };

  if (plan.location.kind === "files" && plan.location.format === "parquet") {
    const plain = `read_parquet(${list}, union_by_name = true)`;
    let cols: Array<{ name: string; type: string }>;
    try {
      cols = await describe(store, `SELECT * FROM ${plain}`);
    } catch (e) {
      throw cannotRead(e);
    }
    if (!cols.some((c) => PARQUET_EXTRA.includes(c.name.toLowerCase()))) {
      const view = ident(`__fti_in_${plan.name}`);
      const reader = `read_parquet(${list}, filename = '__fti_file', file_row_number = true, union_by_name = true)`;
      try {
        await store.run(
          `CREATE OR REPLACE TEMP VIEW ${view} AS SELECT * EXCLUDE (file_row_number), file_row_number AS __fti_pos FROM ${reader}`,
        );
      } catch (e) {
        throw cannotRead(e);
      }
      const before = files.map(fileStamp);
      return {
        relation: view,
        columns: cols,
        files,
        ndjson: false,
        inPlace: true,
        positionAcrossFiles: false,
        rowNumber: (_file, pos) => `(${pos} + 1)`,
        changedFiles: () => files.filter((f, i) => fileStamp(f) !== before[i]),
        rejects: [],
        close: () => cleanUp(store, `DROP VIEW IF EXISTS ${view}`),
      };
    }
    return stage(store, plan, files, `read_parquet(${list}, filename = '__fti_file', union_by_name = true)`, false, cannotRead);
  }

  if (plan.location.kind === "files" && plan.location.format === "csv") return stageCsvInput(store, plan, files, where, cannotRead);
  if (plan.location.kind === "files") {
    // format 'auto': one object per line, or a JSON array of objects (how many public data sets ship).
    // A malformed line reads as NULL (ignore_errors; a malformed array still fails the read), bytes that are
    // not UTF-8 as U+FFFD: then the files are read again line by line (ndjson-lines.ts), so such a line is
    // quarantined with its number and text.
    const input = await stage(store, plan, files, `read_json_objects(${list}, format = 'auto', ignore_errors = true, filename = '__fti_file')`, true, cannotRead);
    // U+FFFD: how DuckDB reads bytes that are not UTF-8 — or the character itself: the files' bytes tell.
    const [odd] = await store.all<{ n: number; replaced: string[] | null }>(
      `SELECT count(*) FILTER (WHERE json_type(json) IS DISTINCT FROM 'OBJECT') AS n,
              list(DISTINCT __fti_file) FILTER (WHERE contains(CAST(json AS VARCHAR), '\uFFFD')) AS replaced
         FROM ${input.relation}`,
    );
    const notUtf8 = await notUtf8Files(odd.replaced ?? []);
    if (Number(odd.n) === 0 && notUtf8.length === 0) return withObjectKeys(store, input);
    await input.close();
    return withObjectKeys(store, await stageNdjsonLines(store, plan.name, files));
  }

  const table = plan.location.table;
  if (!(await store.tableExists(table))) {
    throw new UserError(`${where}: table ${table} does not exist in the store ${store.path}`);
  }
  return stage(store, plan, files, `(SELECT *, NULL::VARCHAR AS __fti_file FROM ${tableRef(table)})`, false, cannotRead);
}

/** Where a staged column named `rowid` waits while the view (and readColumns) read DuckDB's own (the row's position). */
const HIDDEN_ROWID = "__fti_rowid_column";

/**
 * The view over a staged table that adds each row's position (`__fti_pos`, its rowid: the read order),
 * and the table's data columns. A data column named `rowid` (any case: a file's own) would hide DuckDB's:
 * it is renamed in the table and given its name back in the view.
 */
async function positionView(store: Store, stageTable: string, view: string): Promise<Pick<SourceInput, "columns" | "readColumns">> {
  const table = ident(stageTable);
  const columns = (await store.tableColumns(stageTable)).filter((c) => c.name !== "__fti_file");
  const hiding = columns.find((c) => c.name.toLowerCase() === "rowid");
  if (hiding) await store.run(`ALTER TABLE ${table} RENAME COLUMN ${ident(hiding.name)} TO ${ident(HIDDEN_ROWID)}`);
  const data = hiding ? `* RENAME (${ident(HIDDEN_ROWID)} AS ${ident(hiding.name)})` : "*";
  await store.run(`CREATE TEMP VIEW ${view} AS SELECT ${data}, rowid AS __fti_pos FROM ${table}`);
  const column = (name: string) => (name === hiding?.name ? `${ident(HIDDEN_ROWID)} AS ${ident(name)}` : ident(name));
  return { columns, readColumns: (names) => `(SELECT ${["__fti_file", "rowid AS __fti_pos", ...names.map(column)].join(", ")} FROM ${table})` };
}


/** Copies `reader` into a temp table; its rowid is the read order. */
export async function stage(
  store: Store,
  plan: SourcePlan,
  files: string[],
  reader: string,
  ndjson: boolean,
  cannotRead: (e: unknown) => Error,
): Promise<SourceInput> {
  const table = ident(`__fti_stage_${plan.name}`);
  const view = ident(`__fti_in_${plan.name}`);
  const close = () => cleanUp(store, `DROP VIEW IF EXISTS ${view}`, `DROP TABLE IF EXISTS ${table}`);
  await close();
  try {
    await store.run(`CREATE TEMP TABLE ${table} AS SELECT * FROM ${reader}`);
  } catch (e) {
    throw cannotRead(e);
  }
  try {
    const { columns, readColumns } = await positionView(store, `__fti_stage_${plan.name}`, view);
    return {
      relation: view,
      columns,
      readColumns,
      files,
      ndjson,
      positionAcrossFiles: true,
      // Rows of a file are consecutive in the stage: number them from the file's first.
      rowNumber: (file, pos) =>
        `(${pos} - (SELECT min(s.rowid) FROM ${table} AS s WHERE s.__fti_file IS NOT DISTINCT FROM ${file}) + 1)`,
      changedFiles: () => [],
      rejects: [],
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** CSV, strictly (csv-input.ts): lines that do not parse are kept apart as rejects; rows are numbered as in the file. */
async function stageCsvInput(store: Store, plan: SourcePlan, files: string[], where: string, cannotRead: (e: unknown) => Error): Promise<SourceInput> {
  const table = ident(`__fti_stage_${plan.name}`);
  const view = ident(`__fti_in_${plan.name}`);
  const shift = ident(`__fti_shift_${plan.name}`);
  const close = () => cleanUp(store, `DROP VIEW IF EXISTS ${view}`, `DROP TABLE IF EXISTS ${table}`, `DROP TABLE IF EXISTS ${shift}`);
  await close();
  try {
    let rejects: CsvReject[];
    try {
      ({ rejects } = await stageCsv(store, table, files, where));
    } catch (e) {
      throw e instanceof UserError ? e : cannotRead(e);
    }
    await writeShiftTable(store, shift, rejects);
    const { columns, readColumns } = await positionView(store, `__fti_stage_${plan.name}`, view);
    return {
      relation: view,
      columns,
      readColumns,
      files,
      ndjson: false,
      positionAcrossFiles: true,
      rowNumber: (file, pos) =>
        shiftedRow(`(${pos} - (SELECT min(s.rowid) FROM ${table} AS s WHERE s.__fti_file IS NOT DISTINCT FROM ${file}) + 1)`, file, shift),
      changedFiles: () => [],
      rejects,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Size and modification time of a file: what changes when it is rewritten. */
function fileStamp(file: string): string {
  try {
    const st = statSync(file);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return "gone";
  }
}

async function describe(store: Store, query: string): Promise<Array<{ name: string; type: string }>> {
  const rows = await store.all<{ column_name: string; column_type: string }>(`SELECT column_name, column_type FROM (DESCRIBE ${query})`);
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

/** The input with the keys its JSON objects have (public data sets name them for people: `Body Mass (g)`). */
async function withObjectKeys(store: Store, input: SourceInput): Promise<SourceInput> {
  const rows = await store.all<{ k: string }>(
    `SELECT DISTINCT unnest(json_keys(json)) AS k FROM ${input.relation} WHERE json_type(json) = 'OBJECT' ORDER BY k`,
  );
  return { ...input, keys: rows.map((r) => r.k) };
}
