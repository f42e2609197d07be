// The length of a `float[N]` column type. A leaf module: the store (sql.ts,
// values.ts) needs it, and api.ts, which re-exports it, loads the online
// client and through it the store, so the store cannot import it from there.

import type { ColumnType } from "./api.ts";

/** The length of a vector type, or null for a scalar type. */
export function vectorDim(t: ColumnType): number | null {
  const m = /^float\[(\d+)\]$/.exec(t);
  return m ? Number(m[1]) : null;
}
