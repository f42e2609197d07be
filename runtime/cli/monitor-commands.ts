// `fti monitor`: drift, freshness, traffic and live performance of a served
// model per window (runtime/monitor, docs/monitoring.md). Exit 1 when a
// --fail-on threshold is crossed, for cron and CI.

import type { Command } from "commander";
import type { MonitorReport, WindowReport } from "../monitor/monitor.ts";
import type { Breach } from "../monitor/fail-on.ts";
import type { ColumnDrift } from "../monitor/window.ts";
import { withStore, type RuntimeCliDeps } from "./commands.ts";
import { durationFlag, timeFlag } from "./flags.ts";
import { specMember } from "./spec-member.ts";
import { logsDirFor } from "./online-commands.ts";

const out = (line: string) => process.stdout.write(line + "\n");
const log = (line: string) => process.stderr.write(line + "\n");

function num(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  return Math.abs(x) >= 1000 ? x.toFixed(0) : String(Number(x.toPrecision(digits)));
}

const pct = (x: number | null) => (x === null ? "–" : `${Number((100 * x).toPrecision(3))}%`);
const signedPct = (x: number | null) => (x === null ? "–" : `${x >= 0 ? "+" : ""}${Number((100 * x).toPrecision(3))}%`);

function driftLine(d: ColumnDrift, w: number): string {
  return `    ${d.name.padEnd(w)}  ${String(d.count).padStart(6)}  ${pct(d.null_rate).padStart(6)}  ${signedPct(d.null_rate_change).padStart(7)}  ${num(d.psi).padStart(7)}  ${num(d.ks).padStart(6)}`;
}

function printWindow(win: WindowReport): void {
  const versions = win.versions.length ? `v${win.versions.join(", v")}` : "no version";
  const status = Object.entries(win.rejected_by_status).map(([s, n]) => `${s}: ${n}`).join(", ");
  out(`${win.start} → ${win.end}  ${versions}  requests ${win.requests}, rejected ${win.rejected}${status ? ` (${status})` : ""}${win.rejected_rate !== null ? `, ${pct(win.rejected_rate)}` : ""}`);
  const metrics = Object.entries(win.live.metrics).map(([k, v]) => `${k} ${num(v)} (test ${num(win.live.test[k])})`);
  out(`  live: ${win.live.labelled} of ${win.live.predictions} predictions labelled${win.live.labelled ? `; ${metrics.join(", ")}` : ""}`);
  const batch = win.batch ? [...win.batch.features, win.batch.prediction].map((d) => ({ ...d, name: `${d.name} (batch)` })) : [];
  const rows = [...(win.requests ? [...win.features, win.prediction] : []), ...batch];
  const w = Math.max(8, ...rows.map((r) => r.name.length));
  out(`    ${"column".padEnd(w)}  ${"count".padStart(6)}  ${"null".padStart(6)}  ${"Δnull".padStart(7)}  ${"psi".padStart(7)}  ${"ks".padStart(6)}`);
  for (const r of rows) out(driftLine(r, w));
  for (const f of win.freshness) {
    if (f.rows) out(`  freshness ${f.group}: median age ${num(f.p50_s === null ? null : f.p50_s / 3600)} h, max ${num(f.max_s === null ? null : f.max_s / 3600)} h`);
  }
}

function printReport(r: MonitorReport, breaches: Breach[] | null): void {
  out(`monitor ${r.model}: ${r.windows.length} window${r.windows.length === 1 ? "" : "s"} of ${num(r.window_ms / 3_600_000)} h${r.since ? ` since ${r.since}` : ""} until ${r.until} (${r.log.files} log file${r.log.files === 1 ? "" : "s"})`);
  if (r.log.bad_lines) log(`warning: ${r.log.bad_lines} unreadable log lines skipped`);
  if (r.log.missing) {
    const ranges = r.log.gaps.slice(0, 5).map((g) => `${g.proc} seq ${g.from === g.to ? g.from : `${g.from}–${g.to}`}`);
    log(`warning: ${r.log.missing} request log entries are missing (${ranges.join(", ")}${r.log.gaps.length > 5 ? ", …" : ""}): the figures leave them out`);
  }
  if (r.log.unclean_ends) log(`warning: ${r.log.unclean_ends} serving process${r.log.unclean_ends === 1 ? "" : "es"} did not shut down cleanly: the last flush window of each may be missing`);
  if (r.log.running) log(`note: ${r.log.running} serving process${r.log.running === 1 ? " is" : "es are"} still running: ${r.log.running === 1 ? "its" : "their"} latest requests may not be in the log yet`);
  for (const w of r.windows) printWindow(w);
  if (!r.windows.length) out("no logged requests or batch predictions in the range");
  if (breaches === null) return;
  for (const b of breaches) out(`✗ ${b.window} ${b.subject}: ${b.measure} ${num(b.actual)} ${b.op} ${b.value}`);
  out(breaches.length ? `✗ ${breaches.length} threshold breach${breaches.length === 1 ? "" : "es"}` : "✓ no threshold crossed");
}

export function registerMonitorCommands(program: Command, deps: RuntimeCliDeps): void {
  program
    .command("monitor")
    .description("drift (PSI, KS), null rates, freshness, traffic, rejections and live performance of a served model, per window")
    .argument("<spec>", ".fti file")
    .argument("[model]", "model name (default: the spec's only model)")
    .option("--since <time>", "only traffic at or after this time; windows start here")
    .option("--until <time>", "only traffic before this time (default: now)")
    .option("--window <duration>", "window length: 30m, 6h, 1d, 1w", "1d")
    .option("--label-within <duration>", "how long after a prediction its label may arrive", "7d")
    .option("--logs <dir>", "request log directory (default: logs/ next to the store)")
    .option("--fail-on <thresholds>", "exit 1 when a window crosses one: psi>0.2,ks>0.1,mae>700,rejected_rate>0.05")
    .option("--json", "print the report as JSON")
    .option("--store <path>", "the DuckDB store (default: $FTI_STORE or .fti/store.duckdb)")
    .action(async (spec: string, modelArg: string | undefined, opts: { since?: string; until?: string; window: string; labelWithin: string; logs?: string; failOn?: string; json?: boolean; store?: string }) => {
      const { parseThresholds, checkMeasures, findBreaches } = await import("../monitor/fail-on.ts");
      const thresholds = opts.failOn === undefined ? null : parseThresholds(opts.failOn);
      const windowMs = durationFlag(opts.window, "--window")!;
      const labelHorizonMs = durationFlag(opts.labelWithin, "--label-within")!;
      const since = timeFlag(opts.since, "--since");
      const until = timeFlag(opts.until, "--until");
      const bundle = await deps.loadSpec(spec);
      const model = specMember(bundle, "model", modelArg);
      const { monitorModel } = await import("../monitor/monitor.ts");
      const { taskMetrics } = await import("../monitor/metrics.ts");
      if (thresholds) checkMeasures(thresholds, taskMetrics(bundle, model));
      const report = await withStore(opts, (store) => monitorModel(store, bundle, model, { logsDir: logsDirFor(opts), since, until, windowMs, labelHorizonMs }));
      const breaches = thresholds ? findBreaches(report, thresholds) : null;
      if (opts.json) out(JSON.stringify({ ...report, ...(breaches ? { breaches } : {}) }, null, 2));
      else printReport(report, breaches);
      if (breaches?.length) deps.exit(1);
    });
}
