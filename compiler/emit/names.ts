// Naming and literal helpers shared by the emitters.

import type { IrType } from "../ir.ts";
import type { ColumnType } from "../../runtime/api.ts";

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
    : type.base === "vector" ? "number[]"
    : "unknown";
  return nullable ? `${base} | null` : base;
}

/**
 * The zod schema expression for a value of an fti type; `z` is how the module
 * refers to zod, `timestamp` how it calls the runtime's requestTimestamp (ISO
 * text or a Date; never zod's coerce.date(), which reads null as 1970).
 */
export function zodType(type: IrType, z: string, timestamp: string): string {
  const base =
    type.base === "int" ? `${z}.number().int()`
    : type.base === "float" ? `${z}.number()`
    : type.base === "bool" ? `${z}.boolean()`
    : type.base === "timestamp" ? `${timestamp}()`
    : type.base === "vector" ? `${z}.array(${z}.number()).length(${type.dim})`
    : `${z}.string()`;
  return type.nullable ? `${base}.nullable()` : base;
}

/** The ColumnType of the runtime API (durations never reach it). */
export function columnType(type: IrType): ColumnType {
  if (type.base === "vector") return `float[${type.dim ?? 0}]`;
  return type.base === "duration" || type.base === "list" ? "float" : type.base;
}

/** JSON for plan data, as a TS expression. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/**
 * A value as a TypeScript literal that reads like hand-written code:
 * identifier keys unquoted, short arrays and objects on one line.
 */
export function tsLiteral(value: unknown, indent = ""): string {
  const inline = inlineLiteral(value);
  if (inline.length <= 100 || value === null || typeof value !== "object") return inline;
  const inner = indent + "  ";
  if (Array.isArray(value)) return `[\n${value.map((v) => `${inner}${tsLiteral(v, inner)},`).join("\n")}\n${indent}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return `{\n${entries.map(([k, v]) => `${inner}${key(k)}: ${tsLiteral(v, inner)},`).join("\n")}\n${indent}}`;
}

function inlineLiteral(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  if (Array.isArray(value)) return `[${value.map(inlineLiteral).join(", ")}]`;
  const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
  return entries.length ? `{ ${entries.map(([k, v]) => `${key(k)}: ${inlineLiteral(v)}`).join(", ")} }` : "{}";
}

function key(k: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k);
}
