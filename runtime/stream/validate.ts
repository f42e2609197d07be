// Validating one event of a stream source: the declared fields with their
// types and nullability, `in (...)`, and the `check`s (their TypeScript
// lowering, SourcePlan.stream.checks), as the batch pipeline validates a file
// row (features/validation.ts). Unknown fields are errors (a misspelt
// nullable field would otherwise be silently null). Every problem is reported
// with its JSON path; nothing a client sent is echoed beyond 80 characters.

import { allowedText, checkText } from "../allowed-text.ts";
import type { ColumnPlan, Scalar, SourcePlan, StreamRow } from "../api.ts";
import { clip } from "../clip-text.ts";
import { isoOrValue, parseTimestamp } from "../timestamp-text.ts";
import { vectorDim } from "../vector-type.ts";

export interface EventIssue {
  path: Array<string | number>;
  message: string;
}

const ECHO = 80;
/** A client's value as a message shows it (JSON, cut). */
export function shown(v: unknown): string {
  return clip(JSON.stringify(v) ?? String(v), ECHO);
}

/**
 * A JSON value → its typed value for a column of `type`, or the problem: the one
 * check of a client's value by type (stream events here, entity keys in `fti mcp`).
 */
export function typedValue(type: ColumnPlan["type"], v: unknown): { value: Scalar | Date } | { problem: string } {
  switch (type) {
    case "string":
      return typeof v === "string" ? { value: v } : { problem: `expected a string, got ${shown(v)}` };
    case "bool":
      return typeof v === "boolean" ? { value: v } : { problem: `expected true or false, got ${shown(v)}` };
    case "float":
      return typeof v === "number" && Number.isFinite(v) ? { value: v } : { problem: `expected a number, got ${shown(v)}` };
    case "int":
      if (typeof v !== "number" || !Number.isInteger(v)) return { problem: `expected an integer, got ${shown(v)}` };
      return Number.isSafeInteger(v) ? { value: v } : { problem: `${shown(v)} is outside ±2^53 (not exact in JSON)` };
    case "timestamp": {
      if (typeof v !== "string") return { problem: `expected an ISO 8601 timestamp string, got ${shown(v)}` };
      const ms = parseTimestamp(v);
      return typeof ms === "number" ? { value: new Date(ms) } : { problem: `${shown(v)} ${ms}` };
    }
    default: {
      // float[N]: N finite numbers (carried as they are; expressions over vectors are the pipeline's).
      const n = vectorDim(type);
      const ok = Array.isArray(v) && v.length === n && v.every((x) => typeof x === "number" && Number.isFinite(x));
      return ok ? { value: v as unknown as Scalar } : { problem: `expected an array of ${n} numbers, got ${shown(v)}` };
    }
  }
}

/** Per source plan, built once: its field names and the functions making a row and a segment record with them written out. */
interface PlanShape {
  known: Set<string>;
  /** The row from the typed values in field order (one hidden class per source). */
  row(values: Array<Scalar | Date>): StreamRow;
  /** The segment record of a row: every field, timestamps as ISO strings. */
  record(row: StreamRow): Record<string, Scalar>;
}

const shapes = new WeakMap<SourcePlan, PlanShape>();

function shapeOf(plan: SourcePlan): PlanShape {
  let s = shapes.get(plan);
  if (!s) {
    // Field names enter the generated source only as JSON string literals.
    const names = plan.fields.map((f) => JSON.stringify(f.name));
    const row = new Function("v", `return { ${names.map((n, i) => `${n}: v[${i}]`).join(", ")} };`) as PlanShape["row"];
    const record = new Function("S", `return function record(r) { return { ${names.map((n) => `${n}: S(r[${n}])`).join(", ")} }; };`)(isoOrValue) as PlanShape["record"];
    s = { known: new Set(plan.fields.map((f) => f.name)), row, record };
    shapes.set(plan, s);
  }
  return s;
}

/**
 * Validates one event; `at` is its path in the request body. Returns the typed
 * row (timestamps as Dates), or every problem.
 */
export function validateEvent(plan: SourcePlan, value: unknown, at: Array<string | number>): { row: StreamRow } | { issues: EventIssue[] } {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { issues: [{ path: at, message: `an event is a JSON object with the fields of source \`${plan.name}\`, got ${shown(value)}` }] };
  }
  const obj = value as Record<string, unknown>;
  const shape = shapeOf(plan);
  const issues: EventIssue[] = [];
  for (const k in obj) {
    if (!shape.known.has(k) && Object.prototype.hasOwnProperty.call(obj, k)) issues.push({ path: [...at, k.length > 200 ? `${k.slice(0, 200)}…` : k], message: `unknown field ${shown(k)}` });
  }
  const values: Array<Scalar | Date> = new Array(plan.fields.length);
  let untyped = false;
  for (let i = 0; i < plan.fields.length; i++) {
    const f = plan.fields[i];
    const v = Object.prototype.hasOwnProperty.call(obj, f.name) ? obj[f.name] : undefined;
    values[i] = null;
    if (v === undefined || v === null) {
      if (!f.nullable || f.name === plan.eventTime) issues.push({ path: [...at, f.name], message: "missing value (not nullable)" });
      continue;
    }
    const t = typedValue(f.type, v);
    if ("problem" in t) {
      issues.push({ path: [...at, f.name], message: t.problem });
      untyped = true;
      continue;
    }
    if (f.allowed && !f.allowed.includes(t.value as string | number | boolean)) {
      issues.push({ path: [...at, f.name], message: `${shown(v)} not in (${allowedText(f.allowed)})` });
    }
    values[i] = t.value;
  }
  // A check fails only when false; null (a nullable field is null) passes. Checks read typed values: only when every field has one.
  if (untyped) return { issues };
  const row = shape.row(values);
  for (const c of plan.stream?.checks ?? []) {
    if (c.test(row) === false) issues.push({ path: [...at, c.field], message: `${shown(obj[c.field])} fails ${checkText(c.text)}` });
  }
  return issues.length ? { issues } : { row };
}

/** The event as a segment stores it: every field, timestamps as ISO strings (what the batch pipeline reads back). */
export function segmentLine(plan: SourcePlan, row: StreamRow): string {
  return JSON.stringify(shapeOf(plan).record(row));
}
