// Quick fixes for diagnostics whose hint carries a fix:
//   - "did you mean `x`?"            → replace the diagnostic's span with x;
//   - "… `features g.* by col`" (a group joined on a view's spine source
//     without the column its keys come from) → add `by col` to the reference;
//   - "add `transform f: impute(median)`" (and other "add `clause`" hints)
//     → insert the clause as a new item of the enclosing declaration, or, for
//     a `transform` of an input that already has a transform line, put the
//     step first on that line.
// The fixes are computed from the diagnostic the client sends back (its range
// and its `data`: code and hint), against the current text.

import { CodeActionKind, type CodeAction, type Diagnostic as LspDiagnostic, type TextEdit } from "vscode-languageserver";
import type { Decl, ModelDecl } from "../ast.ts";
import type { Analysis } from "./analysis.ts";
import { offsetAt, positionAt } from "./positions.ts";

export interface DiagnosticData {
  code: number;
  hint?: string;
}

const DID_YOU_MEAN = /did you mean `([^`]+)`\?/;
/** A view's feature reference that needs the spine column its keys come from: "… `features g.* by col`". */
const MISSING_BY = /`features ([^`<>]+?) by ([^`<>]+)`/;
const ADD_CLAUSE = /^add `([^`<>]+)`/;

function enclosingDecl(a: Analysis, offset: number): Decl | undefined {
  return a.program.decls.find((d) => d.range.start.offset <= offset && offset <= d.range.end.offset);
}

/** Inserts `line` as the last item of a braced declaration, indented like its other items. */
function insertItem(a: Analysis, decl: Decl, line: string): TextEdit | undefined {
  const closeOffset = decl.range.end.offset - 1;
  if (a.text[closeOffset] !== "}") return undefined;
  const closePos = positionAt(a.starts, closeOffset);
  const closeLineStart = a.starts[closePos.line];
  const indentOfClose = a.text.slice(closeLineStart, closeOffset);
  if (indentOfClose.trim() !== "") return undefined; // `}` shares its line with an item: leave it to the formatter
  return { range: { start: { line: closePos.line, character: 0 }, end: { line: closePos.line, character: 0 } }, newText: `${indentOfClose}  ${line}\n` };
}

/**
 * `transform f: impute(median)` when `f` already has a transform line: the
 * step goes first on it (a second line for `f` would be FTI2007). On a line
 * of several inputs it then applies to each, as the line's other steps do.
 */
function prependStep(model: ModelDecl, clause: string, a: Analysis): TextEdit | undefined {
  const m = /^transform\s+([A-Za-z_][A-Za-z0-9_]*)\s*:\s*(.+)$/.exec(clause);
  if (!m) return undefined;
  const existing = model.transforms.find((t) => t.features.some((f) => f.name === m[1]));
  if (!existing || !existing.steps.length) return undefined;
  const at = positionAt(a.starts, existing.steps[0].range.start.offset);
  return { range: { start: at, end: at }, newText: `${m[2]}, ` };
}

function fixFor(a: Analysis, uri: string, diag: LspDiagnostic): CodeAction | undefined {
  const data = diag.data as DiagnosticData | undefined;
  const hint = data?.hint;
  if (!hint) return undefined;
  const mean = DID_YOU_MEAN.exec(hint);
  if (mean) {
    return {
      title: `Change to \`${mean[1]}\``,
      kind: CodeActionKind.QuickFix,
      diagnostics: [diag],
      isPreferred: true,
      edit: { changes: { [uri]: [{ range: diag.range, newText: mean[1] }] } },
    };
  }
  const by = MISSING_BY.exec(hint);
  if (by) {
    const start = offsetAt(a.text, a.starts, diag.range.start);
    const end = offsetAt(a.text, a.starts, diag.range.end);
    if (a.text.slice(start, end).replace(/\s+/g, "") !== by[1].replace(/\s+/g, "")) return undefined;
    const newText = `${by[1]} by ${by[2]}`;
    return { title: `Join on \`by ${by[2]}\``, kind: CodeActionKind.QuickFix, diagnostics: [diag], isPreferred: true, edit: { changes: { [uri]: [{ range: diag.range, newText }] } } };
  }
  const add = ADD_CLAUSE.exec(hint);
  if (add) {
    const decl = enclosingDecl(a, offsetAt(a.text, a.starts, diag.range.start));
    if (!decl) return undefined;
    const edit = (decl.kind === "model" ? prependStep(decl, add[1], a) : undefined) ?? insertItem(a, decl, add[1]);
    if (!edit) return undefined;
    return { title: `Add \`${add[1]}\``, kind: CodeActionKind.QuickFix, diagnostics: [diag], isPreferred: true, edit: { changes: { [uri]: [edit] } } };
  }
  return undefined;
}

export function codeActions(a: Analysis, uri: string, diagnostics: LspDiagnostic[]): CodeAction[] {
  return diagnostics.map((d) => fixFor(a, uri, d)).filter((x): x is CodeAction => !!x);
}
