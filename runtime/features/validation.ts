// The SQL that validates the rows of a source: the declared fields typed from
// the input's columns, and one rule per possible problem (a condition and the
// reason it gives). Rows are judged in two phases: `failing` is one cheap
// boolean per row (no strings built); the reason text and the row as JSON are
// built only for the rows that fail (see sources.ts).

import { matchFieldColumns } from "./column-match.ts";
import { allowedText, checkText } from "../allowed-text.ts";
import type { ColumnType, SourcePlan } from "../api.ts";
import { EPOCH_UNITS } from "./epoch-units.ts";
import { ident, outsideSafeInt, outsideTimestampYears, sqlLiteral, sqlString } from "../store/sql.ts";
import type { SourceInput } from "./source-input.ts";

/** How the validation reads one declared field. */
interface FieldRead {
  /** SQL of the raw value as text, over the typed relation's columns. */
  raw: string;
  /** Whether the typed value can be NULL where the raw one is not (a failed cast). */
  canFailCast: boolean;
}

export interface Validation {
  /** SELECT over the input: `__fti_file`, `__fti_pos`, the columns fields read as `__fti_c_<k>` (ndjson: its json column), (ndjson) the fields as text as `__fti_raw_<i>`, and the typed fields by name. */
  typed: string;
  /** TRUE when the row has at least one problem (never NULL). */
  failing: string;
  /** The problems, joined with "; " (`''` when none): evaluate on failing rows only. */
  reason: string;
  /** The same problems without the values (`distance_km: … fails check (> 0)`): rows grouped by it in summaries. */
  reasonKind: string;
  /** The row as read, as JSON: over the typed relation aliased `__fti_t`. */
  rowJson: string;
  /** SQL of the raw text of a field (by name), for messages. */
  rawOf(field: string): string;
}

/** A source field as validation reads it: its type, and how its files spell a timestamp. */
type FieldSpelling = { type: ColumnType; format?: string };

/** SQL that turns a raw VARCHAR value into the declared type (NULL when it does not cast). */
function castFromText(r: string, f: FieldSpelling): string {
  const t = f.type;
  // strptime with the field's `format` (the checker admits only directives DuckDB reads); with %z
  // it gives TIMESTAMPTZ, whose cast to TIMESTAMP (session zone UTC) is the UTC instant.
  if (t === "timestamp" && f.format !== undefined) {
    if (EPOCH_UNITS[f.format]) return epochTimestamp(`TRY_CAST(${r} AS DOUBLE)`, EPOCH_UNITS[f.format]);
    return unlessOffsetOutOfRange(r, f, `CAST(TRY_STRPTIME(${r}, ${sqlString(f.format)}) AS TIMESTAMP)`);
  }
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
      return unlessOffsetOutOfRange(r, f, `TRY_CAST(TRY_CAST(${r} AS TIMESTAMPTZ) AS TIMESTAMP)`);
  }
  throw new Error(`a source field cannot be of type ${t} (the checker rejects it)`);
}

// A UTC offset ending the text whose hours are beyond 23, or minutes or seconds beyond 59. DuckDB
// applies `+99:00` as 99 hours and `+05:75` as 6 h 15 min, so such a row would be stored at an
// instant nobody wrote; the stream's and the requests' parser (timestamp-text.ts) refuses them too.
const BAD_OFFSET = "[+-](?:(?:2[4-9]|[3-9][0-9])(?::?[0-9]{2}){0,2}|[0-9]{2}:?[6-9][0-9](?::?[0-9]{2})?|[0-9]{2}:?[0-9]{2}:?[6-9][0-9])\\s*$";

/**
 * The regex of an out-of-range offset in the field's text, or null when its
 * spelling has no offset to check: ISO 8601 text (the offset follows the
 * time) or a `format` ending in `%z`; an offset elsewhere in a format is left
 * to strptime.
 */
function offsetPattern(f: FieldSpelling): string | null {
  if (f.type !== "timestamp") return null;
  if (f.format === undefined) return `[0-9]:[0-9]{2}(?:\\.[0-9]*)?${BAD_OFFSET}`;
  return /%z\s*$/.test(f.format) ? BAD_OFFSET : null;
}

/** SQL of `typed`, NULL when the raw text `r` ends in an out-of-range offset. */
function unlessOffsetOutOfRange(r: string, f: FieldSpelling, typed: string): string {
  const pattern = offsetPattern(f);
  return pattern === null ? typed : `CASE WHEN regexp_matches(CAST(${r} AS VARCHAR), ${sqlString(pattern)}) THEN NULL ELSE ${typed} END`;
}

/**
 * SQL of the timestamp `x` (DOUBLE) units after the epoch, NULL outside the
 * years ~-5900..9900 (make_timestamp would raise there: one bad value must
 * quarantine its row, not fail the run) and for NaN.
 */
function epochTimestamp(x: string, microsPerUnit: number): string {
  const micros = `(${x} * ${microsPerUnit})`;
  return `CASE WHEN abs(${micros}) < 2.5e17 THEN make_timestamp(CAST(round(${micros}) AS BIGINT)) END`;
}

/** The DuckDB type a declared type is stored as, when a typed column already has it no cast is needed. */
const STORED: Record<ColumnType, string> = { string: "VARCHAR", int: "BIGINT", float: "DOUBLE", bool: "BOOLEAN", timestamp: "TIMESTAMP" };

function isText(rawType: string): boolean {
  return rawType.toUpperCase().startsWith("VARCHAR");
}

/**
 * SQL that turns a typed raw value (parquet / table) into the declared type,
 * or null when the value already has it (TIMESTAMP is read as UTC, the
 * session zone, so the TIMESTAMPTZ round trip of text would not change it).
 */
export function castFromTyped(r: string, rawType: string, f: FieldSpelling): string | null {
  const t = f.type;
  const up = rawType.toUpperCase();
  // A number since the epoch (Parquet or a table: an integer or float column).
  if (t === "timestamp" && f.format !== undefined && EPOCH_UNITS[f.format] && !isText(up)) return epochTimestamp(`TRY_CAST(${r} AS DOUBLE)`, EPOCH_UNITS[f.format]);
  if (up === STORED[t]) return null;
  if (isText(up)) return castFromText(r, f);
  // Bytes (a Parquet BYTE_ARRAY without the UTF8 annotation: how older writers store strings) are read as
  // UTF-8 text, NULL when they are not (a failed cast, quarantined): a cast to VARCHAR stored DuckDB's
  // escapes of them (`café` became `caf\xC3\xA9`).
  if (up === "BLOB") return t === "string" ? `TRY(decode(${r}))` : castFromText(`TRY(decode(${r}))`, f);
  if (t === "string") return `TRY_CAST(${r} AS VARCHAR)`;
  if (t === "int" && /INT/.test(up) && !/INTERVAL/.test(up)) return `TRY_CAST(${r} AS BIGINT)`;
  if (t === "timestamp" && (up === "TIMESTAMP WITH TIME ZONE" || up === "TIMESTAMPTZ")) return `TRY_CAST(${r} AS TIMESTAMP)`;
  // Otherwise the cast is the one text takes (integral check for int, TIMESTAMPTZ round trip for timestamp).
  return castFromText(r, { type: t });
}

/** Display of a raw value in a reason: quoted for strings and unreadable values. */
export function shown(raw: string, quoted: boolean): string {
  // At most SHOWN_CHARS of the value, then its length: the whole value is in the row's JSON already.
  const text = `left(${raw}, ${SHOWN_CHARS})`;
  const more = `CASE WHEN length(${raw}) > ${SHOWN_CHARS} THEN '… (' || length(${raw}) || ' characters)' ELSE '' END`;
  return quoted ? `coalesce('''' || replace(${text}, '''', '''''') || '''' || ${more}, 'null')` : `coalesce(${text} || ${more}, 'null')`;
}

/** Characters of a value a quarantine reason repeats (as the online service's error messages do). */
const SHOWN_CHARS = 80;

/** A column as a JSON value; NaN and Infinity (not JSON) become strings. */
function jsonValue(c: string, type: string): string {
  return /^(DOUBLE|FLOAT|REAL)$/i.test(type) ? `CASE WHEN isfinite(${c}) OR ${c} IS NULL THEN to_json(${c}) ELSE to_json(CAST(${c} AS VARCHAR)) END` : c;
}

const inCol = (k: number) => ident(`__fti_c_${k}`);

/**
 * The validation of `plan` over `input`. The input must have every declared
 * field (ndjson: read by name from each object); sources.ts checks that.
 */
export function buildValidation(plan: SourcePlan, input: SourceInput): Validation {
  const { reads, typedSql } = typedReads(plan, input);
  const rules = validationRules(plan, reads);
  // A rule fires when its condition is TRUE (NULL does not fire).
  const failing = rules.length ? `((${rules.map((r) => `(${r.when})`).join(" OR ")}) IS TRUE)` : "FALSE";
  const joined = (text: (r: Rule) => string) => (rules.length ? `concat_ws('; ', ${rules.map((r) => `CASE WHEN ${r.when} THEN ${text(r)} END`).join(", ")})` : `''`);
  const reason = joined((r) => r.message);
  const reasonKind = joined((r) => sqlString(r.kind));
  const rowJson = input.ndjson ? inCol(0) : rowFromInput(input);
  return {
    typed: typedSql,
    failing,
    reason,
    reasonKind,
    rowJson,
    rawOf: (field) => reads.get(field)!.raw,
  };
}

/**
 * The row as read, as JSON, for a row of the typed relation (aliased `__fti_t`, as every pass reads it):
 * looked up in the input by (file, position), so the typed relation carries only the columns the
 * fields read. A CSV of 50,000 columns passed each through every pass (statements of 1.4 M characters
 * that DuckDB bound again each time: ~50 s of CPU for 5 rows); now only the failing rows' pass names them.
 */
function rowFromInput(input: SourceInput): string {
  const fields = input.columns.map((c) => `${sqlString(c.name)}, ${jsonValue(`__fti_r.${ident(c.name)}`, c.type)}`);
  return (
    `(SELECT json_object(${fields.join(", ")}) FROM ${readColumns(input, input.columns)} AS __fti_r` +
    ` WHERE __fti_r.__fti_file IS NOT DISTINCT FROM __fti_t.__fti_file AND __fti_r.__fti_pos = __fti_t.__fti_pos)`
  );
}

/** A relation of `__fti_file`, `__fti_pos` and `columns` of the input. */
function readColumns(input: SourceInput, columns: SourceInput["columns"]): string {
  return input.readColumns ? input.readColumns(columns.map((c) => c.name)) : input.relation;
}

/**
 * The columns fields read (renamed, so that the typed fields can take their
 * names), ndjson's fields as text, then the typed fields: the SELECT, and how
 * each field is read.
 */
function typedReads(plan: SourcePlan, input: SourceInput): { reads: Map<string, FieldRead>; typedSql: string } {
  const colIndex = matchFieldColumns(plan.fields, input.columns.map((c) => c.name)).index;
  // ndjson: the key each field is read from (a field no object has reads its own name, or its `from`: null everywhere).
  const keyIndex = input.keys ? matchFieldColumns(plan.fields, input.keys).index : new Map<string, number>();
  const keyOf = (field: string) => (keyIndex.has(field) ? input.keys![keyIndex.get(field)!] : (plan.fields.find((f) => f.name === field)?.column ?? field));
  const reads = new Map<string, FieldRead>();
  const rawSelect: string[] = [];
  const typedSelect: string[] = [];
  plan.fields.forEach((f, i) => {
    let read: FieldRead;
    let typed: string;
    if (input.ndjson) {
      const raw = ident(`__fti_raw_${i}`);
      rawSelect.push(`(json ->> ${sqlString(keyOf(f.name))}) AS ${raw}`);
      typed = castFromText(raw, f);
      read = { raw, canFailCast: f.type !== "string" };
    } else {
      const k = colIndex.get(f.name)!; // sources.ts checked that every field has its column
      const cast = castFromTyped(inCol(k), input.columns[k].type, f);
      typed = cast ?? inCol(k);
      // A column that already has the declared type is taken as it is, and a
      // cast to text cannot fail: no cast reason is possible for those.
      read = { raw: `CAST(${inCol(k)} AS VARCHAR)`, canFailCast: cast !== null && (f.type !== "string" || input.columns[k].type.toUpperCase() === "BLOB") };
    }
    typedSelect.push(`${typed} AS ${ident(f.name)}`);
    reads.set(f.name, read);
  });
  // Only the columns a field reads (ndjson: its one json column): every other one is read by rowJson alone.
  const read = new Set(colIndex.values());
  const passThrough = input.columns.flatMap((c, k) => (input.ndjson || read.has(k) ? [`${ident(c.name)} AS ${inCol(k)}`] : []));
  const typedSql =
    `SELECT *, ${typedSelect.join(", ")}` +
    ` FROM (SELECT __fti_file, __fti_pos, ${[...passThrough, ...rawSelect].join(", ")} FROM ${readColumns(input, input.columns.filter((_, k) => input.ndjson || read.has(k)))})`;
  return { reads, typedSql };
}

interface Rule {
  /** SQL: the row breaks the rule (fires when TRUE). */
  when: string;
  /** SQL: the reason text. */
  message: string;
  /** The reason with its value elided (`km: … fails check (> 0)`), plain text. */
  kind: string;
}

/** Where a reason shows the row's value, its kind shows this. */
const ELIDED = "…";

/**
 * The rules, by field name (a stable order to read and to test against); per
 * field: cast, missing, NaN/Infinity, `in`, checks. Row-level checks last.
 */
function validationRules(plan: SourcePlan, reads: Map<string, FieldRead>): Rule[] {
  const rules: Rule[] = [];
  const checksByField = new Map<string, SourcePlan["checks"]>();
  const rowChecks: SourcePlan["checks"] = [];
  const fieldNames = new Set(plan.fields.map((f) => f.name));
  for (const c of plan.checks) {
    if (fieldNames.has(c.field)) {
      if (!checksByField.has(c.field)) checksByField.set(c.field, []);
      checksByField.get(c.field)!.push(c);
    } else rowChecks.push(c);
  }
  const byName = [...plan.fields].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const f of byName) rules.push(...fieldRules(plan, f, reads.get(f.name)!, checksByField.get(f.name) ?? []));
  for (const c of rowChecks) {
    const text = `${c.field ? c.field + ": " : ""}fails ${checkText(c.text)}`;
    rules.push({ when: `(${c.sql}) IS FALSE`, message: sqlString(text), kind: text });
  }
  return rules;
}

/** One field's rules: cast, missing, NaN/Infinity, `in`, its checks. */
function fieldRules(plan: SourcePlan, f: SourcePlan["fields"][number], read: FieldRead, checks: SourcePlan["checks"]): Rule[] {
  const rules: Rule[] = [];
  const { raw, canFailCast } = read;
  const col = ident(f.name);
  const label = sqlString(`${f.name}: `);
  const valueRule = (when: string, what: string): Rule => ({ when, message: `${label} || ${shown(raw, isString)} || ${sqlString(" " + what)}`, kind: `${f.name}: ${ELIDED} ${what}` });
  const isString = f.type === "string";
  const castFailed = `(${raw} IS NOT NULL AND trim(${raw}) <> '' AND ${col} IS NULL)`;
  if (canFailCast) {
    // A string's cast fails only for bytes that are not UTF-8 (castFromTyped).
    const what = f.type === "string" ? "is not UTF-8 text" : `is not ${f.type === "int" ? "an" : "a"} ${f.type}${f.format !== undefined ? ` in the form ${f.format}` : ""}`;
    const offset = offsetPattern(f);
    const badOffset = offset === null ? "FALSE" : `regexp_matches(${raw}, ${sqlString(offset)})`;
    rules.push({ when: `${castFailed} AND NOT ${badOffset}`, message: `${label} || ${shown(raw, true)} || ${sqlString(" " + what)}`, kind: `${f.name}: ${ELIDED} ${what}` });
    if (offset !== null) {
      const what = "has a UTC offset out of range (hours 00 to 23, minutes and seconds 00 to 59)";
      rules.push({ when: `${castFailed} AND ${badOffset}`, message: `${label} || ${shown(raw, true)} || ${sqlString(" " + what)}`, kind: `${f.name}: ${ELIDED} ${what}` });
    }
  }
  const isEventTime = f.name === plan.eventTime;
  if (!f.nullable || isEventTime) {
    const what = isEventTime ? "missing value (the event time is required)" : "missing value (not nullable)";
    rules.push({ when: canFailCast ? `${col} IS NULL AND NOT ${castFailed}` : `${col} IS NULL`, message: `${label} || ${sqlString(what)}`, kind: `${f.name}: ${what}` });
  }
  if (f.type === "int") {
    // ODTs, the training frame, requests and the stream hold an int as a JS number, exact only up to 2^53 − 1:
    // beyond it two ids would become one key (the request schemas refuse such ints too).
    const what = "is outside ±(2^53 − 1), where an int is exact in fti (declare the field string for larger ids)";
    rules.push(valueRule(outsideSafeInt(col), what));
  }
  if (f.type === "timestamp") {
    rules.push(valueRule(outsideTimestampYears(col), "is outside the years 1 to 9999"));
  }
  if (f.type === "float") {
    rules.push({
      when: `NOT isfinite(${col})`,
      message: `${label} || (CASE WHEN isnan(${col}) THEN 'NaN' WHEN ${col} > 0 THEN 'Infinity' ELSE '-Infinity' END) || ' is not allowed'`,
      kind: `${f.name}: NaN or Infinity is not allowed`,
    });
  }
  if (f.allowed && f.allowed.length) {
    const list = f.allowed.map((v) => sqlLiteral(v)).join(", ");
    rules.push(valueRule(`${col} NOT IN (${list})`, `not in (${allowedText(f.allowed)})`));
  }
  for (const c of checks) rules.push(valueRule(`(${c.sql}) IS FALSE`, `fails ${checkText(c.text)}`));
  return rules;
}

/**
 * The plan as a stream's segment lines are read: no field `format` or `from`
 * column — the stream wrote each event under its field names, timestamps in
 * ISO 8601, whatever the source's files call and spell them.
 */
export function segmentLinePlan(plan: SourcePlan): SourcePlan {
  if (!plan.fields.some((f) => f.format !== undefined || f.column !== undefined)) return plan;
  return { ...plan, fields: plan.fields.map(({ format: _format, column: _column, ...f }) => f) };
}
