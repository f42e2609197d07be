// The model inputs of each batch-scored row (view features and ODT values,
// raw: before the MDTs), kept with the prediction so that `fti monitor` can
// compare batch scoring with the training statistics as it does the served
// request log. The predictions table names them `input_<name>` (batch-output.ts).
// An input that is a column of the joined table (a view feature or request
// field) is written from there in SQL, as the reader gave it to the model;
// only the others (ODT values, computed in JS) are staged in the scoring temp
// table, as `__in_<i>` (the i-th model input).

import type { ColumnType, ModelPlan, Scalar } from "../api.ts";
import { UserError } from "../errors.ts";
import { ident, sqlType } from "../store/sql.ts";
import { NullableFloats, valueAt, type InputColumns } from "../retrieval/columns.ts";

/** The predictions table's column of a model input. */
export const inputColumnName = (input: string) => `input_${input}`;

/** Timestamps travel as ISO text (how the feature reader gives them) and are cast back when written. */
const stagedType = (t: ColumnType) => (t === "timestamp" ? "VARCHAR" : sqlType(t));

/** The model inputs computed in JS (not columns of the joined table), by index into `plan.inputs`. */
export function stagedInputs(plan: ModelPlan, joinedColumns: readonly string[]): number[] {
  const joined = new Set(joinedColumns);
  return plan.inputs.flatMap((input, i) => (joined.has(input.name) ? [] : [i]));
}

/** `, __in_0 DOUBLE, …`: the staged columns after (__sid, prediction). */
export function inputColumnsDdl(plan: ModelPlan, staged: readonly number[]): string {
  return staged.map((i) => `, __in_${i} ${stagedType(plan.inputs[i].type)}`).join("");
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

function staged1(type: ColumnType, v: Scalar): Scalar {
  if (type !== "timestamp" || typeof v !== "number") return v;
  return Number.isFinite(v) ? new Date(v).toISOString() : null; // epoch ms (an ODT's value)
}

/** Empty columns for `n` rows of the staged inputs (a float one: a Float64Array, NaN is null). */
export function stagedColumns(plan: ModelPlan, staged: readonly number[], n: number): Record<string, Float64Array | Scalar[]> {
  const out: Record<string, Float64Array | Scalar[]> = {};
  for (const i of staged) out[`__in_${i}`] = plan.inputs[i].type === "float" ? new Float64Array(n) : new Array<Scalar>(n);
  return out;
}

/** Copies rows 0..m-1 of the staged inputs from a batch's `columns` into `out` (stagedColumns) at row `at`. */
export function stageInputs(plan: ModelPlan, staged: readonly number[], columns: InputColumns, m: number, out: Record<string, Float64Array | Scalar[]>, at: number): void {
  for (const i of staged) {
    const input = plan.inputs[i];
    const col = columns[input.name];
    const dst = out[`__in_${i}`];
    if (dst instanceof Float64Array) {
      if (col instanceof NullableFloats) dst.set(col.values.subarray(0, m), at);
      else for (let r = 0; r < m; r++) dst[at + r] = floatOf(valueAt(col, r));
    } else for (let r = 0; r < m; r++) dst[at + r] = staged1(input.type, valueAt(col, r));
  }
}

/** A float input's value as staged: null → NaN (written back as NULL); a non-number (an ODT's wrong type) as Number does. */
function floatOf(v: Scalar): number {
  return v === null ? NaN : typeof v === "number" ? v : Number(v);
}

/**
 * The SELECT list of `input_<name>` columns: staged inputs from `__in_<i>` of
 * alias `p`, the others from the joined table (alias `j`), each as the model
 * got it (NaN → NULL; a timestamp to the millisecond, as the reader's ISO text).
 */
export function inputColumnsSelect(plan: ModelPlan, staged: readonly number[], p: string, j: string): string[] {
  const fromJs = new Set(staged);
  return plan.inputs.map((input, i) => {
    const v = fromJs.has(i) ? `${p}.__in_${i}` : `${j}.${ident(input.name)}`;
    const value =
      input.type === "float"
        ? `CASE WHEN isnan(${v}) THEN NULL ELSE ${v} END`
        : input.type === "timestamp"
          ? fromJs.has(i)
            ? `TRY_CAST(${v} AS TIMESTAMP)`
            : `date_trunc('millisecond', ${v})`
          : v;
    return `${value} AS ${ident(inputColumnName(input.name))}`;
  });
}
