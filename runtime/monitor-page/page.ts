// The monitoring page, `GET /monitor/<model>`: what `fti monitor` and `fti
// run` stored (fti_monitor, the runs table), as of the service's last reload —
// drift per input over time, the prediction's distribution, the live metric
// next to the test metric, volume and rejected requests, model versions as
// markers, and the latest runs. Server-rendered SVG (monitor/svg.ts).

import type { ModelPlan } from "../api.ts";
import type { MonitorRow } from "../monitor/results.ts";
import { chart, type Series } from "../monitor/svg.ts";
import { esc, fmt, layout } from "../online/page.ts";
import type { OnlineService } from "../online/service.ts";
import type { RunRecord } from "../orchestrator/runs.ts";
import type { ModelMonitoring } from "./snapshot.ts";

/** One series per subject: the measure's value in each window. */
function seriesOf(rows: readonly MonitorRow[], measure: string, subjects: (subject: string) => string | null): Series[] {
  const by = new Map<string, Series>();
  for (const r of rows) {
    if (r.measure !== measure) continue;
    const name = subjects(r.subject);
    if (name === null) continue;
    let s = by.get(name);
    if (!s) by.set(name, (s = { name, points: [] }));
    s.points.push({ x: r.window_start.getTime(), y: r.value });
  }
  return [...by.values()];
}

/** A marker where the version serving the windows changes, and one per promotion `fti run` recorded. */
function versionMarkers(rows: readonly MonitorRow[], runs: readonly RunRecord[]): Array<{ x: number; label: string }> {
  const out: Array<{ x: number; label: string }> = [];
  let last: number | null = null;
  const windows = [...new Map(rows.filter((r) => r.version !== null).map((r) => [r.window_start.getTime(), r.version!])).entries()].sort((a, b) => a[0] - b[0]);
  for (const [x, v] of windows) {
    if (v !== last) out.push({ x, label: `v${v}` });
    last = v;
  }
  for (const r of runs) {
    if (r.kind === "retrain" && r.status === "ok" && r.version_to !== r.version_from) out.push({ x: new Date(r.clock).getTime(), label: `v${r.version_to} promoted` });
  }
  return out;
}

/** The drift chart's series of a subject: served inputs by name, batch-scored ones as `batch <name>`, the predictions. */
function driftSeriesName(subject: string): string | null {
  if (subject.startsWith("feature:")) return subject.slice("feature:".length);
  if (subject.startsWith("batch:feature:")) return `batch ${subject.slice("batch:feature:".length)}`;
  if (subject === "prediction") return "prediction";
  if (subject === "batch:prediction") return "batch prediction";
  return null;
}

function runsTable(runs: readonly RunRecord[]): string {
  if (!runs.length) return `<p class="empty">no runs recorded; start <code>fti run</code></p>`;
  const rows = runs
    .map(
      (r) => `<tr class="run" data-kind="${esc(r.kind)}" data-status="${esc(r.status)}"><td>${esc(new Date(r.clock).toISOString().slice(0, 16).replace("T", " "))}</td><td>${esc(r.kind)}</td><td>${esc(r.status)}</td><td>${esc(r.trigger)}</td><td>${r.version_from ?? ""}${r.version_to !== null && r.version_to !== r.version_from ? ` → ${r.version_to}` : ""}</td><td>${esc(r.error ?? "")}</td></tr>`,
    )
    .join("");
  return `<table id="runs"><thead><tr><th>clock</th><th>kind</th><th>status</th><th>trigger</th><th>version</th><th>error</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function charts(plan: ModelPlan, m: ModelMonitoring, trainMean: number | null): string {
  const markers = versionMarkers(m.rows, m.runs);
  const driftLimits = plan.retrain?.drift.filter((d) => d.measure === "psi").map((d) => ({ y: d.value, label: `retrain psi ${d.value}` })) ?? [];
  const drift = chart({
    id: "drift-psi",
    yLabel: "PSI",
    series: seriesOf(m.rows, "psi", driftSeriesName),
    thresholds: driftLimits.length ? driftLimits : [{ y: 0.25, label: "0.25 significant" }],
    markers,
  });
  const prediction = chart({
    id: "prediction-mean",
    yLabel: "prediction mean",
    series: [
      ...seriesOf(m.rows, "mean", (s) => (s === "prediction" ? "served" : s === "batch:prediction" ? "batch" : null)),
    ],
    thresholds: trainMean === null ? [] : [{ y: trainMean, label: "test-split mean" }],
    markers,
  });
  const metric = plan.metrics[0];
  const live = chart({
    id: "live-metric",
    yLabel: metric,
    series: seriesOf(m.rows, metric, (s) => (s === "live" ? `live ${metric}` : s === "test" ? `test ${metric}` : null)),
    thresholds: plan.retrain?.live.filter((l) => l.metric === metric).map((l) => ({ y: l.value, label: `retrain ${metric} ${l.value}` })) ?? [],
    markers,
  });
  const volume = chart({
    id: "volume",
    kind: "bar",
    yLabel: "instances",
    series: seriesOf(m.rows, "requests", (s) => (s === "traffic" ? "scored" : null)).concat(seriesOf(m.rows, "rejected", (s) => (s === "traffic" ? "rejected" : null))),
    markers,
  });
  return `<div class="card"><h2>Drift per input (PSI against the training bins)</h2>${drift}</div>
<div class="card"><h2>Prediction distribution</h2>${prediction}</div>
<div class="card"><h2>Live ${esc(metric)} next to the test ${esc(metric)}</h2>${live}</div>
<div class="card"><h2>Volume and rejected requests</h2>${volume}</div>`;
}

export function monitorPage(service: OnlineService, model: string, m: ModelMonitoring): string {
  const info = service.models().find((m) => m.model === model)!;
  const plan = service.bundle.models.find((m) => m.name === model)!;
  const windows = new Set(m.rows.map((r) => r.window_start.getTime())).size;
  const body = `<h1>monitor · ${esc(model)}</h1>
<p class="sub">Serving <span id="model-version">${info.version === null ? "no version" : `v${info.version}`}</span>; test ${Object.entries(info.metrics).map(([k, v]) => `${esc(k)} ${esc(fmt(v))}`).join(", ")}.
<span id="windows" data-count="${windows}">${windows}</span> monitored windows (from <code>fti monitor</code> / <code>fti run</code>, as of the last reload). <a class="model" href="/models/${esc(encodeURIComponent(model))}">prediction page</a></p>
${windows ? charts(plan, m, info.statistics?.predictions.numeric?.mean ?? null) : `<p class="empty" id="no-windows">nothing monitored yet: run <code>fti monitor ${esc(service.bundle.file)} ${esc(model)}</code> or <code>fti run</code></p>`}
<div class="card"><h2>Runs</h2>${runsTable(m.runs)}</div>`;
  return layout(`fti · monitor ${model}`, service.bundle.name, body);
}
