// Redis as the shared online store (standalone; the cluster is
// online-redis-cluster.test.ts): a real redis-server on a free loopback port,
// started here. The athlete example is served three ways over the same data —
// in memory (a copy of the store), and by two replicas reading Redis — and
// every answer must be the same: per-value statuses, values, event times,
// predictions, 422s. A run pushed into one replica is visible on the other;
// materialize twice writes nothing the second time, and a full copy into a
// fresh prefix equals the incremental one; a Redis that goes away is a 503
// naming it (never a crash), and the service recovers when it is back.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { parseOnlineStore } from "../runtime/online/online-store.ts";
import { materializeShared, syncToRedis } from "../runtime/online/redis-sync.ts";
import { RedisOnlineStore } from "../runtime/online/redis-store.ts";
import { buildAthleteWork, runFti, type AthleteWork } from "./helpers/online-athlete.ts";
import { freePort, hasRedis, noRedisReason, startRedis, type RedisProcess } from "./helpers/redis-server.ts";
import { answersOf, compareAnswers, redisFingerprint, type Answers } from "./helpers/online-compare.ts";

const HOUR = 3_600_000;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const T0 = Date.now();
const clock = () => T0;

let work: AthleteWork;
let memoryStore: string;
let redis: RedisProcess;
let memory: RunningServer;
let replicas: RunningServer[] = [];

const serve = (store: string, onlineStore?: string, logs = "logs") =>
  startServer(work.bundle, { store, logs: join(work.root, `.fti/${logs}`), port: 0, watch: false, logger: quiet, now: clock, ...(onlineStore ? { onlineStore: parseOnlineStore(onlineStore) } : {}) });

const materializeTo = (url: string) => materializeShared(parseOnlineStore(url) as Extract<ReturnType<typeof parseOnlineStore>, { kind: "redis" }>, work.bundle, {}, work.withStore);

beforeAll(async () => {
  if (!hasRedis) return;
  redis = await startRedis({ persistent: true });
  work = await buildAthleteWork({ athletes: 5, days: 120 });
  // The in-memory reference serves a copy of the same store (its own segments: the same events are pushed to both).
  mkdirSync(join(work.root, "mem"), { recursive: true });
  memoryStore = join(work.root, "mem/store.duckdb");
  copyFileSync(work.storePath, memoryStore);
  if (existsSync(work.storePath + ".wal")) copyFileSync(work.storePath + ".wal", memoryStore + ".wal");
  await materializeTo(redis.url);
  memory = await serve(memoryStore, undefined, "logs-mem");
  replicas = [await serve(work.storePath, redis.url, "logs-r1"), await serve(work.storePath, redis.url, "logs-r2")];
}, 300_000);

afterAll(async () => {
  for (const s of [memory, ...replicas]) await s?.close();
  redis?.stop();
  work?.cleanup();
});

let n = 0;
function activity(athlete: string, at: number) {
  n++;
  return { activity_id: `redis-online-${n}`, athlete_id: athlete, started_at: new Date(at).toISOString(), sport: "run", distance_km: 6 + (n % 5), elapsed_time_s: (6 + (n % 5)) * 320, elevation_gain_m: 25 * (n % 4), planned_pace_min_km: 5.3, avg_hr: n % 3 ? 149 : null, route_id: `r${n % 3}` };
}

async function push(server: RunningServer, events: unknown[]) {
  const r = await fetch(`${server.url}/v1/sources/activities/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(events) });
  return { status: r.status, body: (await r.json()) as any };
}

const answers = (s: RunningServer): Promise<Answers> => answersOf(s.url, [...work.athletes, "nobody-here"]);

describe.skipIf(!hasRedis)(`Redis standalone as the online store${hasRedis ? "" : ` (skipped: ${noRedisReason})`}`, () => {
  it("serves exactly what the in-memory store serves, on both replicas", async () => {
    const ref = await answers(memory);
    expect(ref.single.filter((a) => a.status === 200).length).toBe(work.athletes.length);
    for (const r of replicas) compareAnswers(await answers(r), ref);
  });

  it("a run pushed into one replica is served by the other at once, the same as in memory (in order, out of order, a later one)", async () => {
    const [a, b, c] = work.athletes;
    const events = [activity(a, T0 - 3 * HOUR), activity(b, T0 - 2 * HOUR), activity(a, T0 - 5 * HOUR), activity(c, T0 + 6 * HOUR)];
    for (const batch of [events.slice(0, 2), events.slice(2)]) {
      const [m, r] = [await push(memory, batch), await push(replicas[0], batch)];
      expect(r.status).toBe(200);
      expect(r.body).toEqual(m.body);
    }
    const ref = await answers(memory);
    // c's run is after the request time: its features are `future` in both.
    expect(ref.single.find((x) => x.athlete === c)!.body).toMatchObject({ error: { status: 422 } });
    for (const r of replicas) compareAnswers(await answers(r), ref);
  });

  it("one writer per stream: the second replica on the store refuses events (409, the lock file's holder); a server elsewhere on the same Redis too (the lease)", async () => {
    const ev = [activity(work.athletes[0], T0 - 4 * HOUR)];
    const second = await push(replicas[1], ev);
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe("stream_has_another_writer");
    expect(second.body.error.message).toContain(`process ${process.pid}`);
    expect(second.body.error.message).toContain("writer.lock");
    // Another machine (another store directory) sharing the Redis: refused by the Redis lease.
    mkdirSync(join(work.root, "far"), { recursive: true });
    const farStore = join(work.root, "far/store.duckdb");
    copyFileSync(memoryStore, farStore);
    const far = await serve(farStore, redis.url, "logs-far");
    try {
      const r = await push(far, ev);
      expect(r.status).toBe(409);
      expect(r.body.error.message).toContain("lease fti:lease:stream:activities");
    } finally {
      await far.close();
    }
    // Reading a broker needs the stream: a second server with --redis (Redis Streams) refuses to start.
    await expect(startServer(work.bundle, { store: work.storePath, logs: false, port: 0, watch: false, logger: quiet, redis: { url: redis.url, consumer: "second" } })).rejects.toThrow(
      /stream `activities` already has a writer: process \d+/,
    );
  });

  it("the Redis lease: a holder whose process is gone (kill -9) is replaced at once; one elsewhere is not; a release frees it", async () => {
    const { RedisOnlineStore } = await import("../runtime/online/redis-store.ts");
    const store = await RedisOnlineStore.connect(parseOnlineStore(redis.url) as Extract<ReturnType<typeof parseOnlineStore>, { kind: "redis" }>);
    try {
      const key = "fti:lease:stream:lease_test";
      const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout;
      await store.client.set(key, JSON.stringify({ pid: Number(dead), host: hostname(), since: "2026-01-01T00:00:00.000Z", token: "gone" }));
      const lease = store.lease("lease_test");
      expect(await lease.acquire()).toBeNull();
      expect(JSON.parse((await store.client.get(key))!).pid).toBe(process.pid);
      expect(await store.client.pttl(key)).toBeGreaterThan(10_000);
      expect(await store.lease("lease_test").acquire()).toContain(`process ${process.pid}`);
      await lease.release();
      expect(await store.client.get(key)).toBeNull();
      await store.client.set(key, JSON.stringify({ pid: Number(dead), host: "elsewhere", since: "2026-01-01T00:00:00.000Z", token: "far" }));
      expect(await store.lease("lease_test").acquire()).toContain("on elsewhere");
    } finally {
      await store.close();
    }
  });

  it("materialize again writes nothing; a full copy (a fresh prefix) holds the same rows as the incremental ones", async () => {
    const before = await redisFingerprint(redis.url, "fti");
    const again = await materializeTo(redis.url);
    expect(again.shared.groups.filter((g) => g.mode !== "skipped").every((g) => g.mode === "unchanged" && g.written === 0)).toBe(true);
    expect(await redisFingerprint(redis.url, "fti")).toEqual(before);
    const full = await materializeTo(`${redis.url}?prefix=copy`);
    expect(full.shared.groups.some((g) => g.mode === "full" && g.written > 0)).toBe(true);
    const copy = await redisFingerprint(redis.url, "copy");
    // the copy has no stream rows (s): the stream wrote only to `fti`
    expect(copy.rows).toEqual(before.rows.map(([k, h]) => [k, { ...(h.t !== undefined ? { t: h.t } : {}) }]).filter(([, h]) => Object.keys(h).length));
  });

  it("a Redis that stops answering writes for longer than the command timeout during a copy (CLIENT PAUSE): the copy waits and is complete", async () => {
    const { default: Redis } = await import("ioredis");
    const admin = new Redis(redis.url);
    const cfg = parseOnlineStore(`${redis.url}?prefix=paused`) as Extract<ReturnType<typeof parseOnlineStore>, { kind: "redis" }>;
    const target = await RedisOnlineStore.connect(cfg);
    try {
      const t0 = Date.now();
      // writes wait 3 s: longer than the client's 2 s command timeout, so the copy's first HSETs time out once
      await admin.call("CLIENT", "PAUSE", "3000", "WRITE");
      const synced = await work.withStore((store) => syncToRedis(store, target, work.bundle.groups, new Map(), new Map()));
      expect(Date.now() - t0, "the pause was over before the copy wrote").toBeGreaterThanOrEqual(2_900);
      expect(synced.some((g) => g.mode === "full" && g.written > 0)).toBe(true);
    } finally {
      await target.close();
      admin.disconnect();
    }
    const [paused, full] = [await redisFingerprint(redis.url, "paused"), await redisFingerprint(redis.url, "copy")];
    expect(paused.rows.length).toBeGreaterThan(0);
    expect(paused).toEqual(full);
  });

  it("a Redis that goes away: 503 naming it on predictions and events, /healthz still answers; back again, the held stream rows are written", async () => {
    const [, , , d] = work.athletes;
    redis.kill();
    const r = replicas[0];
    const p = await fetch(`${r.url}/v1/models/time_estimator/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ athlete_id: d, planned_pace_min_km: 5, distance_km: 8, elevation_gain_m: 10 }) });
    expect(p.status).toBe(503);
    const body = (await p.json()) as any;
    expect(body.error.code).toBe("online_store_unavailable");
    expect(body.error.message).toContain(redis.url);
    const ev = [activity(d, T0 - HOUR)];
    const pushed = await push(r, ev);
    expect(pushed.status).toBe(503);
    expect(pushed.body.error.code).toBe("online_store_unavailable");
    expect((await fetch(`${r.url}/healthz`)).status).toBe(200);
    await push(memory, ev);
    await redis.restart();
    // The held row is retried every second.
    for (let i = 0; i < 100; i++) {
      const m = await r.service.gauges().find((g) => g.name === "fti_online_store_pending_rows");
      if (m && m.values[0].value === 0) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const ref = await answers(memory);
    for (const x of replicas) compareAnswers(await answers(x), ref);
  });

  it("`fti materialize --online-store` (and $FTI_ONLINE_STORE): nothing new, nothing written, said per group", async () => {
    const r = await runFti(["materialize", work.specPath], work.root, { FTI_ONLINE_STORE: redis.url });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`→ ${redis.url.replace(/[.]/g, "\\.")} online_fitness_v1: \\d+ entities; already up to date`));
  }, 120_000);

  it("fti run's scheduled materialize copies to the store $FTI_ONLINE_STORE names", async () => {
    const { tick } = await import("../runtime/orchestrator/tick.ts");
    process.env.FTI_ONLINE_STORE = `${redis.url}?prefix=tick`;
    try {
      const runs = await work.withStore((store) => tick(store, work.bundle, { now: new Date(), logsDir: join(work.root, ".fti/logs-tick"), firstClock: null }));
      const m = runs.find((r) => r.kind === "materialize");
      expect(m?.status).toBe("ok");
      const copied = (JSON.parse(String(m!.detail)) as { shared: Array<{ group: string; mode: string; written: number }> }).shared;
      expect(copied.find((g) => g.group === "fitness")).toMatchObject({ mode: "full" });
      const rows = await redisFingerprint(redis.url, "tick");
      expect(rows.rows.filter(([k]) => k.startsWith("row:online_fitness_v1:")).length).toBe(work.athletes.length);
    } finally {
      delete process.env.FTI_ONLINE_STORE;
    }
  }, 180_000);

  it("an unreachable store at start: exit 1 saying what to check; a URL of the wrong form: exit 2 (usage); no stack trace", async () => {
    const port = await freePort();
    const bad = await runFti(["serve", work.specPath, "--port", "0", "--online-store", `redis://127.0.0.1:${port}`], work.root);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`cannot reach the online store redis://127.0.0.1:${port}`);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    const url = await runFti(["materialize", work.specPath, "--online-store", "mongodb://x"], work.root);
    expect(url.code).toBe(2);
    expect(url.stderr).toContain("not an online store URL");
    expect(url.stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
