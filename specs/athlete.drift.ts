// The drift example (`npm run drift`): weeks of the athlete platform replayed
// on a simulated clock. From DRIFT_FROM on, a cohort of athletes follows a new
// training plan (their runs take PACE_FACTOR times as long, and they plan them
// so). Every simulated day:
//   03:00  a tick of `fti run` (the orchestrator): the scheduled feature
//          pipeline from its watermark, materialize, `fti monitor`, and a
//          retrain when a `retrain` trigger of specs/athlete.fti fires — the
//          challenger replaces production only if it is better on recent runs;
//   then   the day's planned runs are sent to the online service (in
//          process, its clock at each request's time) and logged; the runs
//          themselves are the labels that arrive later.
// It prints one line per day (for the latest complete weekly monitoring
// window: the serving version, the largest input PSI, the live MAE next to the
// test MAE; and what fti run did). Afterwards the store is
// left in .fti/drift/ for `fti monitor`, `fti runs` and the monitoring page.
//
// Size: FTI_DRIFT_ATHLETES (120), FTI_DRIFT_DAYS replayed (35), drift from day
// FTI_DRIFT_FROM (14) of the replay; 400 days of history before it.

import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadCompiledSpec } from "../compiler/cli/load.ts";
import type { SpecBundle } from "../runtime/api.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { readMonitorRows } from "../runtime/monitor/results.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { OnlineService } from "../runtime/online/service.ts";
import { tickOnce } from "../runtime/orchestrator/run.ts";
import type { RunRecord } from "../runtime/orchestrator/runs.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { trainModelFromSpec } from "../runtime/training/train.ts";
import { writeAthleteCsv, writeAthleteProfilesCsv } from "./athlete.data.ts";
import { writeCoachNotes } from "./athlete.notes.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MODEL = "time_estimator";
export const PACE_FACTOR = 0.8;
export const COHORT_SHARE = 0.5;

export interface DriftReplayOptions {
  /** Working directory (spec copy, data, store, logs, generated code); must be inside the repository. */
  dir: string;
  athletes: number;
  /** Days replayed. */
  days: number;
  /** Day of the replay (0-based) from which the cohort drifts. */
  driftFromDay: number;
  /** First replayed day (UTC midnight). */
  start: Date;
  /** Monitoring window of `fti run` (default 7 days: a day of a few dozen requests is too small a sample for PSI). */
  windowMs?: number;
  onDay?: (line: DayReport) => void;
}

export interface DayReport {
  day: string;
  requests: number;
  /** The latest complete monitoring window. */
  window: string | null;
  /** The largest input PSI of that window, and its input. */
  psi: { input: string; value: number } | null;
  liveMae: number | null;
  testMae: number | null;
  version: number | null;
  runs: RunRecord[];
}

interface Planned {
  t: number;
  request: { athlete_id: string; planned_pace_min_km: number; distance_km: number; elevation_gain_m: number };
}

function plannedRuns(csv: string): Planned[] {
  const [header, ...lines] = readFileSync(csv, "utf8").trim().split("\n");
  const col = Object.fromEntries(header.split(",").map((h, i) => [h, i]));
  return lines.map((l) => {
    const f = l.split(",");
    return {
      // The athlete asks for a prediction an hour before the run.
      t: Date.parse(f[col.started_at].replace(" ", "T") + "Z") - HOUR,
      request: {
        athlete_id: f[col.athlete_id],
        planned_pace_min_km: Number(f[col.planned_pace_min_km]),
        distance_km: Number(f[col.distance_km]),
        elevation_gain_m: Number(f[col.elevation_gain_m]),
      },
    };
  });
}

async function withStore<T>(path: string, fn: (s: Store) => Promise<T>): Promise<T> {
  const s = await openStore({ path });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** Spec, extern module and data in `dir`; compiled there. */
async function prepare(opts: DriftReplayOptions): Promise<{ bundle: SpecBundle; storePath: string; logsDir: string; csv: string }> {
  const repo = resolve(import.meta.dirname, "..");
  rmSync(opts.dir, { recursive: true, force: true });
  mkdirSync(join(opts.dir, "data/athlete"), { recursive: true });
  copyFileSync(join(repo, "specs/athlete.fti"), join(opts.dir, "athlete.fti"));
  copyFileSync(join(repo, "specs/athlete.functions.ts"), join(opts.dir, "athlete.functions.ts"));
  const historyDays = 400;
  const first = new Date(opts.start.getTime() - historyDays * DAY).toISOString().slice(0, 10);
  const csv = join(opts.dir, "data/athlete/activities.csv");
  const drift = { from: new Date(opts.start.getTime() + opts.driftFromDay * DAY).toISOString().slice(0, 10), share: COHORT_SHARE, paceFactor: PACE_FACTOR };
  await writeAthleteCsv({ athletes: opts.athletes, days: historyDays + opts.days, start: first, seed: 11, path: csv, drift });
  // The spec's other sources: reference data (athlete profiles) for the same athletes and days, and the coaches' notes on the runs.
  await writeAthleteProfilesCsv({ athletes: opts.athletes, days: historyDays + opts.days, start: first, seed: 11, path: join(opts.dir, "data/athlete/profiles.csv") });
  writeCoachNotes(csv, join(opts.dir, "data/athlete/coach_notes.csv"), 11);
  const bundle = await loadCompiledSpec(join(opts.dir, "athlete.fti"), { outDir: join(opts.dir, "generated/athlete"), quiet: true });
  return { bundle, storePath: join(opts.dir, "store.duckdb"), logsDir: join(opts.dir, "logs"), csv };
}

async function dayReport(storePath: string, day: number, clock: number, runs: RunRecord[], requests: number): Promise<DayReport> {
  const rows = await withStore(storePath, (s) => readMonitorRows(s, MODEL, { lastWindows: 4 }));
  const complete = rows.filter((r) => r.window_end.getTime() <= clock);
  const last = complete.length ? Math.max(...complete.map((r) => r.window_start.getTime())) : null;
  const inLast = complete.filter((r) => r.window_start.getTime() === last);
  const psi = inLast.filter((r) => r.subject.startsWith("feature:") && r.measure === "psi").sort((a, b) => b.value - a.value)[0];
  const value = (subject: string, measure: string) => inLast.find((r) => r.subject === subject && r.measure === measure)?.value ?? null;
  return {
    day: new Date(day).toISOString().slice(0, 10),
    requests,
    window: last === null ? null : new Date(last).toISOString().slice(0, 10),
    psi: psi ? { input: psi.subject.slice(8), value: psi.value } : null,
    liveMae: value("live", "mae"),
    testMae: value("test", "mae"),
    version: inLast[0]?.version ?? null,
    runs,
  };
}

/** The replay; returns one report per day. */
export async function replayDrift(opts: DriftReplayOptions): Promise<DayReport[]> {
  const { bundle, storePath, logsDir, csv } = await prepare(opts);
  const t0 = opts.start.getTime();
  // The production model at the start: trained on what was known then.
  await withStore(storePath, async (s) => {
    await runFeaturePipeline(s, bundle, { to: opts.start });
    await trainModelFromSpec(s, bundle, MODEL, { until: opts.start });
    await materialize(s, bundle, { now: opts.start });
  });
  let clock = t0;
  const svc = await OnlineService.open(bundle, { store: storePath, logs: logsDir, now: () => clock, logFlushMs: 20, watch: false });
  const planned = plannedRuns(csv);
  const reports: DayReport[] = [];
  try {
    for (let d = 0; d < opts.days; d++) {
      const day = t0 + d * DAY;
      clock = day + 3 * HOUR;
      await svc.log?.flush();
      const tickClock = clock;
      const runs = (await tickOnce(bundle, new Date(clock), { storePath, logsDir, windowMs: opts.windowMs ?? 7 * DAY })).filter((r) => r.kind !== "tick");
      await svc.reload("drift replay tick");
      const today = planned.filter((p) => p.t >= clock && p.t < day + DAY).sort((a, b) => a.t - b.t);
      for (const p of today) {
        clock = p.t;
        await svc.predict(MODEL, p.request);
      }
      const report = await dayReport(storePath, day, tickClock, runs, today.length);
      reports.push(report);
      opts.onDay?.(report);
    }
  } finally {
    await svc.close();
  }
  return reports;
}

function line(r: DayReport): string {
  const f = (x: number | null, d = 0) => (x === null ? "–" : x.toFixed(d));
  const psi = r.psi ? `${r.psi.input} ${r.psi.value.toFixed(2)}` : "–";
  const events = r.runs
    .filter((x) => x.kind === "retrain" || x.status !== "ok")
    .map((x) => `${x.kind} ${x.status}: ${x.trigger}${x.kind === "retrain" && x.detail ? ` → ${JSON.parse(x.detail).promoted ? `v${x.version_to} promoted` : `kept v${x.version_from} (${JSON.parse(x.detail).reason})`}` : ""}${x.error ? ` (${x.error})` : ""}`);
  return `${r.day}  requests ${String(r.requests).padStart(3)}  week of ${r.window ?? "–       "}  v${r.version ?? "–"}  max psi ${psi.padEnd(26)} live mae ${f(r.liveMae).padStart(5)} (test ${f(r.testMae)})  ${events.join("; ")}`;
}

async function main(): Promise<void> {
  const days = Number(process.env.FTI_DRIFT_DAYS ?? 35);
  const dir = resolve(".fti/drift");
  const today = Math.floor(Date.now() / DAY) * DAY;
  const start = new Date(today - (days + 1) * DAY);
  const driftFromDay = Number(process.env.FTI_DRIFT_FROM ?? 14);
  process.stdout.write(
    `▶ drift replay: ${days} days from ${start.toISOString().slice(0, 10)}; from day ${driftFromDay} ${COHORT_SHARE * 100}% of the athletes run ${Math.round((1 - PACE_FACTOR) * 100)}% faster\n`,
  );
  process.stdout.write("  day         requests  latest complete week: serving version, largest input PSI, live MAE (test MAE); what fti run did\n");
  await replayDrift({ dir, athletes: Number(process.env.FTI_DRIFT_ATHLETES ?? 120), days, driftFromDay, start, onDay: (r) => process.stdout.write(line(r) + "\n") });
  process.stdout.write(`
The store and logs are in .fti/drift/. Look at them with:
  npx fti runs --store .fti/drift/store.duckdb
  npx fti monitor .fti/drift/athlete.fti time_estimator --store .fti/drift/store.duckdb --logs .fti/drift/logs
  npx fti serve .fti/drift/athlete.fti --store .fti/drift/store.duckdb --logs .fti/drift/logs   # then /monitor/time_estimator
`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
