// Diagnostics: every phase appends to one list so a run reports every error.
// What each code says lives in one place, the catalogue (messages.ts).
// Codes: FTI1xxx syntax, 2xxx names, 3xxx types, 4xxx transformation rules and
// leakage, 5xxx code generation. The text format follows TypeScript's:
//   file:line:col - error FTInnnn: message
//   <source line>
//   <~~~ under the span>

import type { Range } from "./ast.ts";
import type { Message } from "./messages.ts";

export type Severity = "error" | "warning";

export interface RelatedInfo {
  file: string;
  range: Range;
  message: string;
}

export interface Diagnostic {
  code: number;
  severity: Severity;
  file: string;
  range: Range;
  message: string;
  /** A suggested fix, printed on its own line: "did you mean `pace_28d`?" */
  hint?: string;
  /** The other place involved (e.g. an extern function's real signature). */
  related?: RelatedInfo[];
}

/** A message of the catalogue (messages.ts) placed at a range of a file. */
export function diagnostic(file: string, range: Range, m: Message, related?: RelatedInfo[]): Diagnostic {
  const d: Diagnostic = { code: m.code, severity: m.severity, file, range, message: m.message };
  if (m.hint) d.hint = m.hint;
  if (related?.length) d.related = related;
  return d;
}

export class DiagnosticBag {
  readonly items: Diagnostic[] = [];

  /** Adds a message of the catalogue (DIAG in messages.ts); `related` points at the other place involved. */
  add(file: string, range: Range, m: Message, related?: RelatedInfo[]): void {
    this.items.push(diagnostic(file, range, m, related));
  }

  get hasErrors(): boolean {
    return this.items.some((d) => d.severity === "error");
  }
}

export function sortDiagnostics(items: Diagnostic[]): Diagnostic[] {
  return [...items].sort(
    (a, b) => a.file.localeCompare(b.file) || a.range.start.offset - b.range.start.offset || a.code - b.code,
  );
}

/** Splits text into lines the way the lexer counts them (\n, \r\n and lone \r all end a line). */
export function splitLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

const MAX_SHOWN_LINE = 200;

/** The source line with `~` under the span; long lines are cut around the span. */
function excerpt(lines: string[], range: Range): string[] {
  const line = lines[range.start.line - 1];
  if (line === undefined) return [];
  const startCol = range.start.column - 1;
  const endCol = range.end.line === range.start.line ? Math.max(range.end.column - 1, startCol + 1) : line.length;
  let from = 0;
  if (line.length > MAX_SHOWN_LINE) from = Math.max(0, Math.min(startCol - 40, line.length - MAX_SHOWN_LINE));
  const shown = line.slice(from, from + MAX_SHOWN_LINE).replace(/\t/g, " ");
  const printable = shown.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "?");
  const underlineStart = Math.max(0, startCol - from);
  const underlineEnd = Math.max(underlineStart + 1, Math.min(endCol - from, printable.length + 1));
  return [printable, " ".repeat(underlineStart) + "~".repeat(underlineEnd - underlineStart)];
}

export function formatDiagnostic(d: Diagnostic, sources: Map<string, string>): string {
  const out = [`${d.file}:${d.range.start.line}:${d.range.start.column} - ${d.severity} FTI${d.code}: ${d.message}`];
  const text = sources.get(d.file);
  if (text !== undefined) out.push(...excerpt(splitLines(text), d.range).map((l) => "  " + l));
  if (d.hint) out.push(`  hint: ${d.hint}`);
  for (const r of d.related ?? []) {
    out.push(`  ${r.file}:${r.range.start.line}:${r.range.start.column} - ${r.message}`);
    const relText = sources.get(r.file);
    if (relText !== undefined) out.push(...excerpt(splitLines(relText), r.range).map((l) => "    " + l));
  }
  return out.join("\n");
}

export function formatDiagnostics(items: Diagnostic[], sources: Map<string, string>): string {
  const sorted = sortDiagnostics(items);
  const errors = sorted.filter((d) => d.severity === "error").length;
  const warnings = sorted.length - errors;
  const body = sorted.map((d) => formatDiagnostic(d, sources)).join("\n\n");
  const summary = `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`;
  return sorted.length ? `${body}\n\n${summary}\n` : "";
}

/** Edit distance for "did you mean" hints. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const s = levenshtein(name.toLowerCase(), c.toLowerCase());
    if (s < bestScore) {
      bestScore = s;
      best = c;
    }
  }
  const limit = Math.max(2, Math.floor(name.length / 3));
  return bestScore <= limit ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return Infinity;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
