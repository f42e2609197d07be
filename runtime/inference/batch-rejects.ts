// The rows of a batch run that online serving would answer 422: a feature
// group has no usable row for the entity (the key values its join reads) at the row's time — none at all
// (`not_found`) or only one older than the view's ttl (`stale`) — and the
// model's MDTs cannot impute every input. They are scored with the others
// (one ONNX pass) but written to the rejects, never to the predictions.

import type { GroupPlan, ModelPlan, SpecBundle, ViewPlan } from "../api.ts";
import { type Store } from "../store/store.ts";
import { ident, sqlString, tableRef } from "../store/sql.ts";
import type { PitJoinResult } from "../retrieval/pit.ts";
import type { ResolvedJoin } from "../retrieval/view-joins.ts";

/**
 * Appends the joined rows with missing features to `rejectsTable` (the
 * spine's `invalid` table: __row, __t, status, code, reason, fields);
 * returns how many.
 */
export async function rejectMissingFeatures(
  store: Store,
  bundle: SpecBundle,
  view: ViewPlan,
  plan: ModelPlan,
  joined: PitJoinResult,
  asOf: "strict" | "inclusive",
  rejectsTable: string,
): Promise<number> {
  if (plan.canImpute || joined.groups.length === 0) return 0;
  const notFound: string[] = [];
  const stale: string[] = [];
  const older: string[] = [];
  // Which joins found no row, with the key values they looked up: what online's 422 says (`no row in
  // departures(origin) origin="ZZZ"`), so a reject names the missing entity, not every key of the row.
  const noRow: string[] = [];
  // ... and the joins whose row is older than the ttl: they have one, so "no row in" would be false.
  const oldRow: string[] = [];
  joined.joins.forEach((join, i) => {
    const keys = join.join.on.map((o) => `${sqlString(`${o.column}=`)} || CAST(to_json(j.${ident(o.column)}) AS VARCHAR)`).join(" || ', ' || ");
    const named = `${sqlString(keys ? `${join.join.id} ` : join.join.id)}${keys ? ` || ${keys}` : ""}`;
    noRow.push(`CASE WHEN __ft_${i} IS NULL AND NOT __old_${i} THEN ${named} END`);
    oldRow.push(`CASE WHEN __ft_${i} IS NULL AND __old_${i} THEN ${named} END`);
    const names = `[${join.features.map((f) => sqlString(f.name)).join(", ")}]::VARCHAR[]`;
    // Reference data has no ttl: a missing reference row is never stale. Each EXISTS is one
    // column (__old_<i>), so the group is searched once per join, not once per use.
    older.push(`${view.ttlMs === null || join.plan.reference ? "false" : olderRowExists(join, asOf)} AS __old_${i}`);
    notFound.push(`CASE WHEN __ft_${i} IS NULL AND NOT __old_${i} THEN ${names} ELSE []::VARCHAR[] END`);
    stale.push(`CASE WHEN __ft_${i} IS NULL AND __old_${i} THEN ${names} ELSE []::VARCHAR[] END`);
  });
  const anyMissing = joined.groups.map((_, i) => `__ft_${i} IS NULL`).join(" OR ");
  // The key values of the joins that found nothing (as online's 422): a view whose joins are all global names none.
  const entityParts = view.keys.flatMap((k) => {
    const missing = joined.joins.flatMap((join, i) => (join.join.on.some((o) => o.column === k.name) ? [`__ft_${i} IS NULL`] : []));
    return missing.length ? [`CASE WHEN ${missing.join(" OR ")} THEN ${sqlString(`${k.name}=`)} || CAST(to_json(j.${ident(k.name)}) AS VARCHAR) END`] : [];
  });
  const noFeatures = entityParts.length
    ? `'no features' || COALESCE(' for ' || NULLIF(concat_ws(', ', ${entityParts.join(", ")}), ''), '') || ' as of '`
    : `'no features as of '`;
  const staleText = sqlString("stale (older than the view's ttl): ");
  await store.run(
    `INSERT INTO ${ident(rejectsTable)} (__row, __t, status, code, reason, fields)
       SELECT __row, __t, 422, 'missing_features',
              ${noFeatures} || strftime(__t, '%Y-%m-%dT%H:%M:%S.%gZ') || '; ' ||
                concat_ws('; ', CASE WHEN len(__nf) > 0 THEN 'not found: ' || array_to_string(__nf, ', ') END,
                                CASE WHEN len(__st) > 0 THEN ${staleText} || array_to_string(__st, ', ') END) ||
                '; ' || concat_ws('; ', 'no row in ' || NULLIF(concat_ws(', ', ${noRow.join(", ")}), ''),
                                       'no row within the ttl in ' || NULLIF(concat_ws(', ', ${oldRow.join(", ")}), '')),
              list_concat(__nf, __st)
         FROM (SELECT j.*, ${concatAll(notFound)} AS __nf, ${concatAll(stale)} AS __st
                 FROM (SELECT j.*, ${older.join(", ")} FROM ${ident(joined.table)} AS j WHERE ${anyMissing}) AS j) AS j`,
  );
  const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${ident(rejectsTable)} WHERE status = 422`);
  return Number(c.n);
}

/** SQL: the join's group has a row for its key values at or before the row's time (so a NULL join means it is too old: stale). */
function olderRowExists(join: ResolvedJoin, asOf: "strict" | "inclusive"): string {
  const keys = join.join.on.map((o) => `g.${ident(o.key)} = j.${ident(o.column)}`);
  return `EXISTS (SELECT 1 FROM ${tableRef(join.plan.table)} AS g WHERE ${[...keys, `g.event_time ${asOf === "strict" ? "<" : "<="} j.__t`].join(" AND ")})`;
}

/** One list from several list expressions (list_concat takes two). */
function concatAll(lists: string[]): string {
  return lists.reduce((a, b) => `list_concat(${a}, ${b})`);
}
