// `fti monitor`: per time window, the served request log and the batch
// predictions of a model against the training statistics of the version that
// served them: drift of every input and of the prediction, null-rate change,
// freshness of the served feature rows, volume and rejected requests, and
// live performance once labels arrived (live.ts). docs/monitoring.md.

import type { ModelPlan, SpecBundle } from "../api.ts";
import { readRequestLog } from "../online/log-read.ts";
import { getModel, listModels, type ModelSummary } from "../registry/registry.ts";
import { type Store } from "../store/store.ts";
import { newRunId } from "../store/run-log.ts";
import { computeMetrics } from "../learners/metrics.ts";
import { findModel } from "../bundle.ts";
import { readBatchPredictions, type BatchPrediction } from "./batch-predictions.ts";
import { joinLabels, type LiveLabels } from "./live.ts";
import { liveClassMetrics } from "./live-classes.ts";
import { rejectedLogDir, type RejectedRequestEntry } from "../online/rejections.ts";
import { saveMonitorReport } from "./results.ts";
import { readServedLog, type ServedWindow } from "./served.ts";
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
  log: { files: number; bad_lines: number; missing: number; gaps: Array<{ proc: string; from: number; to: number }>; unclean_ends: number; running: number };
}

/** Monitors `modelName` over [since, until) and (by default) stores the result in fti_monitor. */
export async function monitorModel(store: Store, bundle: SpecBundle, modelName: string, opts: MonitorOptions): Promise<MonitorReport> {
  const { plan, view } = findModel(bundle, modelName);
  const until = opts.until ?? new Date();
  const windowMs = opts.windowMs ?? DAY_MS;
  const origin = opts.since?.getTime() ?? 0;
  const windowOf = (t: number) => origin + Math.floor((t - origin) / windowMs) * windowMs;
  const range = { since: opts.since, until };

  const served = readServedLog(opts.logsDir, plan, view, range, windowOf);
  const rejected = readRequestLog(rejectedLogDir(opts.logsDir), plan.name, range);
  const batch = await readBatchPredictions(store, bundle, plan, range);
  const labels = await joinLabels(store, view, served.live, opts.labelHorizonMs ?? 7 * DAY_MS, until);

  const others = new Map<number, { rejections: RejectedRequestEntry[]; batch: BatchPrediction[] }>();
  const other = (t: number) => {
    const w = windowOf(t);
    let o = others.get(w);
    if (!o) others.set(w, (o = { rejections: [], batch: [] }));
    return o;
  };
  for (const r of rejected.entries as unknown as RejectedRequestEntry[]) other(Date.parse(r.ts)).rejections.push(r);
  for (const b of batch) other(b.t).batch.push(b);

  // A version no longer registered has no statistics to compare with; any other failure to read one (a damaged
  // row: a UserError naming it) is the user's to see, not a window silently without PSI.
  const registered = new Set((await listModels(store)).filter((m) => m.model === modelName).map((m) => m.version));
  const records = new Map<number, ModelSummary | null>();
  const recordOf = async (version: number | null) => {
    if (version === null || !registered.has(version)) return null;
    if (!records.has(version)) records.set(version, await getModel(store, modelName, version));
    return records.get(version)!;
  };

  const windows: WindowReport[] = [];
  for (const start of [...new Set([...served.windows.keys(), ...others.keys()])].sort((a, b) => a - b)) {
    const w = served.windows.get(start) ?? emptyWindow(plan, served.groups.length);
    const o = others.get(start) ?? { rejections: [], batch: [] };
    const versions = new Map(w.versions);
    for (const b of o.batch) versions.set(b.version, (versions.get(b.version) ?? 0) + 1);
    const reference = majorityVersion(versions);
    const record = await recordOf(reference);
    const span = { start, end: start + windowMs, versions: [...versions.keys()].sort((a, b) => a - b) };
    windows.push(windowReport(plan, served.groups, span, w, labels, o.rejections, o.batch, reference, record));
  }
  const scan = served.scan;
  const report: MonitorReport = {
    run_id: newRunId("monitor"),
    model: modelName,
    since: opts.since?.toISOString() ?? null,
    until: until.toISOString(),
    window_ms: windowMs,
    windows,
    log: {
      files: scan.files.length,
      bad_lines: scan.badLines + rejected.badLines,
      missing: scan.missing,
      gaps: scan.gaps.filter((g) => !g.retention).map(({ proc, from, to }) => ({ proc, from, to })),
      unclean_ends: scan.processes.filter((p) => !p.ended && !p.running).length,
      running: scan.processes.filter((p) => p.running).length,
    },
  };
  if (opts.save !== false) await saveMonitorReport(store, report);
  return report;
}

function emptyWindow(plan: ModelPlan, groups: number): ServedWindow {
  return { n: 0, versions: new Map(), inputs: plan.inputs.map(() => []), predictions: [], classes: [], probabilities: [], ids: [], ages: Array.from({ length: groups }, () => []) };
}

/** The version with the most instances (ties: the higher one); null for none. */
export function majorityVersion(counts: ReadonlyMap<number, number>): number | null {
  let best: number | null = null;
  for (const [v, c] of counts) if (best === null || c > counts.get(best)! || (c === counts.get(best)! && v > best)) best = v;
  return best;
}

function windowReport(
  plan: ModelPlan,
  groups: readonly string[],
  span: { start: number; end: number; versions: number[] },
  served: ServedWindow,
  labels: LiveLabels,
  rejections: RejectedRequestEntry[],
  batch: BatchPrediction[],
  reference: number | null,
  record: ModelSummary | null,
): WindowReport {
  const stats = record?.statistics ?? null;
  const multiclass = plan.task === "multiclass_classification";
  const trainOf = (name: string) => stats?.features.find((f) => f.name === name);
  const rejectedByStatus: Record<string, number> = {};
  let rejected = 0;
  for (const r of rejections) {
    const n = Math.max(1, Number(r.instances) || 1);
    rejectedByStatus[String(r.status)] = (rejectedByStatus[String(r.status)] ?? 0) + n;
    rejected += n;
  }
  const traffic = served.n + rejected;
  return {
    start: new Date(span.start).toISOString(),
    end: new Date(span.end).toISOString(),
    versions: span.versions,
    reference_version: reference,
    requests: served.n,
    rejected,
    rejected_by_status: rejectedByStatus,
    rejected_rate: traffic ? rejected / traffic : null,
    features: plan.inputs.map((input, i) => columnDrift(input.name, input.type, served.inputs[i], trainOf(input.name))),
    prediction: multiclass ? columnDrift("prediction", "string", served.classes, stats?.predictions) : columnDrift("prediction", "float", served.predictions, stats?.predictions),
    batch: batch.length
      ? {
          rows: batch.length,
          features: plan.inputs.map((input, i) => columnDrift(input.name, input.type, batch.map((b) => b.inputs[i]), trainOf(input.name))),
          prediction: columnDrift("prediction", multiclass ? "string" : "float", batch.map((b) => b.prediction), stats?.predictions),
        }
      : null,
    freshness: groups.map((group, k) => freshness(group, served.ages[k])),
    live: live(plan, served, labels, record),
  };
}

function freshness(group: string, ages: number[]): FreshnessReport {
  const sorted = Float64Array.from(ages).sort();
  const n = sorted.length;
  return { group, rows: n, p50_s: n ? sorted[Math.ceil(n / 2) - 1] : null, max_s: n ? sorted[n - 1] : null };
}

function live(plan: ModelPlan, served: ServedWindow, labels: LiveLabels, record: ModelSummary | null): LiveReport {
  let y: number[] = [];
  let yHat: number[] = [];
  if (plan.task === "multiclass_classification") ({ y, yHat } = liveClassMetrics(served, labels));
  else {
    served.ids.forEach((id, k) => {
      const p = served.predictions[k];
      const label = labels[id] as number;
      if (Number.isFinite(label) && Number.isFinite(p)) {
        y.push(label);
        yHat.push(p);
      }
    });
  }
  const test = record?.metrics ?? {};
  const names = Object.keys(test).length ? Object.keys(test) : plan.metrics;
  const all = y.length ? computeMetrics(plan.task, y, yHat) : {};
  const metrics: Record<string, number | null> = {};
  for (const name of names) metrics[name] = y.length && Number.isFinite(all[name]) ? all[name] : null;
  return { predictions: served.n, labelled: y.length, metrics, test: { ...test } };
}
