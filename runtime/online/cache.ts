// The service's in-process copy of the online tables: per feature group, the
// latest row of each entity. The service reads the tables while it holds the
// store open (briefly, read-only), then serves from memory; a reload
// replaces a group as a whole.
//
// The rows are held column-wise: a KeyIndex from the entity key to a row
// index (the keys packed in typed arrays, key-index.ts), a Float64Array of
// event times, and per feature either a Float64Array (with a null mask) when
// every value is a number, or the plain value array. A million entities are
// then a handful of typed arrays instead of millions of heap objects (one
// object and one array per row, then a Map of a million key strings): the
// major GCs of a loaded server (which mark every live object) stay short
// instead of pausing requests.

import type { GroupPlan, Scalar } from "../api.ts";
import { type Store } from "../store/store.ts";
import { ident, partitionBy, sqlTimestamp, tableRef } from "../store/sql.ts";
import type { FeatureStatus, FeatureValue } from "./types.ts";
import { KeyIndex } from "./key-index.ts";
import { latestRowOrder, onlineTable, type GroupFeatures } from "./materialize.ts";

/** One feature's values by row index. */
export type FeatureColumn =
  /** Numbers only: `nulls[i] === 1` marks a null (NaN stays a value). */
  | { kind: "number"; values: Float64Array; nulls: Uint8Array }
  /** Anything else (strings, booleans, mixed): the values as read. */
  | { kind: "scalar"; values: Scalar[] };

export interface CachedGroup {
  plan: GroupPlan;
  table: string;
  /** Feature names held (those the served views read), in the order of `columns`. */
  features: string[];
  /** Entity key (`entityKey`) → row index. */
  index: KeyIndex;
  /** event_time of each row, epoch ms. */
  eventMs: Float64Array;
  /** Reference data with valid_to: when each row stops holding (epoch ms, NaN: still holds). */
  validToMs?: Float64Array;
  columns: FeatureColumn[];
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

/** A column of values as read → its compact form (numbers → Float64Array + null mask). */
export function toFeatureColumn(values: ReadonlyArray<Scalar | undefined>): FeatureColumn {
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v !== null && v !== undefined && typeof v !== "number") {
      return { kind: "scalar", values: Array.from(values, (x) => x ?? null) };
    }
  }
  const out = new Float64Array(n);
  const nulls = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) nulls[i] = 1;
    else out[i] = v as number;
  }
  return { kind: "number", values: out, nulls };
}

/** The value of row `i` of a column (null for a null). */
export function columnValue(col: FeatureColumn, i: number): Scalar {
  if (col.kind === "number") return col.nulls[i] === 1 ? null : col.values[i];
  return col.values[i];
}

/**
 * Reads a group's online table (only the features asked for). With `asOf`,
 * reads instead each entity's latest row of the offline table with
 * event_time ≤ asOf, as featuresAsOf (batch inference, verify) picks it (the
 * online table holds the latest row of all, which may be later than a pinned
 * request time).
 */
export async function loadGroup(store: Store, group: GroupFeatures, changedAt: number | null, asOf: Date | null = null): Promise<CachedGroup> {
  const plan = group.plan;
  const table = asOf ? plan.table : onlineTable(plan);
  const features = group.features.map((f) => f.name);
  const base = { plan, table, features, changedAt, loadedAt: new Date() };
  if (!(await store.tableExists(table))) {
    return { ...base, index: new KeyIndex(), eventMs: new Float64Array(0), columns: features.map(() => toFeatureColumn([])), missing: true };
  }
  const keyNames = plan.keys.map((k) => k.name);
  const validTo = plan.reference?.validTo === true;
  const select = [
    ...keyNames.map(ident),
    `epoch_us(event_time) / 1000.0 AS __fti_et`,
    ...(validTo ? [`epoch_us(valid_to) / 1000.0 AS __fti_vt`] : []),
    ...features.map(ident),
  ];
  const from = asOf
    ? `${tableRef(table)} AS o WHERE o.event_time <= ${sqlTimestamp(asOf)}
       QUALIFY row_number() OVER (${partitionBy(keyNames.map((k) => `o.${ident(k)}`).join(", "))}ORDER BY ${latestRowOrder(plan, "o").join(", ")}) = 1`
    : ident(table);
  const res = await store.readColumns(`SELECT ${select.join(", ")} FROM ${from}`, undefined, {
    float64: ["__fti_et", ...(validTo ? ["__fti_vt"] : [])],
    timestamps: "iso",
  });
  const keyCols = keyNames.map((k) => res.columns[k] as Scalar[]);
  const index = new KeyIndex(res.n);
  const kv: Scalar[] = new Array(keyCols.length);
  for (let i = 0; i < res.n; i++) {
    for (let k = 0; k < keyCols.length; k++) kv[k] = keyCols[k][i];
    index.set(entityKey(kv), i);
  }
  const columns = features.map((f) => toFeatureColumn(res.columns[f] as Scalar[]));
  return {
    ...base,
    index,
    eventMs: res.columns.__fti_et as Float64Array,
    ...(validTo ? { validToMs: res.columns.__fti_vt as Float64Array } : {}),
    columns,
    missing: false,
  };
}

/** Why a join gives no values. */
export type MissingStatus = Exclude<FeatureStatus, "present" | "null">;

export interface LookupResult {
  features: Record<string, FeatureValue>;
  /** Per join (`group(column, …)`): event time (ISO) of the row used, null when not found. */
  times: Record<string, string | null>;
  /** Features whose status is not_found, stale or future. */
  missing: string[];
  /** The joins whose row was not found or stale, with the key values looked up. */
  missingJoins: Array<{ id: string; status: MissingStatus; keys: Record<string, Scalar> }>;
  /** Per join whose entity's row misses late events: how many, since when (absent when none). */
  late?: Record<string, LateMark>;
}

/** A group's row of one entity as the stream computed it (newer than the online table's, or absent there). */
export interface StreamedRow {
  eventMs: number;
  values: Record<string, Scalar>;
}

/** An entity whose streamed row misses late events (stored, applied online by the next rebuild: docs/streaming.md). */
export interface LateMark {
  events: number;
  /** The oldest such event's time (ISO). */
  oldest_event_time: string;
}

/** One point-in-time join of a served view, against the cached group it reads. */
export interface JoinLookup {
  id: string;
  group: CachedGroup;
  /** The group's rows the stream updated, by entity key: served instead of the table's row when at least as recent. */
  streamed?: ReadonlyMap<string, StreamedRow>;
  /** The group's entities whose online row misses late events, by entity key. */
  late?: ReadonlyMap<string, LateMark>;
  /** Per group key: the request field holding its value. */
  on: ReadonlyArray<{ key: string; column: string }>;
  /** Vector name and stored column of each feature it gives. */
  features: ReadonlyArray<{ name: string; column: string }>;
}

/**
 * A lookup of a group by its own entity's keys, read from the request fields
 * of the same names (what an agent's context and MCP's online features read);
 * `features`: the stored features to give (default: all the group holds).
 */
export function entityJoin(group: CachedGroup, features: readonly string[] = group.features): JoinLookup {
  return {
    id: group.plan.name,
    group,
    on: group.plan.keys.map((k) => ({ key: k.name, column: k.name })),
    features: features.map((name) => ({ name, column: name })),
  };
}

/**
 * The online features of one request at `nowMs`: each join looks its group's
 * row up by the request fields it maps onto the group's keys. A row older than
 * the ttl (event_time < now - ttl) is stale: its values are served as null, as
 * the point-in-time join of training would give them. A row from after the
 * request time is `future`: never served, the values are null (a request time
 * in the past of a server whose online rows are later; `--now` loads rows as
 * of the pinned time instead).
 */
export function lookup(
  joins: readonly JoinLookup[],
  request: Record<string, Scalar>,
  nowMs: number,
  ttlMs: number | null,
): LookupResult {
  const out: LookupResult = { features: {}, times: {}, missing: [], missingJoins: [] };
  for (const j of joins) {
    const g = j.group;
    const values = j.on.map((o) => request[o.column] ?? null);
    const key = values.length === 1 && typeof values[0] === "string" ? values[0] : entityKey(values);
    const row = g.index.get(key);
    // The stream's row of the entity, when it is at least as recent as the table's (streams are event data: no valid_to).
    const streamed = j.streamed?.get(key);
    const useStream = streamed !== undefined && (row === undefined || streamed.eventMs >= g.eventMs[row]);
    const eventMs = useStream ? streamed.eventMs : row === undefined ? null : g.eventMs[row];
    let status: MissingStatus | null = null;
    if (eventMs === null) status = "not_found";
    else if (eventMs > nowMs) status = "future";
    else if (g.plan.reference) {
      // Reference data: no ttl; a row past its valid_to no longer holds (as in the point-in-time join).
      if (g.validToMs && g.validToMs[row!] <= nowMs) status = "not_found";
    } else if (ttlMs !== null && eventMs < nowMs - ttlMs) status = "stale";
    out.times[j.id] = eventMs === null ? null : new Date(eventMs).toISOString();
    const mark = j.late?.get(key);
    if (mark) (out.late ??= {})[j.id] = mark;
    if (status !== null) out.missingJoins.push({ id: j.id, status, keys: Object.fromEntries(j.on.map((o, i) => [o.column, values[i]])) });
    for (const f of j.features) {
      if (status !== null) {
        out.features[f.name] = { value: null, status };
        out.missing.push(f.name);
      } else {
        const v = useStream ? (streamed.values[f.column] ?? null) : columnValue(g.columns[g.features.indexOf(f.column)], row!);
        out.features[f.name] = v === null ? { value: null, status: "null" } : { value: v, status: "present" };
      }
    }
  }
  return out;
}
