// Quick fixes: a diagnostic that carries a fix (compiler/fixes.ts: a
// misspelt name replaced by the one meant, a `by col` added to a view's
// feature reference, a missing clause added to its declaration) becomes a
// code action with the fix's edits. The fix travels with the diagnostic to
// the client (its `data`) and comes back with the code-action request; no
// hint text is read.

import { CodeActionKind, type CodeAction, type Diagnostic as LspDiagnostic, type Range as LspRange } from "vscode-languageserver";
import type { Fix } from "../fixes.ts";
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
