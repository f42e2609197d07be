// Quick fixes: a diagnostic that carries a fix (compiler/fixes.ts: a
// misspelt name replaced by the one meant, a `by col` added to a view's
// feature reference, a missing clause added to its declaration) becomes a
// code action with the fix's edits. The fix travels with the diagnostic to
// the client (its `data`) and comes back with the code-action request; no
// hint text is read.

import { CodeActionKind, type CodeAction, type Diagnostic as LspDiagnostic, type Range as LspRange } from "vscode-languageserver";
import type { Range } from "../ast.ts";
import type { Fix } from "../fixes.ts";
import type { Analysis } from "./analysis.ts";
import { toLsp } from "./positions.ts";

/** What the server puts in an LSP diagnostic's `data`: the code, and the quick fix in LSP positions. */
export interface DiagnosticData {
  code: number;
  fix?: { title: string; edits: Array<{ range: LspRange; newText: string }> };
}

/** The data of a diagnostic with this fix. */
export function fixData(fix: Fix | undefined): Pick<DiagnosticData, "fix"> {
  return fix ? { fix: { title: fix.title, edits: fix.edits.map((e) => ({ range: toLsp(e.range), newText: e.newText })) } } : {};
}

function fixFor(uri: string, diag: LspDiagnostic): CodeAction | undefined {
  const fix = (diag.data as DiagnosticData | undefined)?.fix;
  if (!fix?.edits?.length) return undefined;
  return { title: fix.title, kind: CodeActionKind.QuickFix, diagnostics: [diag], isPreferred: true, edit: { changes: { [uri]: fix.edits } } };
}

export function codeActions(uri: string, diagnostics: LspDiagnostic[]): CodeAction[] {
  return diagnostics.map((d) => fixFor(uri, d)).filter((x): x is CodeAction => !!x);
}

/**
 * FTI2044 (an imported name nothing uses): remove it from its import — the whole line when it is
 * the only name. Made here from the import's AST: the checker's hint says the same in words.
 */
export function unusedImportFix(a: Analysis, at: Range): Fix | undefined {
  for (const imp of a.program.imports) {
    const i = imp.names.findIndex((n) => n.range.start.offset === at.start.offset);
    if (i < 0) continue;
    const name = imp.names[i];
    if (imp.names.length === 1) {
      const end = a.text.startsWith("\n", imp.range.end.offset) ? { offset: imp.range.end.offset + 1, line: imp.range.end.line + 1, column: 1 } : imp.range.end;
      return { title: "Remove the unused import", edits: [{ range: { start: imp.range.start, end }, newText: "" }] };
    }
    // `a, b, c` without `b`: from the name to the next one's start; the last one: from the previous one's end.
    const range = i < imp.names.length - 1 ? { start: name.range.start, end: imp.names[i + 1].range.start } : { start: imp.names[i - 1].range.end, end: name.range.end };
    return { title: `Remove \`${name.name}\` from the import`, edits: [{ range, newText: "" }] };
  }
  return undefined;
}
