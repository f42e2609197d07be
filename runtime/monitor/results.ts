// The results of `fti monitor`, one row per (model, window, subject, measure)
// in `fti_monitor`. A new run replaces the rows of the windows it computed,
// so the table holds the latest measurement of every window; the monitoring
// page and the orchestrator's triggers read it.

import type { Store } from "../store/store.ts";
import type { MonitorReport, WindowReport } from "./monitor.ts";
import type { ColumnDrift } from "./window.ts";

export const MONITOR_TABLE = "fti_monitor";

export interface MonitorRow {
  model: string;
  window_start: Date;
  window_end: Date;
  /** The reference version of the window (null without one). */
  version: number | null;
  /** `feature:<name>`, `prediction`, `batch:feature:<name>`, `batch:prediction`, `traffic`, `freshness:<group>`, `live`, `test`. */
  subject: string;
  /** e.g. psi, ks, ks_p, null_rate, null_rate_change, mean, count, requests, rejected, rejected_rate, status_422, p50_s, max_s, labelled, mae. */
  measure: string;
  value: number;
}

const COLUMNS = `run_id VARCHAR NOT NULL, computed_at TIMESTAMP NOT NULL, model VARCHAR NOT NULL,
  window_start TIMESTAMP NOT NULL, window_end TIMESTAMP NOT NULL, version INTEGER,
  subject VARCHAR NOT NULL, measure VARCHAR NOT NULL, value DOUBLE NOT NULL`;

function driftRows(subject: string, d: ColumnDrift): Array<[string, string, number | null]> {
  return [
    [subject, "count", d.count],
    [subject, "null_rate", d.null_rate],
    [subject, "null_rate_change", d.null_rate_change],
    [subject, "psi", d.psi],
    [subject, "ks", d.ks],
    [subject, "ks_p", d.ks_p],
    [subject, "mean", d.mean],
  ];
}

/** Every measure of a window as (subject, measure, value); nulls are left out. */
export function windowMeasures(w: WindowReport): Array<[string, string, number]> {
  const rows: Array<[string, string, number | null]> = [
    ["traffic", "requests", w.requests],
    ["traffic", "rejected", w.rejected],
    ["traffic", "rejected_rate", w.rejected_rate],
    ...Object.entries(w.rejected_by_status).map(([s, n]): [string, string, number] => ["traffic", `status_${s}`, n]),
    ...w.features.flatMap((f) => driftRows(`feature:${f.name}`, f)),
    ...driftRows("prediction", w.prediction),
    ...(w.batch ? [...w.batch.features.flatMap((f) => driftRows(`batch:feature:${f.name}`, f)), ...driftRows("batch:prediction", w.batch.prediction)] : []),
    ...w.freshness.flatMap((f): Array<[string, string, number | null]> => [
      [`freshness:${f.group}`, "p50_s", f.p50_s],
      [`freshness:${f.group}`, "max_s", f.max_s],
    ]),
    ["live", "labelled", w.live.labelled],
    ...Object.entries(w.live.metrics).map(([k, v]): [string, string, number | null] => ["live", k, v]),
    ...Object.entries(w.live.test).map(([k, v]): [string, string, number | null] => ["test", k, v]),
  ];
  return rows.filter((r): r is [string, string, number] => typeof r[2] === "number" && Number.isFinite(r[2]));
}

export async function ensureMonitorTable(store: Store): Promise<void> {
  await store.run(`CREATE TABLE IF NOT EXISTS ${MONITOR_TABLE} (${COLUMNS})`);
}

/** Replaces the stored measures of the report's windows (one transaction). */
export async function saveMonitorReport(store: Store, report: MonitorReport): Promise<void> {
  await ensureMonitorTable(store);
  const computedAt = new Date();
  await store.transaction(async () => {
    for (const w of report.windows) {
      await store.run(`DELETE FROM ${MONITOR_TABLE} WHERE model = ? AND window_start = ?`, [report.model, new Date(w.start)]);
    }
    const rows = report.windows.flatMap((w) =>
      windowMeasures(w).map(([subject, measure, value]) => [
        report.run_id, computedAt, report.model, new Date(w.start), new Date(w.end), w.reference_version, subject, measure, value,
      ]),
    );
    if (rows.length) {
      await store.appendRows(
        MONITOR_TABLE,
        ["run_id", "computed_at", "model", "window_start", "window_end", "version", "subject", "measure", "value"],
        rows,
      );
    }
  });
}

/** Stored measures of a model, by window then subject and measure (an empty list without the table); `lastWindows` keeps the latest n windows. */
export async function readMonitorRows(store: Store, model: string, opts: { since?: Date; lastWindows?: number } = {}): Promise<MonitorRow[]> {
  if (!(await store.tableExists(MONITOR_TABLE))) return [];
  const where = ["model = ?"];
  const params: Array<string | Date | number> = [model];
  if (opts.since) (where.push("window_start >= ?"), params.push(opts.since));
  if (opts.lastWindows) {
    where.push(`window_start >= (SELECT min(w) FROM (SELECT DISTINCT window_start AS w FROM ${MONITOR_TABLE} WHERE model = ? ORDER BY w DESC LIMIT ${Math.max(1, Math.floor(opts.lastWindows))}))`);
    params.push(model);
  }
  const rows = await store.all<MonitorRow>(
    `SELECT model, window_start, window_end, version, subject, measure, value FROM ${MONITOR_TABLE}
      WHERE ${where.join(" AND ")} ORDER BY window_start, subject, measure`,
    params,
  );
  return rows.map((r) => ({ ...r, version: r.version === null ? null : Number(r.version), value: Number(r.value) }));
}
