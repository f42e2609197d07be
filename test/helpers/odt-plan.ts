// An ODT's OdtPlan built from its IR as the emitters build it: the
// transforms.ts function (the body lowered as emit/context.ts tsExpr lowers
// it, helpers through the runtime namespace) and training.ts's `compute`
// wrapper (the emitter's own text, its TypeScript stripped by esbuild), with
// the SQL form of compiler/lower/odt-sql.ts. For tests that compare the two.

import { transformSync } from "esbuild";
import type { IrFunction, IrOdt } from "../../compiler/ir.ts";
import { lowerTs } from "../../compiler/lower/ts.ts";
import { odtToSql } from "../../compiler/lower/odt-sql.ts";
import { odtCompute } from "../../compiler/emit/modules/training.ts";
import { Imports } from "../../compiler/emit/imports.ts";
import { columnType } from "../../compiler/emit/names.ts";
import * as rt from "../../runtime/api.ts";
import type { OdtPlan } from "../../runtime/api.ts";

/** Each fn as the generated functions.ts defines it (same lowering, same helpers), by name. */
function fnScope(functions: readonly IrFunction[]): Record<string, unknown> {
  const scope: Record<string, unknown> = {};
  for (const f of functions) {
    if (!f.body) continue;
    const code = lowerTs(f.body, { col: (n) => n, param: (n) => n, call: (n) => `F.${n}`, helper: (n) => `$rt.${n}`, functions }).code;
    scope[f.name] = new Function("$rt", "F", `return (${f.params.map((p) => p.name).join(", ")}) => ${code};`)(rt, scope);
  }
  return scope;
}

/** The ODT's plan as generated, with `sql` when the body has an exact SQL form. */
export function odtPlanFromIr(odt: IrOdt, functions: readonly IrFunction[] = []): OdtPlan {
  const fn = lowerTs(odt.body, { col: (n) => n, param: (n) => n, call: (n) => `F.${n}`, helper: (n) => `$rt.${n}`, functions }).code;
  const params = [...odt.requestParams, ...odt.featureParams].map((p) => p.name);
  const wrapper = transformSync(`(${odtCompute(new Imports(), odt)})`, { loader: "ts" }).code.replace(/;\s*$/, "");
  const source = `function ${odt.name}(${params.join(", ")}) { return ${fn}; }\nreturn ${wrapper};`;
  const compute = new Function("$rt", "F", source)(rt, fnScope(functions)) as OdtPlan["compute"];
  const lowered = odtToSql(odt, functions);
  return {
    name: odt.name,
    line: 1,
    requestParams: odt.requestParams.map((p) => ({ name: p.name, type: columnType(p.type), nullable: p.type.nullable })),
    featureParams: odt.featureParams.map((p) => p.name),
    returns: { name: odt.name, type: columnType(odt.returns), nullable: true },
    compute,
    ...("sql" in lowered ? { sql: lowered.sql } : {}),
  };
}
