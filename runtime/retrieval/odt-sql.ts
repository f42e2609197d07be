// The ODTs inside a DuckDB query, so it can compute them while it streams
// (the training-data export: one COPY, no joined table held in memory).
// An ODT whose plan carries `sql` (a body with a bit-exact SQL form,
// compiler/lower/odt-sql.ts) becomes a temporary macro: DuckDB computes it on
// its own threads. Any other is a scalar function calling the ODT's generated
// `compute` once per row, through the same per-row loop as the training frame
// (odt-columns.ts), with its arguments read as the frame reads them: the
// values are the frame's either way.

import type { ColumnType, OdtPlan, Scalar, ViewPlan } from "../api.ts";
import { UserError } from "../errors.ts";
import type { Store } from "../store/store.ts";
import { ident, sqlType } from "../store/sql.ts";
import type { InputColumns } from "./columns.ts";
import { computeOdtColumn } from "./odt-columns.ts";

/** A column the ODTs may read: its type, and its SQL expression in the query. */
export interface OdtInput {
  type: ColumnType;
  expr: string;
}

/** How the ODTs run: "auto" as SQL macros where the plan has `sql`; "js": every one through its `compute`. */
export type OdtMode = "auto" | "js";

/**
 * Registers one macro or scalar function per ODT of the view on the store's
 * connection and returns, per ODT, the SQL call that computes it over
 * `inputs` (request fields and features by frame name). A missing input is
 * the same error as the frame's.
 */
export async function odtCalls(
  store: Store,
  view: ViewPlan,
  inputs: ReadonlyMap<string, OdtInput>,
  mode: OdtMode = "auto",
): Promise<Array<{ odt: OdtPlan; sql: string }>> {
  const calls: Array<{ odt: OdtPlan; sql: string }> = [];
  for (const odt of view.odts) {
    const args = odtArgs(odt, inputs);
    if (mode === "auto" && odt.sql) {
      // Each argument cast to its parameter's type, as DuckDB casts a scalar function's arguments.
      const fn = await registerMacro(store, view, odt, odt.sql);
      calls.push({ odt, sql: `${ident(fn)}(${args.map((p) => `CAST(${p.expr} AS ${sqlType(p.type)})`).join(", ")})` });
    } else {
      const fn = registerChunkFunction(store, view, odt, args);
      calls.push({ odt, sql: `${ident(fn)}(${args.map((p) => p.expr).join(", ")})` });
    }
  }
  return calls;
}

/** The ODT's arguments in parameter order (request fields, then features), by frame name. */
function odtArgs(odt: OdtPlan, inputs: ReadonlyMap<string, OdtInput>): Array<{ name: string; type: ColumnType; expr: string }> {
  return [
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
}

/** The ODT's SQL form as a temporary macro (arguments typed as the scalar function's parameters are); returns its name. */
async function registerMacro(store: Store, view: ViewPlan, odt: OdtPlan, sql: { params: string[]; body: string }): Promise<string> {
  const name = `__fti_odt_sql_${view.name}_${odt.name}`;
  await store.run(`CREATE OR REPLACE TEMP MACRO ${ident(name)}(${sql.params.map(ident).join(", ")}) AS (${sql.body})`);
  return name;
}

/** The ODT's `compute` as a chunk-wise scalar function: the frame's loop, over the chunk's columns named as the frame names them. */
function registerChunkFunction(store: Store, view: ViewPlan, odt: OdtPlan, params: Array<{ name: string; type: ColumnType }>): string {
  const name = `__fti_odt_${view.name}_${odt.name}`;
  store.registerChunkFunction(name, { params: params.map((p) => p.type), returns: odt.returns.type }, (args, n) => {
    const columns: InputColumns = {};
    params.forEach((p, j) => (columns[p.name] = args[j] as Scalar[]));
    return computeOdtColumn(odt, columns, n, null);
  });
  return name;
}
