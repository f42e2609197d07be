// The formatter's guarantees, checked rather than assumed: two items printed
// without a space must lex back as the same two items, and the formatted text
// must lex to exactly the original tokens and comments. A formatter bug thus
// becomes a refusal, never a changed spec.

import * as T from "../parser/lexer.ts";

const joinCache = new Map<string, boolean>();

/** Whether `a` immediately followed by `b` still lexes as `a`, `b`. */
export function joinsSafely(a: string, b: string): boolean {
  const key = a + "\u0000" + b;
  let ok = joinCache.get(key);
  if (ok === undefined) {
    const { tokens, comments, problems } = T.lex(a + b);
    const images = [...tokens, ...comments].sort((x, y) => x.startOffset - y.startOffset).map((t) => t.image);
    ok = problems.length === 0 && images.length === 2 && images[0] === a && images[1] === b;
    if (joinCache.size > 10_000) joinCache.clear();
    joinCache.set(key, ok);
  }
  return ok;
}

/** Token types and texts, comments with trailing blanks removed: what formatting must not change. */
export function fingerprint(text: string): string[] {
  const { tokens, comments } = T.lex(text);
  return [...tokens, ...comments]
    .sort((a, b) => a.startOffset - b.startOffset)
    .map((t) => `${t.tokenType.name} ${t.tokenType === T.LineComment ? t.image.trimEnd() : t.image}`);
}

export function sameTokens(a: string, b: string): boolean {
  const fa = fingerprint(a);
  const fb = fingerprint(b);
  return fa.length === fb.length && fa.every((x, i) => x === fb[i]);
}
