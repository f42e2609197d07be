// Events pushed into `fti serve` (POST /v1/sources/activities/events) on the
// athlete example: validated all or nothing, durable before the answer,
// applied online at once (the next prediction sees the run), duplicates and
// late events, and the batch pipeline over the same events (file + segments)
// giving the values the stream served; a restarted server rebuilds the same
// state from the offline store and the segments.

import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sourceSummary } from "../runtime/cli/source-summary.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { verifyModel } from "../runtime/online/verify.ts";
import { mulberry32 } from "../runtime/random.ts";
import { readSegmentLines, streamDir } from "../runtime/stream/segments.ts";
import { buildAthleteWork, type AthleteWork } from "./helpers/online-athlete.ts";
import { close } from "./helpers/window-reference.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

let work: AthleteWork;
let server: RunningServer;
const start = () => startServer(work.bundle, { store: work.storePath, logs: join(work.root, ".fti/logs"), port: 0, watch: false, logger: quiet });

beforeAll(async () => {
  work = await buildAthleteWork({ athletes: 6, days: 150 });
  server = await start();
}, 300_000);
afterAll(async () => {
  await server?.close();
  work?.cleanup();
});

let next = 0;
function activity(athlete: string, at: number, over: Record<string, unknown> = {}) {
  next++;
  return {
    activity_id: `live-${next}`,
    athlete_id: athlete,
    started_at: new Date(at).toISOString(),
    sport: "run",
    distance_km: 5 + (next % 7),
    elapsed_time_s: (5 + (next % 7)) * 330,
    elevation_gain_m: 40,
    planned_pace_min_km: 5.4,
    avg_hr: next % 3 === 0 ? null : 150,
    route_id: `r${next % 4}`,
    ...over,
  };
}

async function post(body: string, type = "application/json") {
  const r = await fetch(`${server.url}/v1/sources/activities/events`, { method: "POST", headers: { "content-type": type }, body });
  return { status: r.status, body: (await r.json()) as any };
}

async function features(athlete: string) {
  const r = await fetch(`${server.url}/v1/models/time_estimator/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ athlete_id: athlete, planned_pace_min_km: 5.2, distance_km: 10, elevation_gain_m: 80 }),
  });
  expect(r.status).toBe(200);
  return (await r.json()) as { prediction: number; features: Record<string, { value: unknown; status: string }>; feature_times: Record<string, string | null>; late_events?: Record<string, { events: number; oldest_event_time: string }> };
}

// The written lines (a live part is preallocated: its zeros are not lines).
const segmentLines = () => readSegmentLines(streamDir(work.storePath, "activities")).map((l) => l.text);

describe("POST /v1/sources/activities/events", () => {
  it("counts the stream's events rebuilt at start in what the start loaded (fti serve runs a full GC before listening from 100,000 on)", async () => {
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const m = /^fti_stream_restart_events\{source="activities",from="history"\} (\d+)$/m.exec(metrics);
    const events = Number(m?.[1]);
    expect(events).toBeGreaterThan(100);
    const entities = server.service.health().online.reduce((n, g) => n + g.entities, 0);
    expect(server.service.loadedAtStart()).toBe(entities + events);
  });

  it("applies a pushed run at once: the next prediction sees it (present, at its event time)", async () => {
    const a = work.athletes[0];
    const before = await features(a);
    const at = Date.now() - 2 * HOUR;
    const r = await post(JSON.stringify(activity(a, at)));
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ source: "activities", received: 1, accepted: 1, duplicates: 0, late: 0 });
    const after = await features(a);
    expect(after.feature_times.fitness).toBe(new Date(at).toISOString());
    // runs_28d: the file's runs in (at − 28d, at], plus this one.
    const [{ n }] = await work.withStore((store) =>
      store.all<{ n: number }>(`SELECT count(*) AS n FROM src_activities WHERE athlete_id = ? AND started_at > ? AND started_at <= ?`, [a, new Date(at - 28 * DAY), new Date(at)]),
    );
    expect(after.features.runs_28d).toEqual({ value: Number(n) + 1, status: "present" });
    expect(after.features.atl_7d.value).not.toBe(before.features.atl_7d.value);
    expect(after.prediction).not.toBe(before.prediction);
    expect(segmentLines()).toHaveLength(1);
  });

  it("takes an array and NDJSON; a repeated event is acknowledged as a duplicate and counted once", async () => {
    const [a, b] = work.athletes;
    const e1 = activity(a, Date.now() - 90 * 60_000);
    const e2 = activity(b, Date.now() - 80 * 60_000);
    const r = await post(JSON.stringify([e1, e2]));
    expect(r.body).toMatchObject({ received: 2, accepted: 2 });
    const runs = (await features(a)).features.runs_28d.value;
    const again = await post(`${JSON.stringify(e1)}\n${JSON.stringify(activity(b, Date.now() - 70 * 60_000))}\n`, "application/x-ndjson");
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ received: 2, accepted: 1, duplicates: 1 });
    expect((await features(a)).features.runs_28d.value).toBe(runs);
  });

  it("refuses a batch with one bad event (400, every issue at its path) and applies none of it", async () => {
    const a = work.athletes[2];
    const lines = segmentLines().length;
    const before = await features(a);
    const good = activity(a, Date.now() - HOUR);
    const r = await post(JSON.stringify([good, activity(a, Date.now() - HOUR, { distance_km: -3, sport: "swim", extra: 1 }), { athlete_id: a }]));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("invalid_events");
    expect(r.body.error.message).toContain("2 of 3 events");
    const paths = r.body.error.issues.map((i: { path: unknown[] }) => JSON.stringify(i.path));
    expect(paths).toEqual(expect.arrayContaining(['[1,"extra"]', '[1,"sport"]', '[1,"distance_km"]', '[2,"activity_id"]', '[2,"started_at"]']));
    expect(r.body.error.issues.find((i: { path: unknown[] }) => i.path[1] === "distance_km").message).toBe("-3 fails check (> 0)");
    expect(segmentLines()).toHaveLength(lines);
    expect((await features(a)).features).toEqual(before.features);
    // Not JSON, a wrong type, an unknown stream.
    expect((await post("{nope")).status).toBe(400);
    expect((await post("{}\nnot json\n", "application/x-ndjson")).body.error.message).toMatch(/^line 2: malformed JSON/);
    expect((await post(JSON.stringify(activity(a, Date.now(), { started_at: "2025-02-30T10:00:00Z" })))).body.error.issues[0].path).toEqual(["started_at"]);
    const unknown = await fetch(`${server.url}/v1/sources/nope/events`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(unknown.status).toBe(404);
  });

  it("says to post the events themselves when they come wrapped in an object ({\"events\": [...]}), and stores none", async () => {
    const a = work.athletes[2];
    const lines = segmentLines().length;
    const r = await post(JSON.stringify({ events: [activity(a, Date.now() - HOUR), activity(a, Date.now() - HOUR)] }));
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({
      code: "invalid_events",
      message: 'the body is an object whose one field "events" holds an array: send the events themselves, an event object, an array of them, or NDJSON lines',
      issues: [{ path: ["events"], message: "an array of events inside an object; post the array itself" }],
    });
    expect(segmentLines()).toHaveLength(lines);
    // An event with one field of another kind is still checked field by field.
    expect((await post(JSON.stringify({ athlete_id: a }))).body.error.issues.map((i: { path: unknown[] }) => i.path[0])).toContain("activity_id");
  });

  it("refuses an event dated more than a day after the server's clock (it would make every later event late), with its path", async () => {
    const a = work.athletes[3];
    const lines = segmentLines().length;
    const before = await features(a);
    const r = await post(JSON.stringify([activity(a, Date.now() - HOUR), activity(a, Date.parse("9999-12-31T23:59:59Z"))]));
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe("invalid_events");
    expect(r.body.error.issues).toEqual([{ path: [1, "started_at"], message: expect.stringMatching(/^9999-12-31T23:59:59\.000Z is more than 24 h after the server's clock \(.+\): an event from the future is refused/) }]);
    expect(segmentLines()).toHaveLength(lines);
    expect((await features(a)).features).toEqual(before.features);
    // The watermark did not move: an event of an hour ago is not late.
    expect((await post(JSON.stringify(activity(a, Date.now() - 30 * 60_000)))).body).toMatchObject({ accepted: 1, late: 0 });
  });

  it("stores a late event (older than the watermark minus the lateness) without applying it online, marks the row, and a reload applies it", async () => {
    process.env.FTI_STREAM_CORRECT_MS = "0"; // this case: the correction a reload runs (the next one: by itself)
    const a = work.athletes[3];
    const before = await features(a);
    const at = Date.now() - 20 * DAY;
    const r = await post(JSON.stringify(activity(a, at)));
    expect(r.body).toMatchObject({ accepted: 0, late: 1 });
    const marked = await features(a);
    expect(marked.features).toEqual(before.features);
    // The answer says the fitness row misses a late event, and since when; another athlete's does not.
    expect(marked.late_events).toEqual({ fitness: { events: 1, oldest_event_time: new Date(at).toISOString() } });
    expect((await features(work.athletes[2])).late_events).toBeUndefined();
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/fti_stream_events_total\{source="activities",status="late"\} 1/);
    expect(metrics).toMatch(/fti_stream_events_total\{source="activities",status="rejected"\} [1-9]/);
    expect(metrics).toMatch(/fti_stream_apply_seconds_count\{source="activities"\} [1-9]/);
    expect(metrics).toMatch(/fti_stream_freshness_seconds\{source="activities"\} \d/);
    // A reload (what follows `fti features` + `fti materialize`) rebuilds the stream's state from the store and
    // the segments, the late event included: the mark is gone and the run counts in the 28-day window.
    expect((await server.service.reload("admin")).ok).toBe(true);
    const corrected = await features(a);
    expect(corrected.late_events).toBeUndefined();
    expect(corrected.features.runs_28d.value).toBe((before.features.runs_28d.value as number) + 1);
    expect(corrected.feature_times.fitness).toBe(before.feature_times.fitness);
  });

  it("corrects a late event by itself, in the background, without a reload: the mark clears, the run counts", async () => {
    process.env.FTI_STREAM_CORRECT_MS = "20";
    const a = work.athletes[4];
    const before = await features(a);
    const reloadBefore = server.service.health().last_reload;
    const at = Date.now() - 10 * DAY;
    expect((await post(JSON.stringify(activity(a, at)))).body).toMatchObject({ accepted: 0, late: 1 });
    let now = await features(a);
    for (let i = 0; i < 500 && now.late_events; i++) {
      await new Promise((r) => setTimeout(r, 20));
      now = await features(a);
    }
    expect(now.late_events).toBeUndefined();
    expect(now.features.runs_28d.value).toBe((before.features.runs_28d.value as number) + 1);
    expect(server.service.health().last_reload).toBe(reloadBefore); // no reload ran
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/fti_stream_late_corrections_total\{source="activities"\} [1-9]/);
    expect(metrics).toMatch(/fti_stream_late_pending\{source="activities"\} 0\n/);
    expect(metrics).toMatch(/fti_stream_unique_values\{source="activities",measure="bytes"\} [1-9]/);
    expect(metrics).toMatch(/^fti_stream_slow_requests_total\{source="activities"\} \d+$/m);
    for (const phase of ["validate", "gate", "queue", "write", "resume", "apply"]) expect(metrics).toMatch(new RegExp(`^fti_stream_slow_request_seconds_total\\{source="activities",phase="${phase}"\\} [0-9.e-]+$`, "m"));
    delete process.env.FTI_STREAM_CORRECT_MS;
  });

  it("the batch pipeline over the file and the segments computes what the stream served; a restart rebuilds it", async () => {
    // Other athletes get runs in and out of order, with ties, within the lateness.
    const base = Date.now() - 6 * HOUR;
    const events = [];
    for (let i = 0; i < 40; i++) events.push(activity(work.athletes[i % 6], base + ((i * 7919) % 17) * 10 * 60_000));
    events.push(activity(work.athletes[4], base), activity(work.athletes[4], base));
    expect((await post(JSON.stringify(events))).status).toBe(200);
    // Predictions after the last event (verify compares them with the batch below).
    const since = new Date();
    for (const a of work.athletes) await features(a);
    const streamed = new Map(server.service.streamedRows("fitness"));
    await server.close();
    const fitness = work.bundle.groups.find((g) => g.name === "fitness")!;
    const same = (s: { eventMs: number; values: Record<string, unknown> }, row: Record<string, unknown>) => {
      expect((row.event_time as Date).getTime()).toBe(s.eventMs);
      for (const f of fitness.features) {
        const got = s.values[f.name] as number | null;
        // Ints exactly; floats to 1e-9 relative: DuckDB sums a frame in another order (form = ctl − atl cancels).
        expect(close(got, row[f.name] as number | null, { base: f.type === "int" ? "int" : "float", nullable: true }), `${f.name}: stream ${got}, batch ${row[f.name]}`).toBe(true);
      }
      return fitness.features.length;
    };
    let batch: Array<Record<string, unknown>> = [];
    const lines = segmentLines().length;
    await work.withStore(async (store) => {
      const run = await runFeaturePipeline(store, work.bundle);
      const src = run.sources.find((s) => s.source === "activities")!;
      // Every line read; the closed server's segment files then compacted away (kept in fti_stream_events).
      expect(src.stream).toMatchObject({ events: lines, quarantined: 0 });
      // The summary names the streamed events beside the file rows: valid counts both.
      expect(src.valid).toBeGreaterThan(src.read);
      expect(sourceSummary(src)).toMatch(new RegExp(`^source activities: ${src.read} rows read and ${lines} streamed events, ${src.valid} valid, 0 quarantined(, [1-9]\\d* duplicate events? \\(already stored\\))?$`));
      expect(segmentLines()).toEqual([]);
      await materialize(store, work.bundle);
      batch = await store.all<Record<string, unknown>>("SELECT * FROM online_fitness_v1");
      // fti verify: what was served after the last event, streamed values included, equals its point-in-time
      // recomputation over the batch's rows — the late event's athlete too, since the reload applied it.
      // (Requests before out-of-order events differ by nature: the batch puts those events before them in
      // event time.)
      const v = await verifyModel(store, work.bundle, "time_estimator", { logsDir: join(work.root, ".fti/logs"), since, examples: 1000 });
      expect(v.requests).toBe(work.athletes.length);
      expect(v.features.flatMap((f) => f.examples)).toEqual([]);
      expect(v.mismatchedRequests).toBe(0);
      // Each event once: the resent one, the late one and the file's rows are not doubled, in this run or the next.
      const counts = async () => (await store.all<{ n: number; d: number }>("SELECT count(*) AS n, count(DISTINCT activity_id) AS d FROM src_activities"))[0];
      const first = await counts();
      expect(first.n).toBe(first.d);
      await runFeaturePipeline(store, work.bundle);
      expect(await counts()).toEqual(first);
    });
    let compared = 0;
    for (const row of batch) {
      const s = streamed.get(row.athlete_id as string);
      if (s) compared += same(s, row);
    }
    expect(compared).toBe(work.athletes.length * fitness.features.length);
    // Restarted: the state comes back from the offline store and the segments, the late event included now.
    server = await start();
    const rebuilt = server.service.streamedRows("fitness");
    expect(rebuilt.size).toBe(work.athletes.length);
    for (const row of batch) same(rebuilt.get(row.athlete_id as string)!, row);
    // A resent event is still a duplicate after the restart.
    const again = await post(JSON.stringify(events[0]));
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 1 });
  }, 300_000);
});

describe("hostile events", () => {
  it("1,000 random bodies (wrong types, nesting, huge values, polluting keys, broken NDJSON): never a 5xx, the server still takes a good event", async () => {
    const rnd = mulberry32(23);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    const values = [null, true, 0, -1, 1e308, -0, "", "x".repeat(5000), [], {}, [1, 2], { a: 1 }, "NaN", "2025-02-30T00:00:00Z", "2025-06-01T07:30:00.123456Z", 9007199254740993, "😀"];
    const keys = ["activity_id", "athlete_id", "started_at", "sport", "distance_km", "elapsed_time_s", "avg_hr", "__proto__", "constructor", "x".repeat(300)];
    const event = () => Object.fromEntries(Array.from({ length: Math.floor(rnd() * 12) }, () => [pick(keys), pick(values)]));
    const statuses = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const kind = Math.floor(rnd() * 5);
      const body =
        kind === 0 ? JSON.stringify(event())
        : kind === 1 ? JSON.stringify(Array.from({ length: Math.floor(rnd() * 5) }, event))
        : kind === 2 ? JSON.stringify(pick(values))
        : kind === 3 ? Array.from({ length: 3 }, () => (rnd() < 0.7 ? JSON.stringify(event()) : "{bad")).join("\n")
        : `{"activity_id": ${"[".repeat(Math.floor(rnd() * 3000))}`;
      const type = kind === 3 ? "application/x-ndjson" : "application/json";
      const r = await fetch(`${server.url}/v1/sources/activities/events`, { method: "POST", headers: { "content-type": type }, body });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      expect(r.status, body.slice(0, 200)).toBeLessThan(500);
      await r.text();
    }
    expect([...statuses.keys()].every((s) => s === 200 || (s >= 400 && s < 500))).toBe(true);
    const ok = await post(JSON.stringify(activity(work.athletes[5], Date.now() - HOUR)));
    expect(ok.status).toBe(200);
  }, 120_000);
});

describe("fti replay", () => {
  it("sends the source's last days again as live events: new ids, sent times, every one accepted", async () => {
    const { replayEvents } = await import("../runtime/stream/replay.ts");
    const before = await features(work.athletes[1]);
    const progress: number[] = [];
    const r = await work.withStore((store) =>
      replayEvents(store, work.bundle, { url: server.url, source: "activities", lastMs: 3 * DAY, speed: 3 * DAY / 1500, onProgress: (p) => progress.push(p.sent) }),
    );
    expect(r.total).toBeGreaterThan(3);
    expect(r).toMatchObject({ accepted: r.total, duplicates: 0, late: 0 });
    expect(progress.length).toBeGreaterThan(1); // paced: more than one request over the 1.5 s
    expect(progress.at(-1)).toBe(r.total);
    const after = await features(work.athletes[1]);
    expect(Date.parse(after.feature_times.fitness!)).toBeGreaterThan(Date.parse(before.feature_times.fitness!));
    await expect(work.withStore((store) => replayEvents(store, work.bundle, { url: server.url, source: "profiles", lastMs: DAY, speed: 1 }))).rejects.toThrow(/not a stream source/);
  }, 60_000);

  it("does not follow a redirect: the events stay unsent and the error names where it pointed", async () => {
    const { replayEvents } = await import("../runtime/stream/replay.ts");
    const received: string[] = [];
    const elsewhere = createServer((req, res) => {
      received.push(`${req.method} ${req.url}`);
      res.writeHead(200, { "content-type": "application/json" }).end('{"accepted":0,"duplicates":0,"late":0}');
    });
    const redirecting = createServer((_req, res) => res.writeHead(307, { location: `http://127.0.0.1:${portOf(elsewhere)}/v1/sources/activities/events` }).end());
    await Promise.all([elsewhere, redirecting].map((s) => new Promise<void>((r) => s.listen(0, "127.0.0.1", r))));
    try {
      const run = work.withStore((store) =>
        replayEvents(store, work.bundle, { url: `http://127.0.0.1:${portOf(redirecting)}`, source: "activities", lastMs: 3 * DAY, speed: 3 * DAY / 100, token: "a-token-of-enough-length" }),
      );
      await expect(run).rejects.toThrow(/answered 307, a redirect to http:\/\/127\.0\.0\.1:\d+\/v1\/sources\/activities\/events; fti replay does not follow redirects/);
      expect(received).toEqual([]);
    } finally {
      await Promise.all([elsewhere, redirecting].map((s) => new Promise((r) => s.close(r))));
    }
  });
});

const portOf = (s: Server) => (s.address() as { port: number }).port;
