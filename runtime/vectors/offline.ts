// Offline retrieval: the index's group table ranked in DuckDB by
// array_cosine_similarity, point in time (event_time < at), optionally for
// one entity. The reference the in-memory index (memory-index.ts) must equal.

import type { IndexPlan, RetrievedDocument, Scalar } from "../api.ts";
import type { Store } from "../store/store.ts";
import { ident, tableRef } from "../store/sql.ts";
import { checkK, entityKeyValues, idSql, type SearchOptions } from "./documents.ts";

export async function searchOffline(store: Store, plan: IndexPlan, query: Float32Array, opts: SearchOptions): Promise<RetrievedDocument[]> {
  const k = checkK(opts.k);
  const keyValues = entityKeyValues(plan, opts.entity);
  const col = ident(plan.column);
  const qZero = query.every((x) => x === 0);
  // In double precision, like the in-memory index; a zero vector (either side) scores 0.
  const v = `CAST(${col} AS DOUBLE[${plan.dim}])`;
  const score = qZero ? "0.0" : `CASE WHEN array_inner_product(${v}, ${v}) = 0 THEN 0.0 ELSE array_cosine_similarity(${v}, CAST($q AS DOUBLE[${plan.dim}])) END`;
  const where = [`${col} IS NOT NULL`, `event_time < $at`];
  const params: Record<string, string | Date> = { q: JSON.stringify(Array.from(query)), at: opts.at };
  plan.keys.forEach((key, i) => {
    if (!keyValues) return;
    where.push(`CAST(${ident(key.name)} AS VARCHAR) = $k${i}`);
    params[`k${i}`] = keyValues[i];
  });
  const select = [
    `${idSql(plan)} AS __id`,
    `CAST(${score} AS DOUBLE) AS __score`,
    `event_time AS __t`,
    ...plan.keys.map((c) => ident(c.name)),
    ...plan.fields.map((c) => ident(c.name)),
  ];
  const rows = await store.all<Record<string, unknown>>(
    `SELECT ${select.join(", ")} FROM ${tableRef(plan.table)} WHERE ${where.join(" AND ")} ORDER BY __score DESC, __t DESC, __id ASC LIMIT ${k}`,
    params,
  );
  return rows.map((r) => ({
    id: String(r.__id),
    score: Number(r.__score),
    eventTime: (r.__t as Date).toISOString(),
    keys: Object.fromEntries(plan.keys.map((c) => [c.name, scalar(r[c.name])])),
    fields: Object.fromEntries(plan.fields.map((c) => [c.name, scalar(r[c.name])])),
  }));
}

function scalar(v: unknown): Scalar {
  if (v instanceof Date) return v.toISOString();
  return v === undefined ? null : (v as Scalar);
}
