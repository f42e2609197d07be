// Helpers for the TypeScript form of MIT expressions (compiler/lower/ts.ts
// emits calls to these; generated code imports them from "fti/runtime").
// Each one mirrors exactly what the DuckDB form (compiler/lower/sql.ts) does;
// the semantics are written down in compiler/lower/CONTEXT.md. No
// dependencies: this file is loaded by generated code and by the online path.
//
// Values: int and float are `number`, timestamps are UTC `Date`s, durations
// are milliseconds (`number`), null is `null`. A float value is always finite:
// any operation producing NaN or ±Infinity yields null instead.
//
// The static types follow the IR's typing: an operation on non-nullable
// operands is typed non-nullable even where it can yield null at run time by a
// domain error (division by zero, sqrt(-1), overflow). The IR does the same;
// the runtime value is null, as in DuckDB.

type N = number | null;

// ------------------------------------------------------------------ normalisation

/** NaN and ±Infinity become null; -0 stays -0. */
export function fin(x: number): number;
export function fin(x: N): N;
export function fin(x: N): N {
  return x !== null && Number.isFinite(x) ? x : null;
}

const I64_MIN = -9223372036854775808; // -2^63, exact as a double
const I64_END = 9223372036854775808; // 2^63

/**
 * Final check of an int-typed result (int arithmetic runs in double
 * precision): null unless finite and within int64; -0 becomes 0.
 */
export function i64(x: number): number;
export function i64(x: N): N;
export function i64(x: N): N {
  return x !== null && x >= I64_MIN && x < I64_END ? x + 0 : null;
}

// ------------------------------------------------------------------ arithmetic
// add/sub/mul/neg propagate null and may return a non-finite value: the
// caller normalises (fin/i64) where the value is observed. div/mod/pow
// return normalised values.

export function add(a: number, b: number): number;
export function add(a: N, b: N): N;
export function add(a: N, b: N): N {
  return a === null || b === null ? null : a + b;
}

export function sub(a: number, b: number): number;
export function sub(a: N, b: N): N;
export function sub(a: N, b: N): N {
  return a === null || b === null ? null : a - b;
}

export function mul(a: number, b: number): number;
export function mul(a: N, b: N): N;
export function mul(a: N, b: N): N {
  return a === null || b === null ? null : a * b;
}

export function neg(a: number): number;
export function neg(a: N): N;
export function neg(a: N): N {
  return a === null ? null : -a;
}

/** a / b in double precision; null when b is 0 or the quotient overflows. */
export function div(a: number, b: number): number;
export function div(a: N, b: N): N;
export function div(a: N, b: N): N {
  if (a === null || b === null) return null;
  return fin(a / b);
}

/** Remainder with the sign of the dividend (C fmod, JS %); null when b is 0. */
export function mod(a: number, b: number): number;
export function mod(a: N, b: N): N;
export function mod(a: N, b: N): N {
  if (a === null || b === null) return null;
  return fin(a % b);
}

/** a ^ b; null when the result is not a finite real (0 ^ -1, (-8) ^ 0.5, overflow). */
export function pow(a: number, b: number): number;
export function pow(a: N, b: N): N;
export function pow(a: N, b: N): N {
  if (a === null || b === null) return null;
  return fin(powDouble(a, b));
}

/**
 * x ^ k for an integer literal k in 2..8: repeated multiplication, left to
 * right (the SQL form multiplies the same way, so both agree bit for bit).
 */
export function powi(x: number, k: number): number;
export function powi(x: N, k: number): N;
export function powi(x: N, k: number): N {
  if (x === null) return null;
  let r = x;
  for (let i = 1; i < k; i++) r *= x;
  return fin(r);
}

/**
 * C pow() is correctly rounded in practice; V8's Math.pow is not always (an
 * ulp off, e.g. 480505 ^ 3). Integer powers of integers are computed exactly
 * and rounded once, so they match DuckDB bit for bit.
 */
function powDouble(a: number, b: number): number {
  if (Number.isInteger(a) && Number.isInteger(b) && b >= 2 && b <= 1100 && a !== 0 && Math.abs(a) <= 9007199254740991) {
    if (Math.log2(Math.abs(a)) * b < 1100) return Number(BigInt(a) ** BigInt(b));
  }
  return Math.pow(a, b);
}

// ------------------------------------------------------------------ comparison

type Cmp = number | string | boolean | Date;

/** Compares strings by Unicode code point (= UTF-8 byte order, DuckDB's default collation). */
export function cmpStr(a: string, b: string): number {
  if (a === b) return 0;
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // UTF-16 puts surrogates (astral code points) below U+E000..U+FFFF; fix that.
      if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
      if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Total order of two non-null values of one type: <0, 0, >0. */
export function cmp(a: Cmp, b: Cmp): number {
  if (typeof a === "number") return a < (b as number) ? -1 : a > (b as number) ? 1 : 0;
  if (typeof a === "string") return cmpStr(a, b as string);
  if (typeof a === "boolean") return (a ? 1 : 0) - ((b as boolean) ? 1 : 0);
  return a.getTime() - (b as Date).getTime();
}

export function eq(a: Cmp, b: Cmp): boolean;
export function eq(a: Cmp | null, b: Cmp | null): boolean | null;
export function eq(a: Cmp | null, b: Cmp | null): boolean | null {
  return a === null || b === null ? null : cmp(a, b) === 0;
}
export function ne(a: Cmp, b: Cmp): boolean;
export function ne(a: Cmp | null, b: Cmp | null): boolean | null;
export function ne(a: Cmp | null, b: Cmp | null): boolean | null {
  return a === null || b === null ? null : cmp(a, b) !== 0;
}
export function lt(a: Cmp, b: Cmp): boolean;
export function lt(a: Cmp | null, b: Cmp | null): boolean | null;
export function lt(a: Cmp | null, b: Cmp | null): boolean | null {
  return a === null || b === null ? null : cmp(a, b) < 0;
}
export function le(a: Cmp, b: Cmp): boolean;
export function le(a: Cmp | null, b: Cmp | null): boolean | null;
export function le(a: Cmp | null, b: Cmp | null): boolean | null {
  return a === null || b === null ? null : cmp(a, b) <= 0;
}
export function gt(a: Cmp, b: Cmp): boolean;
export function gt(a: Cmp | null, b: Cmp | null): boolean | null;
export function gt(a: Cmp | null, b: Cmp | null): boolean | null {
  return a === null || b === null ? null : cmp(a, b) > 0;
}
export function ge(a: Cmp, b: Cmp): boolean;
export function ge(a: Cmp | null, b: Cmp | null): boolean | null;
export function ge(a: Cmp | null, b: Cmp | null): boolean | null {
  return a === null || b === null ? null : cmp(a, b) >= 0;
}

// ------------------------------------------------------------------ three-valued logic

type B = boolean | null;

/** SQL AND: false wins over null. */
export function and3(a: boolean, b: boolean): boolean;
export function and3(a: B, b: B): B;
export function and3(a: B, b: B): B {
  if (a === false || b === false) return false;
  return a === null || b === null ? null : true;
}

/** SQL OR: true wins over null. */
export function or3(a: boolean, b: boolean): boolean;
export function or3(a: B, b: B): B;
export function or3(a: B, b: B): B {
  if (a === true || b === true) return true;
  return a === null || b === null ? null : false;
}

export function not3(a: boolean): boolean;
export function not3(a: B): B;
export function not3(a: B): B {
  return a === null ? null : !a;
}

/** SQL `x IN (v1, ...)`: null when x is null, or when nothing matches and some v is null. */
export function inList(x: Cmp, values: readonly Cmp[]): boolean;
export function inList(x: Cmp | null, values: readonly (Cmp | null)[]): boolean | null;
export function inList(x: Cmp | null, values: readonly (Cmp | null)[]): boolean | null {
  if (x === null) return null;
  let sawNull = false;
  for (const v of values) {
    if (v === null) sawNull = true;
    else if (cmp(x, v) === 0) return true;
  }
  return sawNull ? null : false;
}

// ------------------------------------------------------------------ built-in functions

/** First non-null argument. */
export function coalesce<T>(...xs: T[]): T {
  for (const x of xs) if (x !== null) return x;
  return null as T;
}

/** Smallest non-null argument (DuckDB least ignores nulls); null when all are null. */
export function least<T extends Cmp | null>(...xs: T[]): T {
  let best: T = null as T;
  for (const x of xs) if (x !== null && (best === null || cmp(x as Cmp, best as Cmp) < 0)) best = x;
  return best;
}

/** Largest non-null argument; null when all are null. */
export function greatest<T extends Cmp | null>(...xs: T[]): T {
  let best: T = null as T;
  for (const x of xs) if (x !== null && (best === null || cmp(x as Cmp, best as Cmp) > 0)) best = x;
  return best;
}

export function abs(x: number): number;
export function abs(x: N): N;
export function abs(x: N): N {
  return x === null ? null : Math.abs(x);
}

export function sqrt(x: number): number;
export function sqrt(x: N): N;
export function sqrt(x: N): N {
  return x === null || x < 0 ? null : Math.sqrt(x);
}

export function ln(x: number): number;
export function ln(x: N): N;
export function ln(x: N): N {
  return x === null || x <= 0 ? null : Math.log(x);
}

export function log10(x: number): number;
export function log10(x: N): N;
export function log10(x: N): N {
  return x === null || x <= 0 ? null : Math.log10(x);
}

export function exp(x: number): number;
export function exp(x: N): N;
export function exp(x: N): N {
  return x === null ? null : fin(Math.exp(x));
}

export function floor(x: number): number;
export function floor(x: N): N;
export function floor(x: N): N {
  return x === null ? null : Math.floor(x);
}

export function ceil(x: number): number;
export function ceil(x: N): N;
export function ceil(x: N): N {
  return x === null ? null : Math.ceil(x);
}

/** C round(): half away from zero. */
function roundHalfAway(x: number): number {
  const r = Math.round(Math.abs(x));
  // -0 stays -0, as DuckDB's round keeps the sign.
  return x < 0 || Object.is(x, -0) ? -r : r;
}

/** 10^k as the correctly rounded double (what C pow(10, k) returns). */
function pow10(k: number): number {
  return Number(`1e${k}`);
}

/**
 * DuckDB's round(DOUBLE[, INTEGER]): half away from zero, at `digits`
 * decimals, computed in binary floating point (round(1.005, 2) = 1).
 */
export function round(x: number, digits?: number): number;
export function round(x: N, digits?: N): N;
export function round(x: N, digits?: N): N {
  if (x === null || digits === null) return null;
  if (digits === undefined || digits === 0) return roundHalfAway(x);
  // DuckDB takes the digits as a 32-bit INTEGER.
  if (!(digits >= -2147483648 && digits <= 2147483647)) return null;
  if (digits < 0) {
    const m = pow10(-digits);
    const r = roundHalfAway(x / m) * m;
    return Number.isFinite(r) ? r : 0;
  }
  const m = pow10(digits);
  const r = roundHalfAway(x * m) / m;
  return Number.isFinite(r) ? r : x;
}

/**
 * round() of an int: digits >= 0 leave it unchanged; negative digits round
 * to tens, hundreds, ... (half away from zero) like the float form.
 */
export function roundInt(x: number, digits: number): number;
export function roundInt(x: N, digits: N): N;
export function roundInt(x: N, digits: N): N {
  if (x === null || digits === null) return null;
  return digits >= 0 ? x : round(x, digits);
}

/** Truncates toward zero; null outside int64. */
export function toInt(x: number): number;
export function toInt(x: N): N;
export function toInt(x: N): N {
  return x === null ? null : i64(Math.trunc(x));
}

export function hour(t: Date): number;
export function hour(t: Date | null): N;
export function hour(t: Date | null): N {
  return t === null ? null : t.getUTCHours();
}

/** ISO day of week: 1 = Monday .. 7 = Sunday. */
export function dayOfWeek(t: Date): number;
export function dayOfWeek(t: Date | null): N;
export function dayOfWeek(t: Date | null): N {
  return t === null ? null : ((t.getUTCDay() + 6) % 7) + 1;
}

export function dayOfMonth(t: Date): number;
export function dayOfMonth(t: Date | null): N;
export function dayOfMonth(t: Date | null): N {
  return t === null ? null : t.getUTCDate();
}

export function month(t: Date): number;
export function month(t: Date | null): N;
export function month(t: Date | null): N {
  return t === null ? null : t.getUTCMonth() + 1;
}

export function year(t: Date): number;
export function year(t: Date | null): N;
export function year(t: Date | null): N {
  return t === null ? null : t.getUTCFullYear();
}

// Case mapping: Unicode simple (one code point to one code point) mapping,
// as DuckDB's utf8proc does. JS only offers full mappings, so code points
// whose full mapping is several code points use the simple mapping below
// (or stay unchanged), and code points DuckDB 1.5 does not map (Unicode 16
// additions) stay unchanged.
const LOWER_SPECIAL: ReadonlyMap<number, number> = new Map([[0x130, 0x69]]);
const UPPER_SPECIAL: ReadonlyMap<number, number> = (() => {
  const m = new Map<number, number>([
    [0xdf, 0x1e9e],
    [0x1fb3, 0x1fbc],
    [0x1fc3, 0x1fcc],
    [0x1ff3, 0x1ffc],
  ]);
  for (const base of [0x1f80, 0x1f90, 0x1fa0]) for (let i = 0; i < 8; i++) m.set(base + i, base + i + 8);
  return m;
})();
function inRanges(cp: number, ranges: ReadonlyArray<readonly [number, number]>): boolean {
  for (const [lo, hi] of ranges) if (cp >= lo && cp <= hi) return true;
  return false;
}
const LOWER_KEEP: ReadonlyArray<readonly [number, number]> = [
  [0x1c89, 0x1c89], [0xa7cb, 0xa7cc], [0xa7ce, 0xa7ce], [0xa7d2, 0xa7d2], [0xa7d4, 0xa7d4],
  [0xa7da, 0xa7da], [0xa7dc, 0xa7dc], [0x10d50, 0x10d65], [0x16ea0, 0x16eb8],
];
const UPPER_KEEP: ReadonlyArray<readonly [number, number]> = [
  [0x19b, 0x19b], [0x264, 0x264], [0x1c8a, 0x1c8a], [0xa7cd, 0xa7cd], [0xa7cf, 0xa7cf],
  [0xa7d3, 0xa7d3], [0xa7d5, 0xa7d5], [0xa7db, 0xa7db], [0x10d70, 0x10d85], [0x16ebb, 0x16ed3],
];

function mapCase(s: string, upperCase: boolean): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return upperCase ? s.toUpperCase() : s.toLowerCase();
  const special = upperCase ? UPPER_SPECIAL : LOWER_SPECIAL;
  const keep = upperCase ? UPPER_KEEP : LOWER_KEEP;
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      out += upperCase ? ch.toUpperCase() : ch.toLowerCase();
      continue;
    }
    const sp = special.get(cp);
    if (sp !== undefined) {
      out += String.fromCodePoint(sp);
      continue;
    }
    if (inRanges(cp, keep)) {
      out += ch;
      continue;
    }
    const m = upperCase ? ch.toUpperCase() : ch.toLowerCase();
    // A full mapping to several code points has no simple counterpart: keep the character.
    out += m.length === 1 || (m.length === 2 && m.codePointAt(0)! > 0xffff) ? m : ch;
  }
  return out;
}

export function lower(s: string): string;
export function lower(s: string | null): string | null;
export function lower(s: string | null): string | null {
  return s === null ? null : mapCase(s, false);
}

export function upper(s: string): string;
export function upper(s: string | null): string | null;
export function upper(s: string | null): string | null {
  return s === null ? null : mapCase(s, true);
}

/** Number of Unicode code points (DuckDB length). */
export function length(s: string): number;
export function length(s: string | null): N;
export function length(s: string | null): N {
  if (s === null) return null;
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--;
    }
  }
  return n;
}

/** Concatenation; null when any part is null (SQL ||). */
export function concat(...xs: string[]): string;
export function concat(...xs: (string | null)[]): string | null;
export function concat(...xs: (string | null)[]): string | null {
  let out = "";
  for (const x of xs) {
    if (x === null) return null;
    out += x;
  }
  return out;
}

// ------------------------------------------------------------------ timestamps and durations

/** Timestamp from epoch milliseconds; null when out of the Date range or not finite. */
export function tsFromMs(ms: number): Date;
export function tsFromMs(ms: N): Date | null;
export function tsFromMs(ms: N): Date | null {
  if (ms === null || !Number.isFinite(ms)) return null;
  const d = new Date(Math.trunc(ms));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Epoch milliseconds of a timestamp. */
export function tsMs(t: Date): number;
export function tsMs(t: Date | null): N;
export function tsMs(t: Date | null): N {
  return t === null ? null : t.getTime();
}

/** t + d (d in milliseconds, truncated toward zero). */
export function tsAdd(t: Date, d: number): Date;
export function tsAdd(t: Date | null, d: N): Date | null;
export function tsAdd(t: Date | null, d: N): Date | null {
  if (t === null || d === null) return null;
  return tsFromMs(t.getTime() + Math.trunc(d));
}

/** a - b as a duration in milliseconds. */
export function tsDiff(a: Date, b: Date): number;
export function tsDiff(a: Date | null, b: Date | null): N;
export function tsDiff(a: Date | null, b: Date | null): N {
  return a === null || b === null ? null : a.getTime() - b.getTime();
}
