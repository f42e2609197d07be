// Completion in the places outside a declaration's items: an import's path
// (the project's other specs) and the names an `import { … }` can take from
// its module, a declaration header (the source
// after a view's `from`, the keywords a header takes next, its `where`
// expression's columns), an on-demand transformation's parameters, an
// index's column, a `serve` block's `batch into`, and a model's `retrain`
// block. completion.ts asks here first.

import path from "node:path";
import { CompletionItemKind, InsertTextFormat, type CompletionItem } from "vscode-languageserver";
import type { IToken } from "chevrotain";
import type { Decl, FeatureGroupDecl } from "../ast.ts";
import * as T from "../parser/lexer.ts";
import type { Analysis } from "./analysis.ts";
import type { CursorContext } from "./context.ts";
import { positionAt } from "./positions.ts";
import { specFiles } from "./spec-files.ts";
import { toPosix } from "../modules.ts";
import { projectRoot } from "../../runtime/features/source-paths.ts";

/** Declarations a spec may import (views, models, serves, indexes and agents belong to their spec). */
const IMPORTABLE = new Set<Decl["kind"]>(["source", "entity", "fn", "extern_fn", "feature_group", "on_demand"]);

const keyword = (label: string, detail: string, insertText = label): CompletionItem => ({ label, kind: CompletionItemKind.Keyword, detail, insertText });
const snippet = (label: string, detail: string, body: string): CompletionItem => ({ label, kind: CompletionItemKind.Keyword, detail, insertText: body, insertTextFormat: InsertTextFormat.Snippet });
const named = (d: Decl, kind: CompletionItemKind): CompletionItem => ({ label: d.kind === "serve" ? "" : d.name.name, kind, detail: d.kind.replace("_", " ") });

/** Inside `import { … }`: the tokens since `{` are names and commas, and `import` is before it. */
function importBrace(tokens: IToken[], before: number): number | undefined {
  let i = before;
  while (i >= 0 && (tokens[i].tokenType === T.Identifier || tokens[i].tokenType === T.Comma)) i--;
  return tokens[i]?.tokenType === T.LCurly && tokens[i - 1]?.image === "import" ? i : undefined;
}

/** The names the module of the import around the cursor declares, less those already listed. */
function importNames(a: Analysis, tokens: IToken[], brace: number): CompletionItem[] {
  let i = brace + 1;
  const listed = new Set<string>();
  for (; i < tokens.length && tokens[i].tokenType !== T.RCurly; i++) if (tokens[i].tokenType === T.Identifier) listed.add(tokens[i].image);
  const from = tokens[i + 1]?.image === "from" ? tokens[i + 2] : undefined;
  if (!from || from.tokenType !== T.StringLit) return [];
  let value: string;
  try {
    value = JSON.parse(from.image) as string;
  } catch {
    return [];
  }
  const decls = a.modules.get(path.resolve(a.dir, value)) ?? [];
  return decls
    .filter((d): d is Exclude<Decl, { kind: "serve" }> => IMPORTABLE.has(d.kind) && d.kind !== "serve" && !!d.name.name && !listed.has(d.name.name))
    .map((d) => ({ label: d.name.name, kind: CompletionItemKind.Reference, detail: `${d.kind.replace("_", " ")} from ${value}` }));
}

/** The header tokens of the declaration the cursor is in (from its keyword to the cursor), at depth 0. */
function headerTokens(before: IToken[]): IToken[] {
  for (let i = before.length - 1; i >= 0; i--) {
    const t = before[i];
    if (t.tokenType === T.LCurly || t.tokenType === T.RCurly) return [];
    if (["feature_group", "view", "on_demand", "index", "source", "entity", "fn", "model", "serve", "agent"].includes(t.image) && t.tokenType !== T.Identifier) return before.slice(i);
  }
  return [];
}

function columnsOf(a: Analysis, input: Decl | undefined, seen = new Set<string>()): CompletionItem[] {
  if (input?.kind === "source") return input.fields.map((f) => ({ label: f.name.name, kind: CompletionItemKind.Field, detail: `${f.type.name}${f.type.nullable ? "?" : ""} (${input.name.name})` }));
  if (input?.kind !== "feature_group" || seen.has(input.name.name)) return [];
  seen.add(input.name.name);
  return [...input.features.map((f) => ({ label: f.name.name, kind: CompletionItemKind.Field, detail: `feature of ${input.name.name}` })), ...columnsOf(a, a.index.decls.get(input.from.name), seen)];
}

/** In a header: the source after a view's `from`, what may follow, and the input's columns in `where`. */
function headerItems(a: Analysis, ctx: CursorContext, header: IToken[], expression: () => CompletionItem[]): CompletionItem[] | undefined {
  const words = header.map((t) => t.image);
  const prev = ctx.prev?.image;
  if (ctx.decl === "view" && prev === "from") return [...a.index.decls.values()].filter((d) => d.kind === "source").map((d) => named(d, CompletionItemKind.Struct));
  if (words.includes("where") && (ctx.decl === "view" || ctx.decl === "feature_group")) {
    if (prev === "where" || (ctx.prev && ctx.prev.tokenType !== T.Identifier && ctx.prev.tokenType !== T.RParen && !T.KEYWORDS.has(prev ?? ""))) {
      const d = ctx.declName ? a.index.decls.get(ctx.declName) : undefined;
      const input = d?.kind === "feature_group" ? a.index.decls.get((d as FeatureGroupDecl).from.name) : d?.kind === "view" && d.from ? a.index.decls.get(d.from.name) : undefined;
      return [...columnsOf(a, input), ...expression()];
    }
  }
  // The keywords a header takes next, after a complete name (not in `where`, not inside `( … )`).
  if (ctx.prev?.tokenType === T.Identifier && ctx.parens === 0 && !words.includes("where") && header.length >= 2) {
    const after = (ks: string[]) => ks.filter((k) => !words.includes(k) && ks.indexOf(k) > Math.max(-1, ...words.map((w) => ks.indexOf(w))));
    if (ctx.decl === "view") return after(["for", "from", "where"]).filter((k) => k !== "where" || words.includes("from")).map((k) => keyword(k, "view header"));
    if (ctx.decl === "feature_group") return after(["version", "for", "from", "where", "schedule"]).filter((k) => (k !== "where" && k !== "schedule") || words.includes("from")).map((k) => keyword(k, "feature group header"));
  }
  return undefined;
}

/** An on-demand transformation's parameters: `request name: type`, or a group (then `.feature`). */
function odtParams(a: Analysis, ctx: CursorContext): CompletionItem[] | undefined {
  if (ctx.decl !== "on_demand" || ctx.depth !== 0 || ctx.parens === 0 || ctx.afterEquals) return undefined;
  const prev = ctx.prev?.image;
  if (prev !== "(" && prev !== ",") return undefined;
  const groups = [...a.index.decls.values()].filter((d) => d.kind === "feature_group").map((d) => ({ ...named(d, CompletionItemKind.Module), insertText: `${(d as FeatureGroupDecl).name.name}.` }));
  return [snippet("request", "a field of the prediction request", "request ${1:name}: ${2:float}"), ...groups];
}

/** `index x on group(…)`: the group's features (an embedding column). */
function indexColumn(a: Analysis, ctx: CursorContext): CompletionItem[] | undefined {
  if (ctx.decl !== "index" || ctx.depth !== 0 || ctx.prev?.tokenType !== T.LParen || ctx.prev2?.tokenType !== T.Identifier) return undefined;
  const g = a.index.decls.get(ctx.prev2.image);
  return g?.kind === "feature_group" ? g.features.map((f) => ({ label: f.name.name, kind: CompletionItemKind.Field, detail: `feature of ${g.name.name}` })) : [];
}

/** A model's `retrain { … }` block (the only block nested in a model): its items, triggers and their metrics. */
function retrainItems(ctx: CursorContext, metrics: () => CompletionItem[]): CompletionItem[] | undefined {
  if (ctx.decl !== "model" || ctx.depth !== 2) return undefined;
  const prev = ctx.prev?.image;
  if (ctx.lineStart) {
    return [
      snippet("schedule", "retrain on a cron line (UTC) or an interval", 'schedule "${1:0 3 * * 1}"'),
      snippet("when drift", "retrain when an input's distribution moved", "when drift(${1|psi,ks|} > ${2:0.25})"),
      snippet("when live", "retrain when a live metric crossed a bound", "when live(${1:mae} > ${2:100})"),
      snippet("promote if better", "promote a challenger only if it beats production", "promote if better(${1:mae})"),
    ];
  }
  if (prev === "when") return [snippet("drift", "an input's PSI or KS statistic", "drift(${1|psi,ks|} > ${2:0.25})"), snippet("live", "a live metric of the served predictions", "live(${1:mae} > ${2:100})")];
  if (prev === "promote") return [keyword("if", "promote rule", "if better(")];
  if (prev === "if" && ctx.prev2?.image === "promote") return [keyword("better", "the challenger beats production on a metric", "better(")];
  if (prev === "(" && ctx.prev2?.image === "drift") return [keyword("psi", "population stability index"), keyword("ks", "Kolmogorov–Smirnov statistic")];
  if (prev === "(" && (ctx.prev2?.image === "live" || ctx.prev2?.image === "better")) return metrics();
  return undefined;
}

/** Inside the path of `import { … } from "…`: the project's other specs, relative to this one's folder. */
export function importPaths(a: Analysis, offset: number): CompletionItem[] | undefined {
  const lineStart = a.text.lastIndexOf("\n", offset - 1) + 1;
  const typed = /^\s*import\s*\{[^}]*\}\s*from\s*"([^"\\]*)$/.exec(a.text.slice(lineStart, offset));
  if (!typed) return undefined;
  const self = path.resolve(a.dir, path.basename(a.file));
  const range = { start: positionAt(a.starts, offset - typed[1].length), end: positionAt(a.starts, offset) };
  return specFiles([projectRoot(a.dir)])
    .filter((f) => f !== self)
    .map((f) => {
      const rel = toPosix(path.relative(a.dir, f));
      const text = rel.startsWith("../") ? rel : `./${rel}`;
      return { label: text, kind: CompletionItemKind.File, detail: "spec module", textEdit: { range, newText: text } };
    });
}

export function headerCompletion(a: Analysis, ctx: CursorContext, offset: number, expression: () => CompletionItem[], metrics: () => CompletionItem[]): CompletionItem[] | undefined {
  const before = a.tokens.filter((t) => t.startOffset + t.image.length <= offset - ctx.word.length);
  const brace = importBrace(a.tokens, before.length - 1);
  if (brace !== undefined) return importNames(a, a.tokens, brace);
  if (ctx.decl === "serve" && ctx.prev?.image === "batch") return [keyword("into", "the table batch predictions are written to", "into predictions.")];
  const odt = odtParams(a, ctx) ?? indexColumn(a, ctx) ?? retrainItems(ctx, metrics);
  if (odt) return odt;
  if (ctx.depth !== 0) return undefined;
  return headerItems(a, ctx, headerTokens(before), expression);
}
