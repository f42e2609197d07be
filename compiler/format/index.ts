// `fti fmt`: the canonical layout of a .fti spec. Only whitespace changes:
// every token and comment is kept, in order (checked after formatting).
// A spec with syntax errors is refused with its diagnostics, never rewritten.
// See compiler/format/CONTEXT.md for the rules.

import type { Diagnostic } from "../diagnostics.ts";
import { parse } from "../parser/index.ts";
import * as T from "../parser/lexer.ts";
import { itemsOf } from "./items.ts";
import { indentLines, splitLines } from "./layout.ts";
import { printLines } from "./print.ts";
import { sameTokens } from "./safety.ts";

export type FormatResult =
  | { ok: true; text: string; changed: boolean }
  /** Syntax errors (FTI1xxx): the text was not formatted. */
  | { ok: false; diagnostics: Diagnostic[] };

/** The line ending the file already uses (its first one), else `\n`. */
function lineEnding(text: string): string {
  const m = /\r\n|\r|\n/.exec(text);
  return m ? m[0] : "\n";
}

/** Formats the text of one spec. Never throws. */
export function formatSpec(text: string, file: string): FormatResult {
  const errors = parse(text, file).diagnostics.filter((d) => d.severity === "error");
  if (errors.length) return { ok: false, diagnostics: errors };
  const { tokens, comments } = T.lex(text);
  const lines = splitLines(itemsOf(text, tokens, comments));
  indentLines(lines);
  const formatted = printLines(lines, lineEnding(text));
  if (!sameTokens(text, formatted)) {
    // A bug in the rules above; refusing keeps the user's file intact.
    const at = { offset: 0, line: 1, column: 1 };
    return {
      ok: false,
      diagnostics: [
        {
          code: 1001,
          severity: "error",
          file,
          range: { start: at, end: at },
          message: "internal formatter error: the formatted text would differ in more than whitespace; the file was left as it was",
        },
      ],
    };
  }
  return { ok: true, text: formatted, changed: formatted !== text };
}
