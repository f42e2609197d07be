// SQL text helpers shared by the runtime: quoting, literals, the DuckDB type
// of a spec type, and reading an instant. Pure functions, no DuckDB.

import type { ColumnType } from "../api.ts";
import { vectorDim } from "../vector-type.ts";

/** DuckDB column type of a spec type. */
export function sqlType(t: ColumnType): string {
  switch (t) {
    case "int":
      return "BIGINT";
    case "float":
      return "DOUBLE";
    case "bool":
      return "BOOLEAN";
    case "string":
      return "VARCHAR";
    case "timestamp":
      return "TIMESTAMP";
  }
  return `FLOAT[${vectorDim(t)}]`;
}

/** A quoted identifier: `"name"`. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * `PARTITION BY <columns> ` for a window over a comma-separated column list,
 * or nothing when the list is empty: a global group (no keys) is one partition.
 */
export function partitionBy(columns: string): string {
  return columns ? `PARTITION BY ${columns} ` : "";
}

/** A quoted, possibly schema-qualified table name: `"schema"."table"`. */
export function tableRef(name: string): string {
  return name
    .split(".")
    .map((p) => ident(p))
    .join(".");
}

/** SQL: the BIGINT `expr` is outside ±(2^53 − 1), where fti's JS numbers hold an int exactly (as Number.isSafeInteger). */
export function outsideSafeInt(expr: string): string {
  return `(${expr} > ${Number.MAX_SAFE_INTEGER} OR ${expr} < ${-Number.MAX_SAFE_INTEGER})`;
}

/**
 * SQL: the TIMESTAMP `expr` is outside the years 1 to 9999 (also `infinity`): DuckDB reads years up to 294246,
 * a window's frame over such a row overflows its microseconds, and JS dates, requests and the stream stop there.
 */
export function outsideTimestampYears(expr: string): string {
  return `NOT (${expr} >= TIMESTAMP '0001-01-01' AND ${expr} < TIMESTAMP '10000-01-01')`;
}

/** A SQL string literal. */
export function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A TIMESTAMP literal for an instant (UTC, millisecond precision). */
export function sqlTimestamp(d: Date | number): string {
  const ms = typeof d === "number" ? d : d.getTime();
  if (!Number.isFinite(ms)) throw new Error(`invalid timestamp: ${String(d)}`);
  return `TIMESTAMP '${new Date(ms).toISOString().replace("T", " ").replace("Z", "")}'`;
}

/** A SQL literal for a scalar value. */
export function sqlLiteral(v: string | number | boolean | null): string {
  if (v === null) return "NULL";
  if (typeof v === "string") return sqlString(v);
  if (typeof v === "boolean") return v ? "TRUE" : "FALSE";
  if (Number.isNaN(v)) return "'NaN'::DOUBLE";
  if (!Number.isFinite(v)) return v > 0 ? "'Infinity'::DOUBLE" : "'-Infinity'::DOUBLE";
  return String(v);
}

/**
 * Parses an instant: a Date, epoch milliseconds, or an ISO-8601 / SQL
 * timestamp string. A string without a zone is UTC (never local time).
 */
export function toEpochMs(v: unknown): number {
  if (v instanceof Date) return v.getTime();
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string") {
    let s = v.trim();
    if (/^\d{4}-\d{2}-\d{2}$/.test(s)) s += "T00:00:00Z";
    else {
      s = s.replace(" ", "T");
      if (!/(Z|[+-]\d{2}(:?\d{2})?)$/i.test(s)) s += "Z";
    }
    const ms = Date.parse(s);
    if (Number.isNaN(ms)) throw new Error(`cannot read ${JSON.stringify(v)} as a timestamp`);
    return ms;
  }
  throw new Error(`cannot read ${String(v)} as a timestamp`);
}
