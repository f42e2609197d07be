// The Redis online store under failures, with a real redis-server:
// - kill -9 of `fti materialize --online-store redis://…` in the middle of its
//   copy to Redis, then the same command again: Redis holds exactly what a
//   complete copy holds (no torn or stale row, no missing entity), a server
//   reading Redis answers every entity as the in-memory store does, and a
//   third run writes nothing;
// - a stream writer whose Redis lease expires while it is paused (SIGSTOP)
//   and is taken by another server: once resumed, it refuses events (409) and
//   writes nothing to Redis; the new writer's rows stay;
// - two writers started at once: exactly one takes the stream, the other
//   refuses its events with 409 (Redis lease: two machines), or exits with
//   code 1 (`--redis`, reading the broker, same store: the lock file).

import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { parseOnlineStore } from "../runtime/online/online-store.ts";
import { onlineTable } from "../runtime/online/materialize.ts";
import { materializeShared } from "../runtime/online/redis-sync.ts";
import { buildAthleteWork, runFti, serveFti, spawnFti, type AthleteWork, type ServedFti } from "./helpers/online-athlete.ts";
import { answersOf, compareAnswers } from "./helpers/online-compare.ts";
import { hasRedis, noRedisReason, startRedis, type RedisProcess } from "./helpers/redis-server.ts";

const HOUR = 3_600_000;
const SYNTHETIC = 30_000; // copies of the athletes' rows per online table: a copy to Redis long enough to be killed in the middle
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
let work: AthleteWork;
let redis: RedisProcess;
let client: import("ioredis").default;
const spawned: ServedFti[] = [];

beforeAll(async () => {
  if (!hasRedis) return;
  redis = await startRedis();
  work = await buildAthleteWork({ athletes: 5, days: 120 });
  const { default: Redis } = await import("ioredis");
  client = new Redis(redis.url);
}, 300_000);

afterAll(async () => {
  for (const s of spawned) s.child.kill("SIGKILL");
  client?.disconnect();
  redis?.stop();
  work?.cleanup();
});

/** A copy of the athlete store in its own directory (another machine's, or another server's): `env` points a spawned fti at it. */
function storeCopy(name: string): { store: string; env: Record<string, string> } {
  const dir = join(work.root, name);
  mkdirSync(dir, { recursive: true });
  const store = join(dir, "store.duckdb");
  copyFileSync(work.storePath, store);
  if (existsSync(work.storePath + ".wal")) copyFileSync(work.storePath + ".wal", store + ".wal");
  return { store, env: { FTI_STORE: store } };
}

/** Every row hash and entity set under `<prefix>:` (meta left out: it carries the sync time), read pipelined. */
async function contents(prefix: string): Promise<Map<string, string>> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, found] = await client.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 5000);
    cursor = next;
    keys.push(...found.filter((k) => !k.startsWith(`${prefix}:meta:`) && !k.startsWith(`${prefix}:lease:`)));
  } while (cursor !== "0");
  const out = new Map<string, string>();
  for (let i = 0; i < keys.length; i += 5000) {
    const chunk = keys.slice(i, i + 5000);
    const p = client.pipeline();
    for (const k of chunk) (k.startsWith(`${prefix}:ents:`) ? p.smembers(k) : p.hgetall(k));
    const res = (await p.exec())!;
    chunk.forEach((k, j) => {
      const v = res[j][1] as string[] | Record<string, string>;
      out.set(k.slice(prefix.length + 1), JSON.stringify(Array.isArray(v) ? [...v].sort() : Object.entries(v).sort()));
    });
  }
  return out;
}

function activity(id: string, athlete: string, at: number) {
  return { activity_id: id, athlete_id: athlete, started_at: new Date(at).toISOString(), sport: "run", distance_km: 8, elapsed_time_s: 2500, elevation_gain_m: 40, planned_pace_min_km: 5.3, avg_hr: 150, route_id: "r1" };
}

async function push(url: string, events: unknown[]): Promise<{ status: number; body: any }> {
  const r = await fetch(`${url}/v1/sources/activities/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(events) });
  return { status: r.status, body: await r.json() };
}

async function fitnessTime(url: string, athlete: string): Promise<string> {
  const r = await fetch(`${url}/v1/models/time_estimator/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ athlete_id: athlete, planned_pace_min_km: 5.2, distance_km: 10, elevation_gain_m: 80 }) });
  const body = (await r.json()) as { feature_times?: Record<string, string> };
  if (!body.feature_times) throw new Error(`${r.status} ${JSON.stringify(body)}`);
  return body.feature_times.fitness;
}

const serveArgs = (onlineStore?: string) => ["serve", "athlete.fti", "--port", "0", "--no-watch", "--log-level", "warn", ...(onlineStore ? ["--online-store", onlineStore] : [])];

describe.skipIf(!hasRedis)(`the Redis online store under failures${hasRedis ? "" : ` (skipped: ${noRedisReason})`}`, () => {
  it("kill -9 of fti materialize in the middle of its copy to Redis, then again: Redis equals a complete copy, every answer equals the in-memory store's", async () => {
    // Many entities (synthetic copies of the athletes' rows in every online table keyed by athlete), so the copy takes a while.
    const tables = await work.withStore(async (store) => {
      const out: string[] = [];
      for (const g of work.bundle.groups) {
        const t = onlineTable(g);
        if (g.keys.length !== 1 || g.keys[0].name !== "athlete_id" || !(await store.tableExists(t))) continue;
        await store.run(`INSERT INTO ${t} SELECT o.* REPLACE (o.athlete_id || '-syn-' || CAST(t.i AS VARCHAR) AS athlete_id) FROM ${t} AS o, range(${SYNTHETIC / 5}) AS t(i) WHERE o.athlete_id NOT LIKE '%-syn-%'`);
        out.push(t);
      }
      return out;
    });
    expect(tables.length).toBeGreaterThan(1);
    const total = SYNTHETIC * tables.length;
    const url = `${redis.url}?prefix=crash`;
    let killedMidway = 0;
    for (let attempt = 0; attempt < 4 && killedMidway === 0; attempt++) {
      await client.flushall();
      const killAt = total * (0.1 + 0.7 * Math.random()); // somewhere in the copy's first 80 %
      const child = spawnFti(["materialize", "athlete.fti", "--online-store", url], work.root);
      const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
      let done = false;
      void exited.then(() => (done = true));
      while (!done) {
        const n = await client.dbsize();
        if (n > killAt && n < total * 0.95) {
          child.kill("SIGKILL");
          killedMidway = n;
          break;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      await exited;
    }
    expect(killedMidway, "the copy was never caught in the middle").toBeGreaterThan(0);

    const again = await runFti(["materialize", "athlete.fti", "--online-store", url], work.root);
    expect(again.code, again.stderr).toBe(0);
    // The reference: a complete copy into a fresh prefix.
    await materializeShared(parseOnlineStore(`${redis.url}?prefix=ref`) as Extract<ReturnType<typeof parseOnlineStore>, { kind: "redis" }>, work.bundle, {}, work.withStore);
    const [got, want] = [await contents("crash"), await contents("ref")];
    expect(want.size).toBeGreaterThan(total);
    expect(got.size).toBe(want.size);
    let differ = 0;
    for (const [k, v] of want) if (got.get(k) !== v) differ++;
    expect(differ).toBe(0);
    // Idempotent: once more writes nothing.
    const third = await runFti(["materialize", "athlete.fti", "--online-store", url, "--json"], work.root);
    expect(third.code, third.stderr).toBe(0);
    expect(third.stdout).not.toMatch(/"written":\s*[1-9]/);

    // Served: a server reading Redis answers every athlete and a sample of the synthetic entities as the in-memory store does.
    const mem = storeCopy("mem");
    const sample = [...work.athletes, ...Array.from({ length: 25 }, (_, i) => `${work.athletes[i % 5]}-syn-${i * 97}`), "nobody-here"];
    const T0 = Date.now();
    const common = { logs: false, port: 0, watch: false, logger: quiet, now: () => T0 } as const;
    const memory = await startServer(work.bundle, { ...common, store: mem.store });
    const shared = await startServer(work.bundle, { ...common, store: work.storePath, onlineStore: parseOnlineStore(url) });
    try {
      const ref = await answersOf(memory.url, sample);
      expect(ref.single.filter((a) => a.status === 200).length).toBeGreaterThan(25);
      compareAnswers(await answersOf(shared.url, sample), ref);
    } finally {
      await shared.close();
      await memory.close();
    }
    console.log(`[redis robustness] materialize killed with ${killedMidway} of ${want.size} keys copied; after the rerun 0 of ${want.size} keys differ from a complete copy`);
  }, 600_000);

  it("a writer whose lease expired while it was paused, and was taken, refuses events once resumed and writes nothing to Redis", async () => {
    const url = `${redis.url}?prefix=lease`;
    await materializeShared(parseOnlineStore(url) as Extract<ReturnType<typeof parseOnlineStore>, { kind: "redis" }>, work.bundle, {}, work.withStore);
    const env = { FTI_STREAM_LEASE_MS: "1500" };
    const a = storeCopy("lease-a");
    const first = await serveFti(serveArgs(url), work.root, { ...env, ...a.env });
    spawned.push(first);
    const athlete = work.athletes[0];
    const now = Date.now();
    expect((await push(first.url, [activity("lease-1", athlete, now - 3 * HOUR)])).status).toBe(200);
    first.child.kill("SIGSTOP");
    await new Promise((r) => setTimeout(r, 2500)); // longer than the lease's term: it expires
    const b = storeCopy("lease-b");
    const second = await serveFti(serveArgs(url), work.root, { ...env, ...b.env });
    spawned.push(second);
    const taken = await push(second.url, [activity("lease-2", athlete, now - 2 * HOUR)]);
    expect(taken.status, JSON.stringify(taken.body)).toBe(200);
    first.child.kill("SIGCONT");
    // At once, before its renewal can tell it the lease is another's: refused all the same.
    const stale = await push(first.url, [activity("lease-3", athlete, now - HOUR)]);
    expect(stale.status, JSON.stringify(stale.body)).toBe(409);
    expect(stale.body.error.code).toBe("stream_has_another_writer");
    await new Promise((r) => setTimeout(r, 1000));
    expect((await push(first.url, [activity("lease-4", athlete, now - HOUR / 2)])).status).toBe(409);
    // Redis holds the new writer's row: its event, not the old writer's later ones.
    const want = new Date(now - 2 * HOUR).toISOString();
    expect(await fitnessTime(second.url, athlete)).toBe(want);
    expect(await fitnessTime(first.url, athlete)).toBe(want);
    for (const s of [first, second]) {
      s.child.kill("SIGTERM");
      await s.exited;
    }
  }, 300_000);

  it("two writers started at once: exactly one takes the stream (the Redis lease across machines; the lock file with --redis on one store, exit 1)", async () => {
    const url = `${redis.url}?prefix=race`;
    const [x, y] = [storeCopy("race-x"), storeCopy("race-y")];
    const both = await Promise.all([serveFti(serveArgs(url), work.root, x.env), serveFti(serveArgs(url), work.root, y.env)]);
    spawned.push(...both);
    const answers = await Promise.all(both.map((s, i) => push(s.url, [activity(`race-${i}`, work.athletes[1], Date.now() - HOUR)])));
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    const refused = answers.find((r) => r.status === 409)!;
    expect(refused.body.error.code).toBe("stream_has_another_writer");
    expect(refused.body.error.message).toContain("lease race:lease:stream:activities");
    for (const s of both) {
      s.child.kill("SIGTERM");
      await s.exited;
    }

    // Reading the broker (--redis) needs the stream: of two started at once on one store, one serves and the other exits 1.
    const z = storeCopy("race-z");
    const started = await Promise.allSettled([0, 1].map((i) => serveFti([...serveArgs(), "--redis", redis.url, "--redis-consumer", `c${i}`], work.root, z.env)));
    const up = started.filter((r): r is PromiseFulfilledResult<ServedFti> => r.status === "fulfilled").map((r) => r.value);
    spawned.push(...up);
    const down = started.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => r.reason as { code: number; output: string });
    expect([up.length, down.length]).toEqual([1, 1]);
    expect(down[0].code).toBe(1);
    expect(down[0].output).toMatch(/stream `activities` already has a writer: process \d+/);
    expect((await push(up[0].url, [activity("race-z", work.athletes[2], Date.now() - HOUR)])).status).toBe(200);
    up[0].child.kill("SIGTERM");
    await up[0].exited;
  }, 300_000);
});
