// Reading one source: files (csv / parquet / ndjson, a path or a glob relative
// to the spec's directory) or a DuckDB table. Every row is validated against
// the declared fields: casts, nulls, NaN/Infinity, `in (...)` values, `check`s,
// the `unique` column and the event time. Bad rows go to `fti_quarantine`
// with every reason; valid rows replace the rows of `src_<source>` in the run's
// range. All of it is set-based SQL: no row passes through JS.

import { existsSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import type { ColumnType, SourcePlan, SpecBundle } from "../api.ts";
import { UserError } from "../errors.ts";
import { cleanUp, ident, sqlLiteral, sqlString, sqlTimestamp, sqlType, tableRef, type Store } from "../store/store.ts";

export interface SourceReadReport {
  source: string;
  /** Raw table written: `src_<source>`. */
  table: string;
  /** Files read (absolute), or the table name for a table source. */
  files: string[];
  /** Rows validated: those in the run's range, plus rows whose event time is unknown. */
  read: number;
  valid: number;
  quarantined: number;
  /** Rows outside the run's range (left alone). */
  skipped: number;
  ms: number;
}

export interface ReadSourceOptions {
  runId: string;
  /** The run's start: `ingested_at` of the rows written and `quarantined_at` of the rows rejected. */
  ingestedAt: Date;
  from?: Date;
  to?: Date;
}

/** The raw (validated) table of a source. */
export function rawTable(source: string): string {
  return `src_${source}`;
}

/** Column layout of `src_<source>`: the declared fields in order, then `ingested_at`. */
export function rawTableColumns(plan: SourcePlan): Array<{ name: string; type: string }> {
  return [...plan.fields.map((f) => ({ name: f.name, type: sqlType(f.type) })), { name: "ingested_at", type: "TIMESTAMP" }];
}

const GLOB_CHARS = /[*?[\]{}]/;

/**
 * The files of a file source, sorted; a UserError naming the resolved path
 * when nothing is there.
 */
export async function resolveSourceFiles(store: Store, bundle: SpecBundle, plan: SourcePlan): Promise<string[]> {
  if (plan.location.kind !== "files") return [];
  const raw = plan.location.path;
  const abs = isAbsolute(raw) ? raw : resolve(bundle.specDir, raw);
  const where = `source \`${plan.name}\` (${bundle.file}:${plan.line})`;
  if (GLOB_CHARS.test(abs)) {
    const rows = await store.all<{ file: string }>(`SELECT file FROM glob(?) ORDER BY file`, [abs]);
    if (rows.length === 0) {
      throw new UserError(`${where}: no files match ${abs}`, `check the \`path\` of the source (it is relative to ${bundle.specDir})`);
    }
    return rows.map((r) => r.file);
  }
  if (!existsSync(abs)) {
    throw new UserError(`${where}: file not found: ${abs}`, `check the \`path\` of the source (it is relative to ${bundle.specDir})`);
  }
  if (statSync(abs).isDirectory()) {
    throw new UserError(`${where}: ${abs} is a directory`, `use a glob such as "${raw.replace(/\/$/, "")}/*.${plan.location.format}"`);
  }
  return [abs];
}

/** Display of a raw value in a reason: quoted for strings and unreadable values. */
function shown(raw: string, quoted: boolean): string {
  return quoted ? `coalesce('''' || replace(${raw}, '''', '''''') || '''', 'null')` : `coalesce(${raw}, 'null')`;
}

/** SQL that turns a raw VARCHAR value into the declared type (NULL when it does not cast). */
function castFromText(r: string, t: ColumnType): string {
  switch (t) {
    case "string":
      return r;
    case "int":
      // TRY_CAST('3.5' AS BIGINT) rounds to 4: accept integral values only.
      return `CASE WHEN TRY_CAST(${r} AS DOUBLE) = TRY_CAST(${r} AS BIGINT) THEN TRY_CAST(${r} AS BIGINT) END`;
    case "float":
      return `TRY_CAST(${r} AS DOUBLE)`;
    case "bool":
      return `TRY_CAST(${r} AS BOOLEAN)`;
    case "timestamp":
      // Through TIMESTAMPTZ (session zone UTC) so that explicit offsets are honoured.
      return `TRY_CAST(TRY_CAST(${r} AS TIMESTAMPTZ) AS TIMESTAMP)`;
  }
}

/** SQL that turns a typed raw value (parquet / table) into the declared type. */
function castFromTyped(r: string, rawType: string, t: ColumnType): string {
  const up = rawType.toUpperCase();
  if (up === "VARCHAR" || up.startsWith("VARCHAR")) return castFromText(r, t);
  switch (t) {
    case "string":
      return `TRY_CAST(${r} AS VARCHAR)`;
    case "int":
      if (/INT/.test(up) && !/INTERVAL/.test(up)) return `TRY_CAST(${r} AS BIGINT)`;
      return `CASE WHEN TRY_CAST(${r} AS DOUBLE) = TRY_CAST(${r} AS BIGINT) THEN TRY_CAST(${r} AS BIGINT) END`;
    case "float":
      return `TRY_CAST(${r} AS DOUBLE)`;
    case "bool":
      return `TRY_CAST(${r} AS BOOLEAN)`;
    case "timestamp":
      return up === "TIMESTAMP WITH TIME ZONE" || up === "TIMESTAMPTZ"
        ? `TRY_CAST(${r} AS TIMESTAMP)`
        : `TRY_CAST(TRY_CAST(${r} AS TIMESTAMPTZ) AS TIMESTAMP)`;
  }
}

/** A column as a JSON value; NaN and Infinity (not JSON) become strings. */
function jsonValue(name: string, type: string): string {
  const c = ident(name);
  return /^(DOUBLE|FLOAT|REAL)$/i.test(type) ? `CASE WHEN isfinite(${c}) OR ${c} IS NULL THEN to_json(${c}) ELSE to_json(CAST(${c} AS VARCHAR)) END` : c;
}

function checkLabel(text: string): string {
  const t = text.trim();
  return t.startsWith("(") && t.endsWith(")") ? t : `(${t})`;
}

/**
 * Reads, validates and stores one source. Must run inside the pipeline's
 * transaction (it creates temp tables and writes two tables).
 */
export async function readSource(
  store: Store,
  bundle: SpecBundle,
  plan: SourcePlan,
  opts: ReadSourceOptions,
): Promise<SourceReadReport> {
  const t0 = performance.now();
  const where = `source \`${plan.name}\` (${bundle.file}:${plan.line})`;
  const stage = `__fti_stage_${plan.name}`;
  const checked = `__fti_checked_${plan.name}`;
  const table = rawTable(plan.name);

  // 1. Stage the input as it is (csv: all text), in file order; rowid is the read order.
  let files: string[];
  let reader: string;
  const fileList = (fs: string[]) => `[${fs.map(sqlString).join(", ")}]`;
  if (plan.location.kind === "files") {
    files = await resolveSourceFiles(store, bundle, plan);
    const list = fileList(files);
    switch (plan.location.format) {
      case "csv":
        reader = `read_csv(${list}, header = true, all_varchar = true, filename = '__fti_file', union_by_name = true)`;
        break;
      case "parquet":
        reader = `read_parquet(${list}, filename = '__fti_file', union_by_name = true)`;
        break;
      case "ndjson":
        reader = `read_ndjson_objects(${list}, filename = '__fti_file')`;
        break;
    }
  } else {
    files = [plan.location.table];
    if (!(await store.tableExists(plan.location.table))) {
      throw new UserError(`${where}: table ${plan.location.table} does not exist in the store ${store.path}`);
    }
    reader = `(SELECT *, NULL::VARCHAR AS __fti_file FROM ${tableRef(plan.location.table)})`;
  }
  await store.run(`DROP TABLE IF EXISTS ${ident(stage)}`);
  try {
    await store.run(`CREATE TEMP TABLE ${ident(stage)} AS SELECT * FROM ${reader}`);
  } catch (e) {
    const first = ((e as Error).message ?? String(e)).split("\n")[0];
    throw new UserError(`${where}: cannot read ${files.join(", ")}: ${first}`);
  }

  try {
    const stageCols = await store.tableColumns(stage);
    const ndjson = plan.location.kind === "files" && plan.location.format === "ndjson";
    const dataCols = stageCols.filter((c) => c.name !== "__fti_file");
    const rawType = new Map(dataCols.map((c) => [c.name.toLowerCase(), c.type]));
    if (!ndjson) {
      const missing = plan.fields.filter((f) => !rawType.has(f.name.toLowerCase())).map((f) => f.name);
      if (missing.length) {
        throw new UserError(
          `${where}: ${missing.map((m) => `\`${m}\``).join(", ")} not found in ${files.length === 1 ? files[0] : `${files.length} files`}` +
            ` (columns: ${dataCols.map((c) => c.name).join(", ") || "none"})`,
          "declare the fields with the names the file uses",
        );
      }
    }

    // 2. Typed columns next to their raw text.
    const rawExpr = (name: string) => (ndjson ? `(json ->> ${sqlString(name)})` : ident(name));
    const select: string[] = [
      `rowid - min(rowid) OVER (PARTITION BY __fti_file) + 1 AS __fti_row`,
      `rowid AS __fti_ord`,
      `__fti_file`,
      ndjson ? `json AS __fti_json` : `json_object(${dataCols.map((c) => `${sqlString(c.name)}, ${jsonValue(c.name, c.type)}`).join(", ")}) AS __fti_json`,
    ];
    plan.fields.forEach((f, i) => {
      const r = rawExpr(f.name);
      const typed = ndjson ? castFromText(r, f.type) : castFromTyped(r, rawType.get(f.name.toLowerCase())!, f.type);
      select.push(`CAST(${r} AS VARCHAR) AS "__fti_raw_${i}"`);
      select.push(`${typed} AS ${ident(f.name)}`);
    });
    await store.run(`DROP TABLE IF EXISTS ${ident(checked)}`);
    await store.run(`CREATE TEMP TABLE ${ident(checked)} AS SELECT ${select.join(", ")} FROM ${ident(stage)}`);

    // 3. Reasons, by field name (a stable order to read and to test against);
    //    per field: cast, missing, NaN/Infinity, `in`, checks. Row-level checks last.
    const reasons: string[] = [];
    const checksByField = new Map<string, SourcePlan["checks"]>();
    const rowChecks: SourcePlan["checks"] = [];
    const fieldNames = new Set(plan.fields.map((f) => f.name));
    for (const c of plan.checks) {
      if (fieldNames.has(c.field)) {
        if (!checksByField.has(c.field)) checksByField.set(c.field, []);
        checksByField.get(c.field)!.push(c);
      } else rowChecks.push(c);
    }
    const byName = plan.fields.map((f, i) => ({ f, i })).sort((a, b) => (a.f.name < b.f.name ? -1 : a.f.name > b.f.name ? 1 : 0));
    for (const { f, i } of byName) {
      const raw = `"__fti_raw_${i}"`;
      const col = ident(f.name);
      const label = sqlString(`${f.name}: `);
      const isString = f.type === "string";
      const castFailed = `(${raw} IS NOT NULL AND trim(${raw}) <> '' AND ${col} IS NULL)`;
      if (!isString) {
        reasons.push(
          `CASE WHEN ${castFailed} THEN ${label} || ${shown(raw, true)} || ${sqlString(` is not ${f.type === "int" ? "an" : "a"} ${f.type}`)} END`,
        );
      }
      const isEventTime = f.name === plan.eventTime;
      if (!f.nullable || isEventTime) {
        const what = isEventTime ? "missing value (the event time is required)" : "missing value (not nullable)";
        reasons.push(`CASE WHEN ${col} IS NULL AND NOT ${castFailed} THEN ${label} || ${sqlString(what)} END`);
      }
      if (f.type === "float") {
        reasons.push(
          `CASE WHEN isnan(${col}) THEN ${label} || 'NaN is not allowed' WHEN isinf(${col}) THEN ${label} || (CASE WHEN ${col} > 0 THEN 'Infinity' ELSE '-Infinity' END) || ' is not allowed' END`,
        );
      }
      if (f.allowed && f.allowed.length) {
        const list = f.allowed.map((v) => sqlLiteral(v)).join(", ");
        const text = `not in (${f.allowed.map(String).join(", ")})`;
        reasons.push(`CASE WHEN ${col} NOT IN (${list}) THEN ${label} || ${shown(raw, isString)} || ${sqlString(" " + text)} END`);
      }
      for (const c of checksByField.get(f.name) ?? []) {
        reasons.push(
          `CASE WHEN (${c.sql}) IS FALSE THEN ${label} || ${shown(raw, isString)} || ${sqlString(` fails check ${checkLabel(c.text)}`)} END`,
        );
      }
    }
    for (const c of rowChecks) {
      reasons.push(`CASE WHEN (${c.sql}) IS FALSE THEN ${sqlString(`${c.field ? c.field + ": " : ""}fails check ${checkLabel(c.text)}`)} END`);
    }
    const reasonSql = reasons.length ? `concat_ws('; ', ${reasons.join(", ")})` : `''`;

    // Range: rows with a known event time outside [from, to) are skipped.
    const et = ident(plan.eventTime);
    const inRange: string[] = [];
    if (opts.from) inRange.push(`${et} >= ${sqlTimestamp(opts.from)}`);
    if (opts.to) inRange.push(`${et} < ${sqlTimestamp(opts.to)}`);
    const outside = inRange.length ? `(${et} IS NOT NULL AND NOT (${inRange.join(" AND ")}))` : "FALSE";

    const judged = `__fti_judged_${plan.name}`;
    await store.run(`DROP TABLE IF EXISTS ${ident(judged)}`);
    try {
      await store.run(
        `CREATE TEMP TABLE ${ident(judged)} AS
           SELECT *, ${reasonSql} AS __fti_reason FROM ${ident(checked)} WHERE NOT ${outside}`,
      );
    } catch (e) {
      throw new Error(`${where}: validating the rows failed (a check's SQL may be wrong): ${(e as Error).message}`);
    }

    // `unique`: among otherwise valid rows, the first in read order wins.
    if (plan.unique) {
      const u = ident(plan.unique);
      const uIdx = plan.fields.findIndex((f) => f.name === plan.unique);
      const uField = plan.fields[uIdx];
      const dupLabel = sqlString(`${plan.unique}: duplicate value `);
      await store.run(
        `UPDATE ${ident(judged)} AS j
            SET __fti_reason = ${dupLabel} || ${shown(`j."__fti_raw_${uIdx}"`, uField?.type === "string")}
                               || ' (first at row ' || CAST(d.first_row AS VARCHAR) || ')'
           FROM (
             SELECT __fti_ord, first_row FROM (
               SELECT __fti_ord,
                      row_number() OVER (PARTITION BY ${u} ORDER BY __fti_ord) AS k,
                      first_value(__fti_row) OVER (PARTITION BY ${u} ORDER BY __fti_ord) AS first_row
                 FROM ${ident(judged)} WHERE __fti_reason = '' AND ${u} IS NOT NULL
             ) WHERE k > 1
           ) AS d
          WHERE j.__fti_ord = d.__fti_ord`,
      );
    }

    const [counts] = await store.all<{ read: number; bad: number; total: number }>(
      `SELECT (SELECT count(*) FROM ${ident(judged)}) AS read,
              (SELECT count(*) FROM ${ident(judged)} WHERE __fti_reason <> '') AS bad,
              (SELECT count(*) FROM ${ident(checked)}) AS total`,
    );

    // 4. Quarantine.
    await store.run(
      `INSERT INTO fti_quarantine (run_id, source, row_number, row_json, reason, quarantined_at, file)
       SELECT ?, ?, __fti_row, __fti_json, __fti_reason, ?, __fti_file
         FROM ${ident(judged)} WHERE __fti_reason <> '' ORDER BY __fti_ord`,
      [opts.runId, plan.name, opts.ingestedAt],
    );

    // 5. The raw table: replace the range.
    await ensureRawTable(store, bundle, plan, opts.from !== undefined || opts.to !== undefined);
    const cols = plan.fields.map((f) => ident(f.name)).join(", ");
    if (inRange.length) await store.run(`DELETE FROM ${ident(table)} WHERE ${inRange.join(" AND ")}`);
    else await store.run(`DELETE FROM ${ident(table)}`);
    await store.run(
      `INSERT INTO ${ident(table)} (${cols}, ingested_at)
       SELECT ${cols}, ? FROM ${ident(judged)} WHERE __fti_reason = '' ORDER BY __fti_ord`,
      [opts.ingestedAt],
    );

    return {
      source: plan.name,
      table,
      files,
      read: counts.read,
      valid: counts.read - counts.bad,
      quarantined: counts.bad,
      skipped: counts.total - counts.read,
      ms: Math.round(performance.now() - t0),
    };
  } finally {
    await cleanUp(
      store,
      `DROP TABLE IF EXISTS ${ident(stage)}`,
      `DROP TABLE IF EXISTS ${ident(checked)}`,
      `DROP TABLE IF EXISTS ${ident(`__fti_judged_${plan.name}`)}`,
    );
  }
}

/**
 * Creates `src_<source>` if missing. When its columns differ from the plan, a
 * whole-table run recreates it (it is a copy of the files); a range run
 * refuses, since the rows outside the range would keep the old layout.
 */
async function ensureRawTable(store: Store, bundle: SpecBundle, plan: SourcePlan, ranged: boolean): Promise<void> {
  const table = rawTable(plan.name);
  const want = rawTableColumns(plan);
  const have = await store.tableColumns(table);
  if (have.length) {
    const same =
      have.length === want.length &&
      have.every((c, i) => c.name.toLowerCase() === want[i].name.toLowerCase() && c.type.toUpperCase() === want[i].type);
    if (same) return;
    if (ranged) {
      throw new UserError(
        `source \`${plan.name}\` (${bundle.file}:${plan.line}) declares other fields than ${table} holds; a --from/--to run cannot change them`,
        "run the feature pipeline over the whole range (without --from/--to) to reload the source",
      );
    }
    await store.run(`DROP TABLE ${ident(table)}`);
  }
  await store.run(`CREATE TABLE ${ident(table)} (${want.map((c) => `${ident(c.name)} ${c.type}`).join(", ")})`);
}
