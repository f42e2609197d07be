// kill -9 of `fti serve` while events are pushed into it, at random points,
// then restart and resend what was not acknowledged (what a client does).
// At the end: no acknowledged event lost (every one in the segments and, after
// `fti features`, in the offline store), none counted twice (each activity
// once offline; the stream's runs_28d equals the batch's), and every online
// value of the last server equals the batch recomputation over the same events.
// The restarts resume from the stream's checkpoint (written every 50 ms, so
// kills also land during its writes) and replay only the segment lines after it.
// Some events are late (beyond the lateness): corrected in the background, a
// kill landing before, during or after a correction.
// Each kill lands inside a preallocated part (zeros after the written lines);
// after the second, the killed part is given what an overlapped write that
// finished before the one in flight would leave: a hole, then lines of events
// never acknowledged (and never sent again) — read by no one.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { mulberry32 } from "../runtime/random.ts";
import { readFileSync, writeFileSync } from "node:fs";
import { readSegmentLines, segmentFiles, streamDir, writtenEnd } from "../runtime/stream/segments.ts";
import { buildAthleteWork, serveFti, type AthleteWork, type ServedFti } from "./helpers/online-athlete.ts";
import { close } from "./helpers/window-reference.ts";

const HOUR = 3_600_000;
let work: AthleteWork;

beforeAll(async () => {
  work = await buildAthleteWork({ athletes: 5, days: 100 });
}, 300_000);
afterAll(() => work?.cleanup());

interface Server extends ServedFti {
  /** How the stream's state was rebuilt at start: from the checkpoint (events replayed after it) or the whole history. */
  rebuilt: { from: "checkpoint" | "history"; replayed: number };
}

async function serve(): Promise<Server> {
  // A checkpoint every 50 ms with new events: the kills land between and during checkpoint writes.
  const server = await serveFti(["serve", "athlete.fti", "--port", "0", "--no-watch", "--log-level", "warn"], work.root, { FTI_STREAM_CHECKPOINT_MS: "50" });
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const m = /^fti_stream_restart_events\{source="activities",from="(checkpoint|history)"\} (\d+)$/m.exec(metrics);
  if (!m) throw new Error(`no restart report in /metrics: ${metrics.slice(0, 2000)}`);
  return { ...server, rebuilt: { from: m[1] as "checkpoint" | "history", replayed: Number(m[2]) } };
}

/**
 * Activities in the last hours: out of order within the lateness, ties at one instant, several athletes; one in
 * 20 days old, beyond the 1-day lateness (late: stored, then corrected in the background, kills or not).
 */
function events(n: number, seed: number) {
  const rnd = mulberry32(seed);
  const base = Date.now() - 12 * HOUR;
  return Array.from({ length: n }, (_, i) => {
    const km = Math.round((3 + rnd() * 12) * 100) / 100;
    const late = rnd() < 0.05;
    return {
      activity_id: `crash-${i}`,
      athlete_id: work.athletes[Math.floor(rnd() * work.athletes.length)],
      started_at: new Date(late ? base - (2 + Math.floor(rnd() * 10)) * 24 * HOUR : base + Math.floor(rnd() * 40) * 15 * 60_000).toISOString(),
      sport: rnd() < 0.2 ? "treadmill" : "run",
      distance_km: km,
      elapsed_time_s: Math.round(km * (280 + rnd() * 80)),
      elevation_gain_m: Math.round(rnd() * 200),
      planned_pace_min_km: 5.3,
      avg_hr: rnd() < 0.2 ? null : Math.round(130 + rnd() * 40),
      route_id: `r${Math.floor(rnd() * 5)}`,
    };
  });
}

const push = (url: string, batch: unknown[]) =>
  fetch(`${url}/v1/sources/activities/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(batch) }).then(
    async (r) => ({ status: r.status, body: (await r.json()) as { accepted: number; duplicates: number } }),
    () => ({ status: 0, body: null }),
  );

async function fitnessOf(url: string, athlete: string): Promise<Record<string, unknown>> {
  const r = await fetch(`${url}/v1/models/time_estimator/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ athlete_id: athlete, planned_pace_min_km: 5.2, distance_km: 10, elevation_gain_m: 80 }),
  });
  const body = (await r.json()) as { features: Record<string, { value: unknown }>; feature_times: Record<string, string> };
  return { event_time: body.feature_times.fitness, ...Object.fromEntries(Object.entries(body.features).map(([k, v]) => [k, v.value])) };
}

/** Waits until the server has no late event left to correct (its background correction ran). */
async function lateCorrected(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    if (/^fti_stream_late_pending\{source="activities"\} 0$/m.test(metrics)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("late events still pending after 60 s");
}

/**
 * In the killed server's last part (the newest with zeros after its lines): a hole of zeros after its written
 * lines, then the lines of events no client sent — what a write finishing before the one in flight leaves at a crash.
 */
function holeAfterKill(n: number): void {
  const parts = segmentFiles(streamDir(work.storePath, "activities")).filter((f) => {
    const b = readFileSync(f);
    return writtenEnd(b) < b.length;
  });
  const file = parts[parts.length - 1];
  const buf = readFileSync(file);
  const ghosts = events(3, 99).map((e, i) => JSON.stringify({ ...e, activity_id: `ghost-${i}` }));
  const at = buf.indexOf(0) + 100;
  const text = Buffer.from(ghosts.join("\n") + "\n");
  expect(at + text.length, `the ghosts fit in ${file}'s zeros (${n} events pushed)`).toBeLessThan(buf.length);
  text.copy(buf, at);
  writeFileSync(file, buf);
}

describe("kill -9 of fti serve while events are pushed", () => {
  it("loses no acknowledged event, counts none twice, and serves the batch's values after restarts", async () => {
    const all = events(400, 5);
    const rnd = mulberry32(17);
    const acked = new Set<string>();
    let pending: typeof all = [];
    let cursor = 0;
    let server = await serve();
    const kills: number[] = [];
    const restarts: Server["rebuilt"][] = [];
    // Three kills at random batches, each with a request in flight (or just answered).
    const killAt = [2 + Math.floor(rnd() * 8), 12 + Math.floor(rnd() * 8), 22 + Math.floor(rnd() * 8)];
    let batchNo = 0;
    while (cursor < all.length || pending.length) {
      if (killAt.includes(++batchNo)) {
        const batch = pending.length ? pending : all.slice(cursor, (cursor += 1 + Math.floor(rnd() * 15)));
        const inFlight = push(server.url, batch);
        await new Promise((r) => setTimeout(r, Math.floor(rnd() * 8)));
        server.child.kill("SIGKILL");
        const r = await inFlight;
        if (r.status === 200) batch.forEach((e) => acked.add(e.activity_id));
        pending = r.status === 200 ? [] : batch;
        kills.push(acked.size);
        await server.exited;
        if (kills.length === 2) holeAfterKill(all.length);
        server = await serve();
        restarts.push(server.rebuilt);
        continue;
      }
      const batch = pending.length ? pending : all.slice(cursor, (cursor += 1 + Math.floor(rnd() * 15)));
      const r = await push(server.url, batch);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      batch.forEach((e) => acked.add(e.activity_id));
      pending = [];
    }
    expect(kills).toHaveLength(3);
    // Each restart after the first kill resumed from a checkpoint (written every 50 ms while events arrive), replaying only the events after it.
    expect(restarts.slice(1).map((r) => r.from)).toEqual(["checkpoint", "checkpoint"]);
    expect(acked.size).toBe(all.length);

    // Every killed server's last part (and the live one's) ends in zeros: the kills landed inside preallocated parts.
    const zeroTailed = segmentFiles(streamDir(work.storePath, "activities")).filter((f) => {
      const b = readFileSync(f);
      return writtenEnd(b) < b.length && b[b.length - 1] === 0;
    });
    expect(zeroTailed.length).toBeGreaterThanOrEqual(kills.length + 1);

    // 0 lost: every acknowledged event is in the segments, once or more (a resend of one written before the kill is a duplicate).
    const stored = new Set(readSegmentLines(streamDir(work.storePath, "activities")).map((l) => JSON.parse(l.text).activity_id as string));
    const lost = [...acked].filter((id) => !stored.has(id));
    expect(lost).toEqual([]);
    expect([...stored].filter((id) => id.startsWith("ghost-"))).toEqual([]);

    // What the last server serves, before and after the batch run, once its late events are corrected (by themselves).
    await lateCorrected(server.url);
    const served = new Map<string, Record<string, unknown>>();
    for (const a of work.athletes) served.set(a, await fitnessOf(server.url, a));
    server.child.kill("SIGTERM");
    await server.exited;
    const batch = await work.withStore(async (store) => {
      await runFeaturePipeline(store, work.bundle);
      await materialize(store, work.bundle);
      const [c] = await store.all<{ n: number; d: number; live: number; ghosts: number }>(
        "SELECT count(*) AS n, count(DISTINCT activity_id) AS d, count(*) FILTER (WHERE activity_id LIKE 'crash-%') AS live, count(*) FILTER (WHERE activity_id LIKE 'ghost-%') AS ghosts FROM src_activities",
      );
      // 0 duplicated: each event once offline, every pushed one there.
      expect(c.n).toBe(c.d);
      expect(c.live).toBe(all.length);
      // The lines after the hole were never acknowledged: no reader takes them.
      expect(c.ghosts).toBe(0);
      return store.all<Record<string, unknown>>("SELECT * FROM online_fitness_v1");
    });
    const restarted = await serve();
    // After `fti features` kept the segments in the store (and removed the sealed files): still from the checkpoint (the stopped server's), nothing after it.
    expect(restarted.rebuilt).toEqual({ from: "checkpoint", replayed: 0 });
    await lateCorrected(restarted.url);
    const fitness = work.bundle.groups.find((g) => g.name === "fitness")!;
    let mismatches = 0;
    let compared = 0;
    for (const row of batch) {
      const a = row.athlete_id as string;
      const after = await fitnessOf(restarted.url, a);
      for (const s of [served.get(a)!, after]) {
        if (s.event_time !== (row.event_time as Date).toISOString()) mismatches++;
        for (const f of fitness.features) {
          compared++;
          if (!close(s[f.name], row[f.name] as number | null, { base: f.type === "int" ? "int" : "float", nullable: true })) mismatches++;
        }
      }
    }
    restarted.child.kill("SIGTERM");
    await restarted.exited;
    expect(mismatches).toBe(0);
    expect(compared).toBe(2 * work.athletes.length * fitness.features.length);
    console.log(`[stream crash] ${all.length} events, kill -9 at ${kills.join(", ")} acknowledged; restarts: ${restarts.map((r) => (r.from === "checkpoint" ? `checkpoint + ${r.replayed} replayed` : "whole history")).join(", ")}: 0 lost, 0 duplicated, ${compared} values compared, 0 mismatches`);
  }, 600_000);
});
