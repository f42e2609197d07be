// Diagnostics: every phase appends to one list so a run reports every error.
// What each code says lives in one place, the catalogue (messages.ts).
// Codes: FTI1xxx syntax, 2xxx names, 3xxx types, 4xxx transformation rules and
// leakage, 5xxx code generation. The text format follows TypeScript's:
//   file:line:col - error FTInnnn: message
//   <source line>
//   <~~~ under the span>

import type { Range } from "./ast.ts";
import { resolveFix, type Fix, type FixSource } from "./fixes.ts";
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
  /** The hint as text edits, when it is mechanical (the language server's quick fix). */
  fix?: Fix;
}

/** A message of the catalogue (messages.ts) placed at a range of a file; `source` places a fix that adds an item. */
export function diagnostic(file: string, range: Range, m: Message, related?: RelatedInfo[], source?: FixSource): Diagnostic {
  const d: Diagnostic = { code: m.code, severity: m.severity, file, range, message: m.message };
  if (m.hint) d.hint = m.hint;
  if (related?.length) d.related = related;
  const fix = m.fix && resolveFix(m.fix, range, source);
  if (fix) d.fix = fix;
  return d;
}

export class DiagnosticBag {
  readonly items: Diagnostic[] = [];

  /** Adds a message of the catalogue (DIAG in messages.ts); `related` points at the other place involved. */
  add(file: string, range: Range, m: Message, related?: RelatedInfo[], source?: FixSource): void {
    this.items.push(diagnostic(file, range, m, related, source));
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
  // Control characters, and the bidirectional controls that would reorder the excerpt on the terminal (FTI4105), one `?` each.
  const printable = shown.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]/g, "?");
  const underlineStart = Math.max(0, startCol - from);
  const underlineEnd = Math.max(underlineStart + 1, Math.min(endCol - from, printable.length + 1));
  return [printable, " ".repeat(underlineStart) + "~".repeat(underlineEnd - underlineStart)];
}

/** The lines of each source, split once however many diagnostics point into it. */
class SourceLines {
  private readonly split = new Map<string, string[]>();
  constructor(private readonly sources: Map<string, string>) {}

  of(file: string): string[] | undefined {
    let lines = this.split.get(file);
    if (lines === undefined) {
      const text = this.sources.get(file);
      if (text === undefined) return undefined;
      this.split.set(file, (lines = splitLines(text)));
    }
    return lines;
  }
}

export function formatDiagnostic(d: Diagnostic, sources: Map<string, string>, lines = new SourceLines(sources)): string {
  const out = [`${d.file}:${d.range.start.line}:${d.range.start.column} - ${d.severity} FTI${d.code}: ${d.message}`];
  const own = lines.of(d.file);
  if (own !== undefined) out.push(...excerpt(own, d.range).map((l) => "  " + l));
  if (d.hint) out.push(`  hint: ${d.hint}`);
  for (const r of d.related ?? []) {
    out.push(`  ${r.file}:${r.range.start.line}:${r.range.start.column} - ${r.message}`);
    const rel = lines.of(r.file);
    if (rel !== undefined) out.push(...excerpt(rel, r.range).map((l) => "    " + l));
  }
  return out.join("\n");
}

export function formatDiagnostics(items: Diagnostic[], sources: Map<string, string>): string {
  const sorted = sortDiagnostics(items);
  const errors = sorted.filter((d) => d.severity === "error").length;
  const warnings = sorted.length - errors;
  const lines = new SourceLines(sources);
  const body = sorted.map((d) => formatDiagnostic(d, sources, lines)).join("\n\n");
  const summary = `${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`;
  return sorted.length ? `${body}\n\n${summary}\n` : "";
}

/**
 * How many candidates one "did you mean" looks at, at most (in the order
 * given). It keeps a hint's cost constant, so a spec with thousands of
 * unknown names among thousands of declarations is still checked in linear
 * time (issue 11 #11); below this many candidates the hint is exact.
 */
export const SPELLING_CANDIDATES = 1000;

/** Candidates every "did you mean" so far has compared (a work count: tests check a hint's cost is bounded). */
export const spellingWork = { candidates: 0 };

/** The candidate closest to `name` by edit distance (case-insensitive; the first of equals), if within max(2, ⌊len/3⌋) edits. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const target = name.toLowerCase();
  const limit = Math.max(2, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestScore = Infinity;
  let seen = 0;
  for (const c of candidates) {
    if (++seen > SPELLING_CANDIDATES) break;
    spellingWork.candidates++;
    // Only a strictly better candidate within the limit can change the answer.
    const s = boundedDistance(target, c.toLowerCase(), Math.min(limit, bestScore - 1));
    if (s < bestScore) {
      bestScore = s;
      best = c;
      if (s === 0) break;
    }
  }
  return bestScore <= limit ? best : undefined;
}

const row = { prev: new Int32Array(64), cur: new Int32Array(64) };

/** Levenshtein distance of a and b if it is at most `bound` (and their lengths differ by at most 8), else Infinity. */
function boundedDistance(a: string, b: string, bound: number): number {
  const diff = Math.abs(a.length - b.length);
  if (diff > 8 || diff > bound) return Infinity;
  if (row.prev.length <= b.length) {
    row.prev = new Int32Array(b.length * 2 + 1);
    row.cur = new Int32Array(b.length * 2 + 1);
  }
  let prev = row.prev;
  let cur = row.cur;
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1));
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    // Every later row is at least this row's minimum.
    if (rowMin > bound) return Infinity;
    const t = prev;
    prev = cur;
    cur = t;
  }
  const d = prev[b.length];
  return d <= bound ? d : Infinity;
}
