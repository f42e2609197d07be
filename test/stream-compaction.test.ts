// Segment compaction: `fti features` keeps every segment line in the store
// (fti_stream_events) in its transaction and, once committed, removes the
// segment files no writer appends to any more. No acknowledged event is lost:
// later runs and a restarted server still have every one, exactly once; a live
// writer's file stays; and kill -9 of `fti features` at random moments leaves
// every acknowledged event in a segment file or in the store.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { unkeptStreamEvents } from "../runtime/features/stream-input.ts";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { mulberry32 } from "../runtime/random.ts";
import { readSegmentLines, streamDir } from "../runtime/stream/segments.ts";
import { buildAthleteWork, runFti, spawnFti, type AthleteWork } from "./helpers/online-athlete.ts";

const HOUR = 3_600_000;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const T0 = Date.now();

let work: AthleteWork;
const acknowledged: string[] = [];

beforeAll(async () => {
  work = await buildAthleteWork({ athletes: 4, days: 120 });
}, 300_000);
afterAll(() => work?.cleanup());

const serve = () => startServer(work.bundle, { store: work.storePath, logs: join(work.root, ".fti/logs"), port: 0, watch: false, logger: quiet, now: () => T0 });
const dir = () => streamDir(work.storePath, "activities");
const segmentFiles = () => readdirSync(dir()).filter((f) => f.endsWith(".ndjson"));
const segmentIds = () => readSegmentLines(dir()).map((l) => JSON.parse(l.text).activity_id as string);

let n = 0;
async function pushSome(server: RunningServer, count: number): Promise<void> {
  const events = Array.from({ length: count }, () => {
    n++;
    const athlete = work.athletes[n % work.athletes.length];
    return { activity_id: `compact-${n}`, athlete_id: athlete, started_at: new Date(T0 - (n % 40) * HOUR).toISOString(), sport: "run", distance_km: 4 + (n % 9), elapsed_time_s: (4 + (n % 9)) * 300, elevation_gain_m: 10 * (n % 5), planned_pace_min_km: 5, avg_hr: 140, route_id: `r${n % 3}` };
  });
  const r = await fetch(`${server.url}/v1/sources/activities/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(events) });
  expect(r.status).toBe(200);
  acknowledged.push(...events.map((e) => e.activity_id));
}

async function features(server: RunningServer) {
  const out: Record<string, unknown> = {};
  for (const a of work.athletes) {
    const r = await fetch(`${server.url}/v1/models/time_estimator/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ athlete_id: a, planned_pace_min_km: 5.2, distance_km: 10, elevation_gain_m: 80 }) });
    const body = (await r.json()) as any;
    out[a] = { features: body.features, times: body.feature_times, prediction: body.prediction };
  }
  return out;
}

const near = (a: unknown, b: unknown) =>
  typeof a === "number" && typeof b === "number" ? Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1) : a === b;

function expectSameFeatures(got: Record<string, any>, want: Record<string, any>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const a of Object.keys(want)) {
    expect(got[a].times, a).toEqual(want[a].times);
    expect(Object.keys(got[a].features).sort()).toEqual(Object.keys(want[a].features).sort());
    for (const [f, v] of Object.entries<any>(want[a].features)) {
      expect(got[a].features[f].status, `${a}.${f}`).toBe(v.status);
      expect(near(got[a].features[f].value, v.value), `${a}.${f}: ${got[a].features[f].value} vs ${v.value}`).toBe(true);
    }
    expect(Math.abs(got[a].prediction - want[a].prediction) <= 1e-6 * Math.abs(want[a].prediction), a).toBe(true);
  }
}

/** How many times each acknowledged event is in src_activities, and which are kept in the store. */
async function offline(): Promise<{ counts: Map<string, number>; kept: Set<string> }> {
  return work.withStore(async (store) => {
    const rows = await store.all<{ id: string; n: number }>(`SELECT activity_id AS id, count(*) AS n FROM src_activities WHERE activity_id LIKE 'compact-%' GROUP BY 1`);
    const kept = (await store.tableExists("fti_stream_events"))
      ? await store.all<{ id: string }>(`SELECT DISTINCT json_extract_string(text, '$.activity_id') AS id FROM fti_stream_events WHERE source = 'activities'`)
      : [];
    return { counts: new Map(rows.map((r) => [r.id, Number(r.n)])), kept: new Set(kept.map((k) => k.id)) };
  });
}

describe("stream segment compaction", () => {
  it("a run keeps the lines in the store and removes the closed writer's files; later runs and a restart lose none", async () => {
    let server = await serve();
    await pushSome(server, 12);
    await pushSome(server, 9);
    const before = await features(server);
    await server.close();
    expect(segmentFiles().length).toBeGreaterThan(0);
    const report = await work.withStore((store) => runFeaturePipeline(store, work.bundle));
    expect(report.sources.find((s) => s.source === "activities")!.stream!.compacted).toBeGreaterThan(0);
    expect(segmentFiles()).toEqual([]);
    for (let run = 0; run < 2; run++) {
      const { counts } = await offline();
      expect(acknowledged.filter((id) => counts.get(id) !== 1)).toEqual([]);
      if (run === 0) await work.withStore((store) => runFeaturePipeline(store, work.bundle));
    }
    server = await serve();
    try {
      // The rebuild applies the events in event-time order, not in arrival order: ewma sums may differ in the last bits.
      expectSameFeatures(await features(server), before);
    } finally {
      await server.close();
    }
  });

  it("a live writer's file stays (its lines are kept); once it stops, the next run removes it", async () => {
    const server = await serve();
    try {
      await pushSome(server, 5);
      const live = segmentFiles();
      expect(live.length).toBe(1);
      // What `fti verify` notes: events the offline rows lack until a run keeps them (the live file's included).
      expect(await work.withStore((store) => unkeptStreamEvents(store, "activities"))).toBe(5);
      await work.withStore((store) => runFeaturePipeline(store, work.bundle));
      expect(segmentFiles()).toEqual(live);
      expect(await work.withStore((store) => unkeptStreamEvents(store, "activities"))).toBe(0);
      expect((await offline()).kept.has(acknowledged.at(-1)!)).toBe(true);
    } finally {
      await server.close();
    }
    await work.withStore((store) => runFeaturePipeline(store, work.bundle));
    expect(segmentFiles()).toEqual([]);
  });

  it("kill -9 of `fti features` at random moments: every acknowledged event stays in a segment or in the store; then exactly once", async () => {
    const server = await serve();
    await pushSome(server, 15);
    await server.close();
    const rand = mulberry32(1207);
    for (let k = 0; k < 3; k++) {
      const child = spawnFti(["features", work.specPath], work.root);
      const delay = 300 + Math.floor(rand() * 6000);
      await new Promise((r) => setTimeout(r, delay));
      child.kill("SIGKILL");
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once("exit", r)));
      const inSegments = new Set(segmentIds());
      const { kept } = await offline();
      expect(acknowledged.filter((id) => !inSegments.has(id) && !kept.has(id)), `after a kill at ${delay} ms`).toEqual([]);
    }
    const done = await runFti(["features", work.specPath], work.root);
    expect(done.code, done.stderr).toBe(0);
    expect(segmentFiles()).toEqual([]);
    const { counts } = await offline();
    expect(acknowledged.filter((id) => counts.get(id) !== 1)).toEqual([]);
  }, 300_000);
});
