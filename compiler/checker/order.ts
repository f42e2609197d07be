// The order in which to check declarations that use each other by name (fns
// calling fns, features reading features of their group), so that checking
// one never has to check another first.
//
// Both used to be checked only "on first use": checking `a`'s body, a
// reference to `b` not yet checked checked `b` there and then. That recursion
// made a long chain of references declared last-first as deep as the chain
// (more than ~250 fns were a false FTI1007, the expression depth bound). Checking in dependency order first — every declaration after
// the ones it refers to — leaves nothing for first use to do, at any length.
// Only a cycle is still checked on first use, from the member the old order
// met first, so it is reported where and as it was.

import type { Expr } from "../ast.ts";

/**
 * Every name after the names it refers to: the strongly connected components
 * of the reference graph (Tarjan's algorithm, iterative: any length, no
 * recursion), each as it completes, which is after every component it
 * reaches. The walk starts from the names in declaration order and follows
 * `refs` in the order it lists them (the order the checker meets the
 * references in), so for names without cycles the result is exactly the
 * order first use would have checked them in. A component with a cycle is
 * given as its first-visited member, then the others in declaration order:
 * checking the first one meets the cycle as first use always did.
 */
export function dependencyOrder(names: readonly string[], refs: (name: string) => readonly string[]): string[] {
  const position = new Map<string, number>();
  for (const [i, n] of names.entries()) if (!position.has(n)) position.set(n, i);
  const edges = new Map<string, string[]>();
  let anyEdge = false;
  for (const n of position.keys()) {
    const out = refs(n).filter((r) => position.has(r));
    edges.set(n, out);
    anyEdge ||= out.length > 0;
  }
  if (!anyEdge) return [...position.keys()]; // the common case: nothing refers to anything
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const sccStack: string[] = [];
  const order: string[] = [];
  const visit = (name: string, work: Array<{ name: string; next: number }>) => {
    index.set(name, index.size);
    low.set(name, index.get(name)!);
    sccStack.push(name);
    onStack.add(name);
    work.push({ name, next: 0 });
  };
  for (const root of position.keys()) {
    if (index.has(root)) continue;
    const work: Array<{ name: string; next: number }> = [];
    visit(root, work);
    while (work.length) {
      const top = work[work.length - 1];
      const out = edges.get(top.name)!;
      if (top.next < out.length) {
        const child = out[top.next++];
        if (!index.has(child)) visit(child, work);
        else if (onStack.has(child)) low.set(top.name, Math.min(low.get(top.name)!, index.get(child)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.name, Math.min(low.get(parent.name)!, low.get(top.name)!));
      if (low.get(top.name) !== index.get(top.name)) continue;
      // `top` is the first-visited member of a component: it is complete.
      const members: string[] = [];
      let m: string;
      do {
        m = sccStack.pop()!;
        onStack.delete(m);
        if (m !== top.name) members.push(m);
      } while (m !== top.name);
      order.push(top.name, ...members.sort((a, b) => position.get(a)! - position.get(b)!));
    }
  }
  return order;
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
