// Lowers a typed IR expression to a DuckDB SQL expression. The result
// computes exactly what compiler/lower/ts.ts computes in TypeScript; the
// shared semantics are in compiler/lower/CONTEXT.md.
//
// Implementation notes:
// - All arithmetic runs on DOUBLE (ints too), exactly like JS numbers; an
//   int-typed result is converted back with TRY_CAST(... AS BIGINT), which
//   yields NULL outside int64 (as runtime/expr.ts `i64` does).
// - DuckDB follows IEEE 754 (1/0 = inf, 0/0 = NaN, overflow = inf); such
//   values are turned into NULL where they are observed (see ts.ts for why
//   normalising lazily is equivalent to normalising after every step).
// - Float literals are written in exponent form, which DuckDB reads as DOUBLE
//   (`0.1` would be a DECIMAL and compute exactly, unlike the TS form).
// - A value that must be referenced twice (CASE WHEN isfinite(v) THEN v END)
//   is repeated textually when short (DuckDB evaluates the common
//   subexpression once), and bound once through a one-element list lambda
//   when long, so nesting never blows the text up exponentially. Function
//   arguments used several times in an inlined body are bound the same way.

import type { IrExpr, IrFunction, IrType } from "../ir.ts";
import { BUILTINS } from "../builtins.ts";
import { paramUses } from "../ir-walk.ts";
import { findFunction, isNullLit, timestampLiteralMs } from "./common.ts";
import { smallIntExponent } from "./ts.ts";
import type { ColumnType } from "../../runtime/api.ts";
import { sqlType as columnSqlType } from "../../runtime/store/sql.ts";

export interface SqlContext {
  /** SQL for a column of the current row; default: the double-quoted name. */
  col?(name: string): string;
  /** SQL for a parameter of the enclosing body (outside inlined fns). */
  param?(name: string): string;
  /** Declared functions: non-extern calls are inlined from their bodies. */
  functions?: readonly IrFunction[];
  /** SQL name of an extern function (as registered with DuckDB); default: its spec name. */
  externName?(fn: string): string;
}

export type SqlType = "BIGINT" | "DOUBLE" | "BOOLEAN" | "VARCHAR" | "TIMESTAMP" | `FLOAT[${number}]`;

/** A lowered SQL expression and what the lowering knows about it. */
export interface SqlFrag {
  sql: string;
  /** May hold NaN / ±inf. */
  raw: boolean;
  /** The SQL type the text evaluates to (an int may be carried as DOUBLE). */
  st: SqlType;
  /** A column reference, literal or lambda variable: free to repeat. */
  simple: boolean;
}

type Frag = SqlFrag;

/**
 * What a built-in's SQL lowering (its `sql` in compiler/builtins.ts) may use:
 * the arguments lowered (as written, finite-or-NULL, or with a bare NULL
 * typed like a sibling), conversions, and binding a value used twice.
 */
export interface SqlKit {
  lower(e: IrExpr): SqlFrag;
  /** Finite-or-NULL (NaN and ±inf become NULL). */
  clean(e: IrExpr): SqlFrag;
  /** `clean`, with a bare `null` literal typed as `like`. */
  as(e: IrExpr, like: IrType): SqlFrag;
  /** The text as a DOUBLE (a cast unless it already is one). */
  dbl(f: SqlFrag): string;
  /** `use` applied to a reference to `f`, without repeating long text. */
  bind(f: SqlFrag, use: (ref: string) => string): string;
  /** Short enough to repeat verbatim. */
  short(f: SqlFrag): boolean;
  frag(sql: string, st: SqlType, o?: { raw?: boolean; simple?: boolean }): SqlFrag;
  /** Arguments of one common SQL type (ints widened to DOUBLE beside a DOUBLE). */
  unify(fs: SqlFrag[]): SqlFrag[];
}

/** Longest text repeated verbatim by a double reference; longer is bound by a lambda. */
const REPEAT_LIMIT = 400;
/** Largest |epoch ms| a JS Date can hold. */
const MAX_DATE_MS = 8_640_000_000_000_000;

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The DuckDB type of a value of an fti type: the runtime's table (store/sql.ts), durations as DOUBLE (seconds). */
export function sqlType(t: IrType): SqlType {
  if (t.base === "list") throw new Error(`no SQL type for ${t.base}`);
  const column: ColumnType = t.base === "duration" ? "float" : t.base === "vector" ? `float[${t.dim ?? 0}]` : t.base;
  return columnSqlType(column) as SqlType;
}

export function sqlStringLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A DOUBLE literal that reads back as exactly `n` (finite). */
export function sqlDoubleLiteral(n: number): string {
  const text = n.toExponential();
  return n < 0 || Object.is(n, -0) ? `(${Object.is(n, -0) ? "-0e0" : text})` : text;
}

const F = (sql: string, st: SqlType, o: { raw?: boolean; simple?: boolean } = {}): Frag => ({
  sql,
  st,
  raw: o.raw ?? false,
  simple: o.simple ?? false,
});

class SqlLowering {
  private lambdaCounter = 0;
  private readonly inlining: string[] = [];

  constructor(private readonly ctx: SqlContext) {}

  /** `f` applied to a reference to `x`, without repeating long text. */
  bind(x: Frag, f: (ref: string) => string): string {
    if (x.simple || x.sql.length <= REPEAT_LIMIT) return f(x.sql);
    const v = `__fti_v${++this.lambdaCounter}`;
    return `list_transform([${x.sql}], lambda ${v}: ${f(v)})[1]`;
  }

  dbl(x: Frag): string {
    return x.st === "DOUBLE" ? x.sql : `CAST(${x.sql} AS DOUBLE)`;
  }

  clean(x: Frag): Frag {
    if (!x.raw) return x;
    return F(this.bind(x, (v) => `CASE WHEN isfinite(${v}) THEN ${v} END`), x.st);
  }

  finish(x: Frag, type: IrType): Frag {
    if (type.base === "int") {
      return x.st === "DOUBLE" ? F(`TRY_CAST(${x.sql} AS BIGINT)`, "BIGINT") : x;
    }
    const c = this.clean(x);
    if ((type.base === "float" || type.base === "duration") && c.st !== "DOUBLE") return F(this.dbl(c), "DOUBLE", { simple: c.simple });
    return c;
  }

  lowerClean(e: IrExpr, env?: Map<string, Frag>): Frag {
    return this.clean(this.lower(e, env));
  }

  /**
   * `e`, where a bare `null` literal takes the SQL type `like` (the checker may
   * type a bare null as float?, and DuckDB would then try to cast a sibling
   * string to DOUBLE).
   */
  lowerAs(e: IrExpr, like: IrType, env?: Map<string, Frag>): Frag {
    if (e.k === "lit" && e.value === null && like.base !== "list") return this.lit(null, like);
    return this.lowerClean(e, env);
  }

  lower(e: IrExpr, env?: Map<string, Frag>): Frag {
    switch (e.k) {
      case "lit":
        return this.lit(e.value, e.type);
      case "col":
        return F(this.ctx.col ? this.ctx.col(e.name) : quoteIdent(e.name), sqlType(e.type), { simple: true });
      case "param": {
        const bound = env?.get(e.name);
        if (bound) return bound;
        if (!this.ctx.param) throw new Error(`parameter \`${e.name}\` has no SQL binding`);
        return F(this.ctx.param(e.name), sqlType(e.type), { simple: true });
      }
      case "call":
        return this.call(e, env);
      case "builtin":
        return this.builtin(e.name, e.args, e.type, env);
      case "unary": {
        const a = this.lowerAs(e.arg, e.op === "not" ? BOOL : e.arg.type, env);
        if (e.op === "not") return F(`(NOT ${a.sql})`, "BOOLEAN");
        return F(`(-${this.dbl(a)})`, "DOUBLE", { raw: true });
      }
      case "binary":
        return this.binary(e, env);
      case "if": {
        const c = this.lowerAs(e.cond, BOOL, env);
        let a = isNullLit(e.then) ? this.lit(null, e.type) : this.lower(e.then, env);
        let b = isNullLit(e.else) ? this.lit(null, e.type) : this.lower(e.else, env);
        let st = a.st;
        if (a.st !== b.st && (a.st === "DOUBLE" || b.st === "DOUBLE")) {
          a = F(this.dbl(a), "DOUBLE", { raw: a.raw });
          b = F(this.dbl(b), "DOUBLE", { raw: b.raw });
          st = "DOUBLE";
        }
        return F(`(CASE WHEN ${c.sql} THEN ${a.sql} ELSE ${b.sql} END)`, st, { raw: a.raw || b.raw });
      }
      case "in": {
        const like = [e.arg, ...e.values].find((v) => !isNullLit(v))?.type ?? e.arg.type;
        const x = this.lowerAs(e.arg, like, env);
        const vs = e.values.map((v) => this.lowerAs(v, like, env));
        if (vs.length === 0) return F(`(CASE WHEN ${x.sql} IS NULL THEN NULL ELSE FALSE END)`, "BOOLEAN");
        return F(`(${x.sql} IN (${vs.map((v) => v.sql).join(", ")}))`, "BOOLEAN");
      }
    }
  }

  lit(value: number | string | boolean | null, type: IrType): Frag {
    const st = sqlType(type);
    if (value === null) return F(`CAST(NULL AS ${st})`, st, { simple: true });
    switch (type.base) {
      case "int": {
        const n = Number(value);
        if (!Number.isFinite(n)) return F(`CAST(NULL AS BIGINT)`, "BIGINT", { simple: true });
        const text = BigInt(Math.trunc(n)).toString();
        return F(n < 0 ? `(${text})` : text, "BIGINT", { simple: true });
      }
      case "float":
      case "duration": {
        const n = Number(value);
        if (!Number.isFinite(n)) return F(`CAST(NULL AS DOUBLE)`, "DOUBLE", { simple: true });
        return F(sqlDoubleLiteral(n), "DOUBLE", { simple: true });
      }
      case "bool":
        return F(value === true || value === "true" ? "TRUE" : "FALSE", "BOOLEAN", { simple: true });
      case "string":
        return F(sqlStringLiteral(String(value)), "VARCHAR", { simple: true });
      case "timestamp": {
        const ms = typeof value === "number" ? value : timestampLiteralMs(String(value));
        const iso = new Date(ms).toISOString().replace("T", " ").replace("Z", "");
        return F(`TIMESTAMP '${iso}'`, "TIMESTAMP", { simple: true });
      }
      default:
        throw new Error(`cannot lower a literal of type ${type.base}`);
    }
  }

  binary(e: Extract<IrExpr, { k: "binary" }>, env?: Map<string, Frag>): Frag {
    const lt = e.left.type.base;
    const rt = e.right.type.base;
    switch (e.op) {
      case "and":
      case "or": {
        const a = this.lowerAs(e.left, BOOL, env);
        const b = this.lowerAs(e.right, BOOL, env);
        return F(`(${a.sql} ${e.op === "and" ? "AND" : "OR"} ${b.sql})`, "BOOLEAN");
      }
      case "==":
      case "!=":
      case "<":
      case "<=":
      case ">":
      case ">=": {
        const a = this.lowerAs(e.left, e.right.type, env);
        const b = this.lowerAs(e.right, e.left.type, env);
        const op = e.op === "==" ? "=" : e.op === "!=" ? "<>" : e.op;
        return F(`(${a.sql} ${op} ${b.sql})`, "BOOLEAN");
      }
      case "+":
      case "-": {
        if (lt === "timestamp" && rt === "timestamp") {
          const a = this.lowerAs(e.left, TS, env);
          const b = this.lowerAs(e.right, TS, env);
          return F(`CAST(epoch_ms(${a.sql}) - epoch_ms(${b.sql}) AS DOUBLE)`, "DOUBLE");
        }
        if (lt === "timestamp" || rt === "timestamp") {
          const t = lt === "timestamp" ? this.lowerAs(e.left, TS, env) : this.lowerAs(e.right, TS, env);
          const d = lt === "timestamp" ? this.lowerClean(e.right, env) : this.lowerClean(e.left, env);
          const ms = F(`(epoch_ms(${t.sql}) ${e.op} trunc(${this.dbl(d)}))`, "DOUBLE");
          return F(
            this.bind(ms, (v) => `(CASE WHEN abs(${v}) <= ${MAX_DATE_MS} THEN epoch_ms(CAST(${v} AS BIGINT)) END)`),
            "TIMESTAMP",
          );
        }
        if (e.type.base === "string") {
          const a = this.lower(e.left, env);
          const b = this.lower(e.right, env);
          return F(`(${a.sql} || ${b.sql})`, "VARCHAR");
        }
        return this.arith(e.op, e, env);
      }
      case "*":
        return this.arith("*", e, env);
      case "/":
      case "%":
      case "^": {
        const a = this.lowerClean(e.left, env);
        const k = e.op === "^" ? smallIntExponent(e.right) : null;
        if (k !== null) {
          const x = F(this.dbl(a), "DOUBLE", { simple: a.simple });
          const product = this.bind(x, (v) => `(${Array(k).fill(v).join(" * ")})`);
          if (e.type.base === "int") return F(`TRY_CAST(trunc(${product}) AS BIGINT)`, "BIGINT");
          return F(product, "DOUBLE", { raw: true });
        }
        const b = this.lowerClean(e.right, env);
        const sql =
          e.op === "^" ? `pow(${this.dbl(a)}, ${this.dbl(b)})` : `(${this.dbl(a)} ${e.op} ${this.dbl(b)})`;
        if (e.type.base === "int" && e.op !== "%") return F(`TRY_CAST(trunc(${sql}) AS BIGINT)`, "BIGINT");
        return F(sql, "DOUBLE", { raw: true });
      }
    }
  }

  arith(op: "+" | "-" | "*", e: Extract<IrExpr, { k: "binary" }>, env?: Map<string, Frag>): Frag {
    const a = this.lower(e.left, env);
    const b = this.lower(e.right, env);
    return F(`(${this.dbl(a)} ${op} ${this.dbl(b)})`, "DOUBLE", { raw: true });
  }

  /** Arguments of least/greatest/coalesce: one common SQL type. */
  unify(fs: Frag[]): Frag[] {
    const numeric = fs.every((f) => f.st === "DOUBLE" || f.st === "BIGINT");
    if (numeric && fs.some((f) => f.st === "DOUBLE") && fs.some((f) => f.st !== "DOUBLE")) {
      return fs.map((f) => F(this.dbl(f), "DOUBLE", { raw: f.raw }));
    }
    return fs;
  }

  /** A built-in call, lowered by its entry of the table (compiler/builtins.ts). */
  builtin(name: string, rawArgs: IrExpr[], type: IrType, env?: Map<string, Frag>): Frag {
    const entry = Object.prototype.hasOwnProperty.call(BUILTINS, name) ? BUILTINS[name] : undefined;
    if (!entry) throw new Error(`unknown builtin \`${name}\``);
    return entry.sql(this.kit(env), retypeNullArgs(name, rawArgs, type), type);
  }

  /** What a built-in's SQL lowering may use, bound to the current inlining environment. */
  kit(env?: Map<string, Frag>): SqlKit {
    return {
      lower: (e) => this.lower(e, env),
      clean: (e) => this.lowerClean(e, env),
      as: (e, like) => this.lowerAs(e, like, env),
      dbl: (f) => this.dbl(f),
      bind: (f, use) => this.bind(f, use),
      short: (f) => f.simple || f.sql.length <= REPEAT_LIMIT,
      frag: F,
      unify: (fs) => this.unify(fs),
    };
  }

  call(e: Extract<IrExpr, { k: "call" }>, env?: Map<string, Frag>): Frag {
    const fn = findFunction(this.ctx.functions, e.fn);
    // Arguments are converted to the parameter's type (ints range-checked, floats finite).
    const args = e.args.map((a, i) => this.finish(this.lower(a, env), fn?.params[i]?.type ?? a.type));
    if (!fn || fn.extern || !fn.body) {
      const name = this.ctx.externName ? this.ctx.externName(e.fn) : e.fn;
      const st = sqlType(e.type);
      return F(`${name}(${args.map((a) => a.sql).join(", ")})`, st, { raw: st === "DOUBLE" });
    }
    if (this.inlining.includes(fn.name)) {
      throw new Error(`fn \`${fn.name}\` is recursive (${[...this.inlining, fn.name].join(" -> ")})`);
    }
    // Bind every parameter; long arguments used more than once are evaluated once through a lambda.
    const uses = paramUses(fn.body);
    const inner = new Map<string, Frag>();
    const lambdas: Array<{ v: string; arg: Frag }> = [];
    fn.params.forEach((p, i) => {
      const arg = args[i];
      if ((uses.get(p.name) ?? 0) > 1 && !arg.simple && arg.sql.length > REPEAT_LIMIT) {
        const v = `__fti_v${++this.lambdaCounter}`;
        lambdas.push({ v, arg });
        inner.set(p.name, F(v, arg.st, { simple: true }));
      } else {
        inner.set(p.name, { ...arg, sql: arg.simple ? arg.sql : `(${arg.sql})` });
      }
    });
    this.inlining.push(fn.name);
    let body: Frag;
    try {
      body = this.finish(this.lower(fn.body, inner), fn.body.type);
    } finally {
      this.inlining.pop();
    }
    if (fn.returns.base === "float" && body.st !== "DOUBLE") body = F(this.dbl(body), "DOUBLE");
    let sql = body.sql;
    for (let i = lambdas.length - 1; i >= 0; i--) {
      sql = `list_transform([${lambdas[i].arg.sql}], lambda ${lambdas[i].v}: ${sql})[1]`;
    }
    return F(sql, body.st);
  }
}

const BOOL: IrType = { base: "bool", nullable: true };
const TS: IrType = { base: "timestamp", nullable: true };

/** A bare `null` argument of a builtin gets the type its parameter expects (the checker types it float?). */
function retypeNullArgs(name: string, args: IrExpr[], result: IrType): IrExpr[] {
  const sig = BUILTINS[name];
  if (!sig || !args.some(isNullLit)) return args;
  const like = args.find((a) => !isNullLit(a))?.type.base ?? result.base;
  return args.map((a, i) => {
    if (!isNullLit(a)) return a;
    const kind = sig.params[Math.min(i, sig.params.length - 1)].kind;
    const base = kind === "numeric" || kind === "float" ? "float" : kind === "same" ? like : kind === "any" ? a.type.base : kind;
    return { k: "lit", value: null, type: { base, nullable: true } } as IrExpr;
  });
}

/** A DuckDB expression computing `e` (NULL for null; DOUBLE floats, BIGINT ints). */
export function exprToSql(e: IrExpr, ctx: SqlContext = {}): string {
  const l = new SqlLowering(ctx);
  return l.finish(l.lower(e), e.type).sql;
}

/**
 * A source `check (...)` predicate over the typed columns (by their quoted
 * names). A row fails when it evaluates to FALSE; NULL passes.
 */
export function checkToSql(expr: IrExpr, functions: readonly IrFunction[] = []): string {
  return exprToSql(expr, { functions });
}
