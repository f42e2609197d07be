// monitor: `fti monitor` over a served request log (10 M logged requests at
// full size; --quick 20 k) against a hand-written DuckDB SQL reference that
// reads the same log files (read_json) and computes the same statistics per
// weekly window: requests; per model input and for the prediction the count,
// null rate, mean, PSI over the training bins and the KS statistic against the
// training KS reference; freshness (median and max age of the served rows);
// and live performance (labelled predictions and MAE: each prediction joined
// with the first later label of the same athlete and distance within 7 days).
// Both get the training statistics of the same registered version; the check
// compares every (window, subject, measure) of the two.
//
// Data: the batch suite's store (features + the model `finish_time`, trained
// by fti) and a request log written by the service's own log writer
// (runtime/online/log.ts: ndjson, rotated and gzipped), cached by size. Each
// request is a planned run of the dataset asked 1–48 h before it starts (so
// most get their label), with input values drawn from the version's training
// KS reference; from the middle of the time range pace_28d is 10% lower
// (drift), pace_sd_28d is null in 3% of the requests.

import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ModelPlan } from "../../runtime/api.ts";
import { findModel } from "../../runtime/bundle.ts";
import { batchTableOf } from "../../runtime/monitor/batch-predictions.ts";
import { monitorModel } from "../../runtime/monitor/monitor.ts";
import { windowMeasures } from "../../runtime/monitor/results.ts";
import { RequestLog } from "../../runtime/online/log.ts";
import type { RequestLogEntry } from "../../runtime/online/types.ts";
import { mulberry32 } from "../../runtime/random.ts";
import { getModel } from "../../runtime/registry/registry.ts";
import type { TrainingStatistics } from "../../runtime/statistics/statistics.ts";
import { tableRef } from "../../runtime/store/sql.ts";
import { openStore } from "../../runtime/store/store.ts";
import { ensureActivities, sqlStr, type ActivitiesData } from "../lib/data.ts";
import { openRefDb, rows } from "../lib/duck.ts";
import { fmtInt, fmtMs, fmtRate, median, runNodeTask, timed, type Sample } from "../lib/harness.ts";
import { ensureCompiled, generatedHash, loadBundle } from "../lib/spec.ts";
import { rmDb, rounds, type Ctx, type Suite } from "../lib/suite.ts";
import { ensureBatchStore } from "./batch.ts";

const MODEL = "finish_time";
const DAY = 86_400_000;
const HOUR = 3_600_000;
const WINDOW_MS = 7 * DAY;
const HORIZON_MS = 7 * DAY;
/** Measures compared between fti and the reference (fti also reports ks_p, null_rate_change and the test metrics). */
const COMPARED = new Set(["requests", "count", "null_rate", "mean", "psi", "ks", "p50_s", "max_s", "labelled", "mae"]);

type MeasureRow = [window: string, subject: string, measure: string, value: number];

interface LogArgs {
  data: ActivitiesData;
  store: string;
  logs: string;
  requests: number;
}

interface RunArgs extends LogArgs {
  memoryLimit: string;
  threads?: number;
  since: string;
  until: string;
}

/** A value drawn from a column's training KS reference (its order statistics), or null when it has none. */
function drawFrom(stats: TrainingStatistics, name: string, rnd: () => number): number | null {
  const col = name === "prediction" ? stats.predictions : stats.features.find((f) => f.name === name);
  const q = col?.numeric?.quantiles;
  if (!q?.length) return null;
  const i = Math.floor(rnd() * q.length);
  const next = q[Math.min(q.length - 1, i + 1)];
  return q[i] + (next - q[i]) * rnd();
}

function logEntry(plan: ModelPlan, stats: TrainingStatistics, run: { athlete_id: string; distance_km: number; planned: number }, i: number, mid: number, rnd: () => number): RequestLogEntry {
  const ts = run.planned - HOUR - Math.floor(rnd() * 47 * HOUR);
  const features: RequestLogEntry["features"] = {};
  const odts: Record<string, number | null> = {};
  for (const input of plan.inputs) {
    let v = drawFrom(stats, input.name, rnd);
    if (v !== null && input.name === "pace_28d" && ts >= mid) v *= 0.9;
    if (input.name === "pace_sd_28d" && rnd() < 0.03) v = null;
    if (input.from === "odt") odts[input.name] = v;
    else features[input.name] = { value: v, status: v === null ? "null" : "present" };
  }
  return {
    v: 1,
    id: `bench-${i}`,
    ts: new Date(ts).toISOString(),
    model: plan.name,
    version: 1,
    request: { athlete_id: run.athlete_id, distance_km: run.distance_km },
    features,
    feature_times: { activity_features: new Date(ts - Math.floor(rnd() * 3 * DAY)).toISOString() },
    odts,
    prediction: drawFrom(stats, "prediction", rnd),
  };
}

export const tasks = {
  /** The request log: `requests` planned runs of the dataset, asked before they start. */
  async prepare(a: LogArgs): Promise<Record<string, unknown>> {
    rmSync(a.logs, { recursive: true, force: true });
    const bundle = await loadBundle(a.data);
    const { plan } = findModel(bundle, MODEL);
    const store = await openStore({ path: a.store, readOnly: true });
    let runs: Array<{ athlete_id: string; distance_km: number; planned: number }>;
    let stats: TrainingStatistics;
    try {
      stats = (await getModel(store, MODEL, 1)).statistics!;
      runs = (await store.all<{ athlete_id: string; distance_km: number; planned_at: Date }>(`SELECT athlete_id, distance_km, planned_at FROM src_planned_runs ORDER BY plan_id`)).map(
        (r) => ({ athlete_id: r.athlete_id, distance_km: r.distance_km, planned: r.planned_at.getTime() }),
      );
    } finally {
      await store.close();
    }
    const times = runs.map((r) => r.planned).sort((x, y) => x - y);
    const mid = times[Math.floor(times.length / 2)];
    const rnd = mulberry32(13);
    const log = new RequestLog(a.logs, { flushMs: 1000, maxBatch: 5000, maxPending: 1_000_000, maxTotalBytes: 2 ** 40 });
    const t0 = performance.now();
    for (let i = 0; i < a.requests; i++) {
      log.append(logEntry(plan, stats, runs[Math.floor(rnd() * runs.length)], i, mid, rnd));
      if (i % 20_000 === 19_999) await log.flush();
    }
    await log.close();
    // The time range: whole windows from the epoch around every request and label.
    const since = Math.floor((times[0] - 2 * DAY) / WINDOW_MS) * WINDOW_MS;
    const until = Math.ceil((times.at(-1)! + DAY) / WINDOW_MS) * WINDOW_MS;
    return { ms: performance.now() - t0, cpuMs: 0, since: new Date(since).toISOString(), until: new Date(until).toISOString() };
  },

  /** `fti monitor finish_time --window 7d --label-within 7d` over the log (results stored in fti_monitor, as the command does). */
  async fti(a: RunArgs): Promise<Sample> {
    const bundle = await loadBundle(a.data);
    const store = await openStore({ path: a.store, memoryLimit: a.memoryLimit, threads: a.threads });
    try {
      const t = await timed(() =>
        monitorModel(store, bundle, MODEL, { logsDir: a.logs, since: new Date(a.since), until: new Date(a.until), windowMs: WINDOW_MS, labelHorizonMs: HORIZON_MS }),
      );
      const measures: MeasureRow[] = t.value.windows.flatMap((w) =>
        windowMeasures(w)
          .filter(([subject, measure]) => COMPARED.has(measure) && subject !== "test")
          .map(([subject, measure, value]): MeasureRow => [w.start, subject, measure, value]),
      );
      const requests = t.value.windows.reduce((s, w) => s + w.requests, 0);
      return { ms: t.ms, cpuMs: t.cpuMs, rssKB: 0, requests, windows: t.value.windows.length, badLines: t.value.log.bad_lines, measures };
    } finally {
      await store.close();
    }
  },

  /** The same statistics in DuckDB SQL over the same log files, with the version's training statistics as input. */
  async reference(a: RunArgs): Promise<Sample> {
    const bundle = await loadBundle(a.data);
    const { plan } = findModel(bundle, MODEL);
    const db = await openRefDb(a.store, { memoryLimit: a.memoryLimit, threads: a.threads });
    try {
      const stats = (await getModelStatistics(a.store)) as TrainingStatistics;
      const t = await timed(() => referenceMeasures(db.conn, plan, stats, a));
      return { ms: t.ms, cpuMs: t.cpuMs, rssKB: 0, measures: t.value };
    } finally {
      db.close();
    }
  },
};

/** The registered version's statistics, read before the timed part (the reference gets them as input, like fti reads them). */
async function getModelStatistics(path: string): Promise<TrainingStatistics> {
  const store = await openStore({ path, readOnly: true });
  try {
    return (await getModel(store, MODEL, 1)).statistics!;
  } finally {
    await store.close();
  }
}

const sqlList = (xs: readonly number[]) => `[${xs.map((x) => String(x)).join(", ")}]::DOUBLE[]`;

/** The log (read_json over the same files), its values in long format (one row per request and subject), and the training bins and KS references. */
async function loadReferenceTables(conn: Parameters<typeof rows>[0], plan: ModelPlan, stats: TrainingStatistics, a: RunArgs, w: string): Promise<void> {
  const glob = join(a.logs, MODEL, "*.ndjson*");
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE log AS
       SELECT epoch_ms(CAST(ts AS TIMESTAMPTZ)) AS ms, request, features, odts, prediction, feature_times
         FROM read_json(${sqlStr(glob)}, format = 'newline_delimited', ignore_errors = true,
                        columns = {id: 'VARCHAR', ts: 'VARCHAR', request: 'JSON', features: 'JSON', odts: 'JSON', prediction: 'DOUBLE', feature_times: 'JSON'})
        WHERE id IS NOT NULL AND CAST(ts AS TIMESTAMPTZ) >= ${sqlStr(a.since)}::TIMESTAMPTZ AND CAST(ts AS TIMESTAMPTZ) < ${sqlStr(a.until)}::TIMESTAMPTZ`,
  );
  // A value is NULL when it is missing or not finite (as fti counts nulls).
  const value = (expr: string) => `CASE WHEN isfinite(TRY_CAST(${expr} AS DOUBLE)) THEN TRY_CAST(${expr} AS DOUBLE) END`;
  const subjects = [
    ...plan.inputs.map((i) => ({
      subject: `feature:${i.name}`,
      expr: value(i.from === "odt" ? `json_extract_string(odts, ${sqlStr(`$."${i.name}"`)})` : `json_extract_string(features, ${sqlStr(`$."${i.name}".value`)})`),
      train: stats.features.find((f) => f.name === i.name)!,
    })),
    { subject: "prediction", expr: value("prediction"), train: stats.predictions },
  ];
  await conn.run(`CREATE OR REPLACE TEMP TABLE vals AS ${subjects.map((s) => `SELECT ${w} AS w, ${sqlStr(s.subject)} AS subject, ${s.expr} AS v FROM log`).join(" UNION ALL ")}`);
  await conn.run(
    `CREATE OR REPLACE TEMP TABLE train AS SELECT * FROM (VALUES ${subjects
      .map((s) => `(${sqlStr(s.subject)}, ${sqlList(s.train.numeric!.bins.edges)}, ${sqlList(s.train.numeric!.bins.fractions)}, ${sqlList(s.train.numeric!.quantiles)})`)
      .join(", ")}) AS t(subject, edges, fractions, ref)`,
  );
}

/** The reference's queries, each returning (w, subject, measure, value). `w` is the window-start expression over `ms`. */
const REFERENCE_SQL: Record<string, (w: string, a: RunArgs) => string> = {
  traffic: (w) => `SELECT ${w} AS w, 'traffic' AS subject, 'requests' AS measure, count(*)::DOUBLE AS value FROM log GROUP BY ALL`,
  summary: () =>
    `UNPIVOT (SELECT w, subject, count(*)::DOUBLE AS "count", (count(*) - count(v)) / count(*) AS null_rate, avg(v) AS mean FROM vals GROUP BY ALL)
       ON "count", null_rate, mean INTO NAME measure VALUE value`,
  // PSI: bin i holds (e_i, e_{i+1}] (bin 0 from -inf, the last to +inf); both fractions floored at 1e-4.
  psi: () =>
    `WITH binned AS (
       SELECT v.w, v.subject, len(list_filter(t.edges, e -> e < v.v)) AS bin, count(*) AS c
         FROM vals v JOIN train t USING (subject) WHERE v.v IS NOT NULL GROUP BY ALL),
     totals AS (SELECT w, subject, sum(c) AS n FROM binned GROUP BY ALL),
     bins AS (SELECT x.w, x.subject, unnest(range(len(t.fractions))) AS bin, unnest(t.fractions) AS e FROM totals x JOIN train t USING (subject))
     SELECT b.w, b.subject, 'psi' AS measure,
            sum((greatest(coalesce(k.c, 0) / x.n, 1e-4) - greatest(b.e, 1e-4)) * ln(greatest(coalesce(k.c, 0) / x.n, 1e-4) / greatest(b.e, 1e-4))) AS value
       FROM bins b JOIN totals x USING (w, subject) LEFT JOIN binned k USING (w, subject, bin) GROUP BY ALL`,
  // KS: sup over every distinct value of both samples of |F_train − F_window|.
  ks: () =>
    `WITH totals AS (SELECT w, subject, count(v) AS n FROM vals GROUP BY ALL HAVING count(v) > 0),
     pts AS (SELECT w, subject, v AS x, 1 AS win, 0 AS ref FROM vals WHERE v IS NOT NULL
             UNION ALL SELECT x.w, x.subject, unnest(t.ref) AS x, 0 AS win, 1 AS ref FROM totals x JOIN train t USING (subject)),
     steps AS (SELECT w, subject, x, sum(win) AS win, sum(ref) AS ref FROM pts GROUP BY ALL),
     cdf AS (SELECT w, subject, sum(win) OVER (PARTITION BY w, subject ORDER BY x) AS fw, sum(ref) OVER (PARTITION BY w, subject ORDER BY x) AS fr FROM steps)
     SELECT c.w, c.subject, 'ks' AS measure, max(abs(c.fr / len(t.ref) - c.fw / x.n)) AS value
       FROM cdf c JOIN totals x USING (w, subject) JOIN train t USING (subject) GROUP BY ALL`,
  // Freshness: request time − the served row's event time, in seconds; the median is the lower one.
  freshness: (w) =>
    `UNPIVOT (SELECT ${w} AS w, 'freshness:activity_features' AS subject, quantile_disc(age, 0.5) AS p50_s, max(age) AS max_s
                FROM (SELECT ms, (ms - epoch_ms(CAST(json_extract_string(feature_times, '$.activity_features') AS TIMESTAMPTZ))) / 1000 AS age FROM log)
               WHERE age IS NOT NULL GROUP BY ALL)
       ON p50_s, max_s INTO NAME measure VALUE value`,
  // Live: the first label of the same athlete and distance in [ts, ts + 7 d) before `until` (ties: the smaller label).
  live: (w, a) =>
    `WITH preds AS (SELECT row_number() OVER () AS i, ms, json_extract_string(request, '$.athlete_id') AS athlete_id,
                           CAST(json_extract_string(request, '$.distance_km') AS DOUBLE) AS distance_km, prediction FROM log),
     labelled AS (
       SELECT p.i, p.ms, p.prediction, s.finish_time_s AS y
         FROM preds p JOIN src_planned_runs s
           ON s.athlete_id = p.athlete_id AND s.distance_km = p.distance_km
          AND epoch_ms(s.planned_at) >= p.ms AND epoch_ms(s.planned_at) < p.ms + ${HORIZON_MS}
          AND s.planned_at < ${sqlStr(a.until)}::TIMESTAMP AND s.finish_time_s IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY p.i ORDER BY s.planned_at, s.finish_time_s) = 1)
     UNPIVOT (SELECT ${w} AS w, 'live' AS subject, count(*)::DOUBLE AS labelled, avg(abs(y - prediction)) AS mae
                FROM labelled WHERE isfinite(prediction) GROUP BY ALL)
       ON labelled, mae INTO NAME measure VALUE value`,
};

async function referenceMeasures(conn: Parameters<typeof rows>[0], plan: ModelPlan, stats: TrainingStatistics, a: RunArgs): Promise<MeasureRow[]> {
  const since = Date.parse(a.since);
  const w = `${since} + floor((ms - ${since}) / ${WINDOW_MS}) * ${WINDOW_MS}`;
  await loadReferenceTables(conn, plan, stats, a, w);
  const out: MeasureRow[] = [];
  for (const sql of Object.values(REFERENCE_SQL)) {
    for (const r of await rows<{ w: number; subject: string; measure: string; value: number | null }>(conn, sql(w, a))) {
      if (r.value !== null && Number.isFinite(Number(r.value))) out.push([new Date(Number(r.w)).toISOString(), r.subject, r.measure, Number(r.value)]);
    }
  }
  return out;
}

/** Every (window, subject, measure) of fti against the reference: counts exact, floats within 1e-9 (relative). */
function compare(fti: MeasureRow[], ref: MeasureRow[]): { compared: number; missing: string[]; extra: string[]; differ: string[]; maxRel: number } {
  const key = (r: MeasureRow) => `${r[0]} ${r[1]} ${r[2]}`;
  const refBy = new Map(ref.map((r) => [key(r), r[3]]));
  const ftiKeys = new Set(fti.map(key));
  const missing: string[] = [];
  const differ: string[] = [];
  let maxRel = 0;
  for (const r of fti) {
    const want = refBy.get(key(r));
    if (want === undefined) {
      missing.push(key(r));
      continue;
    }
    const rel = Math.abs(r[3] - want) / Math.max(1, Math.abs(want));
    maxRel = Math.max(maxRel, rel);
    const exact = ["requests", "count", "labelled", "p50_s", "max_s"].includes(r[2]);
    if (exact ? r[3] !== want : rel > 1e-9) differ.push(`${key(r)}: fti ${r[3]}, ref ${want}`);
  }
  const extra = ref.filter((r) => !ftiKeys.has(key(r))).map(key);
  return { compared: fti.length - missing.length, missing, extra, differ, maxRel };
}

async function withoutBatchPredictions(path: string, data: ActivitiesData): Promise<void> {
  const table = batchTableOf(await loadBundle(data), MODEL);
  const store = await openStore({ path });
  try {
    for (const t of [table, `${table}_rejects`]) await store.run(`DROP TABLE IF EXISTS ${tableRef(t)}`);
  } finally {
    await store.close();
  }
}

/** The request log of a dataset and size (cached next to the batch store). */
async function ensureLog(data: ActivitiesData, store: string, requests: number): Promise<{ logs: string; since: string; until: string }> {
  const logs = join(data.dir, `monitor-logs-${requests}`);
  const marker = `${logs}.done`;
  const hash = `v1:${generatedHash()}`;
  const meta = existsSync(marker) ? (JSON.parse(readFileSync(marker, "utf8")) as { hash: string; since: string; until: string }) : null;
  if (meta && meta.hash === hash && existsSync(logs)) return { logs, since: meta.since, until: meta.until };
  process.stderr.write(`  · monitor: writing ${fmtInt(requests)} logged requests into ${logs} (once)\n`);
  const r = await runNodeTask<{ ms: number; since: string; until: string }>("monitor.prepare", { data, store, logs, requests });
  writeFileSync(marker, JSON.stringify({ hash, since: r.since, until: r.until }));
  process.stderr.write(`  · monitor: log written in ${fmtMs(r.ms)}\n`);
  return { logs, since: r.since, until: r.until };
}

export const suite: Suite = {
  name: "monitor",
  describe: "fti monitor over a request log (drift, freshness, live metric per window) vs the same statistics in DuckDB SQL over the log files",
  async run(ctx: Ctx) {
    const S = "monitor";
    const data = await ensureActivities(ctx.batchActs, { csv: false });
    await ensureCompiled();
    const work = ctx.work(S);
    const batch = await ensureBatchStore(ctx, data);
    const { logs, since, until } = await ensureLog(data, batch.store, ctx.monitorRequests);
    // fti monitor writes its results into the store: a copy, so the cached batch store stays as it was.
    // Without the batch suite's predictions: fti monitor would measure those too, the reference reads the log only.
    const store = join(work, "monitor.duckdb");
    rmDb(store);
    copyFileSync(batch.store, store);
    await withoutBatchPredictions(store, data);
    ctx.out.note(S, `${fmtInt(ctx.monitorRequests)} logged requests of ${MODEL} (${fmtInt(data.athletes)} athletes' planned runs), weekly windows ${since.slice(0, 10)} – ${until.slice(0, 10)}, labels within 7 days`);
    const args = { data, store, logs, requests: ctx.monitorRequests, memoryLimit: ctx.memoryLimit, threads: ctx.threads, since, until };
    const m = await rounds(ctx, S, [
      { id: "fti", label: "fti monitor: log → windows → drift, freshness, live join → fti_monitor", role: "fti", run: () => runNodeTask("monitor.fti", args) },
      { id: "ref", label: "DuckDB SQL over the same log files (read_json → the same measures)", role: "ref", run: () => runNodeTask("monitor.reference", args) },
    ]);
    const fti = m.get("fti")!;
    const ref = m.get("ref")!;
    const requests = Number(fti.extra.requests);
    fti.note = `${fmtRate(requests / (median(fti.ms) / 1000))}, ${fti.extra.windows} windows`;
    ctx.out.measure(fti);
    ctx.out.measure(ref, { vs: fti });
    const c = compare((fti.extra.measures ?? []) as MeasureRow[], (ref.extra.measures ?? []) as MeasureRow[]);
    ctx.out.check(
      S,
      "fti monitor = the SQL reference, every window, subject and measure",
      requests === ctx.monitorRequests && c.compared > 0 && !c.missing.length && !c.extra.length && !c.differ.length,
      `${fmtInt(requests)} of ${fmtInt(ctx.monitorRequests)} requests monitored; ${fmtInt(c.compared)} measures compared (max relative |Δ| ${c.maxRel.toExponential(1)}), ` +
        `${c.missing.length} only in fti, ${c.extra.length} only in the reference, ${c.differ.length} differ` +
        (c.differ.length || c.missing.length || c.extra.length ? `: ${[...c.differ, ...c.missing, ...c.extra].slice(0, 3).join("; ")}` : ""),
    );
  },
};
