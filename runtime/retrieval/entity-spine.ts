// The spine of a batch run: one row per entity to predict for, built inside
// DuckDB (the entity keys never pass through JS): `__sid` (0-based, over the
// rows that can be scored), `__row` (1-based position in the input), the
// view's keys and request fields cast to their spec types, and `__t`, the
// time the row is scored as of (one as-of time, or each row's own from a time
// column). This is the spine shape pitJoin (runtime/training/pit.ts) joins
// features onto.
//
// A file is first read as it is into `input` (every column, in file order):
// the output carries those columns. A row whose key or non-nullable request
// field is null or does not convert to its spec type, or whose time is not a
// timestamp, is not scored: it goes to `invalid` with the reason online
// serving's 400 would give.

import { statSync } from "node:fs";
import { extname } from "node:path";
import type { ColumnPlan, ViewPlan } from "../api.ts";
import { UserError } from "../errors.ts";
import { snakeCase } from "../features/column-match.ts";
import { castFromTyped } from "../features/validation.ts";
import { type Store } from "../store/store.ts";
import { ident, outsideSafeInt, outsideTimestampYears, sqlString, sqlTimestamp, tableRef } from "../store/sql.ts";

export interface EntitySpine {
  table: string;
  /** Rows to score (the spine's rows). */
  n: number;
  /** The input as read: `__row` and every input column in input order (for a spine from the store: the keys). */
  input: { table: string; columns: string[] };
  /**
   * Temp table of rows refused before the join: `__row`, `__t`, `status`, `code`, `reason`, `fields` (VARCHAR[]).
   * `values`: for a file's refused rows when the view has request checks, a temp table of their `__row` and
   * typed columns (NULL where the conversion failed), so the checks of the fields that did convert run too.
   */
  invalid: { table: string; n: number; values?: string };
}

export interface FileSpineOptions {
  /** The one as-of time (used when there is no time column). */
  asOf: Date;
  /** A column of the file holding each row's own as-of time. */
  timeColumn?: string;
}

/** Columns the output adds next to the input's: an input column may not have these names. */
export const OUTPUT_COLUMNS = ["row_number", "as_of", "model", "version", "prediction", "status", "code", "reason", "fields"];

export function readerFor(file: string): string {
  const ext = extname(file).toLowerCase();
  if (ext === ".csv" || ext === ".tsv") return `read_csv_auto(${sqlString(file)})`;
  if (ext === ".parquet") return `read_parquet(${sqlString(file)})`;
  if (ext === ".ndjson" || ext === ".jsonl" || ext === ".json") return `read_json_auto(${sqlString(file)})`;
  throw new UserError(`cannot read entities from \`${file}\`: use a .csv, .parquet or .ndjson file`);
}

/** The spine's table name for a view (a temp table, private to the transaction that makes it). */
export function spineTableName(view: ViewPlan): string {
  return `__fti_batch_${view.name}`;
}

/** Entities from a csv/parquet/ndjson file: one spine row per valid file row, with every key and request field of the view. */
export async function spineFromFile(store: Store, view: ViewPlan, file: string, opts: FileSpineOptions): Promise<EntitySpine> {
  const from = readerFor(file);
  const cannotRead = (e: unknown) => new UserError(`cannot read entities from \`${file}\`: ${(e as Error).message.split("\n")[0]}`);
  let present: Array<{ name: string; type: string }>;
  try {
    present = (await store.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${from}`)).map((r) => ({
      name: r.column_name,
      type: r.column_type,
    }));
  } catch (e) {
    throw cannotRead(e);
  }
  checkFileColumns(view, file, present.map((c) => c.name), opts.timeColumn);
  const table = spineTableName(view);
  const input = `${table}_in`;
  await copyNumbered(store, file, from, present.map((c) => c.name), input).catch((e: unknown) => {
    throw cannotRead(e);
  });
  const typeOf = new Map(present.map((c) => [c.name, c.type]));
  const typed = (c: ColumnPlan) => castFromTyped(ident(c.name), typeOf.get(c.name)!, c) ?? ident(c.name);
  const time = opts.timeColumn
    ? castFromTyped(ident(opts.timeColumn), typeOf.get(opts.timeColumn)!, { type: "timestamp" }) ?? ident(opts.timeColumn)
    : sqlTimestamp(opts.asOf);
  const checks = [
    ...view.keys.map((k) => fieldCheck(k, typed(k))),
    ...requestOnly(view).map((f) => fieldCheck(f, typed(f))),
    ...(opts.timeColumn ? [timeCheck(opts.timeColumn, time)] : []),
  ];
  const typedColumns = [
    `__row`,
    ...view.keys.map((k) => `${typed(k)} AS ${ident(k.name)}`),
    `${time} AS __t`,
    ...requestOnly(view).map((f) => `${typed(f)} AS ${ident(f.name)}`),
  ];
  const invalid = await splitInvalid(store, view, { input, time, typedColumns, checks }, table);
  return { table, n: await countRows(store, table), input: { table: input, columns: present.map((c) => c.name) }, invalid };
}

/**
 * Copies the file into temp table `input` with `__row`, each row's 1-based
 * position in the file. One Parquet file: its reader's `file_row_number`, in
 * the same statement. Otherwise (csv, ndjson, a glob of files, a file with a
 * column of that name) the file is copied as read and numbered from the copy's
 * row ids (positionInFile), a second copy.
 */
async function copyNumbered(store: Store, file: string, from: string, columns: string[], input: string): Promise<void> {
  await store.run(`DROP TABLE IF EXISTS ${ident(input)}`);
  const oneParquet = extname(file).toLowerCase() === ".parquet" && !/[*?[{]/.test(file) && statSync(file, { throwIfNoEntry: false })?.isFile();
  if (oneParquet && !columns.some((c) => c.toLowerCase() === "file_row_number")) {
    await store.run(
      `CREATE TEMP TABLE ${ident(input)} AS
         SELECT (file_row_number + 1)::BIGINT AS __row, * EXCLUDE (file_row_number)
           FROM read_parquet(${sqlString(file)}, file_row_number = true)`,
    );
    return;
  }
  const raw = `${input}_raw`;
  await store.run(`DROP TABLE IF EXISTS ${ident(raw)}`);
  // A CTAS keeps the reader's order (preserve_insertion_order), so rowid grows with the position in the file.
  await store.run(`CREATE TEMP TABLE ${ident(raw)} AS SELECT * FROM ${from}`);
  await store.run(`CREATE TEMP TABLE ${ident(input)} AS SELECT (${await positionInFile(store, raw)})::BIGINT AS __row, * FROM ${ident(raw)}`);
  await store.run(`DROP TABLE ${ident(raw)}`);
}

/**
 * The 1-based position of a row of the freshly read `raw` table, whose row
 * ids grow with the position in the file: its row id minus the first one,
 * plus 1, when the N row ids are N consecutive numbers (a new table's are —
 * inside a transaction they start at 2^62 —; checked, one scan of the ids),
 * else numbered by row id (a sort).
 */
async function positionInFile(store: Store, raw: string): Promise<string> {
  const t = ident(raw);
  const [r] = await store.all<{ dense: boolean }>(`SELECT coalesce(max(rowid) - min(rowid) + 1 = count(*), true) AS dense FROM ${t}`);
  return r.dense ? `rowid - (SELECT min(rowid) FROM ${t}) + 1` : "row_number() OVER (ORDER BY rowid)";
}

function checkFileColumns(view: ViewPlan, file: string, present: string[], timeColumn: string | undefined): void {
  const needed = [...view.keys.map((c) => c.name), ...requestOnly(view).map((c) => c.name), ...(timeColumn ? [timeColumn] : [])];
  const missing = needed.filter((c) => !present.includes(c));
  if (missing.length > 0) {
    // A source reads `mean radius` as the field `mean_radius`; an entities file's columns are the fields' own names.
    const spelled = missing.flatMap((m) => present.filter((c) => snakeCase(c) === m).map((c) => `\`${c}\` for \`${m}\``));
    throw new UserError(
      `entities file \`${file}\` lacks ${listed(missing.map((m) => `\`${m}\``))}; view \`${view.name}\` needs ` +
        `${listed(needed)} (found: ${listed(present) || "no columns"})`,
      timeColumn && missing.includes(timeColumn)
        ? "`--time-column` names a column of the file"
        : spelled.length > 0
          ? `the file has ${listed(spelled)}: an entities file's columns are named as the request fields, exactly (a source's snake_case matching does not apply); rename them`
          : "add the entity keys and the request fields as columns",
    );
  }
  const hiding = present.find((c) => c.toLowerCase() === "rowid");
  if (hiding) {
    throw new UserError(
      `entities file \`${file}\` has a column \`${hiding}\`, the name of DuckDB's position of each row, which numbers the file's rows`,
      "rename the column (the predictions keep the file's other columns beside them)",
    );
  }
  const reserved = present.filter((c) => OUTPUT_COLUMNS.includes(c.toLowerCase()) || c.startsWith("__"));
  if (reserved.length > 0) {
    throw new UserError(
      `entities file \`${file}\` has column${reserved.length > 1 ? "s" : ""} ${reserved.map((c) => `\`${c}\``).join(", ")}, ` +
        `which the predictions add themselves`,
      `rename ${reserved.length > 1 ? "them" : "it"}: the output has ${OUTPUT_COLUMNS.slice(0, 5).join(", ")} next to the input's columns`,
    );
  }
}

/** At most 12 names, then how many more: a wide table's 30 missing columns made a message of three screens. */
function listed(names: string[]): string {
  return names.length <= 12 ? names.join(", ") : `${names.slice(0, 12).join(", ")}, … (${names.length} in all)`;
}

/** SQL giving the field's name and its problem as the online schema would see it (both NULL when fine). */
function fieldCheck(c: ColumnPlan, typed: string): { field: string; reason: string } {
  const raw = ident(c.name);
  const name = sqlString(c.name);
  const cases = [
    ...(c.nullable ? [] : [[`${raw} IS NULL`, `${sqlString(`\`${c.name}\` is null; the request needs a ${c.type}`)}`]]),
    [`${raw} IS NOT NULL AND ${typed} IS NULL`, `${sqlString(`\`${c.name}\` = `)} || ${quoted(raw)} || ${sqlString(` is not a ${c.type}`)}`],
    ...(c.type === "float" ? [[`NOT isfinite(${typed})`, `${sqlString(`\`${c.name}\` = `)} || CAST(${typed} AS VARCHAR) || ' is not a finite number'`]] : []),
    // As the request schema, which reads ISO 8601 with a 4-digit year: no infinity, no year past 9999.
    ...(c.type === "timestamp" ? [[outsideTimestampYears(typed), `${sqlString(`\`${c.name}\` = `)} || ${quoted(raw)} || ${outsideYearsReason(typed)}`]] : []),
    // As the request schema: an int is a JS number, exact only within ±(2^53 − 1).
    ...(c.type === "int"
      ? [[outsideSafeInt(typed), `${sqlString(`\`${c.name}\` = `)} || CAST(${typed} AS VARCHAR) || ' is outside ±(2^53 − 1)'`]]
      : []),
  ];
  const reason = `CASE ${cases.map(([when, then]) => `WHEN ${when} THEN ${then}`).join(" ")} END`;
  return { field: `CASE WHEN (${reason}) IS NOT NULL THEN ${name} END`, reason };
}

function timeCheck(column: string, time: string): { field: string; reason: string } {
  const raw = ident(column);
  const reason = `CASE WHEN ${raw} IS NULL THEN ${sqlString(`the time column \`${column}\` is null`)}
    WHEN ${time} IS NULL THEN ${sqlString(`the time column \`${column}\` = `)} || ${quoted(raw)} || ' is not a timestamp'
    WHEN ${outsideTimestampYears(time)} THEN ${sqlString(`the time column \`${column}\` = `)} || ${quoted(raw)} || ${outsideYearsReason(time)} END`;
  return { field: `CASE WHEN (${reason}) IS NOT NULL THEN ${sqlString(column)} END`, reason };
}

/**
 * DuckDB reads 'infinity', '-infinity' and years up to 294246 as timestamps: as an as-of time such a row would be
 * scored as of no real time (and JS dates stop at the 4-digit years), so it is refused as a source's event time is.
 */
const outsideYearsReason = (t: string) => `CASE WHEN isfinite(${t}) THEN ' is outside the years 1 to 9999' ELSE ' is not a finite time' END`;

const quoted = (raw: string) => `'''' || replace(CAST(${raw} AS VARCHAR), '''', '''''') || ''''`;

/** The view's request fields that are not also key columns (an ODT may request a key). */
function requestOnly(view: ViewPlan): ColumnPlan[] {
  return view.requestFields.filter((r) => !view.keys.some((k) => k.name === r.name));
}

/**
 * Writes the rows with problems to `<table>_invalid` (the 400s) and numbers
 * the rest as the spine, each by one statement over the input copy. A row is
 * bad when one of its checks gives a reason; the reasons are assembled into
 * lists only for the bad rows (building them for every row took ~0.4 s of CPU
 * at 1 M entities).
 */
async function splitInvalid(
  store: Store,
  view: ViewPlan,
  src: { input: string; time: string; typedColumns: string[]; checks: Array<{ field: string; reason: string }> },
  table: string,
): Promise<EntitySpine["invalid"]> {
  const invalid = `${table}_invalid`;
  const cols = [...view.keys.map((k) => ident(k.name)), "__t", ...requestOnly(view).map((f) => ident(f.name))];
  // Never NULL: each reason is a CASE that is NULL exactly when its check passes.
  const bad = src.checks.length ? src.checks.map((c) => `(${c.reason}) IS NOT NULL`).join(" OR ") : "false";
  const list = (part: "field" | "reason") => `list_filter([${src.checks.map((c) => c[part]).join(", ")}], x -> x IS NOT NULL)`;
  await store.run(`DROP TABLE IF EXISTS ${ident(invalid)}`);
  await store.run(
    `CREATE TEMP TABLE ${ident(invalid)} AS
       SELECT __row, ${src.time} AS __t, 400 AS status, 'invalid_request' AS code,
              array_to_string(${list("reason")}, '; ') AS reason, ${list("field")} AS fields
         FROM ${ident(src.input)} WHERE ${bad}`,
  );
  const n = await countRows(store, invalid);
  // The refused rows' typed values, for their other fields' `check`s (batch-checks.ts): one reject lists every failure.
  const values = n > 0 && view.checkRequest ? `${invalid}_values` : undefined;
  if (values) {
    await store.run(`DROP TABLE IF EXISTS ${ident(values)}`);
    await store.run(`CREATE TEMP TABLE ${ident(values)} AS SELECT ${src.typedColumns.join(", ")} FROM ${ident(src.input)} WHERE ${bad}`);
  }
  // __row numbers the input 1..N: with no row refused, __sid is __row - 1 (no sort to number the spine).
  const sid = n === 0 ? "__row - 1" : "row_number() OVER (ORDER BY __row) - 1";
  await store.run(`DROP TABLE IF EXISTS ${ident(table)}`);
  await store.run(
    `CREATE TEMP TABLE ${ident(table)} AS
       SELECT (${sid})::BIGINT AS __sid, __row, ${cols.join(", ")}
         FROM (SELECT ${src.typedColumns.join(", ")} FROM ${ident(src.input)} WHERE NOT (${bad}))`,
  );
  return { table: invalid, n, ...(values ? { values } : {}) };
}

/** Every entity with rows in any of the view's feature tables, sorted by key. */
export async function spineFromStore(store: Store, view: ViewPlan, asOf: Date): Promise<EntitySpine> {
  const keyCols = view.keys.map((k) => ident(k.name));
  const keys = keyCols.join(", ");
  // A view without keys (every group global) has one "entity": the series, one row when any table has rows.
  const distinct = keys || "1 AS __fti_all";
  // Groups keyed by exactly the view's keys, under the same names, list its entities.
  const keyedLikeView = view.joins.filter((j) => view.keys.every((k) => j.on.some((o) => o.key === k.name && o.column === k.name)) && j.on.length === view.keys.length);
  if (keyedLikeView.length === 0) {
    throw new UserError(
      `view \`${view.name}\` joins its groups on ${view.keys.map((k) => k.name).join(", ")}, which no one feature table lists together`,
      "pass the rows to predict for as an entities file (`--entities FILE`)",
    );
  }
  const tables = [...new Set(keyedLikeView.map((j) => j.table))];
  const existing: string[] = [];
  for (const t of tables) if (await store.tableExists(t)) existing.push(t);
  if (existing.length === 0) {
    throw new UserError(
      `view \`${view.name}\` has no feature rows to predict for (tables ${tables.join(", ") || "none"} are missing)`,
      "run the feature pipeline first (`fti run <spec>`), or pass an entities file",
    );
  }
  const union = existing.map((t) => `SELECT DISTINCT ${distinct} FROM ${tableRef(t)}`).join(" UNION ");
  const table = spineTableName(view);
  await store.run(`DROP TABLE IF EXISTS ${ident(table)}`);
  await store.run(
    `CREATE TEMP TABLE ${ident(table)} AS
       SELECT (row_number() OVER (ORDER BY ${keys || "1"}) - 1)::BIGINT AS __sid, (row_number() OVER (ORDER BY ${keys || "1"}))::BIGINT AS __row,
              ${[...keyCols, `${sqlTimestamp(asOf)} AS __t`].join(", ")}
         FROM (${union})`,
  );
  // The "input" of a run without a file is its keys.
  const input = `${table}_in`;
  await store.run(`DROP TABLE IF EXISTS ${ident(input)}`);
  await store.run(`CREATE TEMP TABLE ${ident(input)} AS SELECT ${["__row", ...keyCols].join(", ")} FROM ${ident(table)}`);
  const invalid = `${table}_invalid`;
  await store.run(`DROP TABLE IF EXISTS ${ident(invalid)}`);
  await store.run(
    `CREATE TEMP TABLE ${ident(invalid)} (__row BIGINT, __t TIMESTAMP, status INTEGER, code VARCHAR, reason VARCHAR, fields VARCHAR[])`,
  );
  return { table, n: await countRows(store, table), input: { table: input, columns: view.keys.map((k) => k.name) }, invalid: { table: invalid, n: 0 } };
}

/** The temp tables a spine made (to drop after the run). */
export function spineTables(spine: EntitySpine): string[] {
  return [spine.table, spine.input.table, spine.invalid.table, ...(spine.invalid.values ? [spine.invalid.values] : [])];
}

async function countRows(store: Store, table: string): Promise<number> {
  const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${ident(table)}`);
  return Number(c.n);
}

