// Completion: what fits where the cursor is (see context.ts) — declarations
// of the kind a clause takes, a group's features after `group.`, a group's
// input columns and earlier features in its expressions, built-ins with their
// signatures, clause keywords at the start of an item, and option values
// (tasks, algorithms and their hyperparameters, metrics, MDTs, split kinds).

import { CompletionItemKind, InsertTextFormat, type CompletionItem } from "vscode-languageserver";
import type { Decl, FeatureGroupDecl, ModelDecl, ViewDecl } from "../ast.ts";
import { BUILTINS, WINDOW_AGGS } from "../builtins.ts";
import { ALGORITHMS, MDT_KINDS, METRICS, metricsOf, TASKS, type BuiltinAlgorithm, type Hyperparameter, type Task } from "../../runtime/catalogue.ts";
import { SCALAR_TYPES } from "../checker/types.ts";
import * as T from "../parser/lexer.ts";
import type { Analysis } from "./analysis.ts";
import { cursorContext, type CursorContext } from "./context.ts";
import { headerCompletion, importPaths } from "./completion-headers.ts";

const BLOCK_CLAUSES: Record<string, string[]> = {
  source: ["path", "table", "format", "event_time", "unique", "valid_from", "valid_to", "stream", "fields"],
  entity: ["key"],
  view: ["label", "features", "ttl", "as_of"],
  model: ["view", "task", "algorithm", "transform", "split", "metric", "require", "retrain"],
  serve: ["online", "batch into"],
  agent: ["llm", "context", "retrieve", "tool", "prompt"],
};

const DECL_SNIPPETS: Array<[string, string]> = [
  ["source", "source ${1:name} {\n  path \"${2:data/file.csv}\"\n  event_time ${3:time}\n  fields {\n    $0\n  }\n}"],
  ["entity", "entity ${1:name} {\n  key ${2:id}: string\n}"],
  ["fn", "fn ${1:name}(${2:x}: float): float =\n  $0"],
  ["extern fn", "extern fn ${1:name}(${2:x}: float): float from \"${3:./functions.ts}\""],
  ["feature_group", "feature_group ${1:name} for ${2:entity} from ${3:source} {\n  $0\n}"],
  ["on_demand", "on_demand ${1:name}(request ${2:x}: float): float =\n  $0"],
  ["view", "view ${1:name} for ${2:entity} {\n  label ${3:y} = ${4:source}.${5:column}\n  features $0\n}"],
  ["model", "model ${1:name} {\n  view ${2:view}\n  task regression\n  algorithm gbdt(trees: 100)\n  split time(test_last: 30d)\n  metric mae\n}"],
  ["serve", "serve ${1:model} {\n  online\n}"],
  ["index", "index ${1:name} on ${2:group}(${3:embedding}) for ${4:entity}"],
  ["agent", "agent ${1:name} for ${2:entity} {\n  llm \"${3:model}\"\n  context ${4:group}.*\n  retrieve ${5:index} top ${6:5}\n  tool ${7:model}\n  prompt \"$0\"\n}"],
];

const EXPRESSION_KEYWORDS = ["if", "then", "else", "and", "or", "not", "in", "over", "true", "false", "null"];

const item = (label: string, kind: CompletionItemKind, detail?: string, documentation?: string): CompletionItem => ({
  label,
  kind,
  ...(detail ? { detail } : {}),
  ...(documentation ? { documentation } : {}),
});

const KIND_OF_DECL: Record<Decl["kind"], CompletionItemKind> = {
  source: CompletionItemKind.Struct,
  entity: CompletionItemKind.Class,
  fn: CompletionItemKind.Function,
  extern_fn: CompletionItemKind.Function,
  feature_group: CompletionItemKind.Module,
  on_demand: CompletionItemKind.Method,
  view: CompletionItemKind.Interface,
  model: CompletionItemKind.Class,
  serve: CompletionItemKind.Event,
  index: CompletionItemKind.Field,
  agent: CompletionItemKind.Interface,
};

function declsOf(a: Analysis, kinds: Array<Decl["kind"]>): CompletionItem[] {
  return [...a.index.decls.values()].filter((d) => kinds.includes(d.kind)).map((d) => item(d.kind === "serve" ? "" : d.name.name, KIND_OF_DECL[d.kind], d.kind.replace("_", " ")));
}

function typeOfFeature(a: Analysis, group: string, name: string): string | undefined {
  const f = a.ir?.groups.find((g) => g.name === group)?.features.find((x) => x.name === name);
  return f ? f.type.base + (f.type.nullable ? "?" : "") : undefined;
}

function groupFeatures(a: Analysis, group: FeatureGroupDecl): CompletionItem[] {
  return group.features.map((f) => item(f.name.name, CompletionItemKind.Field, typeOfFeature(a, group.name.name, f.name.name) ?? "feature"));
}

/** The columns a group's expressions can read: its input's columns and its own features. */
function groupColumns(a: Analysis, group: FeatureGroupDecl, seen = new Set<string>()): CompletionItem[] {
  if (seen.has(group.name.name)) return [];
  seen.add(group.name.name);
  const input = a.index.decls.get(group.from.name);
  const inputCols =
    input?.kind === "source"
      ? input.fields.map((f) => item(f.name.name, CompletionItemKind.Field, `${f.type.name}${f.type.nullable ? "?" : ""} (${input.name.name})`))
      : input?.kind === "feature_group"
        ? [...groupFeatures(a, input), ...groupColumns(a, input, seen).filter((c) => c.kind === CompletionItemKind.Field)]
        : [];
  return [...inputCols, ...groupFeatures(a, group)];
}

/** Built-ins callable here: those computed by the feature pipeline only (embed) just in a feature group. */
function builtinItems(inGroup: boolean): CompletionItem[] {
  const scalars = Object.entries(BUILTINS).filter(([, b]) => inGroup || !b.pipelineOnly).map(([name, b]) => {
    const params = b.params.map((p) => `${p.name}${p.optional ? "?" : ""}: ${p.kind}`).join(", ") + (b.variadic ? ", …" : "");
    return { ...item(name, CompletionItemKind.Function, `${name}(${params})`, b.doc), insertText: `${name}($1)`, insertTextFormat: InsertTextFormat.Snippet };
  });
  const windows = Object.entries(WINDOW_AGGS).map(([name, w]) => ({
    ...item(name, CompletionItemKind.Function, `${name}(${w.maxArgs ? "x" : ""}) over <duration>`, w.doc),
    insertText: `${name}($1) over \${2:7d}`,
    insertTextFormat: InsertTextFormat.Snippet,
  }));
  return [...scalars, ...windows];
}

function expressionItems(a: Analysis, ctx: CursorContext): CompletionItem[] {
  const decl = ctx.declName ? a.index.decls.get(ctx.declName) : undefined;
  const out: CompletionItem[] = [];
  if (decl?.kind === "feature_group") out.push(...groupColumns(a, decl));
  if (decl?.kind === "fn") out.push(...decl.params.map((p) => item(p.name.name, CompletionItemKind.Variable, p.type.name + (p.type.nullable ? "?" : ""))));
  if (decl?.kind === "on_demand") {
    for (const p of decl.params) out.push(p.kind === "request" ? item(p.name.name, CompletionItemKind.Variable, "request " + p.type.name) : item(p.feature.name, CompletionItemKind.Field, `${p.group.name}.${p.feature.name}`));
  }
  if (decl?.kind === "source") out.push(...decl.fields.map((f) => item(f.name.name, CompletionItemKind.Field, f.type.name)));
  out.push(...declsOf(a, ["fn", "extern_fn"]), ...builtinItems(decl?.kind === "feature_group"));
  out.push(...EXPRESSION_KEYWORDS.map((k) => item(k, CompletionItemKind.Keyword)));
  return out;
}

function modelOf(a: Analysis, ctx: CursorContext): ModelDecl | undefined {
  const d = ctx.declName ? a.index.decls.get(ctx.declName) : undefined;
  return d?.kind === "model" ? d : undefined;
}

/** The names a model's `transform` can take: its view's features and ODTs. */
function viewInputs(a: Analysis, model: ModelDecl | undefined): CompletionItem[] {
  const view = model?.view ? a.index.decls.get(model.view.name) : undefined;
  if (view?.kind !== "view") return [];
  return (view as ViewDecl).features.flatMap((f) => {
    if (f.kind === "name") return [item(f.name.name, CompletionItemKind.Method, "ODT")];
    if (f.kind === "group_feature") return [item(f.feature.name, CompletionItemKind.Field, typeOfFeature(a, f.group.name, f.feature.name))];
    const g = a.index.decls.get(f.group.name);
    return g?.kind === "feature_group" ? groupFeatures(a, g) : [];
  });
}

const values = (names: readonly string[], kind: CompletionItemKind = CompletionItemKind.EnumMember, detail?: string) => names.map((n) => item(n, kind, detail));

function metricsFor(model: ModelDecl | undefined): CompletionItem[] {
  const name = model?.task?.name;
  const task = name && (TASKS as readonly string[]).includes(name) ? (name as Task) : undefined;
  const list = task ? metricsOf(task) : Object.keys(METRICS);
  return values(list, CompletionItemKind.EnumMember, task ? `metric of ${task}` : "metric");
}

/**
 * The source a view's rows (its spine) come from: `view v from src`, else the
 * source of its label (`label y = src.column`). Read structurally: the view
 * syntax is growing (`from`, label expressions).
 */
function spineSource(a: Analysis, view: ViewDecl): Decl | undefined {
  const v = view as ViewDecl & { from?: { name: string }; label?: { source?: { name: string }; expr?: { kind: string; object?: { name: string } } } };
  const name = v.from?.name ?? v.label?.source?.name ?? (v.label?.expr?.kind === "member" ? v.label.expr.object?.name : undefined);
  const src = name ? a.index.decls.get(name) : undefined;
  return src?.kind === "source" ? src : undefined;
}

/** After `by`, `by (` or a `,` inside `by (…)` in a view: the spine source's columns. */
function byColumns(a: Analysis, ctx: CursorContext): CompletionItem[] | undefined {
  if (ctx.decl !== "view" || !ctx.declName) return undefined;
  const tokens = a.tokens.filter((t) => t.startOffset <= (ctx.prev?.startOffset ?? -1));
  let i = tokens.length - 1;
  if (tokens[i]?.image !== "by") {
    // Inside `by (a, b, …`: back over names and commas to the `(`, which must follow `by`.
    while (i >= 0 && (tokens[i].image === "," || tokens[i].tokenType === T.Identifier)) i--;
    if (tokens[i]?.image !== "(" || tokens[i - 1]?.image !== "by") return undefined;
  }
  const view = a.index.decls.get(ctx.declName);
  const src = view?.kind === "view" ? spineSource(a, view) : undefined;
  return src?.kind === "source" ? src.fields.map((f) => item(f.name.name, CompletionItemKind.Field, `${f.type.name} (${src.name.name})`)) : [];
}

function afterDot(a: Analysis, ctx: CursorContext): CompletionItem[] | undefined {
  if (ctx.prev?.tokenType !== T.Dot || ctx.prev2?.tokenType !== T.Identifier) return undefined;
  const target = a.index.decls.get(ctx.prev2.image);
  if (target?.kind === "feature_group") {
    const all = ctx.clause === "features" ? [item("*", CompletionItemKind.Constant, "every feature of the group")] : [];
    return [...groupFeatures(a, target), ...all];
  }
  if (target?.kind === "source") return target.fields.map((f) => item(f.name.name, CompletionItemKind.Field, f.type.name + (f.type.nullable ? "?" : "")));
  return [];
}

/** In an agent: its entity's groups after `context`, indexes after `retrieve`, models after `tool`; in an index header, the group after `on`. */
function agentClause(a: Analysis, ctx: CursorContext, prev: string | undefined): CompletionItem[] | undefined {
  if (ctx.decl === "index" && ctx.depth === 0 && prev === "on") return declsOf(a, ["feature_group"]);
  if (ctx.decl !== "agent" || ctx.depth !== 1) return undefined;
  if (ctx.clause === "context" && (prev === "context" || prev === ",")) return declsOf(a, ["feature_group"]).map((i) => ({ ...i, insertText: `${i.label}.` }));
  if (ctx.clause === "retrieve" && prev === "retrieve") return declsOf(a, ["index"]);
  if (ctx.clause === "retrieve" && ctx.prev2?.image === "retrieve") return [item("top", CompletionItemKind.Keyword)];
  if (ctx.clause === "tool" && (prev === "tool" || prev === ",")) return declsOf(a, ["model"]);
  return undefined;
}

/** Completion after a keyword or inside a clause. */
function inClause(a: Analysis, ctx: CursorContext): CompletionItem[] | undefined {
  const prev = ctx.prev?.image;
  const model = modelOf(a, ctx);
  if (prev === "for" && ctx.depth === 0) return declsOf(a, ["entity"]);
  if (prev === "from" && ctx.decl === "feature_group") return declsOf(a, ["source", "feature_group"]);
  if (prev === "serve" && ctx.depth === 0) return declsOf(a, ["model"]);
  const agentClauses = agentClause(a, ctx, prev);
  if (agentClauses) return agentClauses;
  if (ctx.clause === "view" && ctx.decl === "model" && prev === "view") return declsOf(a, ["view"]);
  if (ctx.clause === "task" && prev === "task") return values(TASKS);
  if (ctx.clause === "algorithm") {
    if (prev === "algorithm") return [...values(Object.keys(ALGORITHMS), CompletionItemKind.EnumMember, "algorithm"), item("onnx", CompletionItemKind.EnumMember, "a model file: onnx \"model.onnx\"")];
    if (ctx.parens > 0 && (prev === "(" || prev === ",")) {
      const alg = ctx.clauseArg ?? "";
      const hyper: Record<string, Hyperparameter> = Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg as BuiltinAlgorithm].params : {};
      return Object.entries(hyper).map(([name, h]) => ({ ...item(name, CompletionItemKind.Property, `${h.type}, default ${h.default}`), insertText: `${name}: ` }));
    }
  }
  if (ctx.clause === "metric" && (prev === "metric" || prev === ",")) return metricsFor(model);
  if (ctx.clause === "require" && prev === "require") return metricsFor(model);
  if (ctx.clause === "split" && prev === "split") return values(["time", "random"], CompletionItemKind.EnumMember, "split");
  if (ctx.clause === "split" && ctx.parens > 0 && (prev === "(" || prev === ",")) return values(["test_last", "test_from", "test_fraction", "seed"], CompletionItemKind.Property).map((i) => ({ ...i, insertText: `${i.label}: ` }));
  if (ctx.clause === "as_of" && prev === "as_of") return values(["strict", "inclusive"]);
  if (ctx.clause === "format" && prev === "format") return values(["csv", "parquet", "ndjson"]);
  if (ctx.decl === "source" && ctx.depth === 1 && prev === "stream") return [{ ...item("lateness", CompletionItemKind.Keyword, "how late an event may arrive and still be applied online"), insertText: "lateness 1h" }];
  if (ctx.clause === "transform") {
    if (ctx.afterColon && ctx.parens === 0) return values(MDT_KINDS, CompletionItemKind.Function, "model-dependent transformation (MDT)");
    if (ctx.parens > 0 && prev === "(") return values(["mean", "median", "constant: "], CompletionItemKind.EnumMember, "impute strategy");
    if (!ctx.afterColon) return viewInputs(a, model);
  }
  if (ctx.clause === "features" && ctx.decl === "view" && (prev === "features" || prev === ",")) return [...declsOf(a, ["feature_group"]).map((i) => ({ ...i, insertText: `${i.label}.` })), ...declsOf(a, ["on_demand"])];
  const columnClause = ["event_time", "unique", "valid_from", "valid_to"];
  if (ctx.decl === "source" && ctx.depth === 1 && prev !== undefined && columnClause.includes(prev)) {
    const src = ctx.declName ? a.index.decls.get(ctx.declName) : undefined;
    return src?.kind === "source" ? src.fields.map((f) => item(f.name.name, CompletionItemKind.Field, f.type.name)) : [];
  }
  if (ctx.clause === "label" && prev === "=") return declsOf(a, ["source"]).map((i) => ({ ...i, insertText: `${i.label}.` }));
  return undefined;
}

const isTypePosition = (ctx: CursorContext) =>
  ctx.prev?.tokenType === T.Colon && (ctx.clause === "fields" || ctx.clause === "key" || ctx.decl === "fn" || ctx.decl === "extern" || ctx.decl === "on_demand") && ctx.clause !== "transform";

export function complete(a: Analysis, offset: number): CompletionItem[] {
  const paths = importPaths(a, offset);
  if (paths) return paths;
  const ctx = cursorContext(a.text, a.tokens, offset);
  const dot = afterDot(a, ctx);
  if (dot) return dot;
  if (isTypePosition(ctx) && !(ctx.decl === "on_demand" && ctx.afterEquals)) return values(SCALAR_TYPES, CompletionItemKind.TypeParameter, "type");
  const plainExpression = () => [...declsOf(a, ["fn", "extern_fn"]), ...builtinItems(false), ...EXPRESSION_KEYWORDS.map((k) => item(k, CompletionItemKind.Keyword))];
  const header = headerCompletion(a, ctx, offset, plainExpression, () => metricsFor(modelOf(a, ctx)));
  if (header) return header;
  const by = byColumns(a, ctx);
  if (by) return by;
  const clause = inClause(a, ctx);
  if (clause) return clause;
  if (ctx.depth === 0 && ctx.lineStart && !ctx.afterEquals) {
    return DECL_SNIPPETS.map(([label, body]) => ({ ...item(label, CompletionItemKind.Snippet, `${label} declaration`), insertText: body, insertTextFormat: InsertTextFormat.Snippet }));
  }
  if (ctx.depth === 1 && ctx.lineStart && ctx.decl && BLOCK_CLAUSES[ctx.decl]) return values(BLOCK_CLAUSES[ctx.decl], CompletionItemKind.Keyword, `${ctx.decl} clause`);
  const inExpression = ctx.afterEquals || (ctx.clause === "fields" && ctx.prev?.image === "(") || (ctx.decl === "feature_group" && ctx.depth >= 1 && !ctx.lineStart);
  if (inExpression) return expressionItems(a, ctx);
  return [];
}
