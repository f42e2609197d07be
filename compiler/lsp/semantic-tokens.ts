// Semantic tokens: keywords, literals, comments and operators from the lexer;
// names classified by what they refer to (symbols.ts), built-ins marked
// `defaultLibrary`, definitions marked `declaration`.

import { SemanticTokensBuilder, type SemanticTokens, type SemanticTokensLegend } from "vscode-languageserver";
import type { IToken } from "chevrotain";
import * as T from "../parser/lexer.ts";
import type { Analysis } from "./analysis.ts";
import { positionAt } from "./positions.ts";
import type { SymbolKind } from "./symbols.ts";

const TYPES = ["keyword", "string", "number", "comment", "operator", "type", "function", "variable", "property", "parameter", "class", "namespace", "struct", "enumMember"] as const;
const MODIFIERS = ["declaration", "defaultLibrary"] as const;

export const LEGEND: SemanticTokensLegend = { tokenTypes: [...TYPES], tokenModifiers: [...MODIFIERS] };

const typeIndex = (t: (typeof TYPES)[number]) => TYPES.indexOf(t);

function declType(a: Analysis, name: string): (typeof TYPES)[number] {
  switch (a.index.decls.get(name)?.kind) {
    case "fn": case "extern_fn": case "on_demand": return "function";
    case "source": return "struct";
    case "feature_group": return "namespace";
    default: return "class";
  }
}

const KIND_TYPE: Record<Exclude<SymbolKind, "decl">, (typeof TYPES)[number]> = {
  field: "property",
  key: "property",
  feature: "property",
  param: "parameter",
  label: "variable",
};

function lexicalType(tok: IToken): (typeof TYPES)[number] | undefined {
  const type = tok.tokenType;
  if (type === T.StringLit) return "string";
  if (type === T.NumberLit || type === T.DurationLit || type === T.DateLit) return "number";
  if (type === T.True || type === T.False || type === T.Null) return "keyword";
  if (T.KEYWORDS.get(tok.image) === type) return type.CATEGORIES?.includes(T.BinaryOperator) ? "operator" : "keyword";
  if (type.CATEGORIES?.includes(T.BinaryOperator) || type === T.Equals) return "operator";
  return undefined;
}

export function semanticTokens(a: Analysis): SemanticTokens {
  const entries: Array<{ offset: number; length: number; type: number; mods: number }> = [];
  const byOffset = new Map(a.index.occurrences.map((o) => [o.range.start.offset, o]));
  const builtins = new Set(a.index.builtins.map((b) => b.range.start.offset));
  const scalarTypes = new Set(["int", "float", "bool", "string", "timestamp", "duration"]);
  for (const tok of a.tokens) {
    const occ = byOffset.get(tok.startOffset);
    let type: number | undefined;
    let mods = 0;
    if (occ) {
      type = typeIndex(occ.kind === "decl" ? declType(a, occ.name) : KIND_TYPE[occ.kind]);
      if (occ.def) mods |= 1;
    } else if (builtins.has(tok.startOffset)) {
      type = typeIndex("function");
      mods |= 2;
    } else if (tok.tokenType === T.Identifier && scalarTypes.has(tok.image)) {
      type = typeIndex("type");
    } else {
      const lt = lexicalType(tok);
      if (lt) type = typeIndex(lt);
    }
    if (type !== undefined) entries.push({ offset: tok.startOffset, length: tok.image.length, type, mods });
  }
  for (const c of a.comments) entries.push({ offset: c.startOffset, length: c.image.length, type: typeIndex("comment"), mods: 0 });
  entries.sort((x, y) => x.offset - y.offset);
  const builder = new SemanticTokensBuilder();
  for (const e of entries) {
    // Tokens may not span lines: a multi-line block comment is pushed line by line.
    const start = positionAt(a.starts, e.offset);
    const end = positionAt(a.starts, e.offset + e.length);
    if (start.line === end.line) builder.push(start.line, start.character, e.length, e.type, e.mods);
    else {
      for (let line = start.line; line <= end.line; line++) {
        const from = line === start.line ? e.offset : a.starts[line];
        const to = line === end.line ? e.offset + e.length : a.starts[line + 1] - 1;
        const lineFrom = positionAt(a.starts, from);
        if (to > from) builder.push(line, lineFrom.character, to - from, e.type, e.mods);
      }
    }
  }
  return builder.build();
}
