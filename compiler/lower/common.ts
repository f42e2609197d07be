// Small pieces shared by the TS and SQL lowerings of IR expressions.

import type { IrExpr, IrFeature, IrFunction, IrType } from "../ir.ts";

/** Epoch milliseconds of an IR timestamp literal (ISO text; no zone means UTC). */
export function timestampLiteralMs(iso: string): number {
  let text = iso.trim();
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) text += "T00:00:00Z";
  else if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(text)) text += "Z";
  const ms = Date.parse(text.replace(" ", "T"));
  if (Number.isNaN(ms)) throw new Error(`invalid timestamp literal ${JSON.stringify(iso)}`);
  return ms;
}

export const isNumeric = (t: IrType): boolean => t.base === "int" || t.base === "float" || t.base === "duration";

/** Finds a declared function by name. */
export function findFunction(functions: readonly IrFunction[] | undefined, name: string): IrFunction | undefined {
  return functions?.find((f) => f.name === name);
}

/** How many times each param is referenced in an expression. */
export function paramUses(e: IrExpr, out: Map<string, number> = new Map()): Map<string, number> {
  switch (e.k) {
    case "param":
      out.set(e.name, (out.get(e.name) ?? 0) + 1);
      break;
    case "lit":
    case "col":
      break;
    case "call":
    case "builtin":
      for (const a of e.args) paramUses(a, out);
      break;
    case "unary":
      paramUses(e.arg, out);
      break;
    case "binary":
      paramUses(e.left, out);
      paramUses(e.right, out);
      break;
    case "if":
      paramUses(e.cond, out);
      paramUses(e.then, out);
      paramUses(e.else, out);
      break;
    case "in":
      paramUses(e.arg, out);
      for (const v of e.values) paramUses(v, out);
      break;
  }
  return out;
}

/** Column names an expression reads. */
export function columnsOf(e: IrExpr, out: Set<string> = new Set()): Set<string> {
  switch (e.k) {
    case "col":
      out.add(e.name);
      break;
    case "lit":
    case "param":
      break;
    case "call":
    case "builtin":
      for (const a of e.args) columnsOf(a, out);
      break;
    case "unary":
      columnsOf(e.arg, out);
      break;
    case "binary":
      columnsOf(e.left, out);
      columnsOf(e.right, out);
      break;
    case "if":
      columnsOf(e.cond, out);
      columnsOf(e.then, out);
      columnsOf(e.else, out);
      break;
    case "in":
      columnsOf(e.arg, out);
      for (const v of e.values) columnsOf(v, out);
      break;
  }
  return out;
}

/** The bare `null` literal. */
export function isNullLit(e: IrExpr): boolean {
  return e.k === "lit" && e.value === null;
}

/** The column names an expression reads. */
export function columnsRead(e: IrExpr, out = new Set<string>()): Set<string> {
  switch (e.k) {
    case "col":
      out.add(e.name);
      break;
    case "call":
    case "builtin":
      for (const a of e.args) columnsRead(a, out);
      break;
    case "unary":
      columnsRead(e.arg, out);
      break;
    case "binary":
      columnsRead(e.left, out);
      columnsRead(e.right, out);
      break;
    case "if":
      columnsRead(e.cond, out);
      columnsRead(e.then, out);
      columnsRead(e.else, out);
      break;
    case "in":
      columnsRead(e.arg, out);
      for (const v of e.values) columnsRead(v, out);
      break;
  }
  return out;
}

/**
 * Per feature (in dependency order), the window it depends on, if any: a
 * window depends on itself; a row feature on the first window it reads,
 * directly or through other row features.
 */
export function windowDependencies(features: IrFeature[]): Map<string, string> {
  const dep = new Map<string, string>();
  for (const f of features) {
    if (f.kind === "window") {
      dep.set(f.name, f.name);
      continue;
    }
    for (const c of columnsRead(f.expr)) {
      const d = dep.get(c);
      if (d) {
        dep.set(f.name, d);
        break;
      }
    }
  }
  return dep;
}
