// The built-in scalar functions: ONE table. Each entry is everything fti
// knows about one function:
//
//   params / variadic / minArgs / orderable / returns / doc   the signature (the checker types calls with it)
//   sql(l, args, type)                                          its DuckDB lowering (lower/sql.ts calls it)
//   ts(l, args, type)                                           its TypeScript lowering (lower/ts.ts calls it)
//   helpers                                                     the runtime/expr.ts helpers `ts` may call
//
// Both lowerings must compute the same value (compiler/lower/CONTEXT.md has
// the shared semantics; test/lower-property.test.ts checks them against each
// other for every entry). A new lowering (another SQL dialect, an incremental
// one) is one more function per entry, with its kit in its lowering module.
// How to add a built-in: compiler/CONTEXT.md, "Recipes".

import { MAX_VECTOR_DIM, type IrExpr, type IrType } from "./ir.ts";
import {
  allNullable, checkArgs, floatOf, floatOrNull, intOf, keepNumeric, stringOf, t, unifyBase,
  type ArgsCheck, type BuiltinSig,
} from "./builtin-check.ts";
import { DIAG, type Message } from "./messages.ts";
import { isNullLit } from "./lower/common.ts";
import type { SqlFrag, SqlKit } from "./lower/sql.ts";
import type { RuntimeHelper, TsFrag, TsKit } from "./lower/ts.ts";

export { checkWindowAggArgs, WINDOW_AGGS, type ArgsCheck, type BuiltinSig, type ParamKind, type ParamSpec } from "./builtin-check.ts";

export interface Builtin extends BuiltinSig {
  /** DuckDB SQL for a call (bare `null` arguments already typed like their parameter). */
  sql(l: SqlKit, args: IrExpr[], type: IrType): SqlFrag;
  /** TypeScript for a call. */
  ts(l: TsKit, args: IrExpr[], type: IrType): TsFrag;
  /** The runtime/expr.ts helpers `ts` may call (through `l.call`). */
  helpers: readonly RuntimeHelper[];
  /**
   * Computed by the feature pipeline only: the SQL calls a DuckDB function the
   * pipeline registers (embed: runtime/embeddings/), so a call is allowed in a
   * feature group only (FTI4101) and `ts` is never called.
   */
  pipelineOnly?: boolean;
  /**
   * For a built-in whose result type depends on the value of literal
   * arguments (embed's length is its type, float[N]): runs after the
   * signature's checks and gives the arguments as the IR keeps them (optional
   * ones filled in) with the result type, or what is wrong with which argument.
   * `returns` is then only the type without those values.
   */
  literals?: (args: readonly IrExpr[]) => LiteralCheck;
}

export type LiteralCheck = { ok: true; args: IrExpr[]; returns: IrType } | { ok: false; arg: number; problem: Message };

/** The length and model of an `embed(text, N, model)` call as the checker keeps it (model null: the built-in hashing embedding). */
export function embedCallInfo(args: readonly IrExpr[]): { dim: number; model: string | null } {
  const dim = args[1]?.k === "lit" ? Number(args[1].value) : NaN;
  const model = args[2]?.k === "lit" && typeof args[2].value === "string" ? args[2].value : null;
  return { dim, model };
}

/** The DuckDB function computing embeddings of one length: `fti_embed_256(text, model)` ('' = the built-in hashing); runtime/embeddings/functions.ts registers it. */
export const embedFunctionName = (dim: number): string => `fti_embed_${dim}`;

/**
 * `embed(text, N[, "model"])`: N and the model are literals; N is the type.
 * Without a model, the runtime's built-in hashing embedding; with one, an
 * OpenAI-compatible embeddings endpoint configured outside the spec.
 */
const embed: Builtin = {
  params: [
    { name: "text", kind: "string" },
    { name: "length", kind: "int" },
    { name: "model", kind: "string", optional: true },
  ],
  returns: ([text]) => ({ base: "vector", nullable: text.nullable }),
  doc: "A text embedding as float[N]: without a model, the built-in hashing embedding (offline, deterministic); with one, that model of the configured OpenAI-compatible embeddings endpoint (FTI_EMBED_URL). Feature groups only.",
  helpers: [],
  pipelineOnly: true,
  literals: ([text, length, model]) => {
    if (length.k !== "lit" || typeof length.value !== "number") return { ok: false, arg: 1, problem: DIAG.vectorType.literalLength("length", "embed") };
    if (!Number.isInteger(length.value) || length.value < 1 || length.value > MAX_VECTOR_DIM) {
      return { ok: false, arg: 1, problem: DIAG.vectorType.length(length.value, MAX_VECTOR_DIM) };
    }
    if (model && (model.k !== "lit" || typeof model.value !== "string" || model.value.trim() === "")) {
      return { ok: false, arg: 2, problem: DIAG.argumentType.literalString("model", "embed", "the name the embeddings endpoint knows it by") };
    }
    const modelArg: IrExpr = model ?? { k: "lit", type: t("string", true), value: null };
    return { ok: true, args: [text, length, modelArg], returns: { base: "vector", dim: length.value, nullable: text.type.nullable } };
  },
  sql: (l, args, type) => {
    const { dim, model } = embedCallInfo(args);
    const modelSql = l.lower({ k: "lit", type: t("string", false), value: model ?? "" }).sql;
    return l.frag(`${embedFunctionName(dim)}(${l.lower(args[0]).sql}, ${modelSql})`, `FLOAT[${type.dim ?? dim}]`);
  },
  ts: () => {
    throw new Error("embed() is computed by the feature pipeline in SQL, never in TypeScript");
  },
};

// ------------------------------------------------------------------ shapes shared by several entries

/** sqrt / ln / log10: DuckDB raises an error outside the domain; the result is NULL there, as in TS. */
function domainChecked(sqlName: string, okWhen: string, helper: RuntimeHelper, params: Builtin["params"], doc: string): Builtin {
  return {
    params,
    returns: floatOrNull,
    doc,
    helpers: [helper],
    sql: (l, [x0]) => {
      const x = l.clean(x0);
      const d = l.frag(l.dbl(x), "DOUBLE", { simple: x.simple });
      if (l.short(d)) return l.frag(`${sqlName}(CASE WHEN ${d.sql} ${okWhen} THEN ${d.sql} END)`, "DOUBLE");
      return l.frag(`TRY(${sqlName}(${d.sql}))`, "DOUBLE");
    },
    ts: (l, [x]) => l.call(helper, [l.clean(x)]),
  };
}

/** floor / ceil: an int is already integral. */
function integral(sqlName: "floor" | "ceil", doc: string): Builtin {
  return {
    params: [{ name: "x", kind: "numeric" }],
    returns: keepNumeric,
    doc,
    helpers: [sqlName],
    sql: (l, [x]) => {
      const a = l.lower(x);
      if (x.type.base === "int") return a;
      return l.frag(`${sqlName}(${l.dbl(a)})`, "DOUBLE", { raw: a.raw });
    },
    ts: (l, [x]) => {
      const a = l.lower(x);
      if (x.type.base === "int") return a;
      return a.nn ? l.frag(`Math.${sqlName}(${a.code})`, { raw: a.raw, nn: true }) : l.call(sqlName, [a], { raw: a.raw });
    },
  };
}

/** least / greatest / coalesce: one common type; a bare null takes a sibling's type. */
function unifying(name: "least" | "greatest" | "coalesce", doc: string): Builtin {
  return {
    params: [{ name: "x", kind: "same" }],
    variadic: true,
    minArgs: 2,
    ...(name === "coalesce" ? {} : { orderable: true }),
    returns: (ts) => t(unifyBase(ts), allNullable(ts)),
    doc,
    helpers: name === "coalesce" ? [] : [name],
    sql: (l, args, type) => {
      const like = args.find((a) => !isNullLit(a))?.type ?? type;
      const fs = l.unify(args.map((a) => l.as(a, like)));
      return l.frag(`${name}(${fs.map((f) => f.sql).join(", ")})`, fs[0].st);
    },
    ts: (l, args) => {
      const fs = args.map((a) => l.clean(a));
      const o = { nn: fs.some((f) => f.nn), wide: fs.some((f) => f.wide) };
      return name === "coalesce" ? l.frag(`(${fs.map((f) => f.code).join(" ?? ")})`, o) : l.call(name, fs, o);
    },
  };
}

/** A part of a timestamp (UTC) as an int: DuckDB's date part function, the runtime's helper. */
function timePart(sqlName: string, helper: RuntimeHelper, doc: string): Builtin {
  return {
    params: [{ name: "t", kind: "timestamp" }],
    returns: intOf,
    doc,
    helpers: [helper],
    sql: (l, [x]) => l.frag(`${sqlName}(${l.lower(x).sql})`, "BIGINT"),
    ts: (l, [x]) => {
      const a = l.lower(x);
      return l.call(helper, [a], { nn: a.nn });
    },
  };
}

/** A string function with a DuckDB function and a runtime helper of the same name. */
function stringFn(name: "lower" | "upper" | "length", returns: Builtin["returns"], doc: string): Builtin {
  return {
    params: [{ name: "s", kind: "string" }],
    returns,
    doc,
    helpers: [name],
    sql: (l, [x]) => l.frag(`${name}(${l.lower(x).sql})`, name === "length" ? "BIGINT" : "VARCHAR"),
    ts: (l, [x]) => {
      const a = l.lower(x);
      return l.call(name, [a], { nn: a.nn });
    },
  };
}

// ------------------------------------------------------------------ the table

export const BUILTINS: Record<string, Builtin> = {
  embed,
  abs: {
    params: [{ name: "x", kind: "numeric" }],
    returns: keepNumeric,
    doc: "Absolute value; keeps int/float.",
    helpers: ["abs"],
    sql: (l, [x]) => {
      const a = l.lower(x);
      return l.frag(`abs(${l.dbl(a)})`, "DOUBLE", { raw: a.raw });
    },
    ts: (l, [x], type) => {
      const a = l.lower(x);
      const wide = type.base === "int";
      return a.nn ? l.frag(`Math.abs(${a.code})`, { raw: a.raw, nn: true, wide }) : l.call("abs", [a], { raw: a.raw, wide });
    },
  },
  sqrt: domainChecked("sqrt", ">= 0", "sqrt", [{ name: "x", kind: "float" }], "Square root; null for x < 0 (always nullable)."),
  ln: domainChecked("ln", "> 0", "ln", [{ name: "x", kind: "float" }], "Natural logarithm; null for x <= 0 (always nullable)."),
  log10: domainChecked("log10", "> 0", "log10", [{ name: "x", kind: "float" }], "Base-10 logarithm; null for x <= 0 (always nullable)."),
  exp: {
    params: [{ name: "x", kind: "float" }],
    returns: floatOf,
    doc: "e^x; null when the result overflows a double.",
    helpers: ["exp"],
    sql: (l, [x]) => l.frag(`exp(${l.dbl(l.clean(x))})`, "DOUBLE", { raw: true }),
    ts: (l, [x]) => l.call("exp", [l.clean(x)]),
  },
  floor: integral("floor", "Largest integral value <= x; keeps int/float."),
  ceil: integral("ceil", "Smallest integral value >= x; keeps int/float."),
  round: {
    params: [
      { name: "x", kind: "numeric" },
      { name: "digits", kind: "int", optional: true },
    ],
    returns: keepNumeric,
    doc: "Rounds half away from zero to `digits` decimals (default 0; negative rounds to tens, hundreds, ...); keeps int/float.",
    helpers: ["round", "roundInt"],
    sql: (l, args) => {
      const x = l.clean(args[0]);
      if (args.length === 1) return args[0].type.base === "int" ? x : l.frag(`round(${l.dbl(x)})`, "DOUBLE");
      const d = l.clean(args[1]);
      const rounded = (xs: string, ds: string) => `round(${xs}, TRY_CAST(${ds} AS INTEGER))`;
      if (args[0].type.base !== "int") return l.frag(rounded(l.dbl(x), d.sql), "DOUBLE");
      // An int with digits >= 0 is unchanged; negative digits round like a float.
      const xd = l.frag(l.dbl(x), "DOUBLE", { simple: x.simple });
      return l.frag(
        l.bind(xd, (xv) => l.bind(d, (dv) => `(CASE WHEN ${dv} >= 0 THEN ${xv} WHEN ${dv} < 0 THEN ${rounded(xv, dv)} END)`)),
        "DOUBLE",
      );
    },
    ts: (l, args) => {
      const x = l.clean(args[0]);
      if (args.length === 1) return args[0].type.base === "int" ? x : l.call("round", [x], { nn: x.nn });
      const d = l.clean(args[1]);
      if (args[0].type.base === "int") return l.call("roundInt", [x, d], { wide: true });
      return l.call("round", [x, d]);
    },
  },
  least: unifying("least", "Smallest non-null argument; null only when every argument is null."),
  greatest: unifying("greatest", "Largest non-null argument; null only when every argument is null."),
  coalesce: unifying("coalesce", "First non-null argument; nullable only when every argument is nullable."),
  is_null: {
    params: [{ name: "x", kind: "any" }],
    returns: () => t("bool", false),
    doc: "True when x is null; never null.",
    helpers: [],
    sql: (l, [x]) => l.frag(`(${l.clean(x).sql} IS NULL)`, "BOOLEAN"),
    ts: (l, [x]) => l.frag(`(${l.clean(x).code} === null)`, { nn: true }),
  },
  hour: timePart("hour", "hour", "Hour of the day, 0..23 (UTC)."),
  day_of_week: timePart("isodow", "dayOfWeek", "ISO day of week, 1 = Monday .. 7 = Sunday (UTC)."),
  day_of_month: timePart("day", "dayOfMonth", "Day of the month, 1..31 (UTC)."),
  month: timePart("month", "month", "Month, 1..12 (UTC)."),
  year: timePart("year", "year", "Year (UTC)."),
  lower: stringFn("lower", stringOf, "Lower case (per code point, simple case mapping)."),
  upper: stringFn("upper", stringOf, "Upper case (per code point, simple case mapping)."),
  length: stringFn("length", intOf, "Number of Unicode code points."),
  concat: {
    params: [{ name: "s", kind: "string" }],
    variadic: true,
    minArgs: 1,
    returns: stringOf,
    doc: "Concatenation; null when any argument is null.",
    helpers: ["concat"],
    sql: (l, args) => {
      const fs = args.map((a) => l.lower(a));
      return fs.length === 1 ? fs[0] : l.frag(`(${fs.map((f) => f.sql).join(" || ")})`, "VARCHAR");
    },
    ts: (l, args) => {
      const fs = args.map((a) => l.lower(a));
      if (fs.length === 1) return fs[0];
      if (fs.every((f) => f.nn)) return l.frag(`(${fs.map((f) => f.code).join(" + ")})`, { nn: true });
      return l.call("concat", fs);
    },
  },
  to_float: {
    params: [{ name: "x", kind: "numeric" }],
    returns: floatOf,
    doc: "Converts an int to float.",
    helpers: [],
    sql: (l, [x]) => {
      const a = l.lower(x);
      return l.frag(l.dbl(a), "DOUBLE", { raw: a.raw, simple: a.simple && a.st === "DOUBLE" });
    },
    ts: (l, [x]) => ({ ...l.lower(x), wide: false }),
  },
  to_int: {
    params: [{ name: "x", kind: "numeric" }],
    returns: intOf,
    doc: "Truncates toward zero; null when the value is outside the int64 range.",
    helpers: ["toInt"],
    sql: (l, [x]) => {
      const a = l.lower(x);
      return a.st === "BIGINT" ? a : l.frag(`TRY_CAST(trunc(${l.dbl(a)}) AS BIGINT)`, "BIGINT");
    },
    ts: (l, [x]) => l.call("toInt", [l.lower(x)]),
  },
};

/**
 * Checks a builtin call's argument types (see builtin-check.ts): its result
 * type, or the diagnostic. Mark bare `null` arguments in `nullLiterals`.
 */
export function checkBuiltinArgs(name: string, argTypes: IrType[], nullLiterals?: readonly boolean[]): ArgsCheck {
  const sig = Object.prototype.hasOwnProperty.call(BUILTINS, name) ? BUILTINS[name] : undefined;
  if (!sig) return { ok: false, problem: DIAG.unknownName.function(name, []) };
  return checkArgs(name, sig, argTypes, nullLiterals);
}
