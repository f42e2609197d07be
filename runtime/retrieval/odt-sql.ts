// The ODTs as DuckDB scalar functions, so a query can compute them while it
// streams (the training-data export: one COPY, no joined table held in
// memory). Each function calls the ODT's generated `compute` once per row,
// through the same per-row loop as the training frame (odt-columns.ts), with
// its arguments read as the frame reads them: the values are the frame's.

import type { ColumnType, OdtPlan, Scalar, ViewPlan } from "../api.ts";
import { UserError } from "../errors.ts";
import type { Store } from "../store/store.ts";
import { ident } from "../store/sql.ts";
import type { InputColumns } from "./columns.ts";
import { computeOdtColumn } from "./odt-columns.ts";

/** A column the ODTs may read: its type, and its SQL expression in the query. */
export interface OdtInput {
  type: ColumnType;
  expr: string;
}

/**
 * Registers one scalar function per ODT of the view on the store's
 * connection and returns, per ODT, the SQL call that computes it over
 * `inputs` (request fields and features by frame name). A missing input is
 * the same error as the frame's.
 */
export function odtCalls(store: Store, view: ViewPlan, inputs: ReadonlyMap<string, OdtInput>): Array<{ odt: OdtPlan; sql: string }> {
  return view.odts.map((odt) => {
    const params = [
      ...odt.requestParams.map((p) => {
        const c = inputs.get(p.name);
        if (!c) throw new UserError(`on_demand \`${odt.name}\` needs the request field \`${p.name}\`, which was not provided`);
        return { name: p.name, type: p.type, expr: c.expr };
      }),
      ...odt.featureParams.map((f) => {
        const name = f.includes(".") ? f.split(".", 2)[1] : f;
        const c = inputs.get(name);
        if (!c) throw new Error(`on_demand \`${odt.name}\` reads feature \`${f}\`, which the frame lacks`);
        return { name, type: c.type, expr: c.expr };
      }),
    ];
    const fn = `__fti_odt_${view.name}_${odt.name}`;
    // The frame's loop, over the chunk's columns named as the frame names them.
    store.registerChunkFunction(fn, { params: params.map((p) => p.type), returns: odt.returns.type }, (args, n) => {
      const columns: InputColumns = {};
      params.forEach((p, j) => (columns[p.name] = args[j] as Scalar[]));
      return computeOdtColumn(odt, columns, n, null);
    });
    const call = `${ident(fn)}(${params.map((p) => p.expr).join(", ")})`;
    return { odt, sql: call };
  });
}
