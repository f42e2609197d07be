// What a retrieval returns, and the one ordering both retrievals use:
// score (highest first), then newer event time, then id. A document's id is
// its row id (the source's `unique` column) or, without one, its keys and
// event time ("a0001@2025-06-01T07:00:00.000Z", keys joined by "|").

import type { IndexPlan, RetrievedDocument, Scalar } from "../api.ts";
import { UserError } from "../errors.ts";
import { ident, sqlString } from "../store/sql.ts";

export interface SearchOptions {
  /** Only documents with event_time before this instant are candidates (point in time, strict). */
  at: Date;
  /** The request entity's keys; required when the index is `for` an entity. */
  entity?: Record<string, Scalar>;
  k: number;
}

export const MAX_K = 100;

/** SQL of a document's id (VARCHAR), equal to what `documentId` gives in JS. */
export function idSql(plan: IndexPlan): string {
  if (plan.rowId) return `CAST(${ident(plan.rowId.name)} AS VARCHAR)`;
  // A global group's documents (no keys) are told apart by their time alone.
  const keys = plan.keys.map((k) => `CAST(${ident(k.name)} AS VARCHAR)`).join(", ") || "''";
  return `(concat_ws('|', ${keys}) || '@' || strftime(event_time, '%Y-%m-%dT%H:%M:%S.%gZ'))`;
}

/** The entity key values of a search, as strings; an error names a missing key. */
export function entityKeyValues(plan: IndexPlan, entity: Record<string, Scalar> | undefined): string[] | null {
  if (plan.entity === null) return null;
  return plan.keys.map((k) => {
    const v = entity?.[k.name];
    if (v === undefined || v === null) throw new UserError(`index \`${plan.name}\` is for entity \`${plan.entity}\`: the search needs its key \`${k.name}\``);
    return String(v);
  });
}

/** Checks k (1..MAX_K, whole). */
export function checkK(k: number): number {
  if (!Number.isInteger(k) || k < 1 || k > MAX_K) throw new UserError(`k must be a whole number from 1 to ${MAX_K}, got ${k}`);
  return k;
}

/** Does document a rank before b? */
export function ranksBefore(a: { score: number; t: number; id: string }, b: { score: number; t: number; id: string }): boolean {
  if (a.score !== b.score) return a.score > b.score;
  if (a.t !== b.t) return a.t > b.t;
  return a.id < b.id;
}

export { sqlString };
