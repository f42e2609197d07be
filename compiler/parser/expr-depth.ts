// The depth bound on expression trees (FTI1007). The nesting pre-scan
// (index.ts) bounds what the recursive parser sees, but operators build
// their trees iteratively (shunting-yard), so `a + a + … + a` with 100,000
// terms is a 100,000-deep tree: every later walk over the AST (the
// checker's, the language server's, the formatter's) would overflow the
// stack on it. This pass measures each declaration's expression trees
// without recursion and cuts every subtree deeper than the bound, leaving
// the parser's `error` placeholder in its place (the declaration itself is
// kept, so nothing that refers to it cascades into "unknown name").

import type { Decl, ImportDecl, Range } from "../ast.ts";

/** Deepest expression tree the parser hands on (the checker's bound too). */
export const MAX_EXPR_DEPTH = 500;

const EXPR_KINDS = new Set(["number", "string", "bool", "null", "duration", "date", "list", "name", "member", "call", "window", "unary", "binary", "if", "in", "error"]);

const isNode = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/**
 * Replaces, in place, every expression deeper than `max` by `{ kind: "error" }`;
 * returns the range of the one that starts first (to report once), if any.
 */
export function capExpressionDepth(decl: Decl | ImportDecl, max = MAX_EXPR_DEPTH): Range | undefined {
  let first: Range | undefined;
  // Each entry: the holder of a value and its key, and how many expressions enclose it.
  const stack: Array<{ holder: Record<string, unknown> | unknown[]; key: string | number; depth: number }> = [];
  const pushChildren = (node: Record<string, unknown> | unknown[], depth: number) => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) if (isNode(node[i])) stack.push({ holder: node, key: i, depth });
    } else {
      for (const key in node) if (key !== "range" && isNode(node[key])) stack.push({ holder: node, key, depth });
    }
  };
  pushChildren(decl as unknown as Record<string, unknown>, 0);
  while (stack.length) {
    const { holder, key, depth } = stack.pop()!;
    const node = (holder as Record<string | number, unknown>)[key] as Record<string, unknown> | unknown[];
    const isExpr = !Array.isArray(node) && typeof node.kind === "string" && EXPR_KINDS.has(node.kind);
    const d = isExpr ? depth + 1 : depth;
    if (d > max) {
      const range = (node as { range: Range }).range;
      if (!first || range.start.offset < first.start.offset) first = range;
      (holder as Record<string | number, unknown>)[key] = { kind: "error", range };
      continue;
    }
    pushChildren(node, d);
  }
  return first;
}
