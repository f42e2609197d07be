// Walks over IR expressions: the one place that knows which parts of an
// IrExpr are sub-expressions. Every "which columns / params / fns does this
// read" question is answered from here, so a new expression kind is taught
// to all of them at once.

import type { IrExpr, IrFunction } from "./ir.ts";

/** The direct sub-expressions of `e`, left to right. */
export function subExprs(e: IrExpr): IrExpr[] {
  switch (e.k) {
    case "call":
    case "builtin":
      return e.args;
    case "unary":
      return [e.arg];
    case "binary":
      return [e.left, e.right];
    case "if":
      return [e.cond, e.then, e.else];
    case "in":
      return [e.arg, ...e.values];
    default:
      return [];
  }
}

/** Every node of `e` (itself first), left to right; iterative, so depth is not bounded by the stack. */
export function* exprNodes(e: IrExpr): Generator<IrExpr> {
  const stack: IrExpr[] = [e];
  while (stack.length) {
    const x = stack.pop()!;
    yield x;
    const subs = subExprs(x);
    for (let i = subs.length - 1; i >= 0; i--) stack.push(subs[i]);
  }
}

/** The column names `e` reads. */
export function columnsOf(e: IrExpr, out: Set<string> = new Set()): Set<string> {
  for (const x of exprNodes(e)) if (x.k === "col") out.add(x.name);
  return out;
}

/** How many times each param is referenced in `e`. */
export function paramUses(e: IrExpr, out: Map<string, number> = new Map()): Map<string, number> {
  for (const x of exprNodes(e)) if (x.k === "param") out.set(x.name, (out.get(x.name) ?? 0) + 1);
  return out;
}

/** The declared fns `e` calls directly, in call order (repeats kept). */
export function calledFns(e: IrExpr): string[] {
  const out: string[] = [];
  for (const x of exprNodes(e)) if (x.k === "call") out.push(x.fn);
  return out;
}

/** Whether `e` calls a declared fn. */
export function hasCall(e: IrExpr): boolean {
  for (const x of exprNodes(e)) if (x.k === "call") return true;
  return false;
}

/** The fns `roots` call, directly or through other fns' bodies. */
export function fnsCalledFrom(roots: IrExpr[], functions: readonly IrFunction[]): Set<string> {
  const byName = new Map(functions.map((f) => [f.name, f]));
  const used = new Set<string>();
  const pending = [...roots];
  while (pending.length) {
    for (const name of calledFns(pending.pop()!)) {
      const fn = byName.get(name);
      if (!fn || used.has(name)) continue;
      used.add(name);
      if (fn.body) pending.push(fn.body);
    }
  }
  return used;
}
