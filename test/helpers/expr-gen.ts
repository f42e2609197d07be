// Random well-typed IR expressions over a fixed set of columns, and random
// rows for them (nulls, signed zeros, huge and tiny floats, odd strings): the
// generator of the lowering property tests (test/lower-property.test.ts, SQL
// vs TS; test/odt-sql.test.ts, an ODT's SQL form vs its generated code).

import type { IrExpr, IrFunction, IrType, ScalarType } from "../../compiler/ir.ts";
import { BUILTINS, checkBuiltinArgs, type ParamKind } from "../../compiler/builtins.ts";
import { sqlDoubleLiteral, sqlStringLiteral } from "../../compiler/lower/sql.ts";
import { mulberry32 } from "../../runtime/random.ts";

// ------------------------------------------------------------------ seeded random

export class Rng {
  next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ------------------------------------------------------------------ columns and rows

export interface Col {
  name: string;
  type: IrType;
}
export const T = (base: ScalarType, nullable = false): IrType => ({ base, nullable });
export const COLS: Col[] = [
  { name: "i1", type: T("int") },
  { name: "i2", type: T("int") },
  { name: "in1", type: T("int", true) },
  { name: "f1", type: T("float") },
  { name: "f2", type: T("float") },
  { name: "fn1", type: T("float", true) },
  { name: "fn2", type: T("float", true) },
  { name: "b1", type: T("bool") },
  { name: "bn1", type: T("bool", true) },
  { name: "s1", type: T("string") },
  { name: "sn1", type: T("string", true) },
  { name: "t1", type: T("timestamp") },
  { name: "tn1", type: T("timestamp", true) },
];

export const STRINGS = ["", "a", "A", "abc", "ABC", "Zebra", "é", "É", "ß", "İ", "ﬀ", "😀", "\uffff", "it's", "x y", "Ωmega", "ǅ", "a😀b"];
export const SPECIAL_FLOATS = [0, -0, 0.5, -0.5, 1.5, 2.5, -2.5, 2.675, 1.005, 1e-300, -1e300, 1e300, 1.7e308, 3, -7, 0.1];

export function randomValue(rng: Rng, t: IrType): unknown {
  if (t.nullable && rng.chance(0.25)) return null;
  switch (t.base) {
    case "int":
      return rng.chance(0.15) ? rng.pick([0, 1, -1, 2, 10, -10]) : rng.int(-1_000_000, 1_000_000);
    case "float":
      return rng.chance(0.3) ? rng.pick(SPECIAL_FLOATS) : (rng.next() - 0.5) * 10 ** rng.int(-3, 7);
    case "bool":
      return rng.chance(0.5);
    case "string":
      return rng.pick(STRINGS);
    case "timestamp":
      return new Date(Date.UTC(1990, 0, 1) + Math.floor(rng.next() * 50 * 365.25 * 86400e3));
    default:
      throw new Error(t.base);
  }
}

export function sqlValue(v: unknown, t: IrType): string {
  if (v === null) return `CAST(NULL AS ${({ int: "BIGINT", float: "DOUBLE", bool: "BOOLEAN", string: "VARCHAR", timestamp: "TIMESTAMP" } as Record<string, string>)[t.base]})`;
  switch (t.base) {
    case "int":
      return `CAST(${v} AS BIGINT)`;
    case "float":
      return sqlDoubleLiteral(v as number);
    case "bool":
      return v ? "TRUE" : "FALSE";
    case "string":
      return sqlStringLiteral(v as string);
    case "timestamp":
      return `epoch_ms(CAST(${(v as Date).getTime()} AS BIGINT))`;
  }
  throw new Error(t.base);
}

// ------------------------------------------------------------------ user functions

export const fp = (name: string, base: ScalarType, nullable = false) => ({ name, type: T(base, nullable) });
export const P = (name: string, base: ScalarType, nullable = false): IrExpr => ({ k: "param", name, type: T(base, nullable) });
export const num = (v: number, base: "int" | "float" = "float"): IrExpr => ({ k: "lit", type: T(base), value: v });

export const FUNCTIONS: IrFunction[] = [
  {
    // square(x) = x * x: the argument is used twice.
    name: "square",
    loc: { line: 1, column: 1 },
    params: [fp("x", "float")],
    returns: T("float"),
    body: { k: "binary", op: "*", left: P("x", "float"), right: P("x", "float"), type: T("float") },
  },
  {
    // ratio(a, b) = (a / 60) / b
    name: "ratio",
    loc: { line: 2, column: 1 },
    params: [fp("a", "float"), fp("b", "float")],
    returns: T("float"),
    body: {
      k: "binary",
      op: "/",
      left: { k: "binary", op: "/", left: P("a", "float"), right: num(60), type: T("float") },
      right: P("b", "float"),
      type: T("float"),
    },
  },
  {
    // pick(a: float?, d: float): float = if is_null(a) then d else a
    name: "pick",
    loc: { line: 3, column: 1 },
    params: [fp("a", "float", true), fp("d", "float")],
    returns: T("float"),
    body: {
      k: "if",
      cond: { k: "builtin", name: "is_null", args: [P("a", "float", true)], type: T("bool") },
      then: P("d", "float"),
      else: P("a", "float", true),
      type: T("float", true),
    },
  },
  {
    // twice(n: int): int = n + n
    name: "twice",
    loc: { line: 4, column: 1 },
    params: [fp("n", "int")],
    returns: T("int"),
    body: { k: "binary", op: "+", left: P("n", "int"), right: P("n", "int"), type: T("int") },
  },
];

// ------------------------------------------------------------------ expression generator

export type Base = "int" | "float" | "bool" | "string" | "timestamp";
export const col = (name: string): IrExpr => {
  const c = COLS.find((x) => x.name === name)!;
  return { k: "col", name, type: c.type };
};
export const nullableOf = (...es: IrExpr[]) => es.some((e) => e.type.nullable);

export class Gen {
  constructor(private readonly rng: Rng) {}

  leaf(base: Base): IrExpr {
    const rng = this.rng;
    const cols = COLS.filter((c) => c.type.base === base);
    if (cols.length && rng.chance(0.7)) {
      const c = rng.pick(cols);
      return { k: "col", name: c.name, type: c.type };
    }
    if (rng.chance(0.05)) return { k: "lit", type: T(base, true), value: null };
    switch (base) {
      case "int":
        return { k: "lit", type: T("int"), value: rng.pick([0, 1, 2, -3, 7, 60, 1000, -1_000_000, 3_000_000_000]) };
      case "float":
        return { k: "lit", type: T("float"), value: rng.pick([0, 0.5, -1.25, 2.5, 3.14159, 1e-3, 60, 1e200, -0.1]) };
      case "bool":
        return { k: "lit", type: T("bool"), value: rng.chance(0.5) };
      case "string":
        return { k: "lit", type: T("string"), value: rng.pick(STRINGS) };
      case "timestamp":
        return { k: "lit", type: T("timestamp"), value: rng.pick(["2025-06-01", "2000-02-29T12:30:00", "1999-12-31T23:59:59.999Z"]) };
    }
  }

  num(depth: number): IrExpr {
    return this.gen(this.rng.chance(0.5) ? "int" : "float", depth);
  }

  gen(base: Base, depth: number): IrExpr {
    const rng = this.rng;
    if (depth <= 0 || rng.chance(0.2)) return this.leaf(base);
    const d = depth - 1;
    const options: Array<() => IrExpr | null> = [];
    const add = (w: number, f: () => IrExpr | null) => {
      for (let i = 0; i < w; i++) options.push(f);
    };
    // if / coalesce work for every type
    add(1, () => {
      const c = this.gen("bool", d);
      const a = this.gen(base, d);
      const b = this.gen(base, d);
      return { k: "if", cond: c, then: a, else: b, type: T(base, nullableOf(a, b)) };
    });
    add(1, () => this.builtin("coalesce", [this.gen(base, d), this.gen(base, d), ...(rng.chance(0.3) ? [this.gen(base, d)] : [])]));
    // Function arguments and if branches that are bare nulls.
    add(1, () => {
      let a = this.gen(base, d);
      if (a.k === "lit" && a.value === null) a = this.leaf(base);
      if (a.k === "lit" && a.value === null) return null;
      const n: IrExpr = { k: "lit", type: T("float", true), value: null };
      const args = rng.chance(0.5) ? [a, n] : [n, a];
      return this.builtin(rng.pick(base === "bool" ? ["coalesce"] : ["coalesce", "least", "greatest"]), args);
    });
    add(1, () => {
      const c = this.gen("bool", d);
      const a = this.gen(base, d);
      const n: IrExpr = { k: "lit", type: T("float", true), value: null };
      return rng.chance(0.5) ? { k: "if", cond: c, then: a, else: n, type: T(base, true) } : { k: "if", cond: c, then: n, else: a, type: T(base, true) };
    });
    if (base !== "bool") {
      add(1, () => this.builtin(rng.pick(["least", "greatest"]), [this.gen(base, d), this.gen(base, d)]));
    }
    switch (base) {
      case "int":
        add(3, () => this.arith(rng.pick(["+", "-", "*", "%"]), "int", this.gen("int", d), this.gen("int", d)));
        add(1, () => {
          const a = this.gen("int", d);
          return { k: "unary", op: "neg", arg: a, type: T("int", a.type.nullable) };
        });
        add(2, () => this.builtin(rng.pick(["abs", "floor", "ceil", "round"]), [this.gen("int", d)]));
        add(1, () => this.builtin("round", [this.gen("int", d), { k: "lit", type: T("int"), value: rng.int(-3, 2) }]));
        add(2, () => this.builtin("to_int", [this.num(d)]));
        add(2, () => this.builtin(rng.pick(["hour", "day_of_week", "month", "year"]), [this.gen("timestamp", d)]));
        add(1, () => this.builtin("length", [this.gen("string", d)]));
        add(1, () => this.call("twice", [this.gen("int", d)]));
        // int-typed quotient / power (truncated); a non-literal exponent goes through C pow / Math.pow,
        // which may differ in the last bit, so int powers use literal exponents here.
        add(1, () => this.arith("/", "int", this.gen("int", d), this.gen("int", d)));
        add(1, () => this.arith("^", "int", this.gen("int", d), { k: "lit", type: T("int"), value: rng.pick([0, 1, 2, 3, 5]) }));
        break;
      case "float":
        add(4, () => {
          const op = rng.pick(["+", "-", "*", "/", "/", "%", "^"] as const);
          const a = this.num(d);
          // Exponents: literals (2..8 are expanded into products), and columns (C pow vs Math.pow:
          // equal up to the last bit, see CONTEXT.md, so not fed through huge magnitudes here).
          const b: IrExpr =
            op !== "^"
              ? this.num(d)
              : rng.chance(0.7)
                ? rng.chance(0.7)
                  ? { k: "lit", type: T("int"), value: rng.pick([2, 3, 4, 8, -1, 0, 1]) }
                  : { k: "lit", type: T("float"), value: rng.pick([0.5, 2, -0.5, 1.5]) }
                : col(rng.pick(["f1", "f2", "fn1", "fn2"]));
          return this.arith(op, "float", a, b);
        });
        add(1, () => {
          const a = this.gen("float", d);
          return { k: "unary", op: "neg", arg: a, type: T("float", a.type.nullable) };
        });
        add(3, () => this.builtin(rng.pick(["abs", "sqrt", "ln", "log10", "exp", "floor", "ceil", "round", "to_float"]), [this.num(d)]));
        add(1, () => this.builtin("round", [this.gen("float", d), { k: "lit", type: T("int"), value: rng.pick([-2, -1, 0, 1, 2, 3, 400, -400]) }]));
        add(1, () => this.builtin("round", [this.gen("float", d), this.gen("int", 0)]));
        add(1, () => this.call("square", [this.num(d)]));
        add(1, () => this.call("ratio", [this.num(d), this.num(d)]));
        add(1, () => this.call("pick", [this.gen("float", d), this.num(d)]));
        add(1, () => {
          // duration arithmetic on timestamps, observed as a float
          const a = this.gen("timestamp", d);
          const b = this.gen("timestamp", d);
          const diff: IrExpr = { k: "binary", op: "-", left: a, right: b, type: T("duration", nullableOf(a, b)) };
          const hours: IrExpr = { k: "binary", op: "/", left: diff, right: { k: "lit", type: T("duration"), value: 3_600_000 }, type: T("float", nullableOf(a, b)) };
          return hours;
        });
        break;
      case "bool":
        add(4, () => {
          const b = rng.pick(["int", "float", "string", "timestamp", "bool"] as const);
          const l = b === "int" || b === "float" ? this.num(d) : this.gen(b, d);
          const r = b === "int" || b === "float" ? this.num(d) : this.gen(b, d);
          const op = rng.pick(["==", "!=", "<", "<=", ">", ">="] as const);
          // Sometimes one side is a bare `null`, typed float? as the checker types it.
          if (rng.chance(0.1)) {
            const n: IrExpr = { k: "lit", type: T("float", true), value: null };
            return { k: "binary", op, left: rng.chance(0.5) ? l : n, right: rng.chance(0.5) ? n : r, type: T("bool", true) };
          }
          return { k: "binary", op, left: l, right: r, type: T("bool", nullableOf(l, r)) };
        });
        add(2, () => {
          const l = this.gen("bool", d);
          const r = this.gen("bool", d);
          return { k: "binary", op: rng.pick(["and", "or"] as const), left: l, right: r, type: T("bool", nullableOf(l, r)) };
        });
        add(1, () => {
          const a = this.gen("bool", d);
          return { k: "unary", op: "not", arg: a, type: T("bool", a.type.nullable) };
        });
        add(1, () => this.builtin("is_null", [this.gen(rng.pick(["int", "float", "string", "bool", "timestamp"] as const), d)]));
        add(2, () => {
          const b = rng.pick(["int", "float", "string"] as const);
          const x = this.gen(b, d);
          const values = Array.from({ length: rng.int(1, 3) }, () => (rng.chance(0.15) ? ({ k: "lit", type: T("float", true), value: null } as IrExpr) : this.leaf(b)));
          return { k: "in", arg: x, values, type: T("bool", nullableOf(x, ...values)) };
        });
        break;
      case "string":
        add(2, () => this.builtin(rng.pick(["lower", "upper"]), [this.gen("string", d)]));
        add(2, () => this.builtin("concat", [this.gen("string", d), this.gen("string", d), ...(rng.chance(0.3) ? [this.gen("string", d)] : [])]));
        break;
      case "timestamp":
        add(2, () => {
          const t = this.gen("timestamp", d);
          const dur: IrExpr = rng.chance(0.5)
            ? { k: "lit", type: T("duration"), value: rng.pick([86_400_000, 3_600_000, 1.5, -7 * 86_400_000]) }
            : { k: "binary", op: "*", left: { k: "lit", type: T("duration"), value: 60_000 }, right: this.num(d), type: T("duration", false) };
          if (dur.k === "binary") dur.type = T("duration", dur.right.type.nullable);
          return { k: "binary", op: rng.pick(["+", "-"] as const), left: t, right: dur, type: T("timestamp", nullableOf(t, dur)) };
        });
        break;
    }
    const e = rng.pick(options)();
    return e ?? this.leaf(base);
  }

  /**
   * An expression whose root is the builtin `name`, with arguments its entry
   * of the table accepts (so every built-in, a new one included, is covered
   * whatever the seed).
   */
  rootBuiltin(name: string, depth: number): IrExpr {
    const d = depth - 1;
    const sig = BUILTINS[name];
    const count = sig.variadic
      ? (sig.minArgs ?? sig.params.length) + (this.rng.chance(0.3) ? 1 : 0)
      : sig.params.filter((p) => !p.optional || this.rng.chance(0.5)).length;
    // All "same" arguments of one call share a base: a number (int and float mix) or one other type.
    const same = this.rng.chance(0.6) ? "number" : this.rng.pick(sig.orderable ? (["string", "timestamp"] as const) : (["string", "timestamp", "bool"] as const));
    const args = Array.from({ length: count }, (_, i) => this.argOf(sig.params[Math.min(i, sig.params.length - 1)].kind, same, d));
    return this.builtin(name, args);
  }

  /** An argument for a parameter of this kind. */
  argOf(kind: ParamKind, same: "number" | "string" | "timestamp" | "bool", d: number): IrExpr {
    switch (kind) {
      case "numeric":
      case "float":
        return this.num(d);
      case "int":
      case "string":
      case "timestamp":
      case "bool":
        return this.gen(kind, d);
      case "any":
        return this.gen(this.rng.pick(["int", "float", "string", "bool", "timestamp"] as const), d);
      case "same":
        return same === "number" ? this.num(d) : this.gen(same, d);
    }
  }

  arith(op: "+" | "-" | "*" | "/" | "%" | "^", base: "int" | "float", a: IrExpr, b: IrExpr): IrExpr {
    // As the checker types them: / % ^ are nullable (null on a zero divisor / non-finite result).
    const nullable = op === "/" || op === "%" || op === "^" || nullableOf(a, b);
    return { k: "binary", op, left: a, right: b, type: T(base, nullable) };
  }

  builtin(name: string, args: IrExpr[]): IrExpr {
    const r = checkBuiltinArgs(
      name,
      args.map((a) => a.type),
      args.map((a) => a.k === "lit" && a.value === null),
    );
    if (!r.ok) throw new Error(`generator produced a bad call: ${r.problem.message}`);
    return { k: "builtin", name, args, type: r.returns };
  }

  call(fn: string, args: IrExpr[]): IrExpr {
    const f = FUNCTIONS.find((x) => x.name === fn)!;
    return { k: "call", fn, args, type: f.returns };
  }
}

