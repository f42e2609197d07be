// FTI4050: what a feature group over a stream may compute. The stream keeps,
// per entity, the input rows of its longest window (and a running sum per
// ewma) and computes the entity's latest row only (compiler/lower/incremental.ts).
// So a window may aggregate row values (input columns, row features over them),
// not another window's values, whose earlier rows an out-of-order event would
// change; and a group over a streamed group may only read one without windows.

import type { FeatureDef, FeatureGroupDecl } from "../ast.ts";
import { BUILTINS } from "../builtins.ts";
import type { IrExpr, IrFeature, IrGroup } from "../ir.ts";
import { columnsOf } from "../ir-walk.ts";
import { windowDependencies } from "../lower/common.ts";
import { DIAG } from "../messages.ts";
import type { Ctx } from "./context.ts";

/** Reports what a group over a stream cannot compute incrementally; true when it can. */
export function checkIncremental(
  ctx: Ctx,
  decl: FeatureGroupDecl,
  defs: Map<string, FeatureDef>,
  order: IrFeature[],
  stream: { source: string; group?: IrGroup },
): boolean {
  const group = decl.name.name;
  if (stream.group && stream.group.features.some((f) => f.kind === "window")) {
    ctx.report(decl.from.range, DIAG.notIncremental.inputHasWindows(group, stream.group.name, stream.source));
    return false;
  }
  const dep = windowDependencies(order);
  let ok = true;
  for (const f of order) {
    // A looked-up reference value is a column named `group.feature` (checker/lookups.ts): no name a spec can write has a dot.
    const lookup = [...columnsOf(f.kind === "row" ? f.expr : (f.arg ?? { k: "lit", type: { base: "int", nullable: true }, value: null }))].find((c) => c.includes("."));
    if (lookup) {
      ctx.report(defs.get(f.name)!.expr.range, DIAG.notIncremental.lookup(group, f.name, lookup, stream.source));
      ok = false;
      continue;
    }
    const builtin = pipelineOnlyCall(f.kind === "row" ? f.expr : f.arg);
    if (!builtin) continue;
    ctx.report(defs.get(f.name)!.expr.range, DIAG.notIncremental.pipelineOnly(group, f.name, builtin, stream.source));
    ok = false;
  }
  for (const f of order) {
    if (f.kind !== "window" || !f.arg) continue;
    for (const c of columnsOf(f.arg)) {
      const window = dep.get(c);
      if (!window) continue;
      ctx.report(defs.get(f.name)!.expr.range, DIAG.notIncremental.windowOverWindow(group, f.name, window, stream.source));
      ok = false;
      break;
    }
  }
  return ok;
}

/** The first built-in of `e` that only the batch pipeline computes (embed), if any. */
function pipelineOnlyCall(e: IrExpr | null): string | undefined {
  if (!e) return undefined;
  if (e.k === "builtin" && BUILTINS[e.name]?.pipelineOnly) return e.name;
  const children = e.k === "call" || e.k === "builtin" ? e.args : e.k === "unary" ? [e.arg] : e.k === "binary" ? [e.left, e.right] : e.k === "if" ? [e.cond, e.then, e.else] : e.k === "in" ? [e.arg, ...e.values] : [];
  for (const c of children) {
    const found = pipelineOnlyCall(c);
    if (found) return found;
  }
  return undefined;
}
