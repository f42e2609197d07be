// Expression checking: AST Expr -> typed IrExpr, reporting every problem.
// A scope says which names an expression may use (source columns, fn
// parameters, earlier features, request fields) and which constructs are
// allowed where it sits (windows only as a feature group's whole expression).

import type { Expr, Range } from "../ast.ts";
import type { IrExpr, IrType } from "../ir.ts";
import { BUILTINS, checkBuiltinArgs } from "../builtins.ts";
import { closest } from "../diagnostics.ts";
import type { Ctx } from "./context.ts";
import { checkEmbed, EMBED } from "./embed.ts";
import { baseAssignable, isNumeric, join, NULL_TYPE, show, t, withNull } from "./types.ts";

export const WINDOW_AGG_NAMES = ["count", "sum", "avg", "min", "max", "stddev", "last", "ewma"] as const;
export const MDT_NAMES = ["standard_scale", "min_max_scale", "one_hot", "log1p", "clip", "impute", "bucketize"];

export interface NameBinding {
  expr: IrExpr;
  /** Called when the name is used (dependency tracking). */
  onUse?: () => void;
}

export interface ExprScope {
  /** Where the expression sits, for messages: "feature group `fitness`". */
  where: string;
  /** What the place is: fn bodies, MIT features, ODT bodies, source checks. */
  kind: "fn" | "mit" | "odt" | "check";
  lookup(name: string): NameBinding | undefined;
  names(): string[];
}

/** Result of checking: the IR (or undefined after an error, so callers skip dependent checks). */
export type Checked = IrExpr | undefined;

export function checkExpr(ctx: Ctx, scope: ExprScope, e: Expr): Checked {
  switch (e.kind) {
    case "number":
      return { k: "lit", type: t(e.isInt ? "int" : "float"), value: e.value };
    case "string":
      return { k: "lit", type: t("string"), value: e.value };
    case "bool":
      return { k: "lit", type: t("bool"), value: e.value };
    case "null":
      return { k: "lit", type: NULL_TYPE, value: null };
    case "date":
      return { k: "lit", type: t("timestamp"), value: normalizeIso(e.iso) };
    case "duration":
      return { k: "lit", type: t("duration"), value: e.ms };
    case "error":
      return undefined;
    case "list":
      ctx.error(3002, e.range, `a list is not a value here; lists only appear in \`in (...)\` and bucketize boundaries`);
      return undefined;
    case "name":
      return checkName(ctx, scope, e.name, e.range);
    case "member":
      ctx.error(2010, e.range, `qualified name \`${e.object.name}.${e.property.name}\` cannot be used in an expression`, {
        hint: `refer to the column by its name: \`${e.property.name}\``,
      });
      return undefined;
    case "call":
      return checkCall(ctx, scope, e.callee.name, e.callee.range, e.args, e.range);
    case "window":
      if (scope.kind === "mit") {
        ctx.error(4003, e.range, `a windowed aggregation must be a feature's whole expression`, {
          hint: `give \`${e.agg.name}(...) over ...\` its own feature and refer to it by name`,
        });
      } else {
        ctx.error(4001, e.range, `windowed aggregation \`${e.agg.name}\` is only allowed in a feature group (a MIT), not in ${scope.where}`);
      }
      return undefined;
    case "unary":
      return checkUnary(ctx, scope, e.op, e.operand, e.range);
    case "binary":
      return checkBinary(ctx, scope, e);
    case "if":
      return checkIf(ctx, scope, e);
    case "in":
      return checkIn(ctx, scope, e.operand, e.values, e.range);
  }
}

function normalizeIso(iso: string): string {
  return iso.length === 10 ? `${iso}T00:00:00` : iso.replace(/Z$/, "");
}

function checkName(ctx: Ctx, scope: ExprScope, name: string, range: Range): Checked {
  const bound = scope.lookup(name);
  if (bound) {
    bound.onUse?.();
    return bound.expr;
  }
  if (ctx.poisoned.has(name)) return undefined;
  const decl = ctx.symbols.get(name);
  if (decl?.kind === "on_demand" && scope.kind === "mit") {
    ctx.error(4002, range, `\`${name}\` is an on-demand transformation (ODT): it runs at request time and cannot be used in ${scope.where}`, {
      hint: "ODTs belong in a view's `features`; feature groups may only use source columns, other features and fns",
    });
    return undefined;
  }
  const hintName = closest(name, scope.names());
  ctx.error(2002, range, `unknown name \`${name}\` in ${scope.where}`, hintName ? { hint: `did you mean \`${hintName}\`?` } : {});
  return undefined;
}

function checkCall(ctx: Ctx, scope: ExprScope, name: string, calleeRange: Range, args: Expr[], range: Range): Checked {
  const checkedArgs = args.map((a) => checkExpr(ctx, scope, a));
  const decl = ctx.symbols.get(name);
  if (decl && (decl.kind === "fn" || decl.kind === "extern_fn")) {
    ctx.useDecl(name);
    const fn = ctx.functionSignature(name);
    if (!fn) return undefined;
    if (args.length !== fn.params.length) {
      ctx.error(3003, range, `\`${name}\` takes ${fn.params.length} argument${fn.params.length === 1 ? "" : "s"} but ${args.length} ${args.length === 1 ? "was" : "were"} given`, {
        hint: `${name}(${fn.params.map((p) => `${p.name}: ${show(p.type)}`).join(", ")})`,
      });
      return undefined;
    }
    let ok = true;
    let nullable = fn.returns.nullable;
    checkedArgs.forEach((arg, i) => {
      if (!arg) return void (ok = false);
      const p = fn.params[i];
      if (arg.type.base === "float" && arg.type.nullable && arg.k === "lit" && arg.value === null) {
        nullable = true; // a literal null: the call yields null
        return;
      }
      if (!baseAssignable(arg.type, p.type)) {
        ok = false;
        ctx.error(3004, args[i].range, `argument \`${p.name}\` of \`${name}\` is ${show(p.type)}, got ${show(arg.type)}`);
      }
      if (arg.type.nullable) nullable = true; // null in, null out (or handled by a nullable parameter)
    });
    if (!ok) return undefined;
    return { k: "call", fn: name, args: checkedArgs as IrExpr[], type: withNull(fn.returns, nullable || fn.bodyNullable) };
  }
  if (decl?.kind === "on_demand") {
    ctx.error(scope.kind === "mit" ? 4002 : 3002, calleeRange, `\`${name}\` is an on-demand transformation; it is listed in a view's features, not called`);
    return undefined;
  }
  if ((WINDOW_AGG_NAMES as readonly string[]).includes(name) && !(name in BUILTINS)) {
    ctx.error(scope.kind === "mit" ? 3011 : 4001, range, scope.kind === "mit"
      ? `\`${name}\` is a windowed aggregation and needs a window: \`${name}(...) over 28d\``
      : `windowed aggregation \`${name}\` is only allowed in a feature group (a MIT), not in ${scope.where}`);
    return undefined;
  }
  if (MDT_NAMES.includes(name)) {
    ctx.error(4005, calleeRange, `\`${name}\` is a model-dependent transformation (MDT) and cannot be used in ${scope.where}`, {
      hint: `declare it in a model: \`transform <feature>: ${name}\``,
    });
    return undefined;
  }
  if (name === EMBED) return checkEmbed(ctx, scope, args, checkedArgs, range);
  if (name in BUILTINS) {
    if (checkedArgs.some((a) => !a)) return undefined;
    const args = checkedArgs as IrExpr[];
    const r = checkBuiltinArgs(name, args.map((a) => a.type), args.map((a) => a.k === "lit" && a.value === null));
    if (!r.ok) {
      ctx.error(/ expects (at least )?[\d]/.test(r.message) ? 3003 : 3004, range, r.message);
      return undefined;
    }
    return { k: "builtin", name, args: checkedArgs as IrExpr[], type: r.returns };
  }
  const candidates = [...ctx.functionNames(), ...Object.keys(BUILTINS), EMBED];
  const hintName = closest(name, candidates);
  ctx.error(2002, calleeRange, `unknown function \`${name}\``, hintName ? { hint: `did you mean \`${hintName}\`?` } : {});
  return undefined;
}

function checkUnary(ctx: Ctx, scope: ExprScope, op: "-" | "not", operand: Expr, range: Range): Checked {
  const a = checkExpr(ctx, scope, operand);
  if (!a) return undefined;
  if (op === "-") {
    if (!isNumeric(a.type)) {
      ctx.error(3002, range, `\`-\` needs a number, got ${show(a.type)}`);
      return undefined;
    }
    return { k: "unary", op: "neg", arg: a, type: a.type };
  }
  if (a.type.base !== "bool") {
    ctx.error(3002, range, `\`not\` needs a bool, got ${show(a.type)}`);
    return undefined;
  }
  return { k: "unary", op: "not", arg: a, type: a.type };
}

function checkBinary(ctx: Ctx, scope: ExprScope, e: Extract<Expr, { kind: "binary" }>): Checked {
  const l = checkExpr(ctx, scope, e.left);
  const r = checkExpr(ctx, scope, e.right);
  if (!l || !r) return undefined;
  const op = e.op;
  const nullable = l.type.nullable || r.type.nullable;
  const mismatch = (what: string) => {
    ctx.error(3002, e.range, `\`${op}\` ${what}, got ${show(l.type)} and ${show(r.type)}`);
    return undefined;
  };
  switch (op) {
    case "+": case "-": case "*": {
      if (!isNumeric(l.type) || !isNumeric(r.type)) return mismatch("needs two numbers");
      const base = l.type.base === "int" && r.type.base === "int" ? "int" : "float";
      return { k: "binary", op, left: l, right: r, type: t(base, nullable) };
    }
    case "%": {
      if (!isNumeric(l.type) || !isNumeric(r.type)) return mismatch("needs two numbers");
      const base = l.type.base === "int" && r.type.base === "int" ? "int" : "float";
      return { k: "binary", op, left: l, right: r, type: t(base, true) }; // null when dividing by zero
    }
    case "/": case "^":
      if (!isNumeric(l.type) || !isNumeric(r.type)) return mismatch("needs two numbers");
      return { k: "binary", op, left: l, right: r, type: t("float", true) }; // null on zero divisor / non-finite
    case "==": case "!=": case "<": case "<=": case ">": case ">=": {
      const common = join(l.type, r.type);
      if (common?.base === "vector") return mismatch("cannot compare vectors");
      if (!common || common.base === "duration" || common.base === "list") return mismatch("compares values of different types");
      if (common.base === "bool" && op !== "==" && op !== "!=") return mismatch("cannot order bools");
      return { k: "binary", op, left: l, right: r, type: t("bool", nullable) };
    }
    case "and": case "or":
      if (l.type.base !== "bool" || r.type.base !== "bool") return mismatch("needs two bools");
      return { k: "binary", op, left: l, right: r, type: t("bool", nullable) };
  }
}

function checkIf(ctx: Ctx, scope: ExprScope, e: Extract<Expr, { kind: "if" }>): Checked {
  const c = checkExpr(ctx, scope, e.cond);
  const a = checkExpr(ctx, scope, e.then);
  const b = checkExpr(ctx, scope, e.else);
  if (c && c.type.base !== "bool") ctx.error(3007, e.cond.range, `the condition of \`if\` must be bool, got ${show(c.type)}`);
  if (!c || !a || !b || c.type.base !== "bool") return undefined;
  const common = isNullLit(a) ? withNull(b.type) : isNullLit(b) ? withNull(a.type) : join(a.type, b.type);
  if (!common) {
    ctx.error(3002, e.range, `the branches of \`if\` have different types: ${show(a.type)} and ${show(b.type)}`);
    return undefined;
  }
  return { k: "if", cond: c, then: a, else: b, type: common };
}

function isNullLit(e: IrExpr): boolean {
  return e.k === "lit" && e.value === null;
}

function checkIn(ctx: Ctx, scope: ExprScope, operand: Expr, values: Expr[], range: Range): Checked {
  const a = checkExpr(ctx, scope, operand);
  const vs = values.map((v) => checkExpr(ctx, scope, v));
  if (!a || vs.some((v) => !v)) return undefined;
  for (let i = 0; i < vs.length; i++) {
    const v = vs[i] as IrExpr;
    if (!join(a.type, v.type) || a.type.base === "vector") {
      ctx.error(3009, values[i].range, `\`in\` value is ${show(v.type)} but the left side is ${show(a.type)}`);
      return undefined;
    }
  }
  const nullable = a.type.nullable || (vs as IrExpr[]).some((v) => v.type.nullable); // SQL: x in (1, null) can be null
  return { k: "in", arg: a, values: vs as IrExpr[], type: t("bool", nullable) };
}
