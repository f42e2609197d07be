// Lowers a typed IR expression to a TypeScript expression (a string). The
// result computes exactly what compiler/lower/sql.ts computes in DuckDB; the
// shared semantics are in compiler/lower/CONTEXT.md. Helpers come from
// runtime/expr.ts (re-exported by "fti/runtime"), referenced by their
// exported names (or through `ctx.helper`).
//
// How non-finite values are handled (both lowerings do the same): every
// operation whose result is NaN or ±Infinity yields null. +, -, *, negation,
// abs, floor, ceil and to_float turn a non-finite input into a non-finite
// output, so a chain of them may run on plain numbers and be normalised once
// where the value is observed (a comparison, a function argument, the
// expression's result): that gives the same answer as normalising after every
// step. Every other operation normalises its inputs.

import type { IrExpr, IrFunction, IrType } from "../ir.ts";
import type * as RuntimeExpr from "../../runtime/expr.ts";
import { BUILTINS } from "../builtins.ts";
import { findFunction, timestampLiteralMs } from "./common.ts";

export interface TsContext {
  /** TS accessor of a column of the current row, e.g. `(n) => "row." + n`. */
  col(name: string): string;
  /** TS accessor of a parameter of the enclosing fn / on_demand body. */
  param(name: string): string;
  /** TS identifier of a declared `fn` / `extern fn`. */
  call(fn: string): string;
  /** How a runtime/expr.ts helper is referenced; default: its exported name. */
  helper?(name: string): string;
  /** Declared functions, to tell extern ones (whose results are re-checked) apart. */
  functions?: readonly IrFunction[];
  /**
   * Whether a non-nullable column / param can be trusted to never hold null
   * at run time (e.g. zod-validated request fields). Default: no, because a
   * stored non-nullable feature or a fn argument can be null after a domain
   * error (division by zero). Trusted refs let the lowering use plain JS
   * operators; an untrusted ref goes through the null-propagating helpers.
   */
  nonNull?(ref: { k: "col" | "param"; name: string; type: IrType }): boolean;
}

/** A lowered TS expression and what the lowering knows about it. */
export interface TsFrag {
  code: string;
  /** May hold NaN / ±Infinity (must be normalised before being observed). */
  raw: boolean;
  /** Can never be null at run time. */
  nn: boolean;
  /** An int value that may lie outside int64 (int arithmetic runs in double precision). */
  wide: boolean;
}

type Frag = TsFrag;

/** A helper of runtime/expr.ts, by its exported name (checked at compile time). */
export type RuntimeHelper = keyof typeof RuntimeExpr;

/**
 * What a built-in's TypeScript lowering (its `ts` in compiler/builtins.ts)
 * may use: the arguments lowered (as written, or finite-or-null), a call of
 * a runtime helper, and plain code.
 */
export interface TsKit {
  lower(e: IrExpr): TsFrag;
  /** Finite-or-null (NaN and ±Infinity become null). */
  clean(e: IrExpr): TsFrag;
  /** `helper(args...)`, the helper referenced as the emitting module reads the runtime. */
  call(helper: RuntimeHelper, args: TsFrag[], o?: Partial<Omit<TsFrag, "code">>): TsFrag;
  frag(code: string, o?: Partial<Omit<TsFrag, "code">>): TsFrag;
}

const frag = (code: string, o: Partial<Omit<Frag, "code">> = {}): Frag => ({
  code,
  raw: o.raw ?? false,
  nn: o.nn ?? false,
  wide: o.wide ?? false,
});

class TsLowering {
  constructor(private readonly ctx: TsContext) {}

  h(name: RuntimeHelper): string {
    return this.ctx.helper ? this.ctx.helper(name) : name;
  }

  /** Finite-or-null view of a numeric fragment (for observers). */
  clean(f: Frag, type: IrType): Frag {
    if (!f.raw) return f;
    if (type.base !== "int" && type.base !== "float" && type.base !== "duration") return f;
    return frag(`${this.h("fin")}(${f.code})`, { nn: false, wide: f.wide });
  }

  /** The value of an expression as its declared type: finite floats, int64 ints. */
  finish(f: Frag, type: IrType): string {
    if (type.base === "int" && (f.raw || f.wide)) return `${this.h("i64")}(${f.code})`;
    return this.clean(f, type).code;
  }

  lowerClean(e: IrExpr): Frag {
    return this.clean(this.lower(e), e.type);
  }

  lower(e: IrExpr): Frag {
    switch (e.k) {
      case "lit":
        return this.lit(e.value, e.type);
      case "col": {
        const trusted = !e.type.nullable && (this.ctx.nonNull?.({ k: "col", name: e.name, type: e.type }) ?? false);
        return frag(this.ctx.col(e.name), { nn: trusted });
      }
      case "param": {
        const trusted = !e.type.nullable && (this.ctx.nonNull?.({ k: "param", name: e.name, type: e.type }) ?? false);
        return frag(this.ctx.param(e.name), { nn: trusted });
      }
      case "call": {
        const fn = findFunction(this.ctx.functions, e.fn);
        // Arguments are converted to the parameter's type: ints range-checked, floats finite.
        const args = e.args.map((a, i) => this.finish(this.lower(a), fn?.params[i]?.type ?? a.type));
        const ext = !fn || fn.extern !== undefined;
        // A user fn's generated body already returns a finished value; an
        // extern's result is re-checked like any other raw value.
        return frag(`${this.ctx.call(e.fn)}(${args.join(", ")})`, {
          raw: ext,
          wide: ext && e.type.base === "int",
        });
      }
      case "builtin":
        return this.builtin(e.name, e.args, e.type);
      case "unary": {
        if (e.op === "not") {
          const a = this.lower(e.arg);
          return a.nn ? frag(`(!${a.code})`, { nn: true }) : frag(`${this.h("not3")}(${a.code})`);
        }
        const a = this.lower(e.arg);
        return a.nn
          ? frag(`(-${a.code})`, { raw: true, nn: true, wide: e.type.base === "int" })
          : frag(`${this.h("neg")}(${a.code})`, { raw: true, wide: e.type.base === "int" });
      }
      case "binary":
        return this.binary(e);
      case "if": {
        const c = this.lower(e.cond);
        const a = this.lower(e.then);
        const b = this.lower(e.else);
        const test = c.nn ? c.code : `${c.code} === true`;
        return frag(`(${test} ? ${a.code} : ${b.code})`, {
          raw: a.raw || b.raw,
          nn: a.nn && b.nn,
          wide: a.wide || b.wide,
        });
      }
      case "in": {
        const x = this.lowerClean(e.arg);
        const vs = e.values.map((v) => this.lowerClean(v));
        const base = e.arg.type.base;
        if (x.nn && vs.every((v) => v.nn) && base !== "timestamp" && vs.length > 0) {
          return frag(`(${vs.map((v) => `${x.code} === ${v.code}`).join(" || ")})`, { nn: true });
        }
        return frag(`${this.h("inList")}(${x.code}, [${vs.map((v) => v.code).join(", ")}])`);
      }
    }
  }

  lit(value: number | string | boolean | null, type: IrType): Frag {
    if (value === null) return frag("null");
    switch (type.base) {
      case "int":
      case "float":
      case "duration": {
        const n = Number(value);
        if (!Number.isFinite(n)) return frag("null");
        const text = Object.is(n, -0) ? "-0" : String(n);
        return frag(n < 0 || Object.is(n, -0) ? `(${text})` : text, { nn: true });
      }
      case "bool":
        return frag(value === true || value === "true" ? "true" : "false", { nn: true });
      case "string":
        return frag(JSON.stringify(String(value)), { nn: true });
      case "timestamp": {
        const ms = typeof value === "number" ? value : timestampLiteralMs(String(value));
        return frag(`new Date(${ms})`, { nn: true });
      }
      default:
        throw new Error(`cannot lower a literal of type ${type.base}`);
    }
  }

  binary(e: Extract<IrExpr, { k: "binary" }>): Frag {
    const lt = e.left.type.base;
    const rt = e.right.type.base;
    switch (e.op) {
      case "and":
      case "or": {
        const a = this.lower(e.left);
        const b = this.lower(e.right);
        if (a.nn && b.nn) return frag(`(${a.code} ${e.op === "and" ? "&&" : "||"} ${b.code})`, { nn: true });
        return frag(`${this.h(e.op === "and" ? "and3" : "or3")}(${a.code}, ${b.code})`);
      }
      case "==":
      case "!=":
      case "<":
      case "<=":
      case ">":
      case ">=":
        return this.compare(e.op, this.lowerClean(e.left), this.lowerClean(e.right), lt);
      case "+":
      case "-": {
        if (lt === "timestamp" && rt === "timestamp") {
          const a = this.lower(e.left);
          const b = this.lower(e.right);
          return a.nn && b.nn
            ? frag(`(${a.code}.getTime() - ${b.code}.getTime())`, { nn: true })
            : frag(`${this.h("tsDiff")}(${a.code}, ${b.code})`);
        }
        if (lt === "timestamp" || rt === "timestamp") {
          const t = lt === "timestamp" ? this.lower(e.left) : this.lower(e.right);
          const d = lt === "timestamp" ? this.lowerClean(e.right) : this.lowerClean(e.left);
          const dur = e.op === "-" ? (d.nn ? `(-${d.code})` : `${this.h("neg")}(${d.code})`) : d.code;
          return frag(`${this.h("tsAdd")}(${t.code}, ${dur})`);
        }
        if (e.type.base === "string") {
          const a = this.lower(e.left);
          const b = this.lower(e.right);
          return a.nn && b.nn ? frag(`(${a.code} + ${b.code})`, { nn: true }) : frag(`${this.h("concat")}(${a.code}, ${b.code})`);
        }
        return this.arith(e.op, e.left, e.right, e.type);
      }
      case "*":
        return this.arith("*", e.left, e.right, e.type);
      case "/":
      case "%":
      case "^": {
        const a = this.lowerClean(e.left);
        const k = e.op === "^" ? smallIntExponent(e.right) : null;
        if (k !== null) {
          const code = `${this.h("powi")}(${a.code}, ${k})`;
          return e.type.base === "int" ? frag(`${this.h("toInt")}(${code})`) : frag(code);
        }
        const b = this.lowerClean(e.right);
        const fn = e.op === "/" ? "div" : e.op === "%" ? "mod" : "pow";
        const code = `${this.h(fn)}(${a.code}, ${b.code})`;
        // An int-typed quotient / power truncates toward zero (see CONTEXT.md).
        if (e.type.base === "int" && e.op !== "%") return frag(`${this.h("toInt")}(${code})`);
        // An int remainder is finished by i64 too: `-6 % 3` is -0 in JS, 0 as an int64 (DuckDB's TRY_CAST).
        return frag(code, { wide: e.type.base === "int" });
      }
    }
  }

  arith(op: "+" | "-" | "*", l: IrExpr, r: IrExpr, type: IrType): Frag {
    const a = this.lower(l);
    const b = this.lower(r);
    const wide = type.base === "int";
    if (a.nn && b.nn) return frag(`(${a.code} ${op} ${b.code})`, { raw: true, nn: true, wide });
    const fn = op === "+" ? "add" : op === "-" ? "sub" : "mul";
    return frag(`${this.h(fn)}(${a.code}, ${b.code})`, { raw: true, wide });
  }

  compare(op: "==" | "!=" | "<" | "<=" | ">" | ">=", a: Frag, b: Frag, base: IrType["base"]): Frag {
    if (a.nn && b.nn) {
      const jsOp = op === "==" ? "===" : op === "!=" ? "!==" : op;
      if (base === "timestamp") return frag(`(${a.code}.getTime() ${jsOp} ${b.code}.getTime())`, { nn: true });
      if (base === "string" && op !== "==" && op !== "!=") {
        return frag(`(${this.h("cmpStr")}(${a.code}, ${b.code}) ${op} 0)`, { nn: true });
      }
      return frag(`(${a.code} ${jsOp} ${b.code})`, { nn: true });
    }
    const fn = ({ "==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge" } as const)[op];
    return frag(`${this.h(fn)}(${a.code}, ${b.code})`);
  }

  /** A built-in call, lowered by its entry of the table (compiler/builtins.ts). */
  builtin(name: string, args: IrExpr[], type: IrType): Frag {
    const entry = Object.prototype.hasOwnProperty.call(BUILTINS, name) ? BUILTINS[name] : undefined;
    if (!entry) throw new Error(`unknown builtin \`${name}\``);
    return entry.ts(this.kit(), args, type);
  }

  kit(): TsKit {
    return {
      lower: (e) => this.lower(e),
      clean: (e) => this.lowerClean(e),
      call: (helper, fs, o = {}) => frag(`${this.h(helper)}(${fs.map((f) => f.code).join(", ")})`, o),
      frag,
    };
  }
}

/**
 * `x ^ k` with an integer literal k in 2..8 is computed by repeated
 * multiplication in both forms (C pow and V8 Math.pow may differ in the last
 * bit; products do not).
 */
export function smallIntExponent(e: IrExpr): number | null {
  if (e.k !== "lit" || typeof e.value !== "number") return null;
  return Number.isInteger(e.value) && e.value >= 2 && e.value <= 8 ? e.value : null;
}

/**
 * A TS expression computing `e` for one row: null for SQL NULL, finite
 * numbers, UTC Dates for timestamps, milliseconds for durations.
 */
export function exprToTs(e: IrExpr, ctx: TsContext): string {
  const l = new TsLowering(ctx);
  return l.finish(l.lower(e), e.type);
}

/** A lowered expression and what it needs from outside: runtime helpers and declared functions, by name. */
export interface TsCode {
  code: string;
  /** runtime/expr.ts helpers the code calls (referenced through `ctx.helper`). */
  helpers: string[];
  /** Declared `fn` / `extern fn` names the code calls (referenced through `ctx.call`). */
  functions: string[];
}

/** `exprToTs`, also saying which helpers and functions the code references (what its module must import). */
export function lowerTs(e: IrExpr, ctx: TsContext): TsCode {
  const helpers = new Set<string>();
  const functions = new Set<string>();
  const code = exprToTs(e, {
    ...ctx,
    helper: (name) => (helpers.add(name), ctx.helper ? ctx.helper(name) : name),
    call: (fn) => (functions.add(fn), ctx.call(fn)),
  });
  return { code, helpers: [...helpers], functions: [...functions] };
}
