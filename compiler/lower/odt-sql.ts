// An on-demand transformation as a DuckDB SQL expression, when its body has a
// lowering that computes exactly — bit for bit — what its generated
// TypeScript computes (transforms.ts, called through the view plan's
// `compute`). The training-data export then computes the ODT inside DuckDB's
// own threads instead of calling the JS function chunk by chunk.
//
// What the JS path sees, and the SQL therefore reproduces:
// - a request parameter declared non-null that is null gives null without a
//   call (the `compute` wrapper's guard);
// - a timestamp argument is cut to the millisecond as the chunk reader cuts
//   it (floor of micros / 1000, in double precision);
// - ints and floats arrive as JS numbers: the SQL lowering computes on DOUBLE
//   like the TS one (see lower/CONTEXT.md);
// - the result is the function's value in the ODT's declared type.
//
// Bodies without such a lowering keep the JS path (`odtToSql` says why):
// an `extern fn` (user code), and the operations whose SQL and TS forms may
// differ in the last bit (libm: exp, ln, log10, `^` other than by a small
// integer literal; see lower/CONTEXT.md).

import type { IrExpr, IrFunction, IrOdt } from "../ir.ts";
import { BUILTINS } from "../builtins.ts";
import { exprNodes, fnsCalledFrom } from "../ir-walk.ts";
import { exprToSql, quoteIdent, sqlType } from "./sql.ts";
import { smallIntExponent } from "./ts.ts";

/** The ODT as the body of a DuckDB macro over `params` (request parameters, then feature parameters, in declaration order). */
export interface OdtSql {
  params: string[];
  body: string;
}

/** Built-ins whose DuckDB and V8 forms agree only to the last bit (C libm vs V8's). */
const LIBM_BUILTINS = new Set(["exp", "ln", "log10"]);

/** The macro's name for an ODT parameter (never a lambda variable of the lowering, `__fti_v<n>`). */
export function odtSqlParam(name: string): string {
  return `p_${name}`;
}

/**
 * The ODT as SQL over its parameters, or why it has no exact lowering (then
 * it runs in TypeScript everywhere).
 */
export function odtToSql(odt: IrOdt, functions: readonly IrFunction[]): { sql: OdtSql } | { reason: string } {
  const reason = inexactReason(odt.body, functions);
  if (reason) return { reason };
  const types = new Map([...odt.requestParams, ...odt.featureParams].map((p) => [p.name, p.type]));
  const ref = (name: string): string => {
    const p = quoteIdent(odtSqlParam(name));
    // The chunk reader's millisecond: floor(micros / 1000) in double precision, as a TIMESTAMP again.
    if (types.get(name)?.base === "timestamp") return `epoch_ms(CAST(floor(CAST(epoch_us(${p}) AS DOUBLE) / 1000) AS BIGINT))`;
    return p;
  };
  const value = `CAST(${exprToSql(odt.body, { param: ref, functions })} AS ${sqlType(odt.returns)})`;
  const guards = odt.requestParams.filter((p) => !p.type.nullable).map((p) => `${quoteIdent(odtSqlParam(p.name))} IS NULL`);
  const body = guards.length ? `CASE WHEN ${guards.join(" OR ")} THEN NULL ELSE ${value} END` : value;
  return { sql: { params: [...odt.requestParams, ...odt.featureParams].map((p) => odtSqlParam(p.name)), body } };
}

/** Why `body` (with the fns it reaches) has no bit-exact SQL lowering; null when it has one. */
function inexactReason(body: IrExpr, functions: readonly IrFunction[]): string | null {
  const fns = functions.filter((f) => fnsCalledFrom([body], functions).has(f.name));
  const external = fns.find((f) => f.extern || !f.body);
  if (external) return `it calls \`extern fn ${external.name}\``;
  for (const root of [body, ...fns.map((f) => f.body!)]) {
    for (const e of exprNodes(root)) {
      if (e.k === "builtin" && (LIBM_BUILTINS.has(e.name) || BUILTINS[e.name]?.pipelineOnly)) return `\`${e.name}\` may differ in the last bit between DuckDB and TypeScript`;
      if (e.k === "binary" && e.op === "^" && smallIntExponent(e.right) === null) return "`^` by other than a small integer literal may differ in the last bit between DuckDB and TypeScript";
    }
  }
  return null;
}
