// The model inputs of each batch-scored row (view features and ODT values,
// raw: before the MDTs), kept with the prediction so that `fti monitor` can
// compare batch scoring with the training statistics as it does the served
// request log. In the scoring temp table they are `__in_<i>` (the i-th model
// input); the predictions table names them `input_<name>` (batch-output.ts).

import type { ColumnType, ModelPlan, Scalar } from "../api.ts";
import { UserError } from "../errors.ts";
import { ident, sqlType } from "../store/sql.ts";
import { NullableFloats, valueAt, type InputColumns } from "../retrieval/columns.ts";

/** The predictions table's column of a model input. */
export const inputColumnName = (input: string) => `input_${input}`;

/** Timestamps travel as ISO text (how the feature reader gives them) and are cast back when written. */
const stagedType = (t: ColumnType) => (t === "timestamp" ? "VARCHAR" : sqlType(t));

/** `, __in_0 DOUBLE, …`: the staged columns after (__sid, prediction). */
export function inputColumnsDdl(plan: ModelPlan): string {
  return plan.inputs.map((input, i) => `, __in_${i} ${stagedType(input.type)}`).join("");
}

/** An entities file column named like an input column would be written twice. */
export function checkInputColumnClash(plan: ModelPlan, carried: readonly string[]): void {
  const names = new Set(plan.inputs.map((i) => inputColumnName(i.name).toLowerCase()));
  const clash = carried.filter((c) => names.has(c.toLowerCase()));
  if (clash.length) {
    throw new UserError(
      `the entities file has column${clash.length > 1 ? "s" : ""} ${clash.map((c) => `\`${c}\``).join(", ")}: the predictions of \`${plan.name}\` hold each model input as input_<name>`,
      `rename ${clash.length > 1 ? "them" : "it"} in the entities file`,
    );
  }
}

function staged(type: ColumnType, v: Scalar): Scalar {
  if (type !== "timestamp" || typeof v !== "number") return v;
  return Number.isFinite(v) ? new Date(v).toISOString() : null; // epoch ms (an ODT's value)
}

/** Rows 0..n-1 of every model input, as `__in_<i>` columns (a float column stays a Float64Array: NaN is null). */
export function inputValues(plan: ModelPlan, columns: InputColumns, n: number): Record<string, ArrayLike<unknown>> {
  const out: Record<string, ArrayLike<unknown>> = {};
  plan.inputs.forEach((input, i) => {
    const col = columns[input.name];
    if (col instanceof NullableFloats) out[`__in_${i}`] = col.values.subarray(0, n);
    else out[`__in_${i}`] = Array.from({ length: n }, (_, r) => staged(input.type, valueAt(col, r)));
  });
  return out;
}

/** The SELECT list that turns the staged `__in_<i>` of table alias `p` into `input_<name>` (NaN → NULL, ISO text → TIMESTAMP). */
export function inputColumnsSelect(plan: ModelPlan, alias: string): string[] {
  return plan.inputs.map((input, i) => {
    const v = `${alias}.__in_${i}`;
    const value =
      input.type === "float" ? `CASE WHEN isnan(${v}) THEN NULL ELSE ${v} END` : input.type === "timestamp" ? `TRY_CAST(${v} AS TIMESTAMP)` : v;
    return `${value} AS ${ident(inputColumnName(input.name))}`;
  });
}
