// Reading the point-in-time joined features of a batch run, batch by batch,
// as the model inputs need them: one query of the joined table, in its
// storage order (no ORDER BY: no sort of the joined rows), read as it
// streams in slices of the batch size. Each row carries its __sid, so the
// reader hands every slice its spine rows; the __sid values read must be
// 0..n − 1, each exactly once (every spine row scored once), else an Error.
// A plain scan of a table keeps its storage order (DuckDB's
// preserve_insertion_order), so a later POSITIONAL JOIN of the joined table
// pairs row k with the k-th row read; batch-output.ts checks it row by row.
//
// Values are those the training frame reads (timestamps as ISO strings), with
// one difference in form only: a float column is read into a Float64Array
// (no boxed number per value, about half the cost of the read) as
// NullableFloats, NaN standing for NULL. That mapping is only exact when the
// column holds no NaN value, so it is used only for the columns that one SQL
// pass over the joined table finds NaN-free.

import { type ColumnarResult, type Store } from "../store/store.ts";
import { ident } from "../store/sql.ts";
import type { PitJoinResult } from "../retrieval/pit.ts";
import type { ViewPlan } from "../api.ts";
import { NullableFloats, type InputColumns } from "../retrieval/columns.ts";

export interface FeatureBatches {
  /** Feature and request-field columns, by name. */
  names: string[];
  /** Columns read as NullableFloats. */
  floats: string[];
  /** Spine rows [from, to), in __sid order (tests, small reads). */
  read(from: number, to: number): Promise<InputColumns>;
  /**
   * Every spine row once, in the joined table's storage order, handed to `onBatch` in batches of
   * `size` rows (`at`: the first row's position in that order; `sids`: each row's __sid).
   * `onBatch` must not use the store: it runs while the read streams.
   */
  readAll(size: number, onBatch: (columns: InputColumns, at: number, m: number, sids: Float64Array) => Promise<void> | void): Promise<void>;
}

const FLOAT_TYPES = new Set(["DOUBLE", "FLOAT"]);

export async function featureBatches(store: Store, view: ViewPlan, joined: PitJoinResult, n: number): Promise<FeatureBatches> {
  const featureNames = joined.features.map((f) => f.name);
  const requestNames = view.requestFields.map((f) => f.name).filter((r) => !featureNames.includes(r));
  const names = [...featureNames, ...requestNames];
  const types = new Map((await store.tableColumns(joined.table)).map((c) => [c.name, c.type]));
  const candidates = names.filter((name) => FLOAT_TYPES.has(types.get(name) ?? ""));

  const nanChecks = candidates.map((c, i) => `coalesce(bool_or(isnan(${ident(c)})), false) AS __nan${i}`);
  const stats: Record<string, boolean> = candidates.length
    ? (await store.all<Record<string, boolean>>(`SELECT ${nanChecks.join(", ")} FROM ${ident(joined.table)}`))[0]
    : {};
  const floats = candidates.filter((_, i) => stats[`__nan${i}`] === false);
  const select = ["__sid", ...names.map(ident)].join(", ");
  const readOptions = { float64: ["__sid", ...floats], timestamps: "iso" as const };
  const asInputs = (res: ColumnarResult): InputColumns => {
    const columns: InputColumns = {};
    for (const name of names) {
      const col = res.columns[name];
      columns[name] = col instanceof Float64Array ? new NullableFloats(col) : (col as InputColumns[string]);
    }
    return columns;
  };
  const from = `SELECT ${select} FROM ${ident(joined.table)}`;

  return {
    names,
    floats,
    async read(lo, hi) {
      const res = await store.readColumns(`${from} WHERE __sid >= ${lo} AND __sid < ${hi} ORDER BY __sid`, undefined, readOptions);
      if (res.n !== hi - lo) throw lostOrDoubled(`read ${res.n} rows for spine rows ${lo}..${hi - 1}`);
      checkInOrder(res.columns.__sid as Float64Array, lo, n);
      return asInputs(res);
    },
    async readAll(size, onBatch) {
      const seen = new Uint8Array(n);
      const read = await store.readColumnsInSlices(from, undefined, readOptions, size, (res, at) => {
        const sids = res.columns.__sid as Float64Array;
        checkOnce(sids, seen, n);
        return onBatch(asInputs(res), at, res.n, sids);
      });
      // n rows, each a distinct id in 0..n − 1: every spine row exactly once
      if (read !== n) throw lostOrDoubled(`read ${read} rows for ${n} spine rows`);
    },
  };
}

/** Rows read in __sid order must be numbered from, from + 1, …. */
function checkInOrder(sids: Float64Array, from: number, n: number): void {
  for (let i = 0; i < sids.length; i++) {
    if (sids[i] !== from + i) {
      // in __sid order, an id below its position was read before
      const what = sids[i] < from + i ? `spine row ${sids[i]} twice` : `spine row ${sids[i]} where ${from + i} belongs`;
      throw lostOrDoubled(`${what} (${n} spine rows)`);
    }
  }
}

/** Each id read must be a spine row (0..n − 1) not read before (a doubled row would score one entity twice and lose another). */
function checkOnce(sids: Float64Array, seen: Uint8Array, n: number): void {
  for (let i = 0; i < sids.length; i++) {
    const sid = sids[i];
    if (!(Number.isInteger(sid) && sid >= 0 && sid < n)) throw lostOrDoubled(`spine row ${sid} is not one of the ${n} spine rows`);
    if (seen[sid]) throw lostOrDoubled(`spine row ${sid} twice (${n} spine rows)`);
    seen[sid] = 1;
  }
}

function lostOrDoubled(detail: string): Error {
  return new Error(`batch inference: the feature join lost or doubled a row: ${detail}`);
}
