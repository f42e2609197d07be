// fti monitor over a request log written by the service's own log writer:
// windows, null rates, drift against the registered statistics, freshness,
// rejections, the stored results, --fail-on, and live performance against a
// brute-force join of the logged predictions with the label source.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { numericPsi } from "../runtime/monitor/drift.ts";
import { findBreaches, parseThresholds, checkMeasures } from "../runtime/monitor/fail-on.ts";
import { monitorModel, type MonitorReport } from "../runtime/monitor/monitor.ts";
import { rejectedLogDir, type RejectedRequestEntry } from "../runtime/online/rejections.ts";
import { readMonitorRows } from "../runtime/monitor/results.ts";
import { RequestLog } from "../runtime/online/log.ts";
import type { RequestLogEntry } from "../runtime/online/types.ts";
import { getModel } from "../runtime/registry/registry.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { trainModelFromSpec } from "../runtime/training/train.ts";
import { UsageError } from "../runtime/errors.ts";
import { featureValues, loadSyntheticTables, makeBundle, T0 } from "./helpers/model-bundles.ts";

const DAY = 86_400_000;

const HOUR = 3_600_000;
const HORIZON = 2 * DAY;
const WINDOW = 30 * DAY;
const SINCE = new Date(T0);
const UNTIL = new Date(T0 + 360 * DAY);

let store: Store;
let dir: string;
const bundle = makeBundle();
const entries: RequestLogEntry[] = [];
let events: Array<{ user_id: string; ts: number; amount: number; y: number }>;
let report: MonitorReport;

/** Deterministic pseudo-random numbers. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fti-monitor-"));
  store = await openStore({ path: join(dir, "store.duckdb") });
  await loadSyntheticTables(store);
  await trainModelFromSpec(store, bundle, "toy_request");
  events = (await store.all<{ user_id: string; ts: Date; amount: number; y: number }>("SELECT user_id, ts, amount, y FROM src_events ORDER BY ts")).map(
    (e) => ({ ...e, ts: e.ts.getTime() }),
  );
  const rnd = lcg(11);
  const log = new RequestLog(join(dir, "logs"));
  events.forEach((e, i) => {
    // Most requests come 1–30 h before their run (labelled), some a run that never happens,
    // some 3 days before (beyond the 2-day horizon: unlabelled).
    const kind = i % 10 === 0 ? "never" : i % 10 === 1 ? "late" : "labelled";
    const ts = e.ts - (kind === "late" ? 3 * DAY : (1 + Math.floor(rnd() * 30)) * HOUR);
    const amount = kind === "never" ? 99 : e.amount;
    // x1 as in training until day 180, then shifted by +8 (drift); x2 is null in every 4th request.
    const x1 = featureValues(e.user_id, ts).x1 + (ts >= T0 + 180 * DAY ? 8 : 0);
    const x2 = i % 4 === 0 ? null : rnd();
    const entry: RequestLogEntry = {
      v: 1,
      id: `t-${i}`,
      ts: new Date(ts).toISOString(),
      model: "toy_request",
      version: 1,
      request: { user_id: e.user_id, amount },
      features: { x1: { value: x1, status: "present" }, x2: { value: x2, status: x2 === null ? "null" : "present" }, cat: { value: "abc"[i % 3], status: "present" } },
      feature_times: { user_stats: new Date(ts - (i % 5) * HOUR).toISOString() },
      odts: { boost: amount * x1 },
      prediction: e.y + (rnd() - 0.5),
    };
    entries.push(entry);
    log.append(entry);
  });
  await log.close();
  const rejects = new RequestLog(rejectedLogDir(join(dir, "logs")));
  const reject = (ts: number, status: number, instances: number): RejectedRequestEntry => ({ v: 1, ts: new Date(ts).toISOString(), model: "toy_request", status, code: "x", instances });
  rejects.append(reject(T0 + 5 * DAY, 422, 1));
  rejects.append(reject(T0 + 6 * DAY, 400, 3));
  await rejects.close();
  report = await monitorModel(store, bundle, "toy_request", { logsDir: join(dir, "logs"), since: SINCE, until: UNTIL, windowMs: WINDOW, labelHorizonMs: HORIZON });
}, 60_000);

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const windowOf = (ts: string) => T0 + Math.floor((Date.parse(ts) - T0) / WINDOW) * WINDOW;
const inWindow = (start: string) => entries.filter((e) => windowOf(e.ts) === Date.parse(start));

/** The label of a logged prediction, brute force: the earliest event of the same user and amount in [ts, ts + horizon). */
function bruteLabel(e: RequestLogEntry): number | null {
  const t = Date.parse(e.ts);
  const matches = events
    .filter((x) => x.user_id === e.request.user_id && x.amount === e.request.amount && x.ts >= t && x.ts < t + HORIZON)
    .sort((a, b) => a.ts - b.ts || a.y - b.y);
  return matches.length ? matches[0].y : null;
}

describe("fti monitor", () => {
  it("puts every logged request in its window and counts nulls per input", () => {
    expect(report.windows.reduce((s, w) => s + w.requests, 0)).toBe(entries.length);
    for (const w of report.windows) {
      const mine = inWindow(w.start);
      expect(w.requests).toBe(mine.length);
      const x2 = w.features.find((f) => f.name === "x2")!;
      expect(x2.null_rate).toBeCloseTo(mine.filter((e) => e.features.x2.value === null).length / mine.length, 12);
    }
  });

  it("measures PSI of each input against the version's training bins, and sees the shift of x1", async () => {
    const stats = (await getModel(store, "toy_request", 1)).statistics!;
    const train = stats.features.find((f) => f.name === "x1")!;
    for (const w of report.windows) {
      const values = inWindow(w.start).map((e) => e.features.x1.value as number).sort((a, b) => a - b);
      expect(w.features.find((f) => f.name === "x1")!.psi).toBeCloseTo(numericPsi(train.numeric!, values), 12);
    }
    const early = report.windows.filter((w) => Date.parse(w.end) <= T0 + 180 * DAY);
    const late = report.windows.filter((w) => Date.parse(w.start) >= T0 + 180 * DAY);
    const psi = (w: (typeof report.windows)[number]) => w.features.find((f) => f.name === "x1")!.psi!;
    expect(Math.min(...late.map(psi))).toBeGreaterThan(Math.max(...early.map(psi)));
    expect(Math.min(...late.map(psi))).toBeGreaterThan(0.25);
  });

  it("live metrics equal a brute-force join of the logged predictions with the labels that arrived", () => {
    let labelledTotal = 0;
    for (const w of report.windows) {
      const pairs = inWindow(w.start)
        .map((e) => [bruteLabel(e), e.prediction] as const)
        .filter((p): p is readonly [number, number] => p[0] !== null && p[1] !== null);
      labelledTotal += pairs.length;
      expect(w.live.labelled).toBe(pairs.length);
      if (!pairs.length) continue;
      const mae = pairs.reduce((s, [y, p]) => s + Math.abs(y - p), 0) / pairs.length;
      expect(w.live.metrics.mae).toBeCloseTo(mae, 9);
      expect(w.live.test.mae).toBeGreaterThan(0);
    }
    // The unlabelled kinds really are unlabelled, the rest labelled.
    expect(labelledTotal).toBe(entries.length - entries.filter((_, i) => i % 10 <= 1).length);
  });

  it("reports freshness, rejected requests by status, and stores every window in fti_monitor", async () => {
    const first = report.windows[0];
    expect(first.rejected_by_status).toEqual({ "422": 1, "400": 3 });
    expect(first.rejected_rate).toBeCloseTo(4 / (first.requests + 4), 12);
    const ages = inWindow(first.start).map((e) => (Date.parse(e.ts) - Date.parse(e.feature_times.user_stats!)) / 1000);
    expect(first.freshness[0]).toMatchObject({ group: "user_stats", rows: ages.length, max_s: Math.max(...ages) });

    const rows = await readMonitorRows(store, "toy_request");
    expect(new Set(rows.map((r) => r.window_start.toISOString()))).toEqual(new Set(report.windows.map((w) => w.start)));
    const psiRow = rows.find((r) => r.subject === "feature:x1" && r.measure === "psi" && r.window_start.toISOString() === first.start)!;
    expect(psiRow.value).toBeCloseTo(first.features[0].psi!, 12);
    // A second run replaces the windows it computed instead of adding to them.
    await monitorModel(store, bundle, "toy_request", { logsDir: join(dir, "logs"), since: SINCE, until: UNTIL, windowMs: WINDOW, labelHorizonMs: HORIZON });
    expect((await readMonitorRows(store, "toy_request")).length).toBe(rows.length);
  });

  it("--fail-on: a crossed threshold is a breach; a typo is refused", () => {
    expect(findBreaches(report, parseThresholds("psi>0.25")).some((b) => b.subject === "feature:x1")).toBe(true);
    expect(findBreaches(report, parseThresholds("psi>1000, mae>1000"))).toEqual([]);
    expect(findBreaches(report, parseThresholds("status_422>=1")).map((b) => b.window)).toEqual([report.windows[0].start]);
    expect(() => parseThresholds("psi>>1")).toThrow(UsageError); // a flag value of the wrong form: exit 2
    expect(() => checkMeasures(parseThresholds("pis>0.2"), ["mae"])).toThrow(UsageError);
    expect(() => checkMeasures(parseThresholds("pis>0.2"), ["mae"])).toThrow(/unknown measure `pis`/);
  });
});

