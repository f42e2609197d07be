// A query result read column by column as it streams, chunk by chunk (each
// chunk converted as it arrives and dropped: column-readers.ts): the whole
// result, or slices of exactly `rows` rows handed on as they fill (the store's
// readColumns and readColumnsInSlices).

import type { DuckDBResult } from "@duckdb/node-api";
import { float64Reader, valueReader, vectorReader } from "./column-readers.ts";
import type { ColumnarResult, ReadColumnsOptions } from "./store.ts";

export interface Slicing {
  rows: number;
  onSlice: (slice: ColumnarResult, from: number) => Promise<void> | void;
}

/** Reads `result` to its end: its columns (no `sliced`), or its rows handed to `sliced.onSlice` (the returned result then has the row count only). */
export async function readResultColumns(result: DuckDBResult, opts: ReadColumnsOptions, sliced?: Slicing): Promise<ColumnarResult> {
  const names = result.columnNames();
  const typeIds = names.map((_, i) => result.columnTypeId(i));
  const types = names.map((_, i) => result.columnType(i).toString());
  const f64 = new Set(opts.float64 ?? []);
  const ts = opts.timestamps ?? "date";
  const vectorNames = new Set(opts.vectors ?? []);
  // Each chunk is converted as it arrives and dropped (column-readers.ts).
  const newReaders = () =>
    names.map((name, c) =>
      vectorNames.has(name) ? vectorReader(types[c], c) : f64.has(name) ? float64Reader(typeIds[c]) : valueReader(typeIds[c], ts),
    );
  const collect = (n: number): ColumnarResult => {
    const columns: Record<string, unknown[] | Float64Array> = {};
    const vectors: Record<string, Float32Array> = {};
    names.forEach((name, c) => {
      const col = readers[c].finish(n);
      if (vectorNames.has(name)) vectors[name] = col as Float32Array;
      else columns[name] = col as unknown[] | Float64Array;
    });
    return { n, names, types, columns, vectors };
  };
  let readers = newReaders();
  let n = 0;
  let emitted = 0;
  let rest = null as ColumnarResult | null; // rows read past the last full slice
  const emit = async (last: boolean) => {
    let part = concatColumns(rest, collect(n));
    readers = newReaders();
    n = 0;
    while (part.n >= sliced!.rows || (last && part.n > 0)) {
      const m = Math.min(part.n, sliced!.rows);
      await sliced!.onSlice(sliceColumns(part, 0, m), emitted);
      emitted += m;
      part = sliceColumns(part, m, part.n);
    }
    rest = part.n > 0 ? part : null;
  };
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const m = chunk.rowCount;
    for (let c = 0; c < names.length; c++) readers[c].add(chunk.getColumnVector(c), m);
    n += m;
    if (sliced && n + (rest?.n ?? 0) >= sliced.rows) await emit(false);
  }
  if (!sliced) return collect(n);
  await emit(true);
  return { n: emitted, names, types, columns: {}, vectors: {} };
}

/** Rows [from, to) of a result's columns (typed arrays as views, no copy). */
function sliceColumns(r: ColumnarResult, from: number, to: number): ColumnarResult {
  if (from === 0 && to === r.n) return r;
  const columns: ColumnarResult["columns"] = {};
  for (const name of r.names) {
    const col = r.columns[name];
    columns[name] = col instanceof Float64Array ? col.subarray(from, to) : col.slice(from, to);
  }
  return { ...r, n: to - from, columns, vectors: {} };
}

/** `a`'s rows then `b`'s (same columns); `a` may be null. */
function concatColumns(a: ColumnarResult | null, b: ColumnarResult): ColumnarResult {
  if (!a) return b;
  const columns: ColumnarResult["columns"] = {};
  for (const name of b.names) {
    const x = a.columns[name];
    const y = b.columns[name];
    if (x instanceof Float64Array && y instanceof Float64Array) {
      const both = new Float64Array(x.length + y.length);
      both.set(x);
      both.set(y, x.length);
      columns[name] = both;
    } else columns[name] = (x as unknown[]).concat(y as unknown[]);
  }
  return { ...b, n: a.n + b.n, columns };
}
