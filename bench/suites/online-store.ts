// online-store: the same predictions served from the three online stores,
// side by side in one run — in memory (the default: every online row in the
// process), Redis standalone and a 3-node Redis Cluster (both started here on
// loopback ports, from test/helpers/redis-server.ts). Per store, in its own
// child process, OnlineService.predict in process (no HTTP: the store's cost,
// not the transport's): the p50/p99 of single-instance requests one at a time,
// of 100-instance batches, and the process's memory once loaded (RSS and JS
// heap). The in-memory store is the reference of the ratios.
//
// Data: the batch suite's store (its athletes; --quick: the small one),
// materialized, copied to each Redis by `materializeShared`. The clock is
// pinned to the data's as-of time (`now`, not `--now`: the latest rows are
// served from every store alike). The check: every store gives the same
// answers (statuses, values, predictions) for the same requests.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { materialize } from "../../runtime/online/materialize.ts";
import { parseOnlineStore } from "../../runtime/online/online-store.ts";
import { materializeShared } from "../../runtime/online/redis-sync.ts";
import { OnlineService } from "../../runtime/online/service.ts";
import { openStore } from "../../runtime/store/store.ts";
import { hasRedis, noRedisReason, startRedis, startRedisCluster, type RedisProcess } from "../../test/helpers/redis-server.ts";
import { ensureActivities, type ActivitiesData } from "../lib/data.ts";
import { fmtInt, fmtKB, fmtMs, median, runNodeTask, type Sample } from "../lib/harness.ts";
import { ensureCompiled, loadBundle } from "../lib/spec.ts";
import { rounds, type Ctx, type Suite } from "../lib/suite.ts";
import { ensureBatchStore } from "./batch.ts";

const MODEL = "finish_time";
const BATCH = 100;

function pct(sorted: Float64Array, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] : NaN;
}

interface MeasureArgs {
  data: ActivitiesData;
  store: string;
  asOf: string;
  ids: string;
  /** null: in memory. */
  url: string | null;
  singles: number;
  batches: number;
}

export const tasks = {
  /** The online tables, then their copy in each Redis. */
  async prepare(a: { data: ActivitiesData; store: string; urls: string[]; memoryLimit: string }): Promise<Record<string, unknown>> {
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
    const synced = [];
    for (const url of a.urls) {
      const r = await materializeShared(parseOnlineStore(url) as Extract<ReturnType<typeof parseOnlineStore>, { kind: "redis" }>, bundle, {}, withStore);
      synced.push({ url, ms: r.shared.groups.reduce((s, g) => s + g.ms, 0), rows: r.shared.groups.reduce((s, g) => s + g.written, 0) });
    }
    return { ms: 0, cpuMs: 0, synced };
  },

  /** One store: single requests, then batches, in process; the answers' fingerprint. */
  async measure(a: MeasureArgs): Promise<Sample> {
    const bundle = await loadBundle(a.data);
    const asOf = new Date(a.asOf).getTime();
    const service = await OnlineService.open(bundle, { store: a.store, logs: false, watch: false, now: () => asOf, ...(a.url ? { onlineStore: parseOnlineStore(a.url) } : {}) });
    try {
      const loaded = process.memoryUsage();
      const ids = JSON.parse(readFileSync(a.ids, "utf8")) as string[];
      const one = (i: number) => ({ athlete_id: ids[i % ids.length], distance_km: [5, 10, 21.1, 42.2][i % 4] });
      const hash = createHash("sha256");
      for (let i = 0; i < 500; i++) await service.predict(MODEL, one(i)); // warm-up
      const single = new Float64Array(a.singles);
      for (let i = 0; i < a.singles; i++) {
        const t = performance.now();
        const r = await service.predict(MODEL, one(i));
        single[i] = performance.now() - t;
        const { request_id: _id, ...rest } = r.body as Record<string, unknown>;
        hash.update(`${r.status}${JSON.stringify(rest)}\n`);
      }
      const batch = new Float64Array(a.batches);
      for (let b = 0; b < a.batches; b++) {
        const body = { instances: Array.from({ length: BATCH }, (_, k) => one(b * BATCH + k)) };
        const t = performance.now();
        const r = await service.predict(MODEL, body);
        batch[b] = performance.now() - t;
        if (r.status !== 200) hash.update(`batch ${b}: ${r.status}\n`);
      }
      single.sort();
      batch.sort();
      return {
        ms: pct(single, 50),
        cpuMs: NaN,
        rssKB: 0,
        singleP99: pct(single, 99),
        batchP50: pct(batch, 50),
        batchP99: pct(batch, 99),
        loadedRssKB: Math.round(loaded.rss / 1024),
        loadedHeapKB: Math.round(loaded.heapUsed / 1024),
        answers: hash.digest("hex"),
      };
    } finally {
      await service.close();
    }
  },
};

export const suite: Suite = {
  name: "online-store",
  describe: "predictions from the in-memory store vs Redis standalone vs a 3-node Redis Cluster (p50/p99 single and batched, memory)",
  async run(ctx: Ctx) {
    const S = "online-store";
    if (!hasRedis) {
      ctx.out.note(S, `skipped: ${noRedisReason}`);
      return;
    }
    const data = await ensureActivities(ctx.batchActs, { csv: false });
    await ensureCompiled();
    const work = ctx.work(S);
    const { store, asOf } = await ensureBatchStore(ctx, data);
    const servers: RedisProcess[] = [];
    try {
      servers.push(await startRedis(), await startRedisCluster(3));
      const [standalone, cluster] = servers.map((s) => s.url);
      const prep = await runNodeTask<{ synced: Array<{ url: string; ms: number; rows: number }> }>(`${S}.prepare`, { data, store, urls: [standalone, cluster], memoryLimit: ctx.memoryLimit });
      // Athletes with a row within the view's ttl (the online suite's sample): every good request has features.
      const ids = join(work, "ids.json");
      await runNodeTask("online.ids", { data, n: 5000, out: ids, asOf });
      for (const s of prep.synced) ctx.out.note(S, `materialize → ${s.url}: ${fmtInt(s.rows)} rows in ${fmtMs(s.ms)}`);
      const base = { data, store, asOf, ids, singles: ctx.quick ? 2000 : 20_000, batches: ctx.quick ? 100 : 1000 };
      const kinds = [
        { id: "memory", label: "in memory (the default)", url: null, role: "ref" as const },
        { id: "redis", label: "Redis standalone", url: standalone, role: "fti" as const },
        { id: "cluster", label: "Redis Cluster, 3 masters", url: cluster, role: "fti" as const },
      ];
      const measured = await rounds(
        ctx,
        S,
        kinds.map((k) => ({ id: k.id, label: k.label, role: k.role, run: () => runNodeTask(`${S}.measure`, { ...base, url: k.url }) })),
      );
      const ref = measured.get("memory")!;
      const refBatch = Number(ref.extra.batchP50);
      for (const k of kinds) {
        const m = measured.get(k.id)!;
        const x = m.extra as Record<string, number>;
        // The in-memory store is the reference: the Redis lines say how many times its p50s they take.
        const times = k.id === "memory" ? "" : ` (${(median(m.ms) / median(ref.ms)).toFixed(1)}× and ${(x.batchP50 / refBatch).toFixed(1)}× in memory's)`;
        m.label = `${k.label}: single-instance predict p50`;
        m.note = `single p99 ${fmtMs(x.singleP99)}; ${BATCH}-instance batch p50 ${fmtMs(x.batchP50)}, p99 ${fmtMs(x.batchP99)}${times}; loaded RSS ${fmtKB(x.loadedRssKB)}, JS heap ${fmtKB(x.loadedHeapKB)}`;
        ctx.out.measure(m);
      }
      const answers = kinds.map((k) => String(measured.get(k.id)!.extra.answers));
      ctx.out.check(S, `the three stores give the same answers for the same ${fmtInt(base.singles)} requests`, answers.every((h) => h === answers[0]), answers.join(" "));
    } finally {
      for (const s of servers) s.stop();
    }
  },
};
