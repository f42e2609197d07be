// What a feature group's rows mean, as hashes: one for the group's shape
// (keys, input, `where`, row id, reference, lookups) and one per feature (its
// expression or window, and the bodies of the fns it calls). The runtime
// records them with the group's table and refuses to rewrite the table under
// another definition of the same version (runtime/features/group-definitions.ts):
// a model trained on `avg(x) over 7d` must not be served `over 90d`.
//
// Built from the IR, not from the SQL: a compiler that lowers a group to
// other SQL computing the same values must not make stored tables refused.
// Spec positions, comments and how a duration is written (`24h`, `1d`) are
// left out.

import { createHash } from "node:crypto";
import type { IrExpr, IrFeature, IrFunction, IrGroup, IrSpec, IrType } from "../ir.ts";
import { fnsCalledFrom } from "../ir-walk.ts";

export interface GroupDefinition {
  /** Keys, key columns, input (a group's by its table), `where`, row id, reference, lookups. */
  group: string;
  /** Per feature: its computation and the fns it calls. */
  features: Record<string, string>;
}

export function groupDefinition(g: IrGroup, ir: IrSpec): GroupDefinition {
  const inputTable = g.input.kind === "group" ? (ir.groups.find((x) => x.name === g.input.name)?.table ?? g.input.name) : `source ${g.input.name}`;
  const shape = [
    `keys ${g.keys.map((k) => `${k.name}:${typeText(k.type)}`).join(",")} from ${g.keyColumns.join(",")}`,
    `input ${inputTable}`,
    `where ${g.where ? exprText(g.where) : ""}`,
    `row id ${g.rowId?.name ?? ""}`,
    `reference ${g.reference ? JSON.stringify(g.reference) : ""}`,
    `lookups ${(g.lookups ?? []).map((l) => `${l.table}(${l.keys.join(",")})`).join(",")}`,
    ...fnTexts(g.where ? [g.where] : [], ir.functions),
  ];
  const features: Record<string, string> = {};
  for (const f of g.features) features[f.name] = hash([featureText(f), ...fnTexts(featureExprs(f), ir.functions)]);
  return { group: hash(shape), features };
}

function featureText(f: IrFeature): string {
  if (f.kind === "row") return `row ${typeText(f.type)} = ${exprText(f.expr)}`;
  return `window ${typeText(f.type)} = ${f.agg}(${f.arg ? exprText(f.arg) : ""}) over ${f.windowMs}ms`;
}

function featureExprs(f: IrFeature): IrExpr[] {
  return f.kind === "row" ? [f.expr] : f.arg ? [f.arg] : [];
}

/** The fns the expressions call (transitively), each as its signature and body, in name order. */
function fnTexts(roots: IrExpr[], functions: readonly IrFunction[]): string[] {
  const byName = new Map(functions.map((f) => [f.name, f]));
  return [...fnsCalledFrom(roots, functions)].sort().map((name) => {
    const fn = byName.get(name)!;
    const sig = `fn ${name}(${fn.params.map((p) => `${p.name}:${typeText(p.type)}`).join(",")}):${typeText(fn.returns)}`;
    return fn.extern ? `${sig} extern ${fn.extern.module}#${fn.extern.exportName}` : `${sig} = ${fn.body ? exprText(fn.body) : ""}`;
  });
}

function typeText(t: IrType): string {
  const base = t.base === "list" && t.elem ? `list<${typeText(t.elem)}>` : t.base === "vector" ? `vector[${t.dim}]` : t.base;
  return t.nullable ? `${base}?` : base;
}

/** An expression as canonical text: every node's kind, operator or name, typed leaves. */
function exprText(e: IrExpr): string {
  switch (e.k) {
    case "lit":
      return `${JSON.stringify(e.value)}:${typeText(e.type)}`;
    case "col":
      return `col ${JSON.stringify(e.name)}:${typeText(e.type)}`;
    case "param":
      return `param ${JSON.stringify(e.name)}`;
    case "call":
      return `${e.fn}(${e.args.map(exprText).join(", ")})`;
    case "builtin":
      return `builtin ${e.name}(${e.args.map(exprText).join(", ")}):${typeText(e.type)}`;
    case "unary":
      return `${e.op}(${exprText(e.arg)})`;
    case "binary":
      return `(${exprText(e.left)} ${e.op} ${exprText(e.right)}):${typeText(e.type)}`;
    case "if":
      return `if(${exprText(e.cond)}, ${exprText(e.then)}, ${exprText(e.else)})`;
    case "in":
      return `in(${exprText(e.arg)}; ${e.values.map(exprText).join(", ")})`;
    default:
      return JSON.stringify(e);
  }
}

const hash = (parts: string[]): string => createHash("sha256").update(parts.join("\n")).digest("hex").slice(0, 16);
