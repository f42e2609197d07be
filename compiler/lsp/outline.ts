// The outline (document symbols: declarations with their fields, keys and
// features) and folding ranges (multi-line declarations, `{}` blocks and runs
// of comment lines).

import { FoldingRangeKind, SymbolKind, type DocumentSymbol, type FoldingRange } from "vscode-languageserver";
import type { Decl, Ident, Range } from "../ast.ts";
import * as T from "../parser/lexer.ts";
import type { Analysis } from "./analysis.ts";
import { positionAt, toLsp } from "./positions.ts";

export const SYMBOL_KIND: Record<Decl["kind"], SymbolKind> = {
  source: SymbolKind.Struct,
  entity: SymbolKind.Class,
  fn: SymbolKind.Function,
  extern_fn: SymbolKind.Function,
  feature_group: SymbolKind.Module,
  on_demand: SymbolKind.Method,
  view: SymbolKind.Interface,
  model: SymbolKind.Class,
  serve: SymbolKind.Event,
  index: SymbolKind.Field,
  agent: SymbolKind.Object,
};

function child(name: Ident, range: Range, kind: SymbolKind, detail?: string): DocumentSymbol {
  return { name: name.name, kind, range: toLsp(range), selectionRange: toLsp(name.range), ...(detail ? { detail } : {}) };
}

function children(d: Decl): DocumentSymbol[] {
  switch (d.kind) {
    case "source": return d.fields.filter((f) => f.name.name).map((f) => child(f.name, f.range, SymbolKind.Field, f.type.name + (f.type.nullable ? "?" : "")));
    case "entity": return d.keys.filter((k) => k.name.name).map((k) => child(k.name, k.range, SymbolKind.Key, k.type.name));
    case "feature_group": return d.features.filter((f) => f.name.name).map((f) => child(f.name, f.range, SymbolKind.Field));
    default: return [];
  }
}

export function documentSymbols(a: Analysis): DocumentSymbol[] {
  return a.program.decls.map((d) => {
    const name = d.kind === "serve" ? { name: `serve ${d.model.name}`, range: d.model.range } : d.name;
    return { name: name.name || "(unnamed)", detail: d.kind.replace("_", " "), kind: SYMBOL_KIND[d.kind], range: toLsp(d.range), selectionRange: toLsp(name.range), children: children(d) };
  });
}

export function foldingRanges(a: Analysis): FoldingRange[] {
  const out: FoldingRange[] = [];
  const stack: number[] = [];
  for (const tok of a.tokens) {
    if (tok.tokenType === T.LCurly) stack.push(positionAt(a.starts, tok.startOffset).line);
    else if (tok.tokenType === T.RCurly && stack.length) {
      const start = stack.pop()!;
      const end = positionAt(a.starts, tok.startOffset).line;
      if (end > start) out.push({ startLine: start, endLine: end - 1 });
    }
  }
  for (const d of a.program.decls) {
    const start = d.range.start.line - 1;
    const end = d.range.end.line - 1;
    if (end > start && !out.some((f) => f.startLine === start)) out.push({ startLine: start, endLine: end });
  }
  let run: { start: number; end: number } | undefined;
  const flush = () => {
    if (run && run.end > run.start) out.push({ startLine: run.start, endLine: run.end, kind: FoldingRangeKind.Comment });
    run = undefined;
  };
  for (const c of a.comments) {
    const line = positionAt(a.starts, c.startOffset).line;
    const endLine = positionAt(a.starts, c.startOffset + c.image.length).line;
    if (c.image.startsWith("/*")) {
      flush();
      if (endLine > line) out.push({ startLine: line, endLine, kind: FoldingRangeKind.Comment });
      continue;
    }
    if (run && line === run.end + 1) run.end = line;
    else {
      flush();
      run = { start: line, end: line };
    }
  }
  flush();
  return out.sort((x, y) => x.startLine - y.startLine);
}
