// Flag values the commands read by hand (commander only splits them): times,
// durations, counts, ports, sizes, `KEY=VALUE` pairs. A value of the wrong
// form is wrong use of the command, so every reader here throws a
// UsageError (exit 2, not 1) that names the flag, the value and what the flag
// expects: `--k abc: expected a whole number from 1 to 100`. Commands read
// their flags before they load a spec or open a store, so a usage error is
// said before anything runs.

import { UsageError } from "../errors.ts";
import { byteSize } from "../store/byte-size.ts";

/** The one shape of a bad flag value: the flag, the value as given, what it expects. */
export function badFlagValue(flag: string, value: string, expected: string, hint?: string): UsageError {
  return new UsageError(`${flag} ${value}: expected ${expected}`, hint);
}

/** `2025-06-01` (midnight UTC), `2025-06-01T06:30:00` (UTC) or with a zone; undefined when not given. */
export function timeFlag(text: string | undefined, flag: string): Date | undefined {
  if (text === undefined) return undefined;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : /[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
  if (Number.isNaN(d.getTime())) throw badFlagValue(flag, text, "a date or timestamp (2025-06-01 or 2025-06-01T06:30:00)");
  // JS reads years to 275760 (and `+010000-01-01`); the store's SQL and the sources stop at 9999 (exit 3 before).
  const year = d.getUTCFullYear();
  if (year < 1 || year > 9999) throw badFlagValue(flag, text, "a date or timestamp in the years 1 to 9999");
  return d;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

const MAX_DURATION_MS = 3_650_000 * UNIT_MS.d;

/** `90s`, `30m`, `6h`, `1d`, `2w` in milliseconds; undefined when not given. */
export function durationFlag(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[m[2]] : NaN;
  if (!(ms > 0)) throw badFlagValue(flag, text, "a duration: a positive number and a unit (90s, 30m, 6h, 1d, 2w)");
  // A window reaching past the dates JS holds made an Invalid Date (`--window 99999999999d`: exit 3).
  if (ms > MAX_DURATION_MS) throw badFlagValue(flag, text, "a duration of at most 3650000d (10,000 years)");
  return ms;
}

/** A whole number in [min, max]. */
export function wholeNumberFlag(text: string, flag: string, min: number, max = Infinity): number {
  const n = /^\s*-?\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw badFlagValue(flag, text, max === Infinity ? `a whole number from ${min}` : `a whole number from ${min} to ${max}`);
  }
  return n;
}

/** A number above zero (fractions allowed); undefined when not given. */
export function positiveNumberFlag(text: string | undefined, flag: string, unit = ""): number | undefined {
  if (text === undefined) return undefined;
  const n = text.trim() === "" ? NaN : Number(text);
  if (!Number.isFinite(n) || n <= 0) throw badFlagValue(flag, text, `a positive number${unit ? ` of ${unit}` : ""}`);
  return n;
}

/**
 * A memory size as DuckDB takes it (`640MB`, `2GB`, `1.5GiB`), at least `min`
 * bytes, returned as given; `off` (or `none`) → null; undefined when not given.
 */
export function memorySizeFlag(text: string | undefined, flag: string, min: number): string | null | undefined {
  if (text === undefined) return undefined;
  if (/^\s*(off|none)\s*$/i.test(text)) return null;
  const bytes = byteSize(text);
  if (bytes === null || bytes < min) {
    throw badFlagValue(flag, text, `a size of at least ${min / 1e6}MB (e.g. 640MB, 2GB, 1.5GiB), or off`);
  }
  return text.trim();
}

/** `KEY=VALUE` pairs (`--entity athlete_id=a0001`), as an object. */
export function keyValueFlags(pairs: readonly string[] | undefined, flag: string, example: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw badFlagValue(flag, p, `KEY=VALUE, e.g. ${flag} ${example}`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}
