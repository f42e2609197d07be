// A stream whose `unique` is a combination of fields (`unique (rider, seq)`):
// events are de-duplicated by the tuple in every path — the events route of
// `fti serve`, a restart (from the checkpoint, and from the whole history),
// the batch pipeline over the file and the segments, and `fti replay` — while
// events sharing only part of the tuple are kept. The tuple's key is
// unambiguous: ("a|b", "c") and ("a", "b|c") are two events. A null in a key
// field is a 400 at its field (the fields of a `unique` are non-nullable).

import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { checkpointFiles } from "../runtime/stream/checkpoint.ts";
import { replayEvents } from "../runtime/stream/replay.ts";
import { streamDir } from "../runtime/stream/segments.ts";
import { streamUniqueKey } from "../runtime/stream/unique-field.ts";
import { rng, sqlTime } from "./helpers/bundles.ts";
import { hasRedis, startRedis } from "./helpers/redis-server.ts";
import { servedFeatures, servedModel, useServedStream } from "./helpers/served-stream.ts";

const HOUR = 3_600_000;
const T0 = Date.UTC(2025, 4, 1);

const SPEC = `
source rides {
  path "data/rides.csv"
  stream lateness 1d
  event_time at
  unique (rider, seq)
  fields { rider: string  seq: string  at: timestamp  km: float check (> 0) }
}

entity rider { key rider: string }

feature_group rider_stats for rider from rides {
  km_2d = sum(km) over 2d
  rides_2d = count() over 2d
}

view ride_data for rider from rides {
  label km_next = km
  features rider_stats.*
}
${servedModel("ride_km", "ride_data")}`;

interface Ride {
  rider: string;
  seq: string;
  at: number;
  km: number;
}

let rides: Ride[];
const use = useServedStream(() => {
  const rand = rng(11);
  // Each rider's own sequence numbers: "1", "2", … repeat across riders (only the pair identifies a ride).
  rides = Array.from({ length: 200 }, (_, i) => ({
    rider: `u${i % 5}`,
    seq: String(Math.floor(i / 5)),
    at: T0 + Math.floor(rand() * 5 * 24) * HOUR,
    km: 1 + Math.floor(rand() * 40) / 4,
  }));
  const csv = ["rider,seq,at,km", ...rides.map((r) => [r.rider, r.seq, sqlTime(r.at), r.km].join(","))].join("\n") + "\n";
  return { name: "stream-composite", spec: SPEC, files: { "data/rides.csv": csv }, model: "ride_km" };
});

const event = (r: Ride) => ({ rider: r.rider, seq: r.seq, at: new Date(r.at).toISOString(), km: r.km });

async function post(events: unknown[]): Promise<{ status: number; body: any }> {
  const res = await fetch(`${use.server.url}/v1/sources/rides/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(events) });
  return { status: res.status, body: await res.json() };
}

/** Per rider, its 2-day windows at its latest ride, from the definitions (§6). */
function expected(all: Ride[], rider: string): { km_2d: number; rides_2d: number } {
  const mine = all.filter((r) => r.rider === rider);
  const t = Math.max(...mine.map((r) => r.at));
  const frame = mine.filter((r) => r.at > t - 2 * 24 * HOUR && r.at <= t);
  return { km_2d: frame.reduce((s, r) => s + r.km, 0), rides_2d: frame.length };
}

const served = (rider: string) => servedFeatures(use.server, "ride_km", { rider });

const last = () => Math.max(...rides.map((r) => r.at));

describe("a stream's unique (a, b)", () => {
  it("the key of a combination is unambiguous; one field keeps its value as the key", () => {
    const pair = streamUniqueKey(use.stream.bundle.sources[0]);
    expect(pair({ rider: "a|b", seq: "c" })).not.toBe(pair({ rider: "a", seq: "b|c" }));
    expect(pair({ rider: "a,b", seq: "c" })).not.toBe(pair({ rider: "a", seq: "b,c" }));
    expect(pair({ rider: 'a","b', seq: "c" })).not.toBe(pair({ rider: "a", seq: 'b","c' }));
    expect(pair({ rider: "u1", seq: "1" })).toBe(pair({ seq: "1", rider: "u1", km: 3 }));
    // An int as a live event gives it (a number) and as the store reads it back (a bigint): one key; a vector by its values.
    expect(pair({ rider: "u1", seq: 7 })).toBe(pair({ rider: "u1", seq: 7n }));
    expect(pair({ rider: "u1", seq: 7n })).not.toBe(pair({ rider: "u1", seq: 8n }));
    expect(pair({ rider: "u1", seq: [1, 2] })).not.toBe(pair({ rider: "u1", seq: [1, 3] }));
    const one = streamUniqueKey({ ...use.stream.bundle.sources[0], unique: ["seq"] });
    expect(one({ seq: "x" })).toBe("x");
    expect(one({ seq: new Date(T0) })).toBe(new Date(T0).toISOString());
  });

  it("drops an event resent with the same tuple, keeps those sharing one field, and serves what the batch computes", async () => {
    const t = last() + HOUR;
    const live: Ride[] = [
      { rider: "u1", seq: "live-1", at: t, km: 4.25 },
      { rider: "u2", seq: "live-1", at: t, km: 7.5 }, // same seq, another rider: another ride
      { rider: "u1", seq: "live-2", at: t + HOUR, km: 2 }, // same rider, another seq: another ride
      { rider: "a|b", seq: "c", at: t, km: 1 }, // ("a|b", "c") and ("a", "b|c"): two rides
      { rider: "a", seq: "b|c", at: t, km: 3 },
    ];
    const first = await post(live.map(event));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ received: 5, accepted: 5, duplicates: 0 });
    // Resent after a lost acknowledgement (other values do not make it another event), and a repeat inside one request.
    const again = await post([event({ ...live[0], km: 99 }), event(live[3]), event(live[4]), event({ rider: "u3", seq: "live-9", at: t, km: 1 }), event({ rider: "u3", seq: "live-9", at: t, km: 1 })]);
    expect(again.body).toMatchObject({ received: 5, accepted: 1, duplicates: 4 });
    // A file row's tuple sent as an event: a duplicate too.
    const fileRow = rides.find((r) => r.at >= last() - 12 * HOUR)!;
    expect((await post([event(fileRow)])).body).toMatchObject({ accepted: 0, duplicates: 1 });
    rides.push(...live, { rider: "u3", seq: "live-9", at: t, km: 1 });
    for (const rider of ["u1", "u2", "u3", "a|b", "a"]) expect(await served(rider), rider).toEqual(expected(rides, rider));
  });

  it("refuses a null in a field of the tuple with a 400 at its path", async () => {
    const r = await post([event({ rider: "u1", seq: "ok", at: last(), km: 1 }), { rider: "u1", seq: null, at: new Date(last()).toISOString(), km: 1 }]);
    expect(r.status).toBe(400);
    expect(JSON.stringify(r.body.error.issues)).toContain('"seq"');
  });

  it("still drops the resent tuples after a restart from the checkpoint, and from the whole history", async () => {
    const resend = rides.slice(-6).map(event);
    for (const fromHistory of [false, true]) {
      await use.server.close();
      if (fromHistory) for (const f of checkpointFiles(streamDir(use.stream.storePath, "rides"))) rmSync(f, { force: true });
      use.server = await use.stream.start();
      const r = await post(resend);
      expect(r.body, fromHistory ? "history" : "checkpoint").toMatchObject({ accepted: 0, duplicates: resend.length });
      for (const rider of ["u1", "a|b", "a"]) expect(await served(rider)).toEqual(expected(rides, rider));
    }
  });

  it("the batch pipeline keeps each tuple once from the file and the segments", async () => {
    await use.server.close();
    const rows = await use.stream.withStore(async (store) => {
      await runFeaturePipeline(store, use.stream.bundle);
      return {
        src: await store.all<{ rider: string; seq: string; n: number }>(`SELECT rider, seq, count(*) AS n FROM src_rides GROUP BY ALL HAVING count(*) > 1`),
        total: await store.all<{ n: number }>(`SELECT count(*) AS n FROM src_rides`),
        latest: await store.all<{ rider: string; km_2d: number; rides_2d: number }>(
          `SELECT rider, km_2d, rides_2d FROM fg_rider_stats_v1 QUALIFY row_number() OVER (PARTITION BY rider ORDER BY event_time DESC) = 1`,
        ),
      };
    });
    expect(rows.src).toEqual([]);
    expect(Number(rows.total[0].n)).toBe(rides.length);
    for (const r of rows.latest) expect({ km_2d: r.km_2d, rides_2d: Number(r.rides_2d) }, r.rider).toEqual(expected(rides, r.rider));
    use.server = await use.stream.start();
  });

  it("fti replay sends the rows again under a new `seq` (not the entity's key, nor the event time): new events of the same riders", async () => {
    const since = last() - 6 * HOUR;
    const replayed = rides.filter((r) => r.at >= since);
    const report = await use.stream.withStore((store) => replayEvents(store, use.stream.bundle, { url: use.server.url, source: "rides", lastMs: 6 * HOUR, speed: 1e9 }));
    expect(report).toMatchObject({ total: replayed.length, accepted: replayed.length, duplicates: 0 });
    // Sent as of now, each to its own rider: a rider's 2-day window now holds exactly its replayed rides.
    for (const rider of new Set(replayed.map((r) => r.rider))) {
      const mine = replayed.filter((r) => r.rider === rider);
      const got = await served(rider);
      expect(got.rides_2d, rider).toBe(mine.length);
      expect(got.km_2d, rider).toBe(mine.reduce((s, r) => s + r.km, 0));
    }
  });

  it.skipIf(!hasRedis)("through Redis Streams: a message repeating a tuple is acknowledged as a duplicate, one sharing a field is applied", async () => {
    const redis = await startRedis();
    const { default: Redis } = await import("ioredis");
    const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      await use.server.close();
      use.server = await use.stream.start({ redis: { url: redis.url, consumer: "composite", blockMs: 100 } });
      const t = Date.now() - 1000; // not after the request time (a future row is never served)
      const sent: Ride[] = [
        { rider: "n1", seq: "redis-1", at: t, km: 2.5 },
        { rider: "n1", seq: "redis-1", at: t, km: 2.5 }, // the same tuple again
        { rider: "n2", seq: "redis-1", at: t, km: 1.25 }, // the same seq, another rider
        { rider: "n1", seq: "redis-2", at: t, km: 0.5 }, // the same rider, another seq
      ];
      for (const r of sent) await client.xadd("fti:rides", "*", "event", JSON.stringify(event(r)));
      const counts = () => use.server.service.streams!.stats()[0].counts;
      const before = { ...counts() };
      const deadline = Date.now() + 20_000;
      while (counts().new + counts().duplicate - before.new - before.duplicate < sent.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect({ new: counts().new - before.new, duplicate: counts().duplicate - before.duplicate }).toEqual({ new: 3, duplicate: 1 });
      // Riders new to the stream: their windows hold exactly what was applied.
      expect(await served("n1")).toEqual({ km_2d: 3, rides_2d: 2 });
      expect(await served("n2")).toEqual({ km_2d: 1.25, rides_2d: 1 });
    } finally {
      client.disconnect();
      await use.server.close();
      use.server = await use.stream.start();
      redis.stop();
    }
  });
});
