// A stand-in for pit.ts `pitJoin` over the synthetic truth of model-bundles.ts
// (featureValues), for the inference tests that do not load feature tables:
// batch inference builds its spine in DuckDB and joins features onto it with
// pitJoin, so the stand-in writes the joined table pitJoin would write (the
// spine's columns, then each view feature, then __ft_0), in __sid order.

import type { SpecBundle, ViewPlan } from "../../runtime/api.ts";
import { type Store } from "../../runtime/store/store.ts";
import { ident, sqlType } from "../../runtime/store/sql.ts";
import type { PitJoinResult } from "../../runtime/retrieval/pit.ts";
import { viewJoins } from "../../runtime/retrieval/view-joins.ts";
import { featureValues } from "./model-bundles.ts";

export async function standInPitJoin(store: Store, bundle: SpecBundle, view: ViewPlan, spineTable: string): Promise<PitJoinResult> {
  const spine = await store.readColumns(
    `SELECT __sid, user_id, epoch_us(__t) / 1000.0 AS t FROM ${ident(spineTable)} ORDER BY __sid`,
    undefined,
    { float64: ["__sid", "t"] },
  );
  const users = spine.columns.user_id as string[];
  const times = spine.columns.t as Float64Array;
  const out = `${spineTable}_pit`;
  await store.run(`DROP TABLE IF EXISTS ${ident(out)}`);
  const features = view.features.map((f) => ({ name: f.name, type: f.type, group: f.group }));
  await store.run(`CREATE TEMP TABLE __stand_in_values (__sid BIGINT, ${features.map((f) => `${ident(f.name)} ${sqlType(f.type)}`).join(", ")})`);
  const cols: Record<string, unknown[] | Float64Array> = { __sid: spine.columns.__sid };
  for (const f of features) cols[f.name] = new Array(spine.n);
  for (let i = 0; i < spine.n; i++) {
    const v: Record<string, unknown> = featureValues(users[i], times[i] - 1);
    for (const f of features) (cols[f.name] as unknown[])[i] = v[f.name];
  }
  await store.appendColumns("__stand_in_values", cols);
  await store.run(
    `CREATE TEMP TABLE ${ident(out)} AS
       SELECT s.*, ${features.map((f) => `v.${ident(f.name)}`).join(", ")}, epoch_us(s.__t) / 1000.0 AS __ft_0
         FROM ${ident(spineTable)} AS s JOIN __stand_in_values AS v USING (__sid) ORDER BY s.__sid`,
  );
  await store.run(`DROP TABLE __stand_in_values`);
  return { table: out, n: spine.n, groups: [view.features[0]?.group ?? "user_stats"], joins: viewJoins(bundle, view).slice(0, 1), features };
}
