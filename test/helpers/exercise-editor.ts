// The language server's providers run in process on one text, as the server
// runs them on every keystroke: no internal error diagnostic, nothing thrown.

import { expect } from "vitest";
import { analyze, type Analysis } from "../../compiler/lsp/analysis.ts";
import { complete } from "../../compiler/lsp/completion.ts";
import { hover } from "../../compiler/lsp/hover.ts";
import { documentSymbols, foldingRanges } from "../../compiler/lsp/outline.ts";
import { semanticTokens } from "../../compiler/lsp/semantic-tokens.ts";
import { inlayHints } from "../../compiler/lsp/inlay-hints.ts";
import { signatureHelp } from "../../compiler/lsp/signature-help.ts";

/** Analyses `text` as `file` (its imports resolved from `dir`), then hovers, completes and gives signature help at `offsets` and builds the outline, folds, tokens and inlay hints. */
export function exerciseEditor(text: string, file: string, dir: string, offsets: readonly number[]): Analysis {
  const a = analyze(text, file, dir);
  expect(a.diagnostics.filter((d) => d.message.startsWith("internal")).map((d) => d.message)).toEqual([]);
  for (const o of offsets) {
    hover(a, o);
    complete(a, o);
    signatureHelp(a, o);
  }
  documentSymbols(a);
  foldingRanges(a);
  semanticTokens(a);
  inlayHints(a);
  return a;
}
