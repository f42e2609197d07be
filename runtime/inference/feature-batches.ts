// Reading the point-in-time joined features of a batch run, batch by batch
// (spine rows in __sid order), as the model inputs need them: one ordered
// query read as it streams, in slices of the batch size (one sort of the
// joined rows; reading each batch by a `__sid` range scanned and sorted the
// unordered table once per batch). The rows' __sid, read along, must count
// 0, 1, …, n - 1: every spine row exactly once.
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
  /** Spine rows [from, to) (tests, small reads). */
  read(from: number, to: number): Promise<InputColumns>;
  /**
   * Every spine row in order, handed to `onBatch` in batches of `size` rows
   * (`from`: the first row's __sid). `onBatch` must not use the store: it runs while the read streams.
   */
  readAll(size: number, onBatch: (columns: InputColumns, from: number, m: number) => Promise<void> | void): Promise<void>;
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
  const asInputs = (res: ColumnarResult, from: number): InputColumns => {
    checkRows(res.columns.__sid as Float64Array, from, n);
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
      return asInputs(res, lo);
    },
    async readAll(size, onBatch) {
      const read = await store.readColumnsInSlices(`${from} ORDER BY __sid`, undefined, readOptions, size, (res, at) =>
        onBatch(asInputs(res, at), at, res.n),
      );
      if (read !== n) throw lostOrDoubled(`read ${read} rows for ${n} spine rows`);
    },
  };
}

/**
 * Rows read in __sid order must be numbered from, from + 1, …: with the row
 * count, every spine row exactly once (a lost or doubled row would shift
 * predictions onto other entities).
 */
function checkRows(sids: Float64Array, from: number, n: number): void {
  for (let i = 0; i < sids.length; i++) {
    if (sids[i] !== from + i) {
      // in __sid order, an id below its position was read before
      const what = sids[i] < from + i ? `spine row ${sids[i]} twice` : `spine row ${sids[i]} where ${from + i} belongs`;
      throw lostOrDoubled(`${what} (${n} spine rows)`);
    }
  }
}

function lostOrDoubled(detail: string): Error {
  return new Error(`batch inference: the feature join lost or doubled a row: ${detail}`);
}
