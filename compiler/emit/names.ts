// Naming and literal helpers shared by the emitters.

import type { IrType } from "../ir.ts";

export function pascal(name: string): string {
  return name
    .split(/_+/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join("");
}

export function camel(name: string): string {
  const p = pascal(name);
  return p[0].toLowerCase() + p.slice(1);
}

/** A JS string literal (JSON's escaping is valid TS). */
export function str(value: string): string {
  return JSON.stringify(value);
}

/** The TS type of a value of an fti type (timestamps are Dates). */
export function tsType(type: IrType, nullable = type.nullable): string {
  const base =
    type.base === "int" || type.base === "float" || type.base === "duration" ? "number"
    : type.base === "bool" ? "boolean"
    : type.base === "timestamp" ? "Date"
    : type.base === "string" ? "string"
    : "unknown";
  return nullable ? `${base} | null` : base;
}

/** The zod schema expression for a value of an fti type. */
export function zodType(type: IrType): string {
  const base =
    type.base === "int" ? "z.number().int()"
    : type.base === "float" ? "z.number()"
    : type.base === "bool" ? "z.boolean()"
    : type.base === "timestamp" ? "z.coerce.date()"
    : "z.string()";
  return type.nullable ? `${base}.nullable()` : base;
}

/** The ColumnType of the runtime API (durations never reach it). */
export function columnType(type: IrType): "int" | "float" | "bool" | "string" | "timestamp" {
  return type.base === "duration" || type.base === "list" ? "float" : type.base;
}

/** JSON for plan data, as a TS expression. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}
