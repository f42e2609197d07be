// Lines to text: items joined by the spacing rules, trailing `//` comments
// aligned one column per block (two spaces after the longest commented line
// of a run of lines not broken by a blank line).

import type { Item } from "./items.ts";
import type { Line } from "./layout.ts";
import { spaceBetween } from "./spacing.ts";
import { joinsSafely } from "./safety.ts";

interface Printed {
  code: string;
  /** The trailing line comment, printed after `code` at the aligned column. */
  trailing?: string;
  /** The line holds a multi-line block comment: its width means nothing. */
  multiline: boolean;
}

function printCode(items: Item[], prevToken: Item | undefined): string {
  let out = "";
  let prev: Item | undefined;
  let beforePrev = prevToken;
  for (const item of items) {
    if (prev) {
      const space = spaceBetween(prev, item, beforePrev) || !joinsSafely(prev.text, item.text);
      out += space ? " " : "";
    }
    out += item.text;
    if (prev?.kind === "token") beforePrev = prev;
    prev = item;
  }
  return out;
}

function printLine(line: Line, prevToken: Item | undefined): Printed {
  const items = line.items;
  const last = items[items.length - 1];
  const hasTrailing = last.kind === "lineComment" && items.length > 1;
  const codeItems = hasTrailing ? items.slice(0, -1) : items;
  const code = " ".repeat(line.indent) + printCode(codeItems, prevToken);
  const multiline = items.some((it) => it.kind === "blockComment" && /[\r\n]/.test(it.text));
  return hasTrailing ? { code, trailing: last.text, multiline } : { code, multiline };
}

/** The column each trailing comment starts at, per line (undefined: no trailing comment). */
function commentColumns(lines: Line[], printed: Printed[]): Array<number | undefined> {
  const columns: Array<number | undefined> = new Array(lines.length).fill(undefined);
  let runStart = 0;
  const closeRun = (end: number) => {
    let width = 0;
    for (let i = runStart; i < end; i++) if (printed[i].trailing !== undefined && !printed[i].multiline) width = Math.max(width, printed[i].code.length);
    for (let i = runStart; i < end; i++) if (printed[i].trailing !== undefined) columns[i] = printed[i].multiline ? printed[i].code.length + 2 : width + 2;
  };
  for (let i = 1; i <= lines.length; i++) {
    if (i === lines.length || lines[i].blankBefore || lines[i].block !== lines[i - 1].block) {
      closeRun(i);
      runStart = i;
    }
  }
  return columns;
}

export function printLines(lines: Line[], eol: string): string {
  const printed: Printed[] = [];
  let prevToken: Item | undefined;
  for (const line of lines) {
    printed.push(printLine(line, prevToken));
    for (const item of line.items) if (item.kind === "token") prevToken = item;
  }
  const columns = commentColumns(lines, printed);
  const out: string[] = [];
  printed.forEach((p, i) => {
    if (lines[i].blankBefore) out.push("");
    const col = columns[i];
    out.push(col === undefined ? p.code : p.code.padEnd(col) + p.trailing);
  });
  return out.length ? out.join(eol) + eol : "";
}
