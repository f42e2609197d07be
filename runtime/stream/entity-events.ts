// Every event of a few group entities, for recomputing just them (a late
// event's entities: docs/streaming.md, "Out-of-order and late events"): their
// rows of src_<source> — read by key in SQL when the group's keys are source
// columns (directly or through row groups), else the whole table filtered
// here — and their lines of the segments, once each by `unique` (the offline
// row first, as a rebuild from nothing takes them).

import type { GroupPlan, Scalar, SourcePlan, SpecBundle, StreamRow } from "../api.ts";
import type { Store } from "../store/store.ts";
import { ident } from "../store/sql.ts";

/** The source columns a streamed group's keys come from, in key order; null when one is not a source column. */
export function sourceKeyColumns(bundle: SpecBundle, plan: GroupPlan): string[] | null {
  const sp = plan.stream;
  if (!sp) return null;
  if (plan.input.kind === "source") return sp.keyColumns;
  const input = bundle.groups.find((g) => g.name === plan.input.name);
  if (!input) return null;
  const inner = sourceKeyColumns(bundle, input);
  if (!inner) return null;
  const out = sp.keyColumns.map((c) => {
    const j = input.keys.findIndex((k) => k.name === c);
    return j < 0 ? null : inner[j];
  });
  return out.every((c): c is string => c !== null) ? out : null;
}

/**
 * The offline rows of the entities (`targets`: per group, the key values of
 * each): a SQL filter by key when every group's keys are source columns, else
 * every row (the caller's walk keeps the entities' own). Returns the rows and
 * whether they were filtered.
 */
export async function readEntityRows(store: Store, bundle: SpecBundle, plan: SourcePlan, targets: ReadonlyMap<string, readonly Scalar[][]>): Promise<{ rows: StreamRow[]; filtered: boolean }> {
  const terms: string[] = [];
  const params: Scalar[] = [];
  let filtered = true;
  for (const [group, keysList] of targets) {
    const g = bundle.groups.find((x) => x.name === group);
    const cols = g ? sourceKeyColumns(bundle, g) : null;
    if (!cols) {
      filtered = false;
      break;
    }
    for (const keys of keysList) {
      terms.push(`(${cols.map((c) => `${ident(c)} = ?`).join(" AND ")})`);
      params.push(...keys);
    }
  }
  const where = filtered ? (terms.length ? `WHERE ${terms.join(" OR ")}` : "WHERE FALSE") : "";
  return { rows: await readSourceRows(store, plan, where, filtered ? params : []), filtered };
}

/** The validated rows of a stream source in the offline store (those `where` keeps; [] before the first batch run). */
export async function readSourceRows(store: Store, plan: SourcePlan, where = "", params: Scalar[] = []): Promise<StreamRow[]> {
  const table = `src_${plan.name}`;
  if (!(await store.tableExists(table))) return [];
  const have = new Set((await store.tableColumns(table)).map((c) => c.name));
  if (!plan.fields.every((f) => have.has(f.name))) return [];
  const raw = await store.all<Record<string, unknown>>(`SELECT ${plan.fields.map((f) => ident(f.name)).join(", ")} FROM ${ident(table)} ${where}`, params);
  return raw.map((r) => {
    const row: StreamRow = {};
    for (const f of plan.fields) row[f.name] = (r[f.name] ?? null) as Scalar | Date;
    return row;
  });
}
