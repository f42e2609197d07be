// The built-in scalar functions and windowed aggregations: their signatures,
// result types and one-line docs. The checker types calls with
// `checkBuiltinArgs`; the lowerings (compiler/lower/ts.ts, sql.ts) implement
// them with the semantics written in compiler/lower/CONTEXT.md.
//
// Typing rules shared by every builtin:
// - An `int` argument is accepted where a `float` is expected (widening).
// - Unless a function says otherwise, the result is nullable when any argument
//   is nullable (null in, null out).
// - Domain errors that realistic inputs hit (sqrt of a negative, ln/log10 of
//   a non-positive) make the result nullable, like `/`, `%` and `^` (the
//   checker types those nullable: null on a zero divisor). Overflow beyond the
//   double range (exp(1000), to_int(1e30), 1e308 * 10) also yields null at run
//   time but does not make the type nullable, like + - *.

import type { IrType, ScalarType, WindowAgg } from "./ir.ts";

/**
 * What one parameter accepts:
 * - "numeric": int or float; the result of most numeric functions keeps that base.
 * - "float": float, or int (widened).
 * - "int", "string", "timestamp", "bool": exactly that base.
 * - "any": any scalar base (not a list).
 * - "same": all "same" parameters of one call must share one base type; int
 *   and float mixed unify to float. `orderable` restricts it to types with an
 *   order (int, float, string, timestamp, bool, duration).
 */
export type ParamKind = "numeric" | "float" | "int" | "string" | "timestamp" | "bool" | "any" | "same";

export interface ParamSpec {
  name: string;
  kind: ParamKind;
  /** Trailing optional parameter (e.g. round's digits). */
  optional?: boolean;
}

export interface BuiltinSig {
  params: ParamSpec[];
  /** The last parameter repeats (at least once). */
  variadic?: boolean;
  /** Minimum number of arguments for variadic functions (default: params.length). */
  minArgs?: number;
  /** Only meaningful for "same" params: restrict to ordered types. */
  orderable?: boolean;
  /** Result type, given argument types that already passed the parameter checks. */
  returns: (argTypes: IrType[]) => IrType;
  doc: string;
}

const t = (base: ScalarType, nullable: boolean): IrType => ({ base, nullable });
const anyNullable = (ts: IrType[]): boolean => ts.some((x) => x.nullable);
const allNullable = (ts: IrType[]): boolean => ts.length > 0 && ts.every((x) => x.nullable);

/** The unified base of "same"-kind arguments (int+float → float); caller has checked compatibility. */
function unifyBase(ts: IrType[]): ScalarType {
  let base = ts[0].base as ScalarType;
  for (const x of ts) if (x.base !== base) base = "float"; // only int/float can differ
  return base;
}

const keepNumeric = (ts: IrType[]): IrType => t(ts[0].base === "int" ? "int" : "float", anyNullable(ts));
const floatOf = (ts: IrType[]): IrType => t("float", anyNullable(ts));
const floatOrNull = (): IrType => t("float", true);
const intOf = (ts: IrType[]): IrType => t("int", anyNullable(ts));
const stringOf = (ts: IrType[]): IrType => t("string", anyNullable(ts));

export const BUILTINS: Record<string, BuiltinSig> = {
  abs: { params: [{ name: "x", kind: "numeric" }], returns: keepNumeric, doc: "Absolute value; keeps int/float." },
  sqrt: {
    params: [{ name: "x", kind: "float" }],
    returns: floatOrNull,
    doc: "Square root; null for x < 0 (always nullable).",
  },
  ln: { params: [{ name: "x", kind: "float" }], returns: floatOrNull, doc: "Natural logarithm; null for x <= 0 (always nullable)." },
  log10: { params: [{ name: "x", kind: "float" }], returns: floatOrNull, doc: "Base-10 logarithm; null for x <= 0 (always nullable)." },
  exp: { params: [{ name: "x", kind: "float" }], returns: floatOf, doc: "e^x; null when the result overflows a double." },
  floor: { params: [{ name: "x", kind: "numeric" }], returns: keepNumeric, doc: "Largest integral value <= x; keeps int/float." },
  ceil: { params: [{ name: "x", kind: "numeric" }], returns: keepNumeric, doc: "Smallest integral value >= x; keeps int/float." },
  round: {
    params: [
      { name: "x", kind: "numeric" },
      { name: "digits", kind: "int", optional: true },
    ],
    returns: keepNumeric,
    doc: "Rounds half away from zero to `digits` decimals (default 0; negative rounds to tens, hundreds, ...); keeps int/float.",
  },
  least: {
    params: [{ name: "x", kind: "same" }],
    variadic: true,
    minArgs: 2,
    orderable: true,
    returns: (ts) => t(unifyBase(ts), allNullable(ts)),
    doc: "Smallest non-null argument; null only when every argument is null.",
  },
  greatest: {
    params: [{ name: "x", kind: "same" }],
    variadic: true,
    minArgs: 2,
    orderable: true,
    returns: (ts) => t(unifyBase(ts), allNullable(ts)),
    doc: "Largest non-null argument; null only when every argument is null.",
  },
  coalesce: {
    params: [{ name: "x", kind: "same" }],
    variadic: true,
    minArgs: 2,
    returns: (ts) => t(unifyBase(ts), allNullable(ts)),
    doc: "First non-null argument; nullable only when every argument is nullable.",
  },
  is_null: { params: [{ name: "x", kind: "any" }], returns: () => t("bool", false), doc: "True when x is null; never null." },
  hour: { params: [{ name: "t", kind: "timestamp" }], returns: intOf, doc: "Hour of the day, 0..23 (UTC)." },
  day_of_week: { params: [{ name: "t", kind: "timestamp" }], returns: intOf, doc: "ISO day of week, 1 = Monday .. 7 = Sunday (UTC)." },
  month: { params: [{ name: "t", kind: "timestamp" }], returns: intOf, doc: "Month, 1..12 (UTC)." },
  year: { params: [{ name: "t", kind: "timestamp" }], returns: intOf, doc: "Year (UTC)." },
  lower: { params: [{ name: "s", kind: "string" }], returns: stringOf, doc: "Lower case (per code point, simple case mapping)." },
  upper: { params: [{ name: "s", kind: "string" }], returns: stringOf, doc: "Upper case (per code point, simple case mapping)." },
  length: { params: [{ name: "s", kind: "string" }], returns: intOf, doc: "Number of Unicode code points." },
  concat: {
    params: [{ name: "s", kind: "string" }],
    variadic: true,
    minArgs: 1,
    returns: stringOf,
    doc: "Concatenation; null when any argument is null.",
  },
  to_float: { params: [{ name: "x", kind: "numeric" }], returns: floatOf, doc: "Converts an int to float." },
  to_int: {
    params: [{ name: "x", kind: "numeric" }],
    returns: intOf,
    doc: "Truncates toward zero; null when the value is outside the int64 range.",
  },
};

const ORDERABLE: ReadonlySet<string> = new Set(["int", "float", "string", "timestamp", "bool", "duration"]);

function typeText(x: IrType): string {
  if (x.base === "vector") return `float[${x.dim}]` + (x.nullable ? "?" : "");
  return x.base + (x.nullable ? "?" : "");
}

function accepts(kind: ParamKind, x: IrType): boolean {
  switch (kind) {
    case "numeric":
    case "float":
      return x.base === "int" || x.base === "float";
    case "int":
    case "string":
    case "timestamp":
    case "bool":
      return x.base === kind;
    case "any":
    case "same":
      return x.base !== "list" && x.base !== "vector";
  }
}

const KIND_TEXT: Record<ParamKind, string> = {
  numeric: "int or float",
  float: "float (or int)",
  int: "int",
  string: "string",
  timestamp: "timestamp",
  bool: "bool",
  any: "a scalar value",
  same: "a scalar value",
};

/**
 * Checks a builtin call's argument types. `argTypes` are the types of the
 * arguments as written; mark `null` literals in `nullLiterals` so that
 * `coalesce(name, null)` types as `string?` whatever base the checker gives a
 * bare null.
 */
export function checkBuiltinArgs(
  name: string,
  argTypes: IrType[],
  /** Which arguments are the `null` literal: accepted for any parameter, ignored when unifying "same" types. */
  nullLiterals?: readonly boolean[],
): { ok: true; returns: IrType } | { ok: false; message: string } {
  const sig = Object.prototype.hasOwnProperty.call(BUILTINS, name) ? BUILTINS[name] : undefined;
  if (!sig) return { ok: false, message: `unknown function \`${name}\`` };
  const required = sig.params.filter((p) => !p.optional).length;
  if (sig.variadic) {
    const min = sig.minArgs ?? sig.params.length;
    if (argTypes.length < min) {
      return { ok: false, message: `\`${name}\` expects at least ${min} argument${min === 1 ? "" : "s"}, got ${argTypes.length}` };
    }
  } else if (argTypes.length < required || argTypes.length > sig.params.length) {
    const expect = required === sig.params.length ? `${required}` : `${required} to ${sig.params.length}`;
    return { ok: false, message: `\`${name}\` expects ${expect} argument${sig.params.length === 1 ? "" : "s"}, got ${argTypes.length}` };
  }
  const same: IrType[] = [];
  for (let i = 0; i < argTypes.length; i++) {
    const p = sig.params[Math.min(i, sig.params.length - 1)];
    const a = argTypes[i];
    if (nullLiterals?.[i]) continue;
    if (!accepts(p.kind, a)) {
      return {
        ok: false,
        message: `argument ${i + 1} (\`${p.name}\`) of \`${name}\` must be ${KIND_TEXT[p.kind]}, got ${typeText(a)}`,
      };
    }
    if (p.kind === "same") {
      if (sig.orderable && !ORDERABLE.has(a.base)) {
        return { ok: false, message: `argument ${i + 1} of \`${name}\` must be an ordered type (int, float, string, timestamp, bool, duration), got ${typeText(a)}` };
      }
      same.push(a);
    }
  }
  if (same.length > 1) {
    const first = same[0].base;
    for (const a of same) {
      const numeric = (b: string) => b === "int" || b === "float";
      if (a.base !== first && !(numeric(a.base) && numeric(first))) {
        return {
          ok: false,
          message: `arguments of \`${name}\` must all have the same type, got ${same.map(typeText).join(", ")}`,
        };
      }
    }
  }
  if (nullLiterals?.some(Boolean)) {
    // A null literal takes the type of its siblings (the first non-null "same" argument), else keeps its own.
    const like = same[0] ?? argTypes[0];
    const typed = argTypes.map((a, i) => (nullLiterals[i] ? { base: like.base, nullable: true } : a));
    return { ok: true, returns: sig.returns(typed) };
  }
  return { ok: true, returns: sig.returns(argTypes) };
}

// ------------------------------------------------------------------ windowed aggregations

export interface WindowAggSig {
  /** 0 or 1 arguments (count accepts both). */
  minArgs: number;
  maxArgs: number;
  /** What the argument must be ("any" for count/last, "numeric" for sums, "same" = orderable for min/max). */
  arg: ParamKind | null;
  /** Result type given the argument's type (null for `count()`). */
  returns: (argType: IrType | null) => IrType;
  doc: string;
}

export const WINDOW_AGGS: Record<WindowAgg, WindowAggSig> = {
  count: {
    minArgs: 0,
    maxArgs: 1,
    arg: "any",
    returns: () => t("int", false),
    doc: "count(): rows in the frame; count(x): rows with non-null x. Never null (0 for an empty frame).",
  },
  sum: {
    minArgs: 1,
    maxArgs: 1,
    arg: "numeric",
    returns: (a) => t(a && a.base === "int" ? "int" : "float", true),
    doc: "Sum of non-null x; null when there is none.",
  },
  avg: { minArgs: 1, maxArgs: 1, arg: "numeric", returns: () => t("float", true), doc: "Mean of non-null x; null when there is none." },
  stddev: {
    minArgs: 1,
    maxArgs: 1,
    arg: "numeric",
    returns: () => t("float", true),
    doc: "Sample standard deviation (ddof = 1) of non-null x; null with fewer than 2 values.",
  },
  ewma: {
    minArgs: 1,
    maxArgs: 1,
    arg: "numeric",
    returns: () => t("float", true),
    doc: "Exponentially time-weighted mean over all earlier-or-equal rows, weights exp(-(t - t_i)/tau); `over` gives tau.",
  },
  min: {
    minArgs: 1,
    maxArgs: 1,
    arg: "same",
    returns: (a) => t((a?.base ?? "float") as ScalarType, true),
    doc: "Smallest non-null x in the frame; null when there is none.",
  },
  max: {
    minArgs: 1,
    maxArgs: 1,
    arg: "same",
    returns: (a) => t((a?.base ?? "float") as ScalarType, true),
    doc: "Largest non-null x in the frame; null when there is none.",
  },
  last: {
    minArgs: 1,
    maxArgs: 1,
    arg: "any",
    returns: (a) => t((a?.base ?? "float") as ScalarType, true),
    doc: "x of the latest row in the frame with non-null x (ties at one instant: the greatest row id).",
  },
};

/** Checks a window aggregation's argument list; the `over` duration is checked by the caller. */
export function checkWindowAggArgs(
  agg: string,
  argTypes: IrType[],
): { ok: true; returns: IrType } | { ok: false; message: string } {
  const sig = Object.prototype.hasOwnProperty.call(WINDOW_AGGS, agg) ? WINDOW_AGGS[agg as WindowAgg] : undefined;
  if (!sig) return { ok: false, message: `unknown window aggregation \`${agg}\` (expected one of ${Object.keys(WINDOW_AGGS).join(", ")})` };
  if (argTypes.length < sig.minArgs || argTypes.length > sig.maxArgs) {
    const expect = sig.minArgs === sig.maxArgs ? `${sig.minArgs}` : `${sig.minArgs} or ${sig.maxArgs}`;
    return { ok: false, message: `\`${agg}\` expects ${expect} argument${sig.maxArgs === 1 ? "" : "s"}, got ${argTypes.length}` };
  }
  const a = argTypes[0] ?? null;
  if (a && sig.arg) {
    if (!accepts(sig.arg, a)) {
      return { ok: false, message: `the argument of \`${agg}\` must be ${KIND_TEXT[sig.arg]}, got ${typeText(a)}` };
    }
    if (sig.arg === "same" && !ORDERABLE.has(a.base)) {
      return { ok: false, message: `the argument of \`${agg}\` must be an ordered type, got ${typeText(a)}` };
    }
  }
  return { ok: true, returns: sig.returns(a) };
}
