// `fti monitor`: per time window, the served request log and the batch
// predictions of a model against the training statistics of the version that
// served them: drift of every input and of the prediction, null-rate change,
// freshness of the served feature rows, volume and rejected requests, and
// live performance once labels arrived (live.ts). docs/monitoring.md.

import type { ModelPlan, Scalar, SpecBundle, ViewPlan } from "../api.ts";
import { readRequestLog } from "../online/log-read.ts";
import type { RequestLogEntry } from "../online/types.ts";
import { getModel, type ModelSummary } from "../registry/registry.ts";
import { type Store } from "../store/store.ts";
import { newRunId } from "../store/run-log.ts";
import { computeMetrics } from "../learners/metrics.ts";
import { findModel } from "../bundle.ts";
import { readBatchPredictions, type BatchPrediction } from "./batch-predictions.ts";
import { joinLabels } from "./live.ts";
import { rejectedLogDir, type RejectedRequestEntry } from "../online/rejections.ts";
import { saveMonitorReport } from "./results.ts";
import { columnDrift, type ColumnDrift } from "./window.ts";

export const DAY_MS = 86_400_000;

export interface MonitorOptions {
  /** The request log directory (`logs/` next to the store by default). */
  logsDir: string;
  /** Only traffic at or after this time (default: the first logged or batch time). */
  since?: Date;
  /** Only traffic before this time (default: now). */
  until?: Date;
  /** Window length (default one day); windows start at `since` (else the epoch) plus multiples of it. */
  windowMs?: number;
  /** How long after a prediction its label may arrive (default 7 days). */
  labelHorizonMs?: number;
  /** Write the results to fti_monitor (default true). */
  save?: boolean;
}

export interface FreshnessReport {
  group: string;
  /** Instances that had a row of the group. */
  rows: number;
  /** Median and maximum age (request time − the row's event time), seconds. */
  p50_s: number | null;
  max_s: number | null;
}

export interface LiveReport {
  /** Scored instances in the window, and how many have their label. */
  predictions: number;
  labelled: number;
  /** The model's metrics over the labelled ones (null when none). */
  metrics: Record<string, number | null>;
  /** The same metrics on the test split of the reference version. */
  test: Record<string, number | null>;
}

export interface WindowReport {
  start: string;
  end: string;
  /** Versions that served the window's requests, and the one whose statistics are the reference (the most requests). */
  versions: number[];
  reference_version: number | null;
  /** Scored instances (online). */
  requests: number;
  /** Rejected requests' instances, by HTTP status. */
  rejected: number;
  rejected_by_status: Record<string, number>;
  /** rejected / (requests + rejected); null without traffic. */
  rejected_rate: number | null;
  features: ColumnDrift[];
  prediction: ColumnDrift;
  /** Batch predictions whose as-of time falls in the window: their inputs and predictions against training. */
  batch: { rows: number; features: ColumnDrift[]; prediction: ColumnDrift } | null;
  freshness: FreshnessReport[];
  live: LiveReport;
}

export interface MonitorReport {
  run_id: string;
  model: string;
  since: string | null;
  until: string;
  window_ms: number;
  windows: WindowReport[];
  /** The request log's own integrity: unreadable lines, entries missing by seq (per process), processes killed. */
  log: { files: number; bad_lines: number; missing: number; gaps: Array<{ proc: string; from: number; to: number }>; unclean_ends: number };
}

interface Traffic {
  entries: RequestLogEntry[];
  rejections: RejectedRequestEntry[];
  batch: BatchPrediction[];
  labels: Float64Array;
  files: number;
  badLines: number;
  missing: number;
  gaps: Array<{ proc: string; from: number; to: number }>;
  uncleanEnds: number;
}

/** Monitors `modelName` over [since, until) and (by default) stores the result in fti_monitor. */
export async function monitorModel(store: Store, bundle: SpecBundle, modelName: string, opts: MonitorOptions): Promise<MonitorReport> {
  const { plan, view } = findModel(bundle, modelName);
  const until = opts.until ?? new Date();
  const windowMs = opts.windowMs ?? DAY_MS;
  const traffic = await readTraffic(store, bundle, plan, view, opts, until);
  const origin = opts.since?.getTime() ?? 0;
  const windowOf = (t: number) => origin + Math.floor((t - origin) / windowMs) * windowMs;

  const byWindow = new Map<number, { entries: number[]; rejections: RejectedRequestEntry[]; batch: BatchPrediction[] }>();
  const slot = (t: number) => {
    const w = windowOf(t);
    let s = byWindow.get(w);
    if (!s) byWindow.set(w, (s = { entries: [], rejections: [], batch: [] }));
    return s;
  };
  traffic.entries.forEach((e, i) => slot(Date.parse(e.ts)).entries.push(i));
  for (const r of traffic.rejections) slot(Date.parse(r.ts)).rejections.push(r);
  for (const b of traffic.batch) slot(b.t).batch.push(b);

  const records = new Map<number, ModelSummary | null>();
  const recordOf = async (version: number | null) => {
    if (version === null) return null;
    if (!records.has(version)) records.set(version, await getModel(store, modelName, version).catch(() => null));
    return records.get(version)!;
  };

  const windows: WindowReport[] = [];
  for (const start of [...byWindow.keys()].sort((a, b) => a - b)) {
    const w = byWindow.get(start)!;
    const entries = w.entries.map((i) => traffic.entries[i]);
    const reference = majorityVersion([...entries.map((e) => e.version), ...w.batch.map((b) => b.version)]);
    const record = await recordOf(reference);
    windows.push(
      windowReport(plan, view, { start, end: start + windowMs }, entries, w.entries.map((i) => traffic.labels[i]), w.rejections, w.batch, reference, record),
    );
  }
  const report: MonitorReport = {
    run_id: newRunId("monitor"),
    model: modelName,
    since: opts.since?.toISOString() ?? null,
    until: until.toISOString(),
    window_ms: windowMs,
    windows,
    log: { files: traffic.files, bad_lines: traffic.badLines, missing: traffic.missing, gaps: traffic.gaps, unclean_ends: traffic.uncleanEnds },
  };
  if (opts.save !== false) await saveMonitorReport(store, report);
  return report;
}

async function readTraffic(
  store: Store,
  bundle: SpecBundle,
  plan: ModelPlan,
  view: ViewPlan,
  opts: MonitorOptions,
  until: Date,
): Promise<Traffic> {
  const range = { since: opts.since, until };
  const log = readRequestLog(opts.logsDir, plan.name, range);
  const rejected = readRequestLog(rejectedLogDir(opts.logsDir), plan.name, range);
  const batch = await readBatchPredictions(store, bundle, plan, range);
  const labels = await joinLabels(
    store,
    view,
    log.entries.map((e) => ({ ts: Date.parse(e.ts), request: e.request })),
    opts.labelHorizonMs ?? 7 * DAY_MS,
    until,
  );
  return {
    entries: log.entries,
    rejections: rejected.entries as unknown as RejectedRequestEntry[],
    batch,
    labels,
    files: log.files.length,
    badLines: log.badLines + rejected.badLines,
    missing: log.missing,
    gaps: log.gaps.filter((g) => !g.retention).map(({ proc, from, to }) => ({ proc, from, to })),
    uncleanEnds: log.processes.filter((p) => !p.ended).length,
  };
}

/** The most frequent version (ties: the higher one); null for none. */
export function majorityVersion(versions: readonly number[]): number | null {
  const counts = new Map<number, number>();
  for (const v of versions) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: number | null = null;
  for (const [v, c] of counts) if (best === null || c > counts.get(best)! || (c === counts.get(best)! && v > best)) best = v;
  return best;
}

/** A model input's value in a log entry: the served feature, or the ODT's value. */
export function inputValue(entry: RequestLogEntry, input: ModelPlan["inputs"][number]): Scalar {
  return (input.from === "odt" ? entry.odts?.[input.name] : entry.features?.[input.name]?.value) ?? null;
}

function windowReport(
  plan: ModelPlan,
  view: ViewPlan,
  span: { start: number; end: number },
  entries: RequestLogEntry[],
  labels: number[],
  rejections: RejectedRequestEntry[],
  batch: BatchPrediction[],
  reference: number | null,
  record: ModelSummary | null,
): WindowReport {
  const stats = record?.statistics ?? null;
  const trainOf = (name: string) => stats?.features.find((f) => f.name === name);
  const rejectedByStatus: Record<string, number> = {};
  let rejected = 0;
  for (const r of rejections) {
    const n = Math.max(1, Number(r.instances) || 1);
    rejectedByStatus[String(r.status)] = (rejectedByStatus[String(r.status)] ?? 0) + n;
    rejected += n;
  }
  const traffic = entries.length + rejected;
  return {
    start: new Date(span.start).toISOString(),
    end: new Date(span.end).toISOString(),
    versions: [...new Set([...entries.map((e) => e.version), ...batch.map((b) => b.version)])].sort((a, b) => a - b),
    reference_version: reference,
    requests: entries.length,
    rejected,
    rejected_by_status: rejectedByStatus,
    rejected_rate: traffic ? rejected / traffic : null,
    features: plan.inputs.map((input) => columnDrift(input.name, input.type, entries.map((e) => inputValue(e, input)), trainOf(input.name))),
    prediction: columnDrift("prediction", "float", entries.map((e) => e.prediction), stats?.predictions),
    batch: batch.length
      ? {
          rows: batch.length,
          features: plan.inputs.map((input, i) => columnDrift(input.name, input.type, batch.map((b) => b.inputs[i]), trainOf(input.name))),
          prediction: columnDrift("prediction", "float", batch.map((b) => b.prediction), stats?.predictions),
        }
      : null,
    freshness: freshness(view, entries),
    live: live(plan, entries, labels, record),
  };
}

function freshness(view: ViewPlan, entries: RequestLogEntry[]): FreshnessReport[] {
  const groups = [...new Set(view.features.map((f) => f.group))];
  return groups.map((group) => {
    const ages: number[] = [];
    for (const e of entries) {
      const ft = e.feature_times?.[group];
      const t = ft ? Date.parse(ft) : NaN;
      if (Number.isFinite(t)) ages.push((Date.parse(e.ts) - t) / 1000);
    }
    ages.sort((a, b) => a - b);
    return {
      group,
      rows: ages.length,
      p50_s: ages.length ? ages[Math.ceil(ages.length / 2) - 1] : null,
      max_s: ages.length ? ages[ages.length - 1] : null,
    };
  });
}

function live(plan: ModelPlan, entries: RequestLogEntry[], labels: number[], record: ModelSummary | null): LiveReport {
  const y: number[] = [];
  const yHat: number[] = [];
  entries.forEach((e, i) => {
    if (Number.isFinite(labels[i]) && e.prediction !== null && Number.isFinite(e.prediction)) {
      y.push(labels[i]);
      yHat.push(e.prediction);
    }
  });
  const test = record?.metrics ?? {};
  const names = Object.keys(test).length ? Object.keys(test) : plan.metrics;
  const all = y.length ? computeMetrics(plan.task, y, yHat) : {};
  const metrics: Record<string, number | null> = {};
  for (const name of names) metrics[name] = y.length && Number.isFinite(all[name]) ? all[name] : null;
  return { predictions: entries.length, labelled: y.length, metrics, test: { ...test } };
}
