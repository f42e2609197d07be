// The formatter's input: the spec's tokens and comments, merged in source
// order, each with the number of line breaks the source has before it. The
// formatter only ever changes the whitespace between these items.

import type { IToken } from "chevrotain";
import * as T from "../parser/lexer.ts";

export type ItemKind = "token" | "lineComment" | "blockComment";

export interface Item {
  kind: ItemKind;
  /** The text printed for the item (a line comment without trailing blanks). */
  text: string;
  start: number;
  tok: IToken;
  /** Line breaks in the source between the previous item and this one. */
  breaksBefore: number;
}

function countBreaks(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) n++;
    else if (c === 13 && text.charCodeAt(i + 1) !== 10) n++;
  }
  return n;
}

function itemOf(tok: IToken): Omit<Item, "breaksBefore"> {
  if (tok.tokenType === T.LineComment) return { kind: "lineComment", text: tok.image.trimEnd(), start: tok.startOffset, tok };
  if (tok.tokenType === T.BlockComment) return { kind: "blockComment", text: tok.image, start: tok.startOffset, tok };
  return { kind: "token", text: tok.image, start: tok.startOffset, tok };
}

/** Tokens and comments of a lexed text, in order, with the source's line breaks between them. */
export function itemsOf(text: string, tokens: IToken[], comments: IToken[]): Item[] {
  const all = [...tokens, ...comments].sort((a, b) => a.startOffset - b.startOffset);
  const out: Item[] = [];
  let prevEnd = 0;
  for (const tok of all) {
    out.push({ ...itemOf(tok), breaksBefore: countBreaks(text, prevEnd, tok.startOffset) });
    prevEnd = tok.startOffset + tok.image.length;
  }
  return out;
}
