// Live performance: served predictions joined with the labels that arrived
// later in the view's label source. A prediction's label is the first label
// event of the same entity (the view's keys) with the same request fields
// (the label source carries them: the spine reads them from it) at or after
// the request time and before request time + horizon; ties on the label time
// take the smaller label. No such event: the prediction is unlabelled. Labels
// at or after `until` are not known yet (a replayed clock). A forward label
// (`over next w`) is the matched event's own, known once its window has passed.

import type { Scalar, ViewPlan } from "../api.ts";
import { rawTable } from "../features/sources.ts";
import { cleanUp, type Store } from "../store/store.ts";
import { ident, sqlType } from "../store/sql.ts";
import { labelledRows } from "../retrieval/pit.ts";

/** The labels joined to logged predictions: numbers (NaN: none), or a string label's text (null: none). */
export type LiveLabels = Float64Array | Array<string | null>;

/** Logged predictions, column-wise: request times (epoch ms) and, per entity key and request field, the requests' values. */
export interface LoggedPredictions {
  ts: readonly number[];
  request: Record<string, readonly Scalar[]>;
}

/**
 * The label of each prediction (NaN when none arrived within the horizon), in
 * input order; a string label (a class, multiclass) as text, null for none.
 */
export async function joinLabels(
  store: Store,
  view: ViewPlan,
  preds: LoggedPredictions,
  horizonMs: number,
  until?: Date,
): Promise<LiveLabels> {
  const n = preds.ts.length;
  const labels: LiveLabels = view.label.type === "string" ? new Array<string | null>(n).fill(null) : new Float64Array(n).fill(NaN);
  const src = rawTable(view.spine.source);
  // Rows without time (no event_time) never arrive after a prediction: nothing to join (FTI4075 refuses `when live`).
  if (n === 0 || view.spine.eventTime === null || !(await store.tableExists(src))) return labels;
  const match = [...view.keys, ...view.requestFields];
  const table = "__fti_live_predictions";
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${table} (__i BIGINT, __t TIMESTAMP, ${match.map((c) => `${ident(c.name)} ${sqlType(c.type)}`).join(", ")})`,
  );
  try {
    const columns: Record<string, ArrayLike<unknown>> = { __i: Float64Array.from({ length: n }, (_, i) => i), __t: preds.ts };
    for (const c of match) columns[c.name] = preds.request[c.name] ?? new Array<null>(n).fill(null);
    await store.appendColumns(table, columns);
    const t = ident(view.spine.eventTime);
    // A forward label (`over next w`) is the matched row's own, as its training row would have it: only once its window is observed.
    const { relation, complete } = await labelledRows(store, view, view.spine.eventTime, until);
    const known = [`(${view.label.sql}) IS NOT NULL`, ...complete, ...(until ? [`${t} < ?`] : [])];
    const on = match.map((c) => `p.${ident(c.name)} IS NOT DISTINCT FROM CAST(s.${ident(c.name)} AS ${sqlType(c.type)})`);
    const rows = await store.all<{ i: number; y: number }>(
      `SELECT p.__i AS i, s.__label AS y
         FROM ${table} AS p
         JOIN (SELECT *, CAST(${t} AS TIMESTAMP) AS __lt, ${view.label.sql} AS __label FROM (${relation}) WHERE ${known.join(" AND ")}) AS s
           ON ${on.join(" AND ")} AND s.__lt >= p.__t AND s.__lt < p.__t + to_milliseconds(${Math.round(horizonMs)}::BIGINT)
         QUALIFY row_number() OVER (PARTITION BY p.__i ORDER BY s.__lt, s.__label) = 1`,
      until ? [until] : [],
    );
    for (const r of rows) labels[Number(r.i)] = labels instanceof Float64Array ? Number(r.y) : String(r.y);
  } finally {
    await cleanUp(store, `DROP TABLE IF EXISTS ${table}`);
  }
  return labels;
}
