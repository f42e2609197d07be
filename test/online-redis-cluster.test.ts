// A 3-node Redis Cluster on loopback ports (started here: redis-server
// --cluster-enabled yes ×3, then redis-cli --cluster create) as the shared
// online store of the athlete example: two server replicas and one stream.
// Every answer of both replicas equals the in-memory store's over the same
// data (a copy of the store, the same events pushed), before and after runs
// pushed into one replica; a separate `fti serve` process reading the cluster
// serves the pushed run too; materialize twice writes nothing the second time.

import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { parseOnlineStore } from "../runtime/online/online-store.ts";
import { materializeShared } from "../runtime/online/redis-sync.ts";
import { buildAthleteWork, spawnFti, type AthleteWork } from "./helpers/online-athlete.ts";
import { answersOf, compareAnswers, redisFingerprint } from "./helpers/online-compare.ts";
import { freePort, hasRedis, noRedisReason, startRedisCluster, type RedisProcess } from "./helpers/redis-server.ts";

const HOUR = 3_600_000;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const T0 = Date.now();

let work: AthleteWork;
let cluster: RedisProcess;
let memory: RunningServer;
let replicas: RunningServer[] = [];

const serve = (store: string, onlineStore: string | undefined, logs: string) =>
  startServer(work.bundle, { store, logs: join(work.root, `.fti/${logs}`), port: 0, watch: false, logger: quiet, now: () => T0, ...(onlineStore ? { onlineStore: parseOnlineStore(onlineStore) } : {}) });
const materializeTo = (url: string) => materializeShared(parseOnlineStore(url) as Extract<ReturnType<typeof parseOnlineStore>, { kind: "redis" }>, work.bundle, {}, work.withStore);

// No background correction of late events (FTI_STREAM_CORRECT_MS=0): the late runs must stay late (marked, unapplied) until the reload below, in every server alike.
const savedCorrectMs = process.env.FTI_STREAM_CORRECT_MS;
beforeAll(async () => {
  process.env.FTI_STREAM_CORRECT_MS = "0";
  if (!hasRedis) return;
  cluster = await startRedisCluster(3);
  work = await buildAthleteWork({ athletes: 8, days: 120 });
  mkdirSync(join(work.root, "mem"), { recursive: true });
  const memoryStore = join(work.root, "mem/store.duckdb");
  copyFileSync(work.storePath, memoryStore);
  if (existsSync(work.storePath + ".wal")) copyFileSync(work.storePath + ".wal", memoryStore + ".wal");
  const first = await materializeTo(cluster.url);
  expect(first.shared.groups.some((g) => g.mode === "full" && g.written > 0)).toBe(true);
  memory = await serve(memoryStore, undefined, "logs-mem");
  replicas = [await serve(work.storePath, cluster.url, "logs-r1"), await serve(work.storePath, cluster.url, "logs-r2")];
}, 300_000);

afterAll(async () => {
  if (savedCorrectMs === undefined) delete process.env.FTI_STREAM_CORRECT_MS;
  else process.env.FTI_STREAM_CORRECT_MS = savedCorrectMs;
  for (const s of [memory, ...replicas]) await s?.close();
  cluster?.stop();
  work?.cleanup();
});

let n = 0;
function activity(athlete: string, at: number) {
  n++;
  return { activity_id: `cluster-${n}`, athlete_id: athlete, started_at: new Date(at).toISOString(), sport: "run", distance_km: 5 + (n % 6), elapsed_time_s: (5 + (n % 6)) * 310, elevation_gain_m: 30 * (n % 3), planned_pace_min_km: 5.1, avg_hr: n % 4 ? 152 : null, route_id: `r${n % 5}` };
}
async function push(server: RunningServer, events: unknown[]) {
  const r = await fetch(`${server.url}/v1/sources/activities/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(events) });
  return { status: r.status, body: (await r.json()) as any };
}
const everyone = () => [...work.athletes, "not-an-athlete"];

describe.skipIf(!hasRedis)(`a 3-node Redis Cluster as the online store${hasRedis ? "" : ` (skipped: ${noRedisReason})`}`, () => {
  it("spreads the rows over the cluster's nodes", async () => {
    const { default: Redis } = await import("ioredis");
    let holding = 0;
    for (const port of cluster.ports) {
      const c = new Redis({ host: "127.0.0.1", port });
      if ((await c.dbsize()) > 0) holding++;
      c.disconnect();
    }
    expect(holding).toBeGreaterThanOrEqual(2);
  });

  it("two replicas answer exactly what the in-memory store answers", async () => {
    const ref = await answersOf(memory.url, everyone());
    expect(ref.single.filter((a) => a.status === 200).length).toBe(work.athletes.length);
    for (const r of replicas) compareAnswers(await answersOf(r.url, everyone()), ref);
  });

  it("one stream: runs pushed into one replica are served by both, as in memory (ties, out of order, every athlete)", async () => {
    const events = work.athletes.flatMap((a, i) => [activity(a, T0 - (i + 2) * HOUR), activity(a, T0 - (i + 2) * HOUR), activity(a, T0 - 30 * 24 * HOUR)]);
    for (let i = 0; i < events.length; i += 5) {
      const batch = events.slice(i, i + 5);
      const [m, r] = [await push(memory, batch), await push(replicas[0], batch)];
      expect(r.status).toBe(200);
      expect(r.body).toEqual(m.body);
    }
    const ref = await answersOf(memory.url, everyone());
    // The month-old runs are late: not applied online yet, every athlete's row marked (the marks are in Redis too).
    expect(ref.single.filter((x) => x.body.late_events?.fitness?.events === 1).length).toBe(work.athletes.length);
    for (const r of replicas) compareAnswers(await answersOf(r.url, everyone()), ref);
    // A reload of the writers applies the late runs (a rebuild) and clears the marks, in memory and in Redis alike.
    await memory.service.reload("test");
    await replicas[0].service.reload("test");
    const after = await answersOf(memory.url, everyone());
    expect(after.single.some((x) => x.body.late_events)).toBe(false);
    for (const r of replicas) compareAnswers(await answersOf(r.url, everyone()), after);
  });

  it("a separate `fti serve` process on the cluster serves the pushed run", async () => {
    const port = await freePort();
    const child = spawnFti(["serve", work.specPath, "--port", String(port), "--no-watch", "--logs", join(work.root, ".fti/logs-child"), "--online-store", cluster.url], work.root);
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    try {
      const url = `http://127.0.0.1:${port}`;
      for (let i = 0; ; i++) {
        if (child.exitCode !== null) throw new Error(`fti serve exited ${child.exitCode}: ${stderr}`);
        if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) break;
        if (i > 600) throw new Error(`fti serve did not start: ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const a = work.athletes[3];
      const at = T0 - 20 * 60_000;
      expect((await push(replicas[0], [activity(a, at)])).status).toBe(200);
      const body = { athlete_id: a, planned_pace_min_km: 5.2, distance_km: 10, elevation_gain_m: 80 };
      const ask = async (u: string) => (await (await fetch(`${u}/v1/models/time_estimator/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })).json()) as any;
      const [fromChild, fromReplica] = [await ask(url), await ask(replicas[0].url)];
      expect(fromChild.feature_times.fitness).toBe(new Date(at).toISOString());
      expect(fromChild.features).toEqual(fromReplica.features);
      expect(fromChild.prediction).toBe(fromReplica.prediction);
    } finally {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
  }, 180_000);

  it("materialize twice: the second run writes nothing and leaves every key as it was", async () => {
    const before = await redisFingerprint(cluster.url, "fti");
    const again = await materializeTo(cluster.url);
    expect(again.shared.groups.filter((g) => g.mode !== "skipped").every((g) => g.mode === "unchanged" && g.written === 0)).toBe(true);
    expect(await redisFingerprint(cluster.url, "fti")).toEqual(before);
  });

  it("a master goes away: the requests reading its keys are 503s naming the store, the others are answered; /healthz answers", async () => {
    cluster.kill(0);
    const statuses: number[] = [];
    for (const a of work.athletes) {
      const r = await fetch(`${replicas[1].url}/v1/models/time_estimator/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ athlete_id: a, planned_pace_min_km: 5.2, distance_km: 10, elevation_gain_m: 80 }) });
      const body = (await r.json()) as any;
      statuses.push(r.status);
      if (r.status !== 200) expect(body.error).toMatchObject({ status: 503, code: "online_store_unavailable" });
      if (r.status !== 200) expect(body.error.message).toContain("redis+cluster://");
    }
    expect(statuses).toContain(503);
    expect((await fetch(`${replicas[1].url}/healthz`)).status).toBe(200);
  }, 120_000);
});
