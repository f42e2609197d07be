// On-demand transformations over columns: each ODT's generated `compute`
// (the one copy of its code, shared with training and online serving) is
// called once per row, with two reusable argument objects instead of a new
// pair per row. The training frame (runtime/training/pit.ts) and batch
// inference both call it: a missing value is null, `undefined` out is null.

import type { OdtPlan, Scalar } from "../api.ts";
import { UserError } from "../errors.ts";
import { valueAt, type InputColumns } from "./columns.ts";

/** How error messages number rows: the first row's number (the others follow), or each row's. */
export type RowNumbers = number | ArrayLike<number>;

/**
 * Computes `odts` in order over `n` rows of `columns`, adding each output
 * column to `columns` under the ODT's name. `rows` numbers the rows in
 * error messages: the first one's (the batch's offset in the whole run), or each one's.
 */
export function addOdtColumns(odts: readonly OdtPlan[], columns: InputColumns, n: number, firstRow: RowNumbers = 0): void {
  for (const odt of odts) columns[odt.name] = computeOdtColumn(odt, columns, n, firstRow);
}

/**
 * One ODT over `n` rows of `columns` (request fields and features by frame
 * name). `firstRow` numbers the rows in error messages: the first row's number,
 * each row's, or null when the rows have no known number (a chunk of a streaming query).
 */
export function computeOdtColumn(odt: OdtPlan, columns: InputColumns, n: number, firstRow: RowNumbers | null): Scalar[] {
  const reqNames = odt.requestParams.map((p) => p.name);
  const reqCols = reqNames.map((name) => {
    const c = columns[name];
    if (!c) throw new UserError(`on_demand \`${odt.name}\` needs the request field \`${name}\`, which was not provided`);
    return c;
  });
  // "group.feature" reads the frame column "feature"
  const featNames = odt.featureParams.map((p) => (p.includes(".") ? p.split(".", 2)[1] : p));
  const featCols = featNames.map((name, j) => {
    const c = columns[name];
    if (!c) throw new Error(`on_demand \`${odt.name}\` reads feature \`${odt.featureParams[j]}\`, which the frame lacks`);
    return c;
  });
  const out: Scalar[] = new Array(n);
  const request: Record<string, Scalar> = {};
  const features: Record<string, Scalar> = {};
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < reqCols.length; j++) request[reqNames[j]] = valueAt(reqCols[j], i);
    for (let j = 0; j < featCols.length; j++) features[featNames[j]] = valueAt(featCols[j], i);
    let v: Scalar;
    try {
      v = odt.compute(request, features);
    } catch (e) {
      const row = firstRow === null ? "" : ` on row ${typeof firstRow === "number" ? firstRow + i : firstRow[i]}`;
      throw new Error(`on_demand \`${odt.name}\` failed${row} (${JSON.stringify({ request, features })}): ${(e as Error)?.message ?? e}`);
    }
    out[i] = v === undefined ? null : v;
  }
  return out;
}
