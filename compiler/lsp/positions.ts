// AST ranges (1-based line/column, UTF-16 columns) and LSP ranges (0-based
// line/character, UTF-16) describe the same places; converting is arithmetic.

import type { Range as LspRange, Position } from "vscode-languageserver";
import type { Range } from "../ast.ts";

export function toLsp(r: Range): LspRange {
  return {
    start: { line: r.start.line - 1, character: r.start.column - 1 },
    end: { line: r.end.line - 1, character: r.end.column - 1 },
  };
}

/** Offsets where lines start (\r\n, \r and \n end a line, like the parser's LineMap). */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) i++;
      starts.push(i + 1);
    } else if (c === 10) starts.push(i + 1);
  }
  return starts;
}

/** The offset of an LSP position, clamped to its line and the text. */
export function offsetAt(text: string, starts: number[], pos: Position): number {
  if (pos.line >= starts.length) return text.length;
  const start = starts[Math.max(0, pos.line)];
  const next = pos.line + 1 < starts.length ? starts[pos.line + 1] : text.length;
  let end = next;
  while (end > start && (text[end - 1] === "\n" || text[end - 1] === "\r") && end > start) end--;
  return start + Math.min(Math.max(0, pos.character), end - start);
}

export function positionAt(starts: number[], offset: number): Position {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, character: offset - starts[lo] };
}
