// The service's in-process copy of the online tables: per feature group, a
// map from the entity key to its latest row. The service reads the tables
// while it holds the store open (briefly, read-only), then serves from
// memory; a reload replaces a group's map as a whole.

import type { GroupPlan, Scalar } from "../api.ts";
import { ident, type Store } from "../store/store.ts";
import type { FeatureStatus, FeatureValue } from "./types.ts";
import { onlineTable, type GroupFeatures } from "./materialize.ts";

export interface CachedRow {
  /** event_time of the row, epoch ms. */
  et: number;
  /** Feature values in the order of `CachedGroup.features`. */
  values: Scalar[];
}

export interface CachedGroup {
  plan: GroupPlan;
  table: string;
  /** Feature names held (those the served views read). */
  features: string[];
  rows: Map<string, CachedRow>;
  /** The table does not exist (nothing materialised yet): every lookup is not_found. */
  missing: boolean;
  /** `changed_at` of the table's state row when it was read (ms), null when none. */
  changedAt: number | null;
  loadedAt: Date;
}

/** The map key of an entity: its key values in the group's key order. */
export function entityKey(values: readonly Scalar[]): string {
  return values.length === 1 && typeof values[0] === "string" ? values[0] : JSON.stringify(values);
}

/** Reads a group's online table (only the features asked for). */
export async function loadGroup(store: Store, group: GroupFeatures, changedAt: number | null): Promise<CachedGroup> {
  const plan = group.plan;
  const table = onlineTable(plan);
  const features = group.features.map((f) => f.name);
  const base = { plan, table, features, changedAt, loadedAt: new Date() };
  if (!(await store.tableExists(table))) return { ...base, rows: new Map(), missing: true };
  const keyNames = plan.keys.map((k) => k.name);
  const select = [...keyNames.map(ident), `epoch_us(event_time) / 1000.0 AS __fti_et`, ...features.map(ident)];
  const res = await store.readColumns(`SELECT ${select.join(", ")} FROM ${ident(table)}`, undefined, {
    float64: ["__fti_et"],
    timestamps: "iso",
  });
  const et = res.columns.__fti_et as Float64Array;
  const keyCols = keyNames.map((k) => res.columns[k] as Scalar[]);
  const featCols = features.map((f) => res.columns[f] as Scalar[]);
  const rows = new Map<string, CachedRow>();
  const kv: Scalar[] = new Array(keyCols.length);
  for (let i = 0; i < res.n; i++) {
    for (let k = 0; k < keyCols.length; k++) kv[k] = keyCols[k][i];
    const values: Scalar[] = new Array(featCols.length);
    for (let f = 0; f < featCols.length; f++) values[f] = featCols[f][i] ?? null;
    rows.set(entityKey(kv), { et: et[i], values });
  }
  return { ...base, rows, missing: false };
}

export interface LookupResult {
  features: Record<string, FeatureValue>;
  /** Per group: event time (ISO) of the row used, null when not found. */
  times: Record<string, string | null>;
  /** Features whose status is not_found or stale. */
  missing: string[];
}

/**
 * The online features of one entity at `nowMs`. A row older than the ttl
 * (event_time < now - ttl) is stale: its values are served as null, as the
 * point-in-time join of training would give them.
 */
export function lookup(
  groups: readonly CachedGroup[],
  request: Record<string, Scalar>,
  nowMs: number,
  ttlMs: number | null,
): LookupResult {
  const features: Record<string, FeatureValue> = {};
  const times: Record<string, string | null> = {};
  const missing: string[] = [];
  for (const g of groups) {
    const key = entityKey(g.plan.keys.map((k) => request[k.name] ?? null));
    const row = g.rows.get(key);
    let status: FeatureStatus | null = null;
    if (!row) status = "not_found";
    else if (ttlMs !== null && row.et < nowMs - ttlMs) status = "stale";
    times[g.plan.name] = row ? new Date(row.et).toISOString() : null;
    for (let f = 0; f < g.features.length; f++) {
      const name = g.features[f];
      if (status !== null) {
        features[name] = { value: null, status };
        missing.push(name);
      } else {
        const v = row!.values[f];
        features[name] = v === null || v === undefined ? { value: null, status: "null" } : { value: v, status: "present" };
      }
    }
  }
  return { features, times, missing };
}
