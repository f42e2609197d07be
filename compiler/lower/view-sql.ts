// Lowers a view's spine to DuckDB SQL fragments the runtime's spine builder
// assembles (runtime/training/pit.ts): the `where` filter, the label (a DOUBLE:
// bools are 1/0) and each forward aggregation as a window function.
//
// A forward aggregation over w at a row of entity e at time t reads the rows
// of e (after the view's `where`) with t < t_i <= t + w: the mirror of a
// feature window (t - w < t_i <= t). Rows at t itself are never in it. With t
// in epoch microseconds (the column `__fti_t`) the frame is
// `RANGE BETWEEN 1 FOLLOWING AND w_us FOLLOWING`. An empty frame gives 0 for
// count and sum, null (no label) for avg, min and max.

import type { IrForwardAgg, IrFunction, IrView } from "../ir.ts";
import { exprToSql, quoteIdent } from "./sql.ts";

export const SPINE_T_COL = "__fti_t";

export interface SpineSql {
  where: string | null;
  /** A DOUBLE (a VARCHAR for a string label: a class), null when the row has no label. */
  label: string;
  forward: Array<{ name: string; sql: string; windowMs: number }>;
}

export function spineToSql(view: IrView, functions: readonly IrFunction[] = []): SpineSql {
  const ctx = { functions };
  const label = exprToSql(view.label.expr, ctx);
  const labelSql = view.label.type.base === "bool"
    ? `CASE WHEN (${label}) THEN 1.0 WHEN NOT (${label}) THEN 0.0 END`
    : view.label.type.base === "string"
      ? `CAST((${label}) AS VARCHAR)`
      : `CAST((${label}) AS DOUBLE)`;
  return {
    where: view.spine.where ? exprToSql(view.spine.where, ctx) : null,
    label: labelSql,
    forward: view.label.forward.map((f) => ({ name: f.name, sql: forwardToSql(f, view.spine.entityColumns, ctx), windowMs: f.windowMs })),
  };
}

function forwardToSql(f: IrForwardAgg, partition: string[], ctx: { functions: readonly IrFunction[] }): string {
  const wUs = Math.round(f.windowMs * 1000);
  // A view of one series (no `for`) has no entity columns: the window runs over every spine row.
  const by = partition.length ? `PARTITION BY ${partition.map(quoteIdent).join(", ")} ` : "";
  const over = `OVER (${by}ORDER BY ${quoteIdent(SPINE_T_COL)} RANGE BETWEEN 1 FOLLOWING AND ${wUs} FOLLOWING)`;
  const arg = f.arg ? exprToSql(f.arg, ctx) : null;
  switch (f.agg) {
    case "count":
      return arg === null ? `count(*) ${over}` : `count(${arg}) ${over}`;
    case "sum":
      return `coalesce(sum(${arg}) ${over}, 0)`;
    case "avg":
    case "min":
    case "max":
      return `${f.agg}(${arg}) ${over}`;
    default:
      throw new Error(`unreachable: forward aggregation \`${f.agg}\` is rejected by the checker`);
  }
}
