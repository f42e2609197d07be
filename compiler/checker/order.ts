// The order in which to check declarations that use each other by name (fns
// calling fns, features reading features of their group), so that checking
// one never has to check another first, and the cycles among them.
//
// Both used to be checked "on first use": checking `a`'s body, a reference to
// `b` not yet checked checked `b` there and then, and a reference back to a
// declaration still being checked was a cycle. That recursion was as deep as
// the longest chain of references: past ~250 fns a false FTI1007 (the
// expression depth bound), and a long enough cycle reported only the FTI1007.
// checkOrder walks the same references in the same order without recursion and
// says what first use would have done: the order declarations complete in and
// every reference back into the walk's path (a cycle). Checking in that order
// leaves nothing for first use to do, at any length.

import type { Expr } from "../ast.ts";

export interface CheckOrder {
  /** Every name after the names it refers to (except those that close a cycle). */
  order: string[];
  /**
   * Each cycle as first use met it: the path from the name referred back to,
   * round to it again (`[b, c, b]`), in the order they are met. The first name
   * is where the cycle is reported; it fails, so later references to it stay
   * quiet and it closes no other cycle.
   */
  cycles: string[][];
}

/**
 * The depth-first walk of the reference graph that checking on first use
 * would make, iteratively: from the names in declaration order, following
 * `refs` in the order it lists them (the order the checker meets them), only
 * names in `names`. A reference met while checking a name is either to a name
 * earlier in `order`, or to a name that starts one of `cycles` (still on the
 * walk's path: not checked yet, and failed).
 */
export function checkOrder(names: readonly string[], refs: (name: string) => readonly string[]): CheckOrder {
  const declared = new Set(names);
  const edges = new Map<string, string[]>();
  let anyEdge = false;
  for (const n of declared) {
    const out = refs(n).filter((r) => declared.has(r));
    edges.set(n, out);
    anyEdge ||= out.length > 0;
  }
  if (!anyEdge) return { order: [...declared], cycles: [] }; // the common case: nothing refers to anything
  const done = new Set<string>();
  const pathIndex = new Map<string, number>(); // names on the walk's path, by depth
  const failed = new Set<string>();
  const order: string[] = [];
  const cycles: string[][] = [];
  for (const root of declared) {
    if (done.has(root)) continue;
    const path: Array<{ name: string; next: number }> = [{ name: root, next: 0 }];
    pathIndex.set(root, 0);
    while (path.length) {
      const top = path[path.length - 1];
      const out = edges.get(top.name)!;
      if (top.next < out.length) {
        const child = out[top.next++];
        if (done.has(child) || failed.has(child)) continue;
        const at = pathIndex.get(child);
        if (at === undefined) {
          pathIndex.set(child, path.length);
          path.push({ name: child, next: 0 });
        } else {
          failed.add(child);
          cycles.push([...path.slice(at).map((p) => p.name), child]);
        }
        continue;
      }
      path.pop();
      pathIndex.delete(top.name);
      done.add(top.name);
      order.push(top.name);
    }
  }
  return { order, cycles };
}

/**
 * Calls `onName` for each name an expression reads and `onCall` for each fn
 * it calls, in the order the checker (exprs.ts) meets them: operands left to
 * right, a call's arguments before its callee, a window's arguments (not its
 * length). Iterative: an operator chain nests as deep as it is long.
 */
export function forEachReference(e: Expr, onName: (name: string) => void, onCall: (name: string) => void): void {
  // Pushed in reverse, popped in the checker's order; a string is a callee, met after its arguments.
  const stack: Array<Expr | string> = [e];
  while (stack.length) {
    const ex = stack.pop()!;
    if (typeof ex === "string") {
      onCall(ex);
      continue;
    }
    switch (ex.kind) {
      case "name":
        onName(ex.name);
        break;
      case "call":
        stack.push(ex.callee.name);
        for (let i = ex.args.length - 1; i >= 0; i--) stack.push(ex.args[i]);
        break;
      case "window":
        for (let i = ex.args.length - 1; i >= 0; i--) stack.push(ex.args[i]);
        break;
      case "unary":
        stack.push(ex.operand);
        break;
      case "binary":
        stack.push(ex.right, ex.left);
        break;
      case "if":
        stack.push(ex.else, ex.then, ex.cond);
        break;
      case "in":
        for (let i = ex.values.length - 1; i >= 0; i--) stack.push(ex.values[i]);
        stack.push(ex.operand);
        break;
      case "list":
        for (let i = ex.items.length - 1; i >= 0; i--) stack.push(ex.items[i]);
        break;
      default:
        break;
    }
  }
}
