// specs/seattle.fti end to end on real data: one city's daily weather, a
// single time series with no entity column (vega-datasets'
// seattle-weather.csv), through every pipeline — features, training-data,
// train, batch predict (as of a time, and each row at its own time), serve and
// predict over HTTP, materialize, verify. Nothing in it has a key.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompiledSpec } from "../compiler/cli/load.ts";
import type { SpecBundle } from "../runtime/api.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { predictBatch } from "../runtime/inference/batch.ts";
import { startServer } from "../runtime/online/http.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { verifyModel } from "../runtime/online/verify.ts";
import { exportTrainingData } from "../runtime/retrieval/export.ts";
import { buildTrainingFrame } from "../runtime/retrieval/pit.ts";
import { columnValues } from "../runtime/retrieval/columns.ts";
import { trainModelFromSpec, type TrainReport } from "../runtime/training/train.ts";
import { REPO } from "./helpers/online-athlete.ts";
import { storeUser } from "./helpers/store-user.ts";

const FEATURES = ["tmax_last", "tmax_7d", "tmax_28d", "tmax_sd_14d", "tmax_trend", "wet_days_7d", "range_7d", "days_28d"];
/** The day after the data's last day (2015-12-31): a forecast for 2016-01-01, made at noon on the 31st. */
const NOW = Date.UTC(2015, 11, 31, 12);

let root: string;
let bundle: SpecBundle;
let storePath: string;
let trained: TrainReport;
let rain: TrainReport;
const withStore = storeUser(() => storePath);

beforeAll(async () => {
  root = join(REPO, ".fti", `seattle-e2e-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(root, { recursive: true });
  bundle = await loadCompiledSpec(join(REPO, "specs/seattle.fti"), { outDir: join(root, "generated"), quiet: true });
  storePath = join(root, "store.duckdb");
  await withStore(async (store) => {
    await runFeaturePipeline(store, bundle);
    trained = await trainModelFromSpec(store, bundle, "seattle_tmax");
    rain = await trainModelFromSpec(store, bundle, "seattle_rain");
  });
}, 120_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("specs/seattle.fti: a single series", () => {
  it("computes its groups with no key column, one row per day", async () => {
    await withStore(async (store) => {
      const cols = (await store.tableColumns("fg_climate_v1")).map((c) => c.name);
      expect(cols).toEqual(["event_time", "date", ...FEATURES, "ingested_at"]);
      const [c] = await store.all<{ n: bigint; days: bigint }>(`SELECT count(*) AS n, count(DISTINCT event_time) AS days FROM fg_climate_v1`);
      expect([Number(c.n), Number(c.days)]).toEqual([1461, 1461]);
      // A 28-day window of one series: 28 rows once the series is 28 days old.
      const [d] = await store.all<{ full: bigint }>(`SELECT count(*) AS full FROM fg_climate_v1 WHERE days_28d = 28`);
      expect(Number(d.full)).toBe(1461 - 27);
    });
  });

  it("exports the training data: one row per day, no key column, the day before's features", async () => {
    const out = join(root, "forecast.parquet");
    const n = await withStore((store) => exportTrainingData(store, bundle, "forecast_data", out));
    expect(n).toBe(1461);
    const rows = await withStore((store) =>
      store.all<Record<string, unknown>>(`SELECT * FROM read_parquet('${out}') ORDER BY event_time`),
    );
    expect(Object.keys(rows[0])).not.toContain("location");
    expect(rows[0].tmax_last).toBeNull(); // nothing before the first day (as_of strict)
    // Day d's tmax_last is day d-1's temp_max, which is day d-1's label.
    for (let i = 1; i < rows.length; i++) expect(rows[i].tmax_last, `day ${i}`).toBe(rows[i - 1].tmax);
    const frame = await withStore((store) => buildTrainingFrame(store, bundle, "forecast_data"));
    expect(frame.n).toBe(1461);
    expect(columnValues(frame.columns.tmax_7d)).toEqual(rows.map((r) => r.tmax_7d));
  });

  it("trains a forecast well under the baseline's error and promotes it", () => {
    expect(trained.stage).toBe("production");
    expect(trained.rows).toMatchObject({ train: 1096, test: 365 });
    expect(trained.metrics.mae).toBeLessThan(trained.baseline.mae / 2);
  });

  it("labels each day with rain in the next three days, from every row of the series, and learns it", async () => {
    // The CSV itself: date, precipitation (one row per day, in order).
    const days = readFileSync(join(REPO, "node_modules/vega-datasets/data/seattle-weather.csv"), "utf8")
      .trim()
      .split("\n")
      .slice(1)
      .map((l) => l.split(","))
      .map(([date, p]) => ({ t: Date.parse(`${date}T00:00:00Z`), p: Number(p) }));
    const end = Math.max(...days.map((d) => d.t));
    const want = days
      .filter((d) => d.t + 3 * 86_400_000 <= end)
      .map((d) => [d.t, days.some((o) => o.t > d.t && o.t <= d.t + 3 * 86_400_000 && o.p > 0) ? 1 : 0]);
    const frame = await withStore((store) => buildTrainingFrame(store, bundle, "rain_data"));
    expect(Array.from({ length: frame.n }, (_, i) => [frame.time[i], frame.label[i]])).toEqual(want);
    expect(want).toHaveLength(1461 - 3);
    expect(rain.metrics.auc).toBeGreaterThan(0.6); // rain three days out is hard to tell from the past alone; chance is 0.5
  });

  it("batch-predicts as of a time and each row at its own time; a missing request field is refused", async () => {
    const entities = join(root, "days.csv");
    writeFileSync(entities, "date\n2016-01-01\n");
    const backtest = join(root, "backtest.csv");
    writeFileSync(backtest, "date,note\n2015-06-01,a\n2015-06-02,b\n2013-01-01,c\n");
    const res = await withStore(async (store) => {
      const one = await predictBatch(store, bundle, "seattle_tmax", { asOf: new Date(NOW), entitiesFile: entities, out: "forecast_scores" });
      const each = await predictBatch(store, bundle, "seattle_tmax", { entitiesFile: backtest, timeColumn: "date", out: "backtest_scores" });
      const noFile = await predictBatch(store, bundle, "seattle_tmax", { asOf: new Date(NOW) }).catch((e: Error) => e.message);
      return {
        one,
        each,
        noFile,
        forecast: await store.all<{ prediction: number }>(`SELECT prediction FROM forecast_scores`),
        backtest: await store.all<{ note: string; as_of: Date }>(`SELECT note, as_of FROM backtest_scores ORDER BY row_number`),
      };
    });
    expect([res.one.rows, res.each.rows]).toEqual([1, 3]);
    expect(res.forecast[0].prediction).toBeGreaterThan(0);
    expect(res.forecast[0].prediction).toBeLessThan(15); // a winter day in Seattle
    expect(res.backtest.map((r) => [r.note, r.as_of.toISOString().slice(0, 10)])).toEqual([["a", "2015-06-01"], ["b", "2015-06-02"], ["c", "2013-01-01"]]);
    expect(res.noFile).toMatch(/needs request fields date/);
  });

  it("serves over HTTP with a request of request fields only; answers equal batch; materialize and verify agree", async () => {
    const report = await withStore((store) => materialize(store, bundle, { now: new Date(NOW) }));
    expect(report.groups.map((g) => [g.group, g.entities])).toEqual([["days", 1], ["climate", 1]]);
    const again = await withStore((store) => materialize(store, bundle, { now: new Date(NOW) }));
    expect(again.groups.every((g) => g.written === 0)).toBe(true);
    const logs = join(root, "logs");
    const server = await startServer(bundle, { port: 0, store: storePath, logs, now: () => NOW });
    let served: number;
    try {
      const post = (body: unknown) =>
        fetch(`${server.url}/v1/models/seattle_tmax/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { models: Array<{ request: Array<{ name: string; kind: string }> }> };
      expect(models.models[0].request.map((f) => `${f.name}:${f.kind}`)).toEqual(["date:request"]);
      const ok = await post({ date: "2016-01-01" });
      expect(ok.status).toBe(200);
      const body = (await ok.json()) as { prediction: number; features: Record<string, { status: string }>; feature_times: Record<string, string> };
      served = body.prediction;
      expect(Object.values(body.features).every((f) => f.status === "present")).toBe(true);
      expect(body.feature_times).toEqual({ climate: "2015-12-31T00:00:00.000Z" });
      const keyed = await post({ date: "2016-01-01", location: "Seattle" });
      expect(keyed.status).toBe(400);
      expect(JSON.stringify(await keyed.json())).toMatch(/location/);
      const bad = await post({ date: "not a day" });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { issues: Array<{ path: unknown[] }> } }).error.issues[0].path).toEqual(["date"]);
    } finally {
      await server.close();
    }
    const batch = await withStore((store) => store.all<{ prediction: number }>(`SELECT prediction FROM forecast_scores`));
    expect(served).toBe(batch[0].prediction);
    const verified = await withStore((store) => verifyModel(store, bundle, "seattle_tmax", { logsDir: logs }));
    expect(verified.requests).toBe(1);
    expect(verified.mismatches).toBe(0);
    expect(verified.features.map((f) => f.compared)).toEqual([...FEATURES, "month_of_year"].map(() => 1));
  });

  it("stale features without impute are a 422 that names no entity", async () => {
    const server = await startServer(bundle, { port: 0, store: storePath, logs: false, now: () => NOW + 10 * 86_400_000 });
    try {
      const res = await fetch(`${server.url}/v1/models/seattle_tmax/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ date: "2016-01-11" }),
      });
      expect(res.status).toBe(422);
      const msg = ((await res.json()) as { error: { issues: Array<{ message: string }> } }).error.issues[0].message;
      expect(msg).toBe(`no online features; stale (older than the view's ttl): ${FEATURES.join(", ")}; no row within the ttl in climate`);
    } finally {
      await server.close();
    }
  });
});
