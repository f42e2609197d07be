// Doc comments: the `//` lines right above a declaration, field or feature
// (no blank line between) and the comment at the end of its line.

import type { Analysis } from "./analysis.ts";
import { positionAt } from "./positions.ts";

/** Comment text by 0-based line, split into own-line comments and trailing ones. */
interface CommentLines {
  own: Map<number, string>;
  trailing: Map<number, string>;
}

const cache = new WeakMap<Analysis, CommentLines>();

function commentLines(a: Analysis): CommentLines {
  let c = cache.get(a);
  if (c) return c;
  c = { own: new Map(), trailing: new Map() };
  for (const tok of a.comments) {
    if (!tok.image.startsWith("//")) continue;
    const line = positionAt(a.starts, tok.startOffset).line;
    const before = a.text.slice(a.starts[line], tok.startOffset);
    const text = tok.image.slice(2).trim();
    (before.trim() === "" ? c.own : c.trailing).set(line, text);
  }
  cache.set(a, c);
  return c;
}

/** The doc of the item whose name starts on 1-based `line`. */
export function docAt(a: Analysis, line: number): string | undefined {
  const c = commentLines(a);
  const l = line - 1;
  const above: string[] = [];
  for (let i = l - 1; i >= 0 && c.own.has(i); i--) above.unshift(c.own.get(i)!);
  const parts = [...above];
  const trailing = c.trailing.get(l);
  if (trailing) parts.push(trailing);
  return parts.length ? parts.join("\n") : undefined;
}
