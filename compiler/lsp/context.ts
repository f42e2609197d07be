// Where the cursor is, from the tokens before it: the enclosing top-level
// declaration, the brace depth, the clause it is in (`metric`, `transform`,
// `features`, ...), the token before the word being typed, and whether the
// word starts a line. Completion decides what fits from this.

import type { IToken } from "chevrotain";
import * as T from "../parser/lexer.ts";

const DECL_KEYWORDS = new Set(["source", "entity", "fn", "extern", "feature_group", "on_demand", "view", "model", "serve", "index", "agent"]);
const CLAUSES = new Set([
  "path", "table", "format", "event_time", "unique", "fields", "key", "label", "features", "ttl", "as_of",
  "view", "task", "algorithm", "transform", "split", "metric", "require", "online", "batch",
  "llm", "context", "retrieve", "tool", "prompt",
]);

export interface CursorContext {
  /** The top-level declaration keyword the cursor is in (`extern` for extern fn), if any. */
  decl?: string;
  /** Its name, when written. */
  declName?: string;
  /** `{` depth at the cursor (0: top level). */
  depth: number;
  /** `(` depth inside the current item. */
  parens: number;
  /** The clause keyword of the current item inside a block. */
  clause?: string;
  /** The clause's first argument (e.g. the algorithm name in `algorithm gbdt(`). */
  clauseArg?: string;
  /** Tokens before the word being typed (last first). */
  prev?: IToken;
  prev2?: IToken;
  /** The word being typed starts its line. */
  lineStart: boolean;
  /** A `:` came before the cursor in the current item (after `transform x:`, a field's type). */
  afterColon: boolean;
  /** An `=` came before the cursor in the current item or declaration header (expression position). */
  afterEquals: boolean;
  /** The word being typed. */
  word: string;
}

const isWordChar = (c: string) => /[A-Za-z0-9_]/.test(c);

export function cursorContext(text: string, tokens: IToken[], offset: number): CursorContext {
  let wordStart = offset;
  while (wordStart > 0 && isWordChar(text[wordStart - 1])) wordStart--;
  const word = text.slice(wordStart, offset);
  const before = tokens.filter((t) => t.startOffset + t.image.length <= wordStart);
  const lineStartOffset = Math.max(text.lastIndexOf("\n", wordStart - 1), text.lastIndexOf("\r", wordStart - 1)) + 1;
  const ctx: CursorContext = {
    depth: 0,
    parens: 0,
    lineStart: text.slice(lineStartOffset, wordStart).trim() === "",
    afterColon: false,
    afterEquals: false,
    word,
    prev: before[before.length - 1],
    prev2: before[before.length - 2],
  };
  let itemLine = -1;
  for (let i = 0; i < before.length; i++) {
    const tok = before[i];
    const image = tok.image;
    const isKw = tok.tokenType !== T.Identifier && T.KEYWORDS.get(image) === tok.tokenType;
    if (tok.tokenType === T.LCurly) ctx.depth++;
    else if (tok.tokenType === T.RCurly) ctx.depth = Math.max(0, ctx.depth - 1);
    else if (tok.tokenType === T.LParen) ctx.parens++;
    else if (tok.tokenType === T.RParen) ctx.parens = Math.max(0, ctx.parens - 1);
    if (isKw && ctx.depth === 0 && DECL_KEYWORDS.has(image) && !(image === "fn" && before[i - 1]?.image === "extern")) {
      ctx.decl = image;
      ctx.declName = before[i + (image === "extern" ? 2 : 1)]?.image;
      ctx.clause = undefined;
      ctx.afterColon = false;
      ctx.afterEquals = false;
      ctx.parens = 0;
    } else if (isKw && ctx.depth >= 1 && ctx.parens === 0 && CLAUSES.has(image) && (ctx.decl !== "view" || image !== "view")) {
      ctx.clause = image;
      ctx.clauseArg = before[i + 1]?.image;
      ctx.afterColon = false;
      ctx.afterEquals = false;
      itemLine = tok.startOffset;
    } else if (tok.tokenType === T.Colon && ctx.parens === 0) ctx.afterColon = true;
    else if (tok.tokenType === T.Equals) ctx.afterEquals = true;
    else if (tok.tokenType === T.LCurly || tok.tokenType === T.RCurly) {
      ctx.clause = undefined;
      ctx.afterColon = false;
      ctx.afterEquals = false;
    }
  }
  // A new line inside a group/fields block starts a new item: forget the previous one's state.
  if (ctx.lineStart && ctx.depth >= 1 && (ctx.prev?.tokenType !== T.Comma)) {
    const prevType = ctx.prev?.tokenType;
    const continues = prevType === T.Equals || prevType === T.Colon || prevType === T.LParen || (prevType?.CATEGORIES?.includes(T.BinaryOperator) ?? false);
    if (!continues) {
      ctx.clause = undefined;
      ctx.afterColon = false;
      ctx.afterEquals = false;
    }
  }
  void itemLine;
  return ctx;
}
