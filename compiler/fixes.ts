// Quick fixes as data: a diagnostic's fix intent (messages.ts: replace the
// span, or add an item to the enclosing declaration) placed as text edits
// against the spec text as it was checked. The language server offers them
// as code actions (lsp/code-actions.ts) without reading the hint's words.

import type { Decl, ModelDecl, Range } from "./ast.ts";
import type { FixIntent } from "./messages.ts";

export interface TextEdit {
  range: Range;
  newText: string;
}

/** A quick fix: its title and its edits. */
export interface Fix {
  title: string;
  edits: TextEdit[];
}

/** What placing an `addItem` fix needs: the text and its declarations (in source order). */
export interface FixSource {
  text: string;
  decls: readonly Decl[];
}

/** The fix of a diagnostic at `range`, or undefined when it cannot be placed (no source, no braced declaration). */
export function resolveFix(intent: FixIntent, range: Range, source?: FixSource): Fix | undefined {
  if (intent.kind === "replace") return { title: intent.title ?? `Change to \`${intent.text}\``, edits: [{ range, newText: intent.text }] };
  if (!source) return undefined;
  const decl = enclosingDecl(source.decls, range.start.offset);
  if (!decl) return undefined;
  const edit = (decl.kind === "model" ? prependStep(decl, intent.item) : undefined) ?? insertItem(source.text, decl, intent.item);
  return edit && { title: `Add \`${intent.item}\``, edits: [edit] };
}

/** The declaration containing `offset` (binary search: declarations are in source order). */
function enclosingDecl(decls: readonly Decl[], offset: number): Decl | undefined {
  let lo = 0;
  let hi = decls.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = decls[mid].range;
    if (offset < r.start.offset) hi = mid - 1;
    else if (offset > r.end.offset) lo = mid + 1;
    else return decls[mid];
  }
  return undefined;
}

/** Inserts `item` as the last item of a braced declaration, on its own line, indented like an item. */
function insertItem(text: string, decl: Decl, item: string): TextEdit | undefined {
  const close = decl.range.end.offset - 1;
  if (text[close] !== "}") return undefined;
  let lineStart = close;
  while (lineStart > 0 && text[lineStart - 1] !== "\n" && text[lineStart - 1] !== "\r") lineStart--;
  const indent = text.slice(lineStart, close);
  if (indent.trim() !== "") return undefined; // `}` shares its line with an item: leave it to the formatter
  const at = { offset: lineStart, line: decl.range.end.line, column: 1 };
  return { range: { start: at, end: at }, newText: `${indent}  ${item}\n` };
}

/**
 * `transform f: impute(median)` when `f` already has a transform line: the
 * step goes first on it (a second line for `f` would be FTI2007). On a line
 * of several inputs it then applies to each, as the line's other steps do.
 */
function prependStep(model: ModelDecl, clause: string): TextEdit | undefined {
  const m = /^transform\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+)$/.exec(clause);
  if (!m) return undefined;
  const existing = model.transforms.find((t) => t.features.some((f) => f.name === m[1]));
  if (!existing || !existing.steps.length) return undefined;
  const at = existing.steps[0].range.start;
  return { range: { start: at, end: at }, newText: `${m[2]}, ` };
}
