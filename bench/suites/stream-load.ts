// The stream suite's HTTP case (bench/suites/stream.ts): `fti serve` on the
// athlete example in a child process, events pushed at a paced 5,000 events/s
// (500 requests of 10) while the same server answers 1,000 predictions/s, both
// open-loop from this process (bench/lib/paced-load.ts). An events request is
// answered once its events are durable and applied, so its latency is the
// freshness: accepted → servable. The reference is the HTTP floor at the same
// paced rates: a bare node:http server that parses each body and answers a
// canned answer (online suite's task), in its own process.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildAthleteWork } from "../../test/helpers/online-athlete.ts";
import { fmtInt, fmtMs } from "../lib/harness.ts";
import { pacedLoad, type PacedLoadResult } from "../lib/paced-load.ts";
import type { Measured } from "../lib/report.ts";
import type { Ctx } from "../lib/suite.ts";
import { startServe, stopServe } from "./online.ts";

const S = "stream";
const BIN = join(import.meta.dirname, "../../compiler/cli/bin.mjs");
const WORKER = join(import.meta.dirname, "../worker.ts");
const EVENTS_PATH = "/v1/sources/activities/events";
const PREDICT_PATH = "/v1/models/time_estimator/predict";

const pct = (xs: ArrayLike<number>, p: number) => {
  const s = Float64Array.from(xs).sort();
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

interface Rates {
  eventsPerSec: number;
  batch: number;
  predictionsPerSec: number;
  seconds: number;
}

/** The paced events and predictions against `url`, at once; each side's answers. */
async function load(url: string, athletes: string[], r: Rates, tag: string): Promise<{ events: PacedLoadResult; predictions: PacedLoadResult | null }> {
  const base = Date.now() - 60_000;
  const event = (i: number, k: number) => {
    const n = i * r.batch + k;
    const km = 5 + (n % 11);
    return {
      activity_id: `bench-${tag}-${n}`,
      athlete_id: athletes[n % athletes.length],
      started_at: new Date(base + Math.floor(n / 10)).toISOString(),
      sport: "run",
      distance_km: km,
      elapsed_time_s: km * 330,
      elevation_gain_m: 40,
      planned_pace_min_km: 5.4,
      avg_hr: n % 3 === 0 ? null : 150,
      route_id: `r${n % 40}`,
    };
  };
  const events = pacedLoad({
    url,
    rate: r.eventsPerSec / r.batch,
    seconds: r.seconds,
    connections: 64,
    request: (i) => ({ path: EVENTS_PATH, body: JSON.stringify(Array.from({ length: r.batch }, (_, k) => event(i, k))), tag: "e" }),
  });
  const predictions = r.predictionsPerSec
    ? pacedLoad({
        url,
        rate: r.predictionsPerSec,
        seconds: r.seconds,
        connections: 64,
        request: (i) => ({ path: PREDICT_PATH, body: JSON.stringify({ athlete_id: athletes[(i * 7) % athletes.length], planned_pace_min_km: 5.2, distance_km: 10, elevation_gain_m: 80 }), tag: "p" }),
      })
    : Promise.resolve(null);
  return { events: await events, predictions: await predictions };
}

const ok = (r: PacedLoadResult) => r.statuses.filter((s) => s === 200).length;

function line(id: string, label: string, role: Measured["role"], r: PacedLoadResult, note: string): Measured {
  const p50 = pct(r.latencies, 50);
  return {
    suite: S, id, label, role, ms: [p50], cpuMs: [NaN], rssKB: 0, extra: { p99: pct(r.latencies, 99) },
    note: `p50 ${fmtMs(p50)}, p99 ${fmtMs(pct(r.latencies, 99))}, max ${fmtMs(pct(r.latencies, 100))}; ${fmtInt(ok(r))} of ${fmtInt(r.sent)} answered 200 (${r.errors} errors, ${r.queued} waited for a connection; the generator's timer was up to ${fmtMs(r.lateMs)} late)${note}`,
  };
}

/** Freshness over HTTP at 5,000 events/s with 1,000 predictions/s beside it, and the HTTP floor at the same rates. */
export async function freshnessUnderLoad(ctx: Ctx): Promise<void> {
  const athletes = ctx.quick ? 30 : 1000;
  const days = ctx.quick ? 200 : 365;
  const rates: Rates = { eventsPerSec: 5000, batch: 10, predictionsPerSec: 1000, seconds: ctx.quick ? 4 : 30 };
  process.stderr.write(`  · stream: building the athlete example (${athletes} athletes × ${days} days: features, train, materialize)\n`);
  const work = await buildAthleteWork({ athletes, days });
  const runs: Array<{ child: import("node:child_process").ChildProcess }> = [];
  try {
    const server = await startServe([BIN, "serve", work.specPath, "--store", work.storePath, "--port", "0", "--no-watch", "--logs", work.logsDir, "--log-level", "warn"], work.root);
    runs.push(server);
    const warm = await load(server.url, work.athletes, { ...rates, seconds: 1 }, "warm");
    if (ok(warm.events) === 0) throw new Error(`the server took no events:\n${server.log().slice(-2000)}`);
    const alone = await load(server.url, work.athletes, { ...rates, predictionsPerSec: 0 }, "alone");
    const both = await load(server.url, work.athletes, rates, "both");
    await stopServe(server.child);
    runs.pop();

    const answerFile = join(work.root, "events-answer.json");
    writeFileSync(answerFile, JSON.stringify({ source: "activities", received: 10, accepted: 10, duplicates: 0, late: 0, watermark: new Date().toISOString() }));
    const floor = await startServe(["--import", "tsx", WORKER, "online.httpFloor", JSON.stringify({ answerFile })], process.cwd());
    runs.push(floor);
    const floorBoth = await load(floor.url, work.athletes, rates, "floor");
    await stopServe(floor.child);
    runs.pop();

    const cfg = `${fmtInt(rates.eventsPerSec)} events/s as ${rates.batch}-event requests + ${fmtInt(rates.predictionsPerSec)} predictions/s for ${rates.seconds} s, ${athletes} athletes`;
    ctx.out.measure(line("freshness-http-alone", "freshness over HTTP: events request answered (durable + applied), 5,000 events/s alone", "info", alone.events, ""));
    const p99 = pct(both.events.latencies, 99);
    const goal = `; goal p99 ≤ 20 ms: ${p99 <= 20 ? "met" : "NOT met"}`;
    const fti = line("freshness-http", "freshness over HTTP, 5,000 events/s + 1,000 predictions/s", "fti", both.events, `; ${cfg}${goal}`);
    const ref = line("freshness-http-floor", "reference: the HTTP floor (parse, canned answer) at the same rates", "ref", floorBoth.events, "");
    ctx.out.measure(fti);
    ctx.out.measure(ref, { vs: fti });
    if (both.predictions) ctx.out.measure(line("predict-under-stream", "predictions while the events stream in (1,000/s)", "info", both.predictions, ""));
    const answered = ok(both.events) === both.events.sent && (!both.predictions || ok(both.predictions) === both.predictions.sent);
    ctx.out.check(S, "under load every events request and every prediction was answered 200", answered, `events ${ok(both.events)} of ${both.events.sent}, predictions ${both.predictions ? ok(both.predictions) : 0} of ${both.predictions?.sent ?? 0}`);
  } finally {
    for (const r of runs) await stopServe(r.child);
    work.cleanup();
  }
}
