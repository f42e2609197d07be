// store-memory: the memory of a serving process with the in-memory online
// store (every online row in the process) vs with a Redis online store (the
// rows in redis-server), at 1,000,000 entities ($FTI_BENCH_STORE_ENTITIES;
// --quick: 10,000): the batch suite's store (its athletes; --quick: the small
// one), copied, with each online table keyed by one string grown to that many rows (its rows again under new keys
// `<key>-syn-<k>`: the same shapes and values, more entities).
// Memory is meaningful on a loaded machine (latency is not: the online-store
// suite measures that, at --quick size). Per store, in its own child process:
// OnlineService.open (what `fti serve` runs before it listens), then 1,000
// predictions (the same answers from either store, the same
// answers); the process's RSS and JS heap once loaded, and its peak RSS.
// redis-server's own used memory is reported beside it: with Redis the rows
// move there, they do not vanish.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { GroupPlan } from "../../runtime/api.ts";
import { materialize, onlineTable } from "../../runtime/online/materialize.ts";
import { parseOnlineStore } from "../../runtime/online/online-store.ts";
import { RedisOnlineStore } from "../../runtime/online/redis-store.ts";
import { changedAtBefore, syncToRedis } from "../../runtime/online/redis-sync.ts";
import { OnlineService } from "../../runtime/online/service.ts";
import { ident } from "../../runtime/store/sql.ts";
import { openStore } from "../../runtime/store/store.ts";
import { hasRedis, noRedisReason, startRedis } from "../../test/helpers/redis-server.ts";
import { ensureActivities, type ActivitiesData } from "../lib/data.ts";
import { fmtInt, fmtKB, fmtMs, runNodeTask } from "../lib/harness.ts";
import { copyFileSync, existsSync } from "node:fs";
import { ensureCompiled, loadBundle } from "../lib/spec.ts";
import type { Ctx, Suite } from "../lib/suite.ts";
import { ensureBatchStore } from "./batch.ts";

const MODEL = "finish_time";
/** Entities per grown online table: $FTI_BENCH_STORE_ENTITIES, else 1,000,000 (--quick: 10,000, so the bench smoke test stays short). */
const entitiesOf = (ctx: Ctx) => Number(process.env.FTI_BENCH_STORE_ENTITIES ?? (ctx.quick ? 10_000 : 1_000_000));

interface Opened {
  loadedRssKB: number;
  loadedHeapKB: number;
  openMs: number;
  ok: number;
  answers: string;
}

export const tasks = {
  /** The online tables (materialized, then inflated to `entities` rows), then their copy in Redis. */
  async prepare(a: { data: ActivitiesData; store: string; url: string; memoryLimit: string; entities: number }): Promise<Record<string, unknown>> {
    const bundle = await loadBundle(a.data);
    const withStore = async <T>(fn: (s: Awaited<ReturnType<typeof openStore>>) => Promise<T>): Promise<T> => {
      const store = await openStore({ path: a.store, memoryLimit: a.memoryLimit });
      try {
        return await fn(store);
      } finally {
        await store.close();
      }
    };
    await withStore((s) => materialize(s, bundle));
    const inflated = await withStore((s) => inflate(s, bundle.groups, a.entities));
    const t0 = performance.now();
    // Every online table copied (a fresh Redis: the full copy `fti materialize --online-store` makes the first time).
    const redis = await RedisOnlineStore.connect(parseOnlineStore(a.url) as Extract<ReturnType<typeof parseOnlineStore>, { kind: "redis" }>);
    try {
      const groups = await withStore(async (s) => syncToRedis(s, redis, bundle.groups, await changedAtBefore(s), new Map()));
      return { ms: performance.now() - t0, cpuMs: NaN, rows: groups.reduce((n, g) => n + g.written, 0), inflated };
    } finally {
      await redis.close();
    }
  },

  /** Opens the service on one store, answers 1,000 predictions; its memory once loaded (the worker adds the peak RSS). */
  async open(a: { data: ActivitiesData; store: string; asOf: string; ids: string; url: string | null }): Promise<Opened & { ms: number; cpuMs: number }> {
    const bundle = await loadBundle(a.data);
    const asOf = new Date(a.asOf).getTime();
    const t0 = performance.now();
    const service = await OnlineService.open(bundle, { store: a.store, logs: false, watch: false, now: () => asOf, ...(a.url ? { onlineStore: parseOnlineStore(a.url) } : {}) });
    const openMs = performance.now() - t0;
    try {
      const loaded = process.memoryUsage();
      const ids = JSON.parse(readFileSync(a.ids, "utf8")) as string[];
      const hash = createHash("sha256");
      let ok = 0;
      for (let i = 0; i < 1000; i++) {
        const r = await service.predict(MODEL, { athlete_id: ids[(i * 7919) % ids.length], distance_km: [5, 10, 21.1, 42.2][i % 4] });
        if (r.status === 200) ok++;
        const { request_id: _id, ...rest } = r.body as Record<string, unknown>;
        hash.update(`${r.status}${JSON.stringify(rest)}\n`);
      }
      return { ms: openMs, cpuMs: NaN, openMs, loadedRssKB: Math.round(loaded.rss / 1024), loadedHeapKB: Math.round(loaded.heapUsed / 1024), ok, answers: hash.digest("hex") };
    } finally {
      await service.close();
    }
  },
};

/** Each online table keyed by one string column, grown to `n` rows: its rows again under keys `<key>-syn-<k>`. Returns the tables grown. */
async function inflate(store: Awaited<ReturnType<typeof openStore>>, groups: readonly GroupPlan[], n: number): Promise<string[]> {
  const out: string[] = [];
  for (const g of groups) {
    const t = onlineTable(g);
    if (g.keys.length !== 1 || g.keys[0].type !== "string" || !(await store.tableExists(t))) continue;
    const [c] = await store.all<{ n: number | bigint }>(`SELECT count(*) AS n FROM ${ident(t)}`);
    const have = Number(c.n);
    if (have === 0 || have >= n) continue;
    const k = ident(g.keys[0].name);
    await store.run(
      `INSERT INTO ${ident(t)} SELECT o.* EXCLUDE (__fti_j) REPLACE (o.${k} || '-syn-' || CAST(r.i AS VARCHAR) AS ${k})
         FROM (SELECT *, row_number() OVER () - 1 AS __fti_j FROM ${ident(t)}) AS o, range(${Math.ceil(n / have) - 1}) AS r(i)
        WHERE r.i * ${have} + o.__fti_j < ${n - have}`,
    );
    out.push(t);
  }
  return out;
}

/** redis-server's used memory (INFO memory), in KB. */
function redisUsedKB(url: string): number {
  const port = new URL(url).port;
  const out = spawnSync("redis-cli", ["-h", "127.0.0.1", "-p", port, "INFO", "memory"], { encoding: "utf8" }).stdout;
  return Math.round(Number(/^used_memory:(\d+)/m.exec(out)?.[1] ?? NaN) / 1024);
}

export const suite: Suite = {
  name: "store-memory",
  describe: "memory of a serving process at 1 M entities (--quick: 10 k): in-memory online store vs a Redis online store",
  async run(ctx: Ctx) {
    const S = "store-memory";
    if (!hasRedis) {
      ctx.out.note(S, `skipped: ${noRedisReason}`);
      return;
    }
    const data = await ensureActivities(ctx.batchActs, { csv: false });
    await ensureCompiled();
    const work = ctx.work(S);
    const batch = await ensureBatchStore(ctx, data);
    const { asOf } = batch;
    // A copy: the batch suite's cached store stays as it is.
    const store = join(work, "store.duckdb");
    copyFileSync(batch.store, store);
    if (existsSync(`${batch.store}.wal`)) copyFileSync(`${batch.store}.wal`, `${store}.wal`);
    const ENTITIES = entitiesOf(ctx);
    const redis = await startRedis();
    try {
      const prep = await runNodeTask<{ ms: number; rows: number; inflated: string[] }>(`${S}.prepare`, { data, store, url: redis.url, memoryLimit: ctx.memoryLimit, entities: ENTITIES });
      const redisKB = redisUsedKB(redis.url);
      ctx.out.note(S, `online tables grown to ${fmtInt(ENTITIES)} entities: ${prep.inflated.join(", ")}; copied to Redis: ${fmtInt(prep.rows)} rows in ${fmtMs(prep.ms)}; redis-server used memory ${fmtKB(redisKB)}`);
      const ids = join(work, "ids.json");
      await runNodeTask("online.ids", { data, n: 5000, out: ids, asOf });
      const base = { data, store, asOf, ids };
      const memory = await runNodeTask<Opened & { rssKB: number }>(`${S}.open`, { ...base, url: null });
      const shared = await runNodeTask<Opened & { rssKB: number }>(`${S}.open`, { ...base, url: redis.url });
      for (const [label, m] of [["in memory (the default)", memory], ["Redis standalone", shared]] as const) {
        ctx.out.note(S, `${label}: loaded RSS ${fmtKB(m.loadedRssKB)}, JS heap ${fmtKB(m.loadedHeapKB)}, peak RSS ${fmtKB(m.rssKB)}; opened in ${fmtMs(m.openMs)}; ${m.ok} of 1,000 predictions 200`);
      }
      ctx.out.note(S, `Redis / in memory: loaded RSS ${(shared.loadedRssKB / memory.loadedRssKB).toFixed(2)}×, peak RSS ${(shared.rssKB / memory.rssKB).toFixed(2)}×`);
      ctx.out.check(S, `both stores give the same answers to the same 1,000 predictions (${memory.ok} of them 200)`, memory.answers === shared.answers && memory.ok > 0, `${memory.answers} ${shared.answers}`);
    } finally {
      redis.stop();
    }
  },
};
