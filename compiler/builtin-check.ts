// Typing built-in calls and windowed aggregations: what a parameter accepts,
// the checks the checker runs on a call's argument types, and the windowed
// aggregations' signatures. The built-ins themselves (signature, SQL, TS,
// runtime helper) are one table, compiler/builtins.ts.
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
import { DIAG, type Message } from "./messages.ts";

/** A call's result type, or the diagnostic that says why its arguments do not fit. */
export type ArgsCheck = { ok: true; returns: IrType } | { ok: false; problem: Message };

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

/** Result-type helpers for the table's `returns`. */
export const t = (base: ScalarType, nullable: boolean): IrType => ({ base, nullable });
export const anyNullable = (ts: IrType[]): boolean => ts.some((x) => x.nullable);
export const allNullable = (ts: IrType[]): boolean => ts.length > 0 && ts.every((x) => x.nullable);

/** The unified base of "same"-kind arguments (int+float → float); caller has checked compatibility. */
export function unifyBase(ts: IrType[]): ScalarType {
  let base = ts[0].base as ScalarType;
  for (const x of ts) if (x.base !== base) base = "float"; // only int/float can differ
  return base;
}

export const keepNumeric = (ts: IrType[]): IrType => t(ts[0].base === "int" ? "int" : "float", anyNullable(ts));
export const floatOf = (ts: IrType[]): IrType => t("float", anyNullable(ts));
export const floatOrNull = (): IrType => t("float", true);
export const intOf = (ts: IrType[]): IrType => t("int", anyNullable(ts));
export const stringOf = (ts: IrType[]): IrType => t("string", anyNullable(ts));

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
export function checkArgs(
  name: string,
  sig: BuiltinSig,
  argTypes: IrType[],
  /** Which arguments are the `null` literal: accepted for any parameter, ignored when unifying "same" types. */
  nullLiterals?: readonly boolean[],
): ArgsCheck {
  const required = sig.params.filter((p) => !p.optional).length;
  if (sig.variadic) {
    const min = sig.minArgs ?? sig.params.length;
    if (argTypes.length < min) {
      return { ok: false, problem: DIAG.arity.expects(name, `at least ${min}`, min !== 1, argTypes.length) };
    }
  } else if (argTypes.length < required || argTypes.length > sig.params.length) {
    const expect = required === sig.params.length ? `${required}` : `${required} to ${sig.params.length}`;
    return { ok: false, problem: DIAG.arity.expects(name, expect, sig.params.length !== 1, argTypes.length) };
  }
  const same: IrType[] = [];
  for (let i = 0; i < argTypes.length; i++) {
    const p = sig.params[Math.min(i, sig.params.length - 1)];
    const a = argTypes[i];
    if (nullLiterals?.[i]) continue;
    if (!accepts(p.kind, a)) {
      return { ok: false, problem: DIAG.argumentType.builtin(i + 1, p.name, name, KIND_TEXT[p.kind], typeText(a)) };
    }
    if (p.kind === "same") {
      if (sig.orderable && !ORDERABLE.has(a.base)) {
        return { ok: false, problem: DIAG.argumentType.builtinOrdered(i + 1, name, typeText(a)) };
      }
      same.push(a);
    }
  }
  if (same.length > 1) {
    const first = same[0].base;
    for (const a of same) {
      const numeric = (b: string) => b === "int" || b === "float";
      if (a.base !== first && !(numeric(a.base) && numeric(first))) {
        return { ok: false, problem: DIAG.argumentType.builtinSame(name, same.map(typeText)) };
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
): ArgsCheck {
  const sig = Object.prototype.hasOwnProperty.call(WINDOW_AGGS, agg) ? WINDOW_AGGS[agg as WindowAgg] : undefined;
  if (!sig) return { ok: false, problem: DIAG.unknownName.windowAgg(agg, Object.keys(WINDOW_AGGS)) };
  if (argTypes.length < sig.minArgs || argTypes.length > sig.maxArgs) {
    const expect = sig.minArgs === sig.maxArgs ? `${sig.minArgs}` : `${sig.minArgs} or ${sig.maxArgs}`;
    return { ok: false, problem: DIAG.arity.expects(agg, expect, sig.maxArgs !== 1, argTypes.length) };
  }
  const a = argTypes[0] ?? null;
  if (a && sig.arg) {
    if (!accepts(sig.arg, a)) {
      return { ok: false, problem: DIAG.aggregationArgument.kind(agg, KIND_TEXT[sig.arg], typeText(a)) };
    }
    if (sig.arg === "same" && !ORDERABLE.has(a.base)) {
      return { ok: false, problem: DIAG.aggregationArgument.ordered(agg, typeText(a)) };
    }
  }
  return { ok: true, returns: sig.returns(a) };
}
