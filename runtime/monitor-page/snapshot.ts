// What the service keeps in memory for the monitoring page and /metrics: per
// served model, the stored fti_monitor measures of its latest windows and the
// runs `fti run` recorded for it. Read in the service's read-only reload (the
// store is never held open), so the page shows the state of the last reload.

import { readMonitorRows, type MonitorRow } from "../monitor/results.ts";
import type { Gauge } from "../online/metrics.ts";
import { listRuns, type RunRecord } from "../orchestrator/runs.ts";
import type { Store } from "../store/store.ts";

/** Windows the page and the gauges keep per model. */
export const SNAPSHOT_WINDOWS = 120;
export const SNAPSHOT_RUNS = 50;

export interface ModelMonitoring {
  rows: MonitorRow[];
  /** Runs of the model (monitor, retrain), newest first. */
  runs: RunRecord[];
}

export async function readMonitoring(store: Store, models: readonly string[]): Promise<Map<string, ModelMonitoring>> {
  const out = new Map<string, ModelMonitoring>();
  for (const model of models) {
    out.set(model, {
      rows: await readMonitorRows(store, model, { lastWindows: SNAPSHOT_WINDOWS }),
      runs: await listRuns(store, { target: model, limit: SNAPSHOT_RUNS }),
    });
  }
  return out;
}

/** Measures of the latest window, as (subject, measure) → value. */
export function latestWindow(rows: readonly MonitorRow[]): { start: Date; values: Map<string, number> } | null {
  if (!rows.length) return null;
  const last = Math.max(...rows.map((r) => r.window_start.getTime()));
  const values = new Map<string, number>();
  for (const r of rows) if (r.window_start.getTime() === last) values.set(`${r.subject}\u0000${r.measure}`, r.value);
  return { start: new Date(last), values };
}

/** Prometheus gauges of the latest monitored window of each model. */
export function monitoringGauges(snapshot: ReadonlyMap<string, ModelMonitoring>): Gauge[] {
  const gauges = new Map<string, Gauge>();
  const add = (name: string, help: string, labels: Record<string, string>, value: number) => {
    let g = gauges.get(name);
    if (!g) gauges.set(name, (g = { name, help, values: [] }));
    g.values.push({ labels, value });
  };
  for (const [model, m] of snapshot) {
    const latest = latestWindow(m.rows);
    if (!latest) continue;
    add("fti_monitor_window_start_seconds", "Start of the latest monitored window (fti monitor / fti run), per model.", { model }, latest.start.getTime() / 1000);
    for (const [key, value] of latest.values) {
      const [subject, measure] = key.split("\u0000");
      const [kind, name] = subject.includes(":") ? subject.split(/:(.*)/s, 2) : [subject, ""];
      if ((kind === "feature" || subject === "prediction") && ["psi", "ks", "null_rate_change"].includes(measure)) {
        add(`fti_monitor_${measure}`, `${measure} of each input and the prediction in the latest window, against the training statistics.`, { model, column: name || "prediction" }, value);
      } else if (kind === "live" && measure !== "labelled") add("fti_monitor_live_metric", "Live metric of the latest window (predictions joined with their labels).", { model, metric: measure }, value);
      else if (kind === "test") add("fti_monitor_test_metric", "Test metric of the version that served the latest window.", { model, metric: measure }, value);
      else if (kind === "traffic" && ["requests", "rejected_rate"].includes(measure)) add(`fti_monitor_${measure}`, `${measure} in the latest window.`, { model }, value);
      else if (kind === "freshness" && measure === "max_s") add("fti_monitor_feature_age_max_seconds", "Oldest served feature row in the latest window, per group.", { model, group: name }, value);
    }
  }
  return [...gauges.values()];
}
