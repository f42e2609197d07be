// Small pieces shared by the TS and SQL lowerings of IR expressions.

import type { IrExpr, IrFeature, IrFunction, IrType } from "../ir.ts";
import { columnsOf } from "../ir-walk.ts";

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

/** The bare `null` literal. */
export function isNullLit(e: IrExpr): boolean {
  return e.k === "lit" && e.value === null;
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
    for (const c of columnsOf(f.expr)) {
      const d = dep.get(c);
      if (d) {
        dep.set(f.name, d);
        break;
      }
    }
  }
  return dep;
}
