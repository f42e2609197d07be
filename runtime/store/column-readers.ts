// Result columns read chunk by chunk for `Store.readColumns`: each fetched
// DuckDB chunk is converted into the JS columns at once and then dropped, so
// a large result is never held twice (DuckDB's chunks and the JS columns:
// for a 10 M-row training frame that was gigabytes). Float64Array and
// FLOAT[N] columns grow by doubling; other columns are plain arrays.

import type { DuckDBTypeId, DuckDBVector } from "@duckdb/node-api";
import { readItem, readNumbers, readVectorItems } from "./values.ts";

export interface ColumnReader {
  /** Appends the first `m` items of one chunk's vector. */
  add(vec: DuckDBVector, m: number): void;
  /** The column of the `n` rows added. */
  finish(n: number): unknown[] | Float64Array | Float32Array;
}

/** NULL → NaN, booleans → 0/1, the rest through Number: as `float64` asks. */
export function float64Reader(typeId: DuckDBTypeId): ColumnReader {
  let out: Float64Array = new Float64Array(2048);
  let o = 0;
  return {
    add(vec, m) {
      if (o + m > out.length) out = grown(out, o + m) as Float64Array;
      if (readNumbers(vec, typeId, m, out, o, NaN)) {
        o += m;
        return;
      }
      for (let i = 0; i < m; i++) {
        const v = readItem(vec, i, typeId, "ms");
        out[o++] = v === null ? NaN : typeof v === "boolean" ? (v ? 1 : 0) : Number(v);
      }
    },
    finish: (n) => (out.length === n ? out : out.slice(0, n)),
  };
}

/** Plain JS values (readItem), timestamps as `ts` says. */
export function valueReader(typeId: DuckDBTypeId, ts: "date" | "ms" | "iso"): ColumnReader {
  const out: unknown[] = [];
  return {
    add(vec, m) {
      const o = out.length;
      if (readNumbers(vec, typeId, m, out, o, null)) return;
      for (let i = 0; i < m; i++) out.push(readItem(vec, i, typeId, ts));
    },
    finish: () => out,
  };
}

/** A FLOAT[N] column as one flat Float32Array of n × N values (a null row: N NaNs). */
export function vectorReader(type: string, column: number): ColumnReader {
  const dim = Number(/\[(\d+)\]$/.exec(type)?.[1]);
  if (!Number.isInteger(dim) || dim < 1) throw new Error(`readColumns: column ${column} is ${type}, not a FLOAT[N] array`);
  let out: Float32Array = new Float32Array(2048 * dim);
  let o = 0;
  return {
    add(vec, m) {
      if ((o + m) * dim > out.length) out = grown(out, (o + m) * dim) as Float32Array;
      readVectorItems(vec, m, dim, out, o);
      o += m;
    },
    finish: (n) => (out.length === n * dim ? out : out.slice(0, n * dim)),
  };
}

function grown(a: Float64Array | Float32Array, need: number): Float64Array | Float32Array {
  let size = a.length * 2;
  while (size < need) size *= 2;
  const b = a instanceof Float64Array ? new Float64Array(size) : new Float32Array(size);
  b.set(a);
  return b;
}
