// Timestamps as clients write them: ISO 8601 text (no zone: UTC, at most
// millisecond precision), parsed strictly — the same rules for a stream's
// events (stream/validate.ts) and a model's request fields (requestTimestamp,
// which the generated request schemas use). Date.parse alone is too lenient:
// it takes 2025-02-30 for March 2, and zod's coerce.date() takes null for 1970.

import { z } from "zod";
import type { Scalar } from "./api.ts";

// ISO 8601: a date, optionally a time (to the millisecond), optionally a zone; no zone is UTC, as in the batch pipeline.
const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.(\d+))?)?))?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** An event-time text → epoch ms, or why not. */
export function parseTimestamp(text: string): number | string {
  const fast = canonicalUtc(text);
  if (fast !== null) return fast;
  const m = ISO.exec(text);
  if (!m) return "is not an ISO 8601 timestamp (e.g. 2025-06-01T07:30:00Z)";
  const [, date, time, frac, zone] = m;
  if (frac && frac.length > 3 && /[1-9]/.test(frac.slice(3))) return "is more precise than a millisecond";
  const hms = time ? (time.length === 5 ? `${time}:00` : time.replace(/\.(\d+)$/, (_x, f: string) => `.${`${f}00`.slice(0, 3)}`)) : "00:00:00";
  let z = zone ?? "Z";
  if (/^[+-]\d{2}$/.test(z)) z += ":00";
  else if (/^[+-]\d{4}$/.test(z)) z = `${z.slice(0, 3)}:${z.slice(3)}`;
  // Date.parse takes 2025-02-30 for March 2 and 24:00 for the next day; DuckDB refuses both.
  const [y, mo, d] = date.split("-").map(Number);
  const day = new Date(Date.UTC(y, mo - 1, d));
  const ms = Date.parse(`${date}T${hms}${z}`);
  if (Number.isNaN(ms) || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || Number(hms.slice(0, 2)) > 23) return "is not a valid date and time";
  return ms;
}

// The form clients and fti itself send (toISOString): parsed without building strings.
const CANONICAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?Z$/;

/** `YYYY-MM-DDTHH:MM:SS[.sss]Z` → epoch ms when it is a real date and time; null for any other text (the general path decides). */
function canonicalUtc(text: string): number | null {
  const m = CANONICAL.exec(text);
  if (!m) return null;
  const y = +m[1], mo = +m[2], d = +m[3], h = +m[4], mi = +m[5], s = +m[6];
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const ms = Date.UTC(y, mo - 1, d, h, mi, s, m[7] ? +m[7] : 0);
  // Date.UTC rolls 2025-02-30 over into March (and years below 100 into 19xx): let the general path refuse or read them.
  const day = new Date(ms);
  return y >= 100 && day.getUTCDate() === d && day.getUTCMonth() === mo - 1 ? ms : null;
}

const EXAMPLE = "2025-06-01T07:30:00Z";

/**
 * The zod schema of a timestamp in a request: an ISO 8601 string or a Date
 * (in-process callers pass Dates). Anything else — null, a number, other
 * text — is an issue that says what was expected and what came.
 */
export function requestTimestamp() {
  const input = z.union([z.date(), z.string()], { error: (issue) => `expected an ISO 8601 timestamp such as ${EXAMPLE}, got ${describe(issue.input)}` });
  timestampInputs.add(input);
  return input.transform((v, ctx) => {
    if (v instanceof Date) return v;
    const ms = parseTimestamp(v);
    if (typeof ms === "number") return new Date(ms);
    ctx.addIssue({ code: "custom", message: `${JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v)} ${ms}` });
    return z.NEVER;
  });
}

const timestampInputs = new WeakSet<z.ZodType>();

/** JSON Schema of requestTimestamp's input as clients (an LLM's tool calls) should write it: an RFC 3339 string. */
export function timestampJsonSchema(schema: unknown, json: Record<string, unknown>): void {
  if (!timestampInputs.has(schema as z.ZodType)) return;
  for (const k of Object.keys(json)) delete json[k];
  Object.assign(json, { type: "string", format: "date-time" });
}

const describe = (v: unknown): string => (v === undefined ? "nothing (the field is required)" : v === null ? "null" : v instanceof Date ? "an invalid Date" : typeof v === "string" ? "text" : typeof v === "object" ? (Array.isArray(v) ? "an array" : "an object") : `a ${typeof v} (${String(v).slice(0, 40)})`);

/** A typed value as JSON carries it and the online tables key it: a timestamp as its ISO text (`toISOString`). */
export const isoOrValue = (v: Scalar | Date | undefined): Scalar => (v instanceof Date ? v.toISOString() : (v ?? null));
