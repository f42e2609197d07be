// Column-major model inputs for batch inference. A column is either an
// array of Scalars (null = missing) or, for a float column read without
// boxing every value, a NullableFloats: a Float64Array where NaN stands for
// null. The reader only uses NullableFloats for columns that hold no NaN
// value, so the NaN ⇔ null mapping loses nothing (see feature-batches.ts).

import type { Scalar } from "../api.ts";

export class NullableFloats {
  constructor(readonly values: Float64Array) {}
  get length(): number {
    return this.values.length;
  }
}

export type InputColumn = ArrayLike<Scalar> | NullableFloats;

export type InputColumns = Record<string, InputColumn>;

/** A column's values as a plain array (null when missing): for checks and small frames. */
export function columnValues(column: InputColumn): Scalar[] {
  return Array.from({ length: column.length }, (_, i) => valueAt(column, i));
}

/** Row `i` of a column, as the generated code expects it: a Scalar, null when missing. */
export function valueAt(column: InputColumn, i: number): Scalar {
  if (column instanceof NullableFloats) {
    const v = column.values[i];
    return v !== v ? null : v; // NaN → null
  }
  return column[i] ?? null;
}
