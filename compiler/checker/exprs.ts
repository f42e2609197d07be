// Expression checking: AST Expr -> typed IrExpr, reporting every problem.
// A scope says which names an expression may use (source columns, fn
// parameters, earlier features, request fields) and which constructs are
// allowed where it sits (windows only as a feature group's whole expression).

import type { Expr, Range } from "../ast.ts";
import type { IrExpr, IrType } from "../ir.ts";
import { MDT_KINDS } from "../../runtime/catalogue.ts";
import { BUILTINS, checkBuiltinArgs } from "../builtins.ts";
import { DIAG } from "../messages.ts";
import { MAX_EXPR_DEPTH } from "../parser/expr-depth.ts";
import type { Ctx } from "./context.ts";
import { baseAssignable, isNumeric, join, NULL_TYPE, show, t, withNull } from "./types.ts";

export const WINDOW_AGG_NAMES = ["count", "sum", "avg", "min", "max", "stddev", "last", "ewma"] as const;

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
  /** The names in scope, for a "did you mean" (lazily: it reads at most SPELLING_CANDIDATES of them). */
  names(): Iterable<string>;
  /** Where windows are allowed inside an expression (a label's `over next 7d`): checks one. */
  window?(e: Extract<Expr, { kind: "window" }>): Checked;
  /** Where `group.feature` means something (a reference lookup in a group's feature): checks one. */
  member?(e: Extract<Expr, { kind: "member" }>): Checked;
  /** Told of every `if` that checked, with its condition and `else` branch (a label's null-condition warning, FTI4090). */
  onIf?(e: Extract<Expr, { kind: "if" }>, cond: IrExpr, otherwise: IrExpr): void;
}

/** Result of checking: the IR (or undefined after an error, so callers skip dependent checks). */
export type Checked = IrExpr | undefined;

/**
 * Deepest expression nesting checked. Every later stage (lowering to SQL and
 * TS, the TypeScript type-check of generated code) recurses over the tree
 * too; a chain of thousands of `+` terms would overflow the stack somewhere.
 * No spec written by hand comes near it. The parser already cuts deeper
 * trees (parser/expr-depth.ts); this is the same bound, kept for ASTs built
 * some other way.
 */
export { MAX_EXPR_DEPTH };
let depth = 0;
let tooDeepReported = false;

export function checkExpr(ctx: Ctx, scope: ExprScope, e: Expr): Checked {
  if (depth === 0) tooDeepReported = false;
  if (depth >= MAX_EXPR_DEPTH) {
    if (!tooDeepReported) {
      tooDeepReported = true;
      ctx.report(e.range, DIAG.nestingTooDeep.expression(MAX_EXPR_DEPTH));
    }
    return undefined;
  }
  depth++;
  try {
    return checkExprAt(ctx, scope, e);
  } finally {
    depth--;
  }
}

function checkExprAt(ctx: Ctx, scope: ExprScope, e: Expr): Checked {
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
      ctx.report(e.range, DIAG.typeMismatch.listValue());
      return undefined;
    case "name":
      return checkName(ctx, scope, e.name, e.range);
    case "member":
      if (scope.member) return scope.member(e);
      ctx.report(e.range, DIAG.qualifiedName.inExpression(e.object.name, e.property.name));
      return undefined;
    case "call":
      return checkCall(ctx, scope, e.callee.name, e.callee.range, e.args, e.range);
    case "window":
      if (scope.window) return scope.window(e);
      if (scope.kind === "mit") {
        ctx.report(e.range, DIAG.windowNested.in(e.agg.name));
      } else {
        ctx.report(e.range, DIAG.windowOutsideGroup.in(e.agg.name, scope.where));
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
  if (ctx.poisoned.has(name) || ctx.silent.has(name)) return undefined;
  const decl = ctx.symbols.get(name);
  if (decl?.kind === "on_demand" && scope.kind === "mit") {
    ctx.report(range, DIAG.odtInGroup.name(name, scope.where));
    return undefined;
  }
  ctx.report(range, DIAG.unknownName.inScope(name, scope.where, scope.names()));
  return undefined;
}

function checkCall(ctx: Ctx, scope: ExprScope, name: string, calleeRange: Range, args: Expr[], range: Range): Checked {
  const checkedArgs = args.map((a) => checkExpr(ctx, scope, a));
  const decl = ctx.symbols.get(name);
  if (!decl && ctx.silent.has(name)) return undefined; // a failed import, reported there
  if (decl && (decl.kind === "fn" || decl.kind === "extern_fn")) {
    ctx.useDecl(name);
    const fn = ctx.functionSignature(name);
    if (!fn) return undefined;
    if (args.length !== fn.params.length) {
      ctx.report(range, DIAG.arity.fn(name, fn.params.map((p) => `${p.name}: ${show(p.type)}`), args.length));
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
        ctx.report(args[i].range, DIAG.argumentType.fn(p.name, name, show(p.type), show(arg.type)));
      }
      if (arg.type.nullable) nullable = true; // null in, null out (or handled by a nullable parameter)
    });
    if (!ok) return undefined;
    return { k: "call", fn: name, args: checkedArgs as IrExpr[], type: withNull(fn.returns, nullable || fn.bodyNullable) };
  }
  if (decl?.kind === "on_demand") {
    ctx.report(calleeRange, scope.kind === "mit" ? DIAG.odtInGroup.called(name, Object.hasOwn(BUILTINS, name)) : DIAG.typeMismatch.odtCalled(name, Object.hasOwn(BUILTINS, name)));
    return undefined;
  }
  if ((WINDOW_AGG_NAMES as readonly string[]).includes(name) && !Object.hasOwn(BUILTINS, name)) {
    ctx.report(range, scope.kind === "mit" ? DIAG.durationExpected.missingWindow(name) : DIAG.windowOutsideGroup.in(name, scope.where));
    return undefined;
  }
  if ((MDT_KINDS as readonly string[]).includes(name)) {
    ctx.report(calleeRange, DIAG.mdtOutsideModel.in(name, scope.where));
    return undefined;
  }
  if (Object.hasOwn(BUILTINS, name)) return checkBuiltinCall(ctx, scope, name, args, checkedArgs, range);
  const candidates = concat(ctx.functionNames(), Object.keys(BUILTINS));
  ctx.report(calleeRange, DIAG.unknownName.function(name, candidates));
  return undefined;
}

/** A call of a built-in of the table: where it may stand, its argument types, then the literals its type depends on. */
function checkBuiltinCall(ctx: Ctx, scope: ExprScope, name: string, written: Expr[], checkedArgs: Checked[], range: Range): Checked {
  const entry = BUILTINS[name];
  if (entry.pipelineOnly && scope.kind !== "mit") {
    ctx.report(range, DIAG.embedOutsideGroup.in(name, scope.where));
    return undefined;
  }
  if (checkedArgs.some((a) => !a)) return undefined;
  const args = checkedArgs as IrExpr[];
  const r = checkBuiltinArgs(name, args.map((a) => a.type), args.map((a) => a.k === "lit" && a.value === null));
  if (!r.ok) {
    ctx.report(range, r.problem);
    return undefined;
  }
  if (!entry.literals) return { k: "builtin", name, args, type: r.returns };
  const lit = entry.literals(args);
  if (!lit.ok) {
    ctx.report(written[lit.arg]?.range ?? range, lit.problem);
    return undefined;
  }
  return { k: "builtin", name, args: lit.args, type: lit.returns };
}

function checkUnary(ctx: Ctx, scope: ExprScope, op: "-" | "not", operand: Expr, range: Range): Checked {
  const a = checkExpr(ctx, scope, operand);
  if (!a) return undefined;
  if (op === "-") {
    if (!isNumeric(a.type)) {
      ctx.report(range, DIAG.typeMismatch.negate(show(a.type)));
      return undefined;
    }
    return { k: "unary", op: "neg", arg: a, type: a.type };
  }
  if (a.type.base !== "bool") {
    ctx.report(range, DIAG.typeMismatch.not(show(a.type)));
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
    ctx.report(e.range, DIAG.typeMismatch.binary(op, what, show(l.type), show(r.type)));
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
  if (c && c.type.base !== "bool") ctx.report(e.cond.range, DIAG.condition.ifCondition(show(c.type)));
  if (!c || !a || !b || c.type.base !== "bool") return undefined;
  const common = isNullLit(a) ? withNull(b.type) : isNullLit(b) ? withNull(a.type) : join(a.type, b.type);
  if (!common) {
    ctx.report(e.range, DIAG.typeMismatch.ifBranches(show(a.type), show(b.type)));
    return undefined;
  }
  scope.onIf?.(e, c, b);
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
      ctx.report(values[i].range, DIAG.literalType.inValue(show(v.type), show(a.type)));
      return undefined;
    }
  }
  const nullable = a.type.nullable || (vs as IrExpr[]).some((v) => v.type.nullable); // SQL: x in (1, null) can be null
  return { k: "in", arg: a, values: vs as IrExpr[], type: t("bool", nullable) };
}

/** Two iterables one after the other, lazily. */
export function* concat<T>(a: Iterable<T>, b: Iterable<T>): Iterable<T> {
  yield* a;
  yield* b;
}
