// Redis Streams as the stream's transport: a real redis-server on a free
// loopback port (started here; .ci/run installs it), the athlete example's
// `activities` read through a consumer group. Messages are acknowledged only
// once durable and applied; an invalid one is set aside in `<key>:rejected`;
// messages written while the server is down, and messages delivered but never
// acknowledged (a crash), are applied after a restart; /metrics shows the lag.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { buildAthleteWork, type AthleteWork } from "./helpers/online-athlete.ts";

const HOUR = 3_600_000;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const hasRedis = spawnSync("redis-server", ["--version"]).status === 0;

let work: AthleteWork;
let redis: ChildProcess;
let url: string;
let server: RunningServer | null = null;
type Client = import("ioredis").default;
let client: Client;

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => done(port));
    });
  });
}

beforeAll(async () => {
  if (!hasRedis) return;
  const port = await freePort();
  redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  url = `redis://127.0.0.1:${port}`;
  const { default: Redis } = await import("ioredis");
  client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  for (let i = 0; ; i++) {
    try {
      await client.connect();
      break;
    } catch (e) {
      if (i > 50) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  work = await buildAthleteWork({ athletes: 4, days: 100 });
}, 300_000);

afterAll(async () => {
  await server?.close();
  client?.disconnect();
  redis?.kill("SIGTERM");
  work?.cleanup();
});

const start = (consumer = "test-consumer") =>
  startServer(work.bundle, { store: work.storePath, logs: join(work.root, ".fti/logs"), port: 0, watch: false, logger: quiet, redis: { url, consumer, blockMs: 100 } });

let n = 0;
function activity(athlete: string, over: Record<string, unknown> = {}) {
  n++;
  return {
    activity_id: `redis-${n}`,
    athlete_id: athlete,
    started_at: new Date(Date.now() - 3 * HOUR + n * 60_000).toISOString(),
    sport: "run",
    distance_km: 8,
    elapsed_time_s: 2640,
    elevation_gain_m: 30,
    planned_pace_min_km: 5.5,
    avg_hr: 148,
    route_id: "r1",
    ...over,
  };
}

const xadd = (e: unknown) => client.xadd("fti:activities", "*", "event", JSON.stringify(e));
const fitnessTime = (a: string) => server!.service.streamedRows("fitness").get(a)?.eventMs ?? null;

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const groupInfo = async () => {
  const groups = (await client.xinfo("GROUPS", "fti:activities")) as Array<Array<string | number>>;
  const g = groups.map((l) => Object.fromEntries(l.flatMap((_, i) => (i % 2 ? [] : [[l[i], l[i + 1]]])))).find((x) => x.name === "fti")!;
  return g as { pending: number; lag: number; "entries-read": number };
};

describe.skipIf(!hasRedis)("Redis Streams transport", () => {
  it("applies XADDed events, acknowledges them after the durable apply, sets invalid ones aside, reports the lag", async () => {
    server = await start();
    const a = work.athletes[0];
    const e = activity(a);
    await xadd(e);
    await until("the event applied", () => fitnessTime(a) === Date.parse(e.started_at));
    await until("the message acknowledged", async () => (await groupInfo()).pending === 0);
    // An invalid message and a repeat: set aside / a duplicate, neither blocks the next one.
    await client.xadd("fti:activities", "*", "event", JSON.stringify(activity(a, { distance_km: -1 })));
    await client.xadd("fti:activities", "*", "nothing", "here");
    await xadd(e);
    const next = activity(a);
    await xadd(next);
    await until("the next event applied", () => fitnessTime(a) === Date.parse(next.started_at));
    await until("all acknowledged", async () => (await groupInfo()).pending === 0);
    const rejected = (await client.xrange("fti:activities:rejected", "-", "+")) as Array<[string, string[]]>;
    expect(rejected).toHaveLength(2);
    expect(rejected[0][1]).toEqual(expect.arrayContaining(["problem", '[0,"distance_km"]: -1 fails check (> 0)']));
    const stats = server.service.streams!.stats()[0];
    expect(stats.counts).toMatchObject({ new: 2, duplicate: 1 });
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain('fti_stream_consumer_lag{source="activities",transport="redis"} 0');
    expect(metrics).toContain('fti_stream_consumer_messages_total{source="activities",transport="redis",outcome="rejected"} 2');
  }, 120_000);

  it("after a restart: reads what was written while it was down and what it had read but not acknowledged", async () => {
    await server!.close();
    server = null;
    const a = work.athletes[1];
    // A crash after delivery: the consumer read it (XREADGROUP) and never acknowledged it.
    const crashed = activity(a);
    await xadd(crashed);
    await client.xreadgroup("GROUP", "fti", "test-consumer", "COUNT", 1, "STREAMS", "fti:activities", ">");
    // Written while the server is down: the group's lag.
    const down = activity(a);
    await xadd(down);
    expect(await groupInfo()).toMatchObject({ pending: 1, lag: 1 });
    server = await start();
    await until("both applied", () => fitnessTime(a) === Date.parse(down.started_at));
    await until("both acknowledged", async () => (await groupInfo()).pending === 0);
    expect(server.service.streams!.stats()[0].counts.new).toBe(2);
  }, 120_000);
});
