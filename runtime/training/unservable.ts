// The test rows that serving would refuse, though the test metrics count them: a spine row whose
// join key is null (online 400: a key cannot be null) or whose join found no row of its group (online
// 422 when the model's MDTs do not impute every input). gbdt scores missing inputs, so such rows
// train and test without a word: the newuser lane's genre model over vega-datasets' movies
// (director and distributor joins, 45% of films without a director, most directors with one film)
// reported accuracy 0.465 over 959 test rows, of which serving answers 540 with a 400 or a 422.

import type { ModelPlan, Scalar, ViewPlan } from "../api.ts";
import { notImputedInputs, notImputedText } from "../inference/not-imputed.ts";

export interface UnservableRows {
  /** Test rows in all. */
  test: number;
  /** Of those, the rows with a null key, per key column (a row counts once, under its first null key). */
  nullKey: Record<string, number>;
  /** The other rows where a join found no row (none, or none within the ttl), per join id (a row counts once, under its first). */
  noRow: Record<string, number>;
  /** The view has a ttl: a row older than it is no row. */
  ttl: boolean;
  /** The inputs a missing entity leaves null that have no impute step (the reason for the 422). */
  notImputed: string[];
}

/** Counts the test rows serving would refuse; null when there are none. `noRow` stays empty for a model that imputes. */
export function unservableTestRows(
  view: ViewPlan,
  plan: Pick<ModelPlan, "canImpute" | "inputs">,
  frame: { keys: Record<string, Scalar[]>; featureTimes?: Record<string, Float64Array> },
  test: Int32Array,
): UnservableRows | null {
  const keys = view.keys.map((k) => k.name).filter((k) => frame.keys[k]);
  const joins = plan.canImpute ? [] : view.joins.map((j) => j.id).filter((id) => frame.featureTimes?.[id]);
  const nullKey: Record<string, number> = {};
  const noRow: Record<string, number> = {};
  let refused = 0;
  for (const i of test) {
    const key = keys.find((k) => frame.keys[k][i] === null || frame.keys[k][i] === undefined);
    if (key !== undefined) {
      nullKey[key] = (nullKey[key] ?? 0) + 1;
      refused++;
      continue;
    }
    const join = joins.find((id) => Number.isNaN(frame.featureTimes![id][i]));
    if (join !== undefined) {
      noRow[join] = (noRow[join] ?? 0) + 1;
      refused++;
    }
  }
  if (!refused) return null;
  // In the view's order (keys, joins), whatever row came first.
  const ordered = (names: string[], counts: Record<string, number>) => Object.fromEntries(names.filter((k) => counts[k]).map((k) => [k, counts[k]]));
  return { test: test.length, nullKey: ordered(keys, nullKey), noRow: ordered(joins, noRow), ttl: view.ttlMs !== null, notImputed: notImputedInputs(plan, view) };
}

/**
 * The report's line: `serving would refuse 540 of the 959 test rows the metrics count: 443 with a null key
 * (director 441, distributor 2: a 400), 97 with no group row (director_films 92, …: a 422, …)`.
 */
export function unservableLine(u: UnservableRows): string {
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  const each = (o: Record<string, number>) => Object.entries(o).map(([k, n]) => `${k} ${n}`).join(", ");
  const nullKeys = sum(u.nullKey);
  const noRows = sum(u.noRow);
  const parts = [
    ...(nullKeys ? [`${nullKeys} with a null key (${each(u.nullKey)}: a 400, a key cannot be null)`] : []),
    ...(noRows ? [`${noRows} with no group row${u.ttl ? " within the ttl" : ""} (${each(u.noRow)}: a 422, as the MDTs do not impute every input; add an \`impute\` step to ${notImputedText(u.notImputed)} to serve them)`] : []),
  ];
  return `serving would refuse ${nullKeys + noRows} of the ${u.test} test rows the metrics count: ${parts.join("; ")}`;
}
