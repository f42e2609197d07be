// Random spec text for the parser's robustness tests (parser-fuzz) and the
// fast-path equivalence test (parser-direct): random characters, random token
// soup, and random edits of a real spec. Each takes its random source `r`
// (runtime/random.ts's mulberry32), so a run is reproducible from its seed.

/** Random characters (bytes, printable ASCII, any UTF-16 unit, line breaks, NUL and BOM). */
export function randomBytes(r: () => number, maxLen: number): string {
  const len = Math.floor(r() * maxLen);
  let s = "";
  for (let i = 0; i < len; i++) {
    const x = r();
    if (x < 0.7) s += String.fromCharCode(Math.floor(r() * 256));
    else if (x < 0.9) s += String.fromCharCode(32 + Math.floor(r() * 95));
    else if (x < 0.97) s += String.fromCharCode(Math.floor(r() * 0x10000)); // lone surrogates included
    else s += ["\r\n", "\r", "\n", "\u2028", "\uFEFF", "\u0000"][Math.floor(r() * 6)];
  }
  return s;
}

/** Keywords, names, punctuation, literals (good and bad) and trivia that random specs are made of. */
export const SOUP = [
  ...["source", "entity", "fn", "extern", "feature_group", "on_demand", "view", "model", "serve"],
  ...["path", "table", "format", "event_time", "unique", "fields", "in", "check", "key", "from", "version", "for"],
  ...["request", "label", "features", "ttl", "as_of", "task", "algorithm", "transform", "split", "metric", "require"],
  ...["online", "batch", "into", "if", "then", "else", "and", "or", "not", "true", "false", "null", "over"],
  ...["a", "b", "x", "athlete", "fitness", "avg", "gbdt", "time", "float", "string", "_"],
  ...["{", "}", "(", ")", "[", "]", ",", ".", ":", "=", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "^", "?"],
  ...["0", "42", "3.5", "1e-3", "7d", "1.5h", "500ms", "2025-06-01", "2025-06-01T06:30:00Z", "2025-13-45", "7y", "1e"],
  ...['"s"', '"esc\\n"', '"bad\\q"', '"open', "/*", "*/", "//", "@", "$", "!", "\u00e9", "\n", "\r\n", "\r", "\t"],
];

/** Up to `maxTokens` SOUP entries, mostly space-separated. */
export function tokenSoup(r: () => number, maxTokens: number): string {
  const n = Math.floor(r() * maxTokens);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(SOUP[Math.floor(r() * SOUP.length)]);
    out.push(r() < 0.8 ? " " : "");
  }
  return out.join("");
}

/** `text` with 1–4 random edits: deleted, duplicated or swapped spans, inserted characters or tokens. */
export function mutate(r: () => number, text: string): string {
  let s = text;
  const edits = 1 + Math.floor(r() * 4);
  for (let e = 0; e < edits; e++) {
    const a = Math.floor(r() * (s.length + 1));
    const len = Math.floor(r() * 40);
    const b = Math.min(s.length, a + len);
    switch (Math.floor(r() * 5)) {
      case 0: // delete a span
        s = s.slice(0, a) + s.slice(b);
        break;
      case 1: // duplicate a span
        s = s.slice(0, b) + s.slice(a, b) + s.slice(b);
        break;
      case 2: {
        // swap two spans
        const c = Math.floor(r() * (s.length + 1));
        const d = Math.min(s.length, c + Math.floor(r() * 40));
        if (b <= c) s = s.slice(0, a) + s.slice(c, d) + s.slice(b, c) + s.slice(a, b) + s.slice(d);
        break;
      }
      case 3: // insert random characters
        s = s.slice(0, a) + randomBytes(r, 6) + s.slice(a);
        break;
      default: // insert a random token
        s = s.slice(0, a) + " " + SOUP[Math.floor(r() * SOUP.length)] + " " + s.slice(a);
    }
  }
  return s;
}
