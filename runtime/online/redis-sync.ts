// `fti materialize --online-store redis://…`: after the DuckDB online tables
// are written (materialize.ts, one transaction), their rows are copied to
// Redis (redis-store.ts has the layout). Only what the run changed is copied
// when Redis was in step with the store before the run (its meta's changed_at
// equals the store's changed_at before the run): the rows the run wrote
// (materialized_at ≥ the last sync's newest) and, when the run removed
// entities, the ones Redis holds that the table no longer has. Otherwise
// (a new or flushed Redis, a sync that failed, a materialize run without
// --online-store) every row is copied and every extra entity removed. Each
// row is one HSET, so a replica reads an entity's old row or its new one; the
// meta is written last, so a sync that fails is redone whole by the next run.
// Running it again changes nothing: writes are idempotent.

import type { GroupPlan, Scalar, SpecBundle } from "../api.ts";
import type { Store } from "../store/store.ts";
import { ident, sqlTimestamp } from "../store/sql.ts";
import { entityKey } from "./cache.ts";
import { materialize, onlineTable, readOnlineState, type MaterializeOptions, type MaterializeReport } from "./materialize.ts";
import type { OnlineStoreConfig } from "./online-store.ts";
import { encodeTableRow, RedisOnlineStore } from "./redis-store.ts";

export interface RedisSyncReport {
  group: string;
  table: string;
  /** unchanged: Redis already had this state; incremental: the run's rows; full: every row; skipped: no online table. */
  mode: "unchanged" | "incremental" | "full" | "skipped";
  written: number;
  removed: number;
  entities: number;
  ms: number;
}

/** The store's changed_at per online table, before a materialize run (what tells whether Redis was in step). */
export async function changedAtBefore(store: Store): Promise<Map<string, number | null>> {
  return new Map((await readOnlineState(store)).map((s) => [s.online_table, s.changed_at ? s.changed_at.getTime() : null]));
}

const CHUNK = 20_000;
const IN_FLIGHT = 2_000;

export type SharedMaterializeReport = MaterializeReport & { shared: { store: string; groups: RedisSyncReport[] } };

/**
 * `fti materialize` with a shared store: connects first (a wrong URL fails
 * before anything is written), runs the DuckDB materialization, then syncs the
 * groups it covered, with the store still open.
 */
export async function materializeShared(
  cfg: Extract<OnlineStoreConfig, { kind: "redis" }>,
  bundle: SpecBundle,
  opts: MaterializeOptions,
  withStore: <T>(fn: (store: Store) => Promise<T>) => Promise<T>,
): Promise<SharedMaterializeReport> {
  const redis = await RedisOnlineStore.connect(cfg);
  try {
    return await withStore(async (store) => {
      const before = await changedAtBefore(store);
      const report = await materialize(store, bundle, opts);
      const plans = bundle.groups.filter((p) => report.groups.some((g) => g.group === p.name));
      const removed = new Map(report.groups.map((g) => [g.table, g.deleted]));
      return { ...report, shared: { store: redis.display, groups: await syncToRedis(store, redis, plans, before, removed) } };
    });
  } finally {
    await redis.close();
  }
}

export async function syncToRedis(
  store: Store,
  redis: RedisOnlineStore,
  groups: readonly GroupPlan[],
  before: ReadonlyMap<string, number | null>,
  removedThisRun: ReadonlyMap<string, number>,
): Promise<RedisSyncReport[]> {
  const state = await readOnlineState(store);
  const out: RedisSyncReport[] = [];
  for (const plan of groups) {
    const t0 = performance.now();
    const table = onlineTable(plan);
    const row = state.find((s) => s.online_table === table);
    const done = (r: Omit<RedisSyncReport, "group" | "table" | "ms">) => out.push({ group: plan.name, table, ...r, ms: Math.round(performance.now() - t0) });
    if (!row || !(await store.tableExists(table))) {
      done({ mode: "skipped", written: 0, removed: 0, entities: 0 });
      continue;
    }
    const changedAt = row.changed_at ? row.changed_at.getTime() : null;
    const meta = await redis.callIdempotent(() => redis.client.hgetall(redis.metaKey(table)));
    const metaChanged = meta.changed_at === undefined ? undefined : meta.changed_at === "" ? null : Number(meta.changed_at);
    if (metaChanged !== undefined && metaChanged === changedAt && Number(meta.entities) === row.entities) {
      done({ mode: "unchanged", written: 0, removed: 0, entities: row.entities });
      continue;
    }
    const inStep = metaChanged !== undefined && metaChanged === (before.get(table) ?? null) && meta.materialized_max !== undefined;
    const since = inStep ? Number(meta.materialized_max) : null;
    const written = await copyRows(store, redis, plan, table, since);
    const removed = !inStep || (removedThisRun.get(table) ?? 0) > 0 ? await removeExtra(store, redis, plan, table) : 0;
    const [maxRow] = await store.all<{ m: number | null }>(`SELECT epoch_ms(max(materialized_at)) AS m FROM ${ident(table)}`);
    const max = Math.max(Number(maxRow.m ?? 0), since ?? 0);
    await redis.callIdempotent(() =>
      redis.client.hset(redis.metaKey(table), {
        changed_at: changedAt === null ? "" : String(changedAt),
        materialized_max: String(max),
        entities: String(row.entities),
        synced_at: String(Date.now()),
      }),
    );
    done({ mode: inStep ? "incremental" : "full", written, removed, entities: row.entities });
  }
  return out;
}

/** The key columns, event time, valid_to and every feature of a group's online rows (as the in-memory store reads them). */
function rowSelect(plan: GroupPlan): string[] {
  return [
    ...plan.keys.map((k) => ident(k.name)),
    `epoch_us(event_time) / 1000.0 AS __fti_et`,
    ...(plan.reference?.validTo ? [`epoch_us(valid_to) / 1000.0 AS __fti_vt`] : []),
    ...plan.features.map((f) => ident(f.name)),
  ];
}

/** Copies the rows materialized at or after `since` (every row when null), a chunk of rowids at a time. */
async function copyRows(store: Store, redis: RedisOnlineStore, plan: GroupPlan, table: string, since: number | null): Promise<number> {
  const [range] = await store.all<{ lo: number | null; hi: number | null }>(`SELECT min(rowid) AS lo, max(rowid) AS hi FROM ${ident(table)}`);
  if (range.lo === null || range.hi === null) return 0;
  const filter = since === null ? "" : ` AND materialized_at >= ${sqlTimestamp(new Date(since))}`;
  const validTo = plan.reference?.validTo === true;
  let written = 0;
  for (let lo = Number(range.lo); lo <= Number(range.hi); lo += CHUNK) {
    const res = await store.readColumns(
      `SELECT ${rowSelect(plan).join(", ")} FROM ${ident(table)} WHERE rowid >= ${lo} AND rowid < ${lo + CHUNK}${filter}`,
      undefined,
      { float64: ["__fti_et", ...(validTo ? ["__fti_vt"] : [])], timestamps: "iso" },
    );
    if (res.n === 0) continue;
    const keyCols = plan.keys.map((k) => res.columns[k.name] as Scalar[]);
    const featureCols = plan.features.map((f) => res.columns[f.name] as Scalar[]);
    const et = res.columns.__fti_et as Float64Array;
    const vt = res.columns.__fti_vt as Float64Array | undefined;
    // A few thousand commands in flight at a time: each answers within the client's command timeout even on a busy Redis or machine.
    for (let from = 0; from < res.n; from += IN_FLIGHT) {
      const keys: string[] = [];
      const values: string[] = [];
      for (let i = from; i < Math.min(res.n, from + IN_FLIGHT); i++) {
        keys.push(entityKey(keyCols.map((c) => c[i])));
        values.push(encodeTableRow({ eventMs: et[i], validToMs: vt && Number.isFinite(vt[i]) ? vt[i] : null, values: featureCols.map((c) => c[i] ?? null) }));
      }
      // the same HSETs and SADD sent again write the same values: safe to repeat after a timeout
      await redis.callIdempotent(() =>
        Promise.all([...keys.map((key, j) => redis.client.hset(redis.rowKey(table, key), "t", values[j])), redis.client.sadd(redis.entitiesKey(table), ...keys)]),
      );
    }
    written += res.n;
  }
  return written;
}

/** Entities Redis holds a materialized row for that the online table no longer has: their row (field t) removed. */
async function removeExtra(store: Store, redis: RedisOnlineStore, plan: GroupPlan, table: string): Promise<number> {
  // A global group (no keys) has one entity: its row, when there is one.
  const keyList = plan.keys.map((k) => ident(k.name)).join(", ") || "1 AS __fti_all";
  const res = await store.readColumns(`SELECT ${keyList} FROM ${ident(table)}`, undefined, { timestamps: "iso" });
  const keyCols = plan.keys.map((k) => res.columns[k.name] as Scalar[]);
  const have = new Set<string>();
  for (let i = 0; i < res.n; i++) have.add(entityKey(keyCols.map((c) => c[i])));
  let cursor = "0";
  let removed = 0;
  do {
    const [next, members] = await redis.callIdempotent(() => redis.client.sscan(redis.entitiesKey(table), cursor, "COUNT", 5000));
    cursor = next;
    const extra = members.filter((m) => !have.has(m));
    if (extra.length) {
      await redis.callIdempotent(() => Promise.all([...extra.map((k) => redis.client.hdel(redis.rowKey(table, k), "t")), redis.client.srem(redis.entitiesKey(table), ...extra)]));
      removed += extra.length;
    }
  } while (cursor !== "0");
  return removed;
}
