// Spacing between two items printed on the same line: one space, or none
// around `.`, inside brackets, before `, : ?`, after a unary minus, and
// between a name and the `(` of its call. Keywords keep a space before `(`
// (`check (> 0)`, `in ("a")`, `over (2 * 7d)`).

import type { TokenType } from "chevrotain";
import * as T from "../parser/lexer.ts";
import type { Item } from "./items.ts";

const NO_SPACE_AFTER = new Set<TokenType>([T.LParen, T.LBracket, T.Dot]);
const NO_SPACE_BEFORE = new Set<TokenType>([T.RParen, T.RBracket, T.Comma, T.Dot, T.Colon, T.Question]);

export function isKeyword(type: TokenType): boolean {
  return T.KEYWORDS.get(type.name.replace(/^Kw_/, "")) === type;
}

export function isBinaryOperator(type: TokenType): boolean {
  return type.CATEGORIES?.includes(T.BinaryOperator) ?? false;
}

/** After these a `-` is a sign, not a subtraction. */
function startsOperand(prev: Item | undefined): boolean {
  if (!prev) return true;
  const type = prev.tok.tokenType;
  if (type === T.RParen || type === T.RBracket || type === T.Identifier || type === T.Question) return false;
  if (type.CATEGORIES?.includes(T.Literal)) return false;
  return true;
}

export function isUnaryMinus(item: Item, prevToken: Item | undefined): boolean {
  return item.kind === "token" && item.tok.tokenType === T.Minus && startsOperand(prevToken);
}

/**
 * Whether one space goes between `a` and `b` on one line. `prevOfA` is the
 * token before `a` (it decides whether a `-` is unary).
 */
export function spaceBetween(a: Item, b: Item, prevOfA: Item | undefined): boolean {
  if (a.kind !== "token" || b.kind !== "token") return true;
  const at = a.tok.tokenType;
  const bt = b.tok.tokenType;
  if (NO_SPACE_AFTER.has(at) || NO_SPACE_BEFORE.has(bt)) return false;
  if (isUnaryMinus(a, prevOfA)) return false;
  if (bt === T.LParen || bt === T.LBracket) {
    // A call: `avg(`, `gbdt(`, `fn f(`; a keyword, an operator or a comma keeps its space.
    return !(at === T.Identifier || at === T.RParen || at === T.RBracket);
  }
  return true;
}
