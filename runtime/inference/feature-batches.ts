// Reading the point-in-time joined features of a batch run, batch by batch
// (spine rows __sid in [from, to), in order), as the model inputs need them.
//
// Values are those the training frame reads (timestamps as ISO strings), with
// one difference in form only: a float column is read into a Float64Array
// (no boxed number per value, about half the cost of the read) as
// NullableFloats, NaN standing for NULL. That mapping is only exact when the
// column holds no NaN value, so it is used only for the columns that one SQL
// pass over the joined table finds NaN-free; the same pass checks that the
// join holds every spine row exactly once.

import { type Store } from "../store/store.ts";
import { ident } from "../store/sql.ts";
import type { PitJoinResult } from "../retrieval/pit.ts";
import type { ViewPlan } from "../api.ts";
import { NullableFloats, type InputColumns } from "../retrieval/columns.ts";

export interface FeatureBatches {
  /** Feature and request-field columns, by name. */
  names: string[];
  /** Columns read as NullableFloats. */
  floats: string[];
  read(from: number, to: number): Promise<InputColumns>;
}

const FLOAT_TYPES = new Set(["DOUBLE", "FLOAT"]);

export async function featureBatches(store: Store, view: ViewPlan, joined: PitJoinResult, n: number): Promise<FeatureBatches> {
  const featureNames = joined.features.map((f) => f.name);
  const requestNames = view.requestFields.map((f) => f.name).filter((r) => !featureNames.includes(r));
  const names = [...featureNames, ...requestNames];
  const types = new Map((await store.tableColumns(joined.table)).map((c) => [c.name, c.type]));
  const candidates = names.filter((name) => FLOAT_TYPES.has(types.get(name) ?? ""));

  const nanChecks = candidates.map((c, i) => `coalesce(bool_or(isnan(${ident(c)})), false) AS __nan${i}`);
  const [stats] = await store.all<Record<string, number | boolean | null>>(
    `SELECT count(*) AS __rows, count(DISTINCT __sid) AS __ids, min(__sid) AS __lo, max(__sid) AS __hi` +
      `${nanChecks.map((c) => `, ${c}`).join("")} FROM ${ident(joined.table)}`,
  );
  // A lost or doubled spine row would shift predictions onto other entities.
  const ok =
    Number(stats.__rows) === n && Number(stats.__ids) === n && (n === 0 || (Number(stats.__lo) === 0 && Number(stats.__hi) === n - 1));
  if (!ok) {
    throw new Error(
      `batch inference: the feature join returned ${stats.__rows} rows (${stats.__ids} distinct, ids ${stats.__lo}..${stats.__hi}) for ${n} entities`,
    );
  }
  const floats = candidates.filter((_, i) => stats[`__nan${i}`] === false);
  const select = names.length ? names.map(ident).join(", ") : "__sid";

  return {
    names,
    floats,
    async read(from, to) {
      const res = await store.readColumns(
        `SELECT ${select} FROM ${ident(joined.table)} WHERE __sid >= ${from} AND __sid < ${to} ORDER BY __sid`,
        undefined,
        { float64: floats, timestamps: "iso" },
      );
      if (res.n !== to - from) throw new Error(`batch inference: read ${res.n} feature rows for spine rows ${from}..${to - 1}`);
      const columns: InputColumns = {};
      for (const name of names) {
        const col = res.columns[name];
        columns[name] = col instanceof Float64Array ? new NullableFloats(col) : (col as InputColumns[string]);
      }
      return columns;
    },
  };
}
