// Redis (standalone or Redis Cluster) as the online store shared by any
// number of `fti serve` replicas. docs/online-store.md is the user's view.
//
// Layout, per online table `online_<group>_v<version>` (T) and entity key E
// (cache.ts's entityKey: the key value, or the JSON array of a composite key):
//   <p>:row:T:E   hash  t = the materialized row, s = the stream's row
//   <p>:ents:T    set   the entities that have a materialized row (t)
//   <p>:meta:T    hash  changed_at / materialized_at / entities / synced_at of the last sync
// A row is one JSON array — t: [event ms, valid_to ms | null, …every feature
// of the group in plan order], s: [event ms, …features] — written by one
// HSET: a reader sees a row whole, old or new, never half of it. Lookups read
// both fields of each (group, entity) with one HMGET; the commands of a
// request (a batch: one per instance and group) go out auto-pipelined, grouped
// by cluster node. No multi-key command is used, so no hash tags are needed.
// The reader then applies the in-memory store's own rules (cache.ts `lookup`)
// to the rows it fetched: statuses, ttl, the stream's row served when at least
// as recent, valid_to — the same answers by construction.

import type { GroupPlan, Scalar, SpecBundle } from "../api.ts";
import { UserError } from "../errors.ts";
import type { StreamUpdate } from "../stream/engine.ts";
import { describeHolder, holderIsGone, parseHolder, thisProcess, type WriterLease } from "../stream/writer-lock.ts";
import { entityKey, toFeatureColumn, type CachedGroup, type JoinLookup, type LateMark, type StreamedRow } from "./cache.ts";
import { KeyIndex } from "./key-index.ts";
import { onlineTable } from "./materialize.ts";
import type { OnlineStoreConfig } from "./online-store.ts";

type RedisConfig = Extract<OnlineStoreConfig, { kind: "redis" }>;
type Client = import("ioredis").default | import("ioredis").Cluster;

/** One join of a view (or an entity lookup): its group, the request fields its keys read, the features it gives. */
export interface JoinSpec {
  id: string;
  group: string;
  on: ReadonlyArray<{ key: string; column: string }>;
  features: ReadonlyArray<{ name: string; column: string }>;
}

/** The online store could not be reached or answered an error: the request is a 503 naming why. */
export class OnlineStoreUnavailable extends Error {
  override name = "OnlineStoreUnavailable";
}

/** A materialized row as stored: event time, valid_to, the group's features in plan order. */
export interface EncodedRow {
  eventMs: number;
  validToMs: number | null;
  values: Scalar[];
}

/** NaN and ±Infinity are kept as values (JSON has no literal for them). */
function encodeValue(v: Scalar): unknown {
  return typeof v === "number" && !Number.isFinite(v) ? { n: String(v) } : v;
}
function decodeValue(v: unknown): Scalar {
  return v !== null && typeof v === "object" ? Number((v as { n: string }).n) : (v as Scalar);
}

export function encodeTableRow(r: EncodedRow): string {
  return JSON.stringify([r.eventMs, r.validToMs, ...r.values.map(encodeValue)]);
}
function decodeTableRow(text: string): EncodedRow {
  const a = JSON.parse(text) as unknown[];
  return { eventMs: a[0] as number, validToMs: a[1] as number | null, values: a.slice(2).map(decodeValue) };
}
function encodeStreamRow(u: StreamUpdate): string {
  return JSON.stringify([u.eventMs, ...u.values.map(encodeValue)]);
}
function decodeStreamRow(text: string): { eventMs: number; values: Scalar[] } {
  const a = JSON.parse(text) as unknown[];
  return { eventMs: a[0] as number, values: a.slice(1).map(decodeValue) };
}

/** The metadata of a table's last sync (null fields: never synced). */
export interface RemoteGroupInfo {
  table: string;
  /** The DuckDB state's changed_at (ms) the rows reflect; null when no materialize ever wrote this store. */
  changedAt: number | null;
  entities: number;
  samples: string[];
}

/** A stream write waiting to be sent: a field of a row hash set, or removed (null). */
interface PendingWrite {
  key: string;
  field: string;
  value: string | null;
}

/** One group's rows for a request: the materialized ones, the stream's, the late-event marks. */
interface Fetched {
  group: CachedGroup;
  streamed: Map<string, StreamedRow>;
  late: Map<string, LateMark>;
}

export class RedisOnlineStore {
  readonly display: string;
  private readonly prefix: string;
  /** Stream rows not yet written (the store was unreachable), by key: retried before the next ones and by a timer. */
  private readonly pending = new Map<string, PendingWrite>();
  private writing: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly client: Client,
    cfg: RedisConfig,
  ) {
    this.display = cfg.display;
    this.prefix = cfg.prefix;
  }

  /** Connects (a few seconds at most); a UserError saying what to check when it cannot. */
  static async connect(cfg: RedisConfig, opts: { timeoutMs?: number } = {}): Promise<RedisOnlineStore> {
    const { default: Redis, Cluster } = await import("ioredis");
    const common = {
      username: cfg.username,
      password: cfg.password,
      ...(cfg.tls ? { tls: {} } : {}),
      connectTimeout: 3000,
      commandTimeout: 2000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
    };
    const client: Client =
      cfg.mode === "cluster"
        ? new Cluster(cfg.nodes, {
            lazyConnect: true,
            enableAutoPipelining: true,
            enableOfflineQueue: false,
            redisOptions: common,
            clusterRetryStrategy: (n) => (n > 3 ? null : 200 * n),
          })
        : new Redis({ ...cfg.nodes[0], db: cfg.db, ...common, lazyConnect: true, enableAutoPipelining: true, retryStrategy: (n) => Math.min(100 * n, 2000) });
    client.on("error", () => {}); // reported where a command fails
    const store = new RedisOnlineStore(client, cfg);
    const hint =
      cfg.mode === "cluster"
        ? "check --online-store / $FTI_ONLINE_STORE: list reachable nodes of a Redis Cluster (redis+cluster://host:port,…)"
        : "check --online-store / $FTI_ONLINE_STORE: is redis-server running there (redis-cli -h HOST -p PORT ping)?";
    try {
      await withTimeout(client.connect(), opts.timeoutMs ?? 5000, "no answer");
      if (cfg.mode === "standalone") {
        const info = await (client as import("ioredis").default).info("cluster");
        if (/cluster_enabled:1/.test(info)) {
          throw new UserError(`the online store ${cfg.display} is a node of a Redis Cluster`, `use redis+cluster://${cfg.nodes.map((n) => `${n.host}:${n.port}`).join(",")} to address the cluster`);
        }
      } else {
        const info = await (client as import("ioredis").Cluster).cluster("INFO");
        if (!/cluster_state:ok/.test(String(info))) throw new Error(`the cluster's state is not ok (${/cluster_state:(\w+)/.exec(String(info))?.[1] ?? "?"})`);
      }
    } catch (e) {
      client.disconnect();
      if (e instanceof UserError) throw e;
      throw new UserError(`cannot reach the online store ${cfg.display}: ${reason(e)}`, hint);
    }
    return store;
  }

  rowKey(table: string, key: string): string {
    return `${this.prefix}:row:${table}:${key}`;
  }
  entitiesKey(table: string): string {
    return `${this.prefix}:ents:${table}`;
  }
  metaKey(table: string): string {
    return `${this.prefix}:meta:${table}`;
  }

  /**
   * The view's joins for these requests: per group, the rows of the entities
   * the requests name (one HMGET each, pipelined), as a CachedGroup holding
   * just those and the stream's rows beside it — what cache.ts `lookup` reads.
   */
  async joins(joins: readonly JoinSpec[], groups: ReadonlyMap<string, { plan: GroupPlan; features: string[] }>, requests: ReadonlyArray<Record<string, Scalar>>): Promise<JoinLookup[]> {
    const keysByGroup = new Map<string, Set<string>>();
    for (const j of joins) {
      let keys = keysByGroup.get(j.group);
      if (!keys) keysByGroup.set(j.group, (keys = new Set()));
      for (const req of requests) keys.add(entityKey(j.on.map((o) => req[o.column] ?? null)));
    }
    const fetched = new Map<string, Fetched>();
    await Promise.all(
      [...keysByGroup].map(async ([name, keys]) => {
        const g = groups.get(name);
        if (g) fetched.set(name, await this.fetchGroup(g.plan, g.features, [...keys]));
      }),
    );
    const out: JoinLookup[] = [];
    for (const j of joins) {
      const f = fetched.get(j.group);
      if (f) out.push({ id: j.id, group: f.group, on: j.on, features: j.features, streamed: f.streamed, ...(f.late.size ? { late: f.late } : {}) });
    }
    return out;
  }

  private async fetchGroup(plan: GroupPlan, features: string[], keys: string[]): Promise<Fetched> {
    const table = onlineTable(plan);
    const replies = await this.call(() => Promise.all(keys.map((k) => this.client.hmget(this.rowKey(table, k), "t", "s", "l"))));
    const at = features.map((f) => plan.features.findIndex((p) => p.name === f));
    const index = new KeyIndex(keys.length);
    const eventMs: number[] = [];
    const validTo: number[] = [];
    const values: Scalar[][] = features.map(() => []);
    const streamed = new Map<string, StreamedRow>();
    const late = new Map<string, LateMark>();
    replies.forEach(([t, s, l], i) => {
      if (l !== null) late.set(keys[i], JSON.parse(l) as LateMark);
      if (t !== null) {
        const row = decodeTableRow(t);
        index.set(keys[i], eventMs.length);
        eventMs.push(row.eventMs);
        validTo.push(row.validToMs ?? NaN);
        at.forEach((p, c) => values[c].push(row.values[p] ?? null));
      }
      if (s !== null) {
        const row = decodeStreamRow(s);
        const named: Record<string, Scalar> = {};
        plan.features.forEach((f, p) => (named[f.name] = row.values[p] ?? null));
        streamed.set(keys[i], { eventMs: row.eventMs, values: named });
      }
    });
    const group: CachedGroup = {
      plan,
      table,
      features,
      index,
      eventMs: Float64Array.from(eventMs),
      ...(plan.reference?.validTo ? { validToMs: Float64Array.from(validTo) } : {}),
      columns: values.map((v) => toFeatureColumn(v)),
      missing: false,
      changedAt: null,
      loadedAt: new Date(),
    };
    return { group, streamed, late };
  }

  /**
   * The stream's new rows (the stream writer's only write): each entity's row
   * in its group's hash, field `s`. Resolves once every row, and every row a
   * failed earlier write left, is in Redis; rejects with OnlineStoreUnavailable
   * otherwise (the rows are kept and retried: at the next write, and every second).
   */
  writeStreamed(bundle: SpecBundle, updates: readonly StreamUpdate[], marks: ReadonlyArray<{ group: string; key: string; mark: LateMark | null }> = []): Promise<void> {
    const table = (group: string) => {
      const plan = bundle.groups.find((g) => g.name === group);
      return plan ? onlineTable(plan) : null;
    };
    for (const u of updates) {
      const t = table(u.group);
      if (t) this.queue(this.rowKey(t, entityKey(u.keys)), "s", encodeStreamRow(u));
    }
    // An entity's late-event mark (field l; null: cleared by a rebuild that applied its events).
    for (const m of marks) {
      const t = table(m.group);
      if (t) this.queue(this.rowKey(t, m.key), "l", m.mark && JSON.stringify(m.mark));
    }
    return this.schedule();
  }

  private queue(key: string, field: string, value: string | null): void {
    this.pending.set(`${field}\u0000${key}`, { key, field, value });
  }

  /** One flush at a time: rows of one entity reach Redis in the order the stream computed them. */
  private schedule(): Promise<void> {
    const run = this.writing.catch(() => undefined).then(() => this.flushPending());
    this.writing = run;
    return run;
  }

  private async flushPending(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending];
    try {
      await this.call(() => Promise.all(batch.map(([, w]) => (w.value === null ? this.client.hdel(w.key, w.field) : this.client.hset(w.key, w.field, w.value)))));
    } catch (e) {
      this.retryTimer ??= setInterval(() => void this.schedule().catch(() => undefined), 1000).unref();
      throw e;
    }
    // Rows that changed again meanwhile stay pending.
    for (const [k, v] of batch) if (this.pending.get(k) === v) this.pending.delete(k);
    if (this.pending.size === 0 && this.retryTimer) {
      clearInterval(this.retryTimer);
      this.retryTimer = null;
    }
  }

  /** Stream rows waiting for the store to come back. */
  get pendingRows(): number {
    return this.pending.size;
  }

  /**
   * The writer lease of a stream in this store (the one-writer rule across
   * machines: stream/writer-lock.ts): a key holding its holder, set only when
   * absent or already ours, with a 15 s expiry renewed every 5 s; a holder on
   * this host whose process is gone (kill -9) is replaced at once.
   */
  lease(source: string): WriterLease {
    const key = `${this.prefix}:lease:stream:${source}`;
    const me = JSON.stringify(thisProcess());
    const term = leaseMs();
    let timer: NodeJS.Timeout | null = null;
    /** When the last renewal that made it ours was sent: it holds until then + term (by Redis's clock; a margin for ours). */
    let heldSince = -Infinity;
    const take = async (): Promise<string> => {
      const sent = performance.now();
      const h = (await this.call(() => this.client.eval(TAKE_LEASE, 1, key, me, String(term)))) as string;
      if (h === "") heldSince = sent;
      return h;
    };
    const lease: WriterLease = {
      what: `lease ${key} in ${this.display}`,
      acquire: async () => {
        let holder = await take();
        const other = parseHolder(holder);
        if (holder !== "" && other && holderIsGone(other)) {
          await this.call(() => this.client.eval(REPLACE_LEASE, 1, key, holder, me, String(term)));
          holder = await take();
        }
        if (holder !== "") return describeHolder(parseHolder(holder) ?? { pid: 0, host: "?", since: "?", token: "" });
        timer = setInterval(() => {
          take().then(
            (h) => {
              if (h !== "") lease.onLost?.(describeHolder(parseHolder(h) ?? { pid: 0, host: "?", since: "?", token: "" }));
            },
            () => undefined, // unreachable: kept while it lasts (the stream's writes fail meanwhile anyway)
          );
        }, term / 3).unref();
        return null;
      },
      valid: () => performance.now() - heldSince < term * 0.8,
      renew: async () => {
        const h = await take();
        return h === "" ? null : describeHolder(parseHolder(h) ?? { pid: 0, host: "?", since: "?", token: "" });
      },
      release: async () => {
        if (timer) clearInterval(timer);
        timer = null;
        heldSince = -Infinity;
        await this.call(() => this.client.eval(RELEASE_LEASE, 1, key, me)).catch(() => undefined);
      },
    };
    return lease;
  }

  /** Per table: the last sync's metadata, entity count and a few entity keys (the page's suggestions). */
  async groupInfo(table: string): Promise<RemoteGroupInfo> {
    const [meta, entities, samples] = await this.call(() =>
      Promise.all([this.client.hget(this.metaKey(table), "changed_at"), this.client.scard(this.entitiesKey(table)), this.client.srandmember(this.entitiesKey(table), 20)]),
    );
    return { table, changedAt: meta === null || meta === "" ? null : Number(meta), entities, samples: samples.sort() };
  }

  /** Runs Redis commands; any failure becomes OnlineStoreUnavailable with the reason. */
  async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw new OnlineStoreUnavailable(`the online store ${this.display} is unavailable: ${reason(e)}`);
    }
  }

  /**
   * `call` for commands that may run twice (writing the same values again
   * changes nothing): a command that timed out is sent again, up to
   * `attempts` times in all. A bulk copy (materialize) on a busy Redis or
   * machine then waits instead of failing on one slow answer; serving keeps
   * `call`'s one attempt, where an answer late by seconds is no answer.
   */
  async callIdempotent<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (attempt >= attempts || !isCommandTimeout(e)) throw new OnlineStoreUnavailable(`the online store ${this.display} is unavailable: ${reason(e)}`);
      }
    }
  }

  async close(): Promise<void> {
    if (this.retryTimer) clearInterval(this.retryTimer);
    this.retryTimer = null;
    await this.writing.catch(() => undefined);
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}

/** The lease's term (renewed every third of it): $FTI_STREAM_LEASE_MS, default 15 s. */
const leaseMs = () => {
  const v = Number(process.env.FTI_STREAM_LEASE_MS ?? 15_000);
  return Number.isFinite(v) && v >= 300 ? v : 15_000;
};
/** Takes or renews the lease: "" when it is ours now, else the holder. */
const TAKE_LEASE = `local v = redis.call('GET', KEYS[1])
if (not v) or v == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return '' end
return v`;
/** Replaces a gone holder, unless it changed meanwhile. */
const REPLACE_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return 1`;
const RELEASE_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end return 1`;

/** ioredis's error for a command unanswered within `commandTimeout` (the command may still have run). */
const isCommandTimeout = (e: unknown): boolean => /Command timed out/.test((e as Error)?.message ?? "");

/** A short reason from an ioredis or socket error. */
function reason(e: unknown): string {
  const m = (e as Error)?.message ?? String(e);
  if (/ECONNREFUSED/.test(m)) return "connection refused";
  if (/enableOfflineQueue|Connection is closed|Stream isn't writeable/.test(m)) return "not connected (the connection was lost; reconnecting)";
  return m.split("\n")[0].slice(0, 200);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, fail) => (timer = setTimeout(() => fail(new Error(`${what} within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}
