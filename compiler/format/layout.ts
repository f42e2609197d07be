// Lines and their indentation. The formatter keeps the author's line breaks
// (newlines are whitespace in .fti, so breaking differently is a matter of
// taste, not of meaning) with three canonical exceptions: `{` ends a line,
// `}` stands on its own line, and runs of blank lines become one.
//
// Indentation is two spaces per open `{ ( [`, plus two for a line that
// continues the previous one (the previous line ends with `=`, an operator,
// a keyword that needs more, or a `,` outside brackets; or this line starts
// with an operator, `then`, `else`, `over`, ...). It is computed from tokens
// only, so constructs the formatter has never seen indent sensibly too.

import type { TokenType } from "chevrotain";
import * as T from "../parser/lexer.ts";
import type { Item } from "./items.ts";
import { isBinaryOperator, isKeyword } from "./spacing.ts";

export interface Line {
  items: Item[];
  blankBefore: boolean;
  indent: number;
  /** The line that opened the innermost `{` around this one (-1: top level); trailing comments align per block. */
  block: number;
}

const OPENERS = new Set<TokenType>([T.LCurly, T.LParen, T.LBracket]);
const CLOSERS = new Set<TokenType>([T.RCurly, T.RParen, T.RBracket]);
/** Keywords that can end an item; every other keyword at the end of a line expects more. */
const FINAL_KEYWORDS = new Set<TokenType>([T.True, T.False, T.Null, T.Online]);
// A line starting with a string continues the one before it: only an agent's `prompt` has more strings on later lines.
const CONTINUING_START = new Set<TokenType>([T.Dot, T.Comma, T.Then, T.Else, T.Over, T.In, T.Equals, T.Colon, T.Question, T.StringLit]);
const CONTINUING_END = new Set<TokenType>([T.Equals, T.Colon, T.Dot]);

const isType = (item: Item | undefined, type: TokenType) => item?.kind === "token" && item.tok.tokenType === type;

/**
 * The `{ }` of `import { a, b } from ...` enclose a list, not a block: they
 * force no line break, and their contents indent like a bracket's.
 */
function listBraces(items: Item[]): Set<Item> {
  const out = new Set<Item>();
  let prevCode: Item | undefined;
  let open: Item | undefined;
  for (const item of items) {
    if (item.kind !== "token") continue;
    if (isType(item, T.LCurly) && isType(prevCode, T.Import)) open = item;
    if (open && isType(item, T.RCurly)) {
      out.add(open).add(item);
      open = undefined;
    }
    prevCode = item;
  }
  return out;
}

function forcedBreak(prev: Item, item: Item, lists: Set<Item>): boolean {
  if (prev.kind === "lineComment") return true;
  if (lists.has(prev) || lists.has(item)) return false;
  if (isType(item, T.RCurly)) return !isType(prev, T.LCurly);
  if (isType(prev, T.LCurly)) return !isType(item, T.RCurly) && item.kind !== "lineComment";
  if (isType(prev, T.RCurly)) return item.kind !== "lineComment";
  return false;
}

/** Splits the items into lines: the source's breaks plus the forced ones. */
export function splitLines(items: Item[]): Line[] {
  const lines: Line[] = [];
  const lists = listBraces(items);
  let current: Line | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!current || item.breaksBefore > 0 || forcedBreak(items[i - 1], item, lists)) {
      current = { items: [], blankBefore: item.breaksBefore >= 2 && lines.length > 0, indent: 0, block: -1 };
      lines.push(current);
    }
    current.items.push(item);
  }
  return lines;
}

const codeItems = (line: Line) => line.items.filter((it) => it.kind === "token");

/** Whether a line ending with `last` (after `beforeLast`) expects the next line to continue it. */
function endsOpen(last: Item, beforeLast: Item | undefined, innermost: TokenType | undefined): boolean {
  const type = last.tok.tokenType;
  if (OPENERS.has(type) || CLOSERS.has(type)) return false;
  if (type === T.Comma) return innermost === undefined || innermost === T.LCurly;
  if (CONTINUING_END.has(type)) return true;
  if (type === T.Star && isType(beforeLast, T.Dot)) return false; // `group.*`
  if (isBinaryOperator(type)) return true;
  return isKeyword(type) && !FINAL_KEYWORDS.has(type);
}

function startsContinued(first: Item): boolean {
  const type = first.tok.tokenType;
  return CONTINUING_START.has(type) || isBinaryOperator(type);
}

function leadingClosers(code: Item[]): number {
  let n = 0;
  while (n < code.length && CLOSERS.has(code[n].tok.tokenType)) n++;
  return n;
}

/** Sets each line's indent and block, and drops blank lines right inside braces. */
export function indentLines(lines: Line[]): void {
  const lists = listBraces(lines.flatMap((l) => l.items));
  const stack: Array<{ type: TokenType; line: number }> = [];
  let prevCode: Item[] | undefined;
  let prevEndedBrace = false;
  lines.forEach((line, index) => {
    const code = codeItems(line);
    const closers = leadingClosers(code);
    const units = Math.max(0, stack.length - closers);
    const innermost = stack[stack.length - 1]?.type;
    let continued = false;
    if (prevCode?.length && closers === 0) {
      continued = endsOpen(prevCode[prevCode.length - 1], prevCode[prevCode.length - 2], innermost) || (code.length > 0 && startsContinued(code[0]));
    }
    line.indent = 2 * units + (continued ? 2 : 0);
    const braces = stack.slice(0, units).filter((o) => o.type === T.LCurly);
    line.block = braces.length ? braces[braces.length - 1].line : -1;
    if (prevEndedBrace || (closers > 0 && isType(code[0], T.RCurly) && !lists.has(code[0]))) line.blankBefore = false;
    for (const item of code) {
      const type = item.tok.tokenType;
      if (OPENERS.has(type)) stack.push({ type: lists.has(item) ? T.LBracket : type, line: index });
      else if (CLOSERS.has(type)) stack.pop();
    }
    if (code.length) prevCode = code;
    prevEndedBrace = code.length > 0 && isType(code[code.length - 1], T.LCurly) && !lists.has(code[code.length - 1]);
  });
}
