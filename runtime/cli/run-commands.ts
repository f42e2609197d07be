// `fti run` (the orchestrator: scheduled feature pipelines, materialize,
// monitor, retrain and promotion; runtime/orchestrator) and `fti runs` (the
// runs it recorded).

import type { Command } from "commander";
import { UsageError } from "../errors.ts";
import { parseOnlineStore } from "../online/online-store.ts";
import type { RunRecord } from "../orchestrator/runs.ts";
import { withStore, type RuntimeCliDeps } from "./commands.ts";
import { durationFlag, timeFlag, wholeNumberFlag } from "./flags.ts";
import { logsDirFor } from "./online-commands.ts";

const out = (line: string) => process.stdout.write(line + "\n");

export function runLine(r: RunRecord): string {
  const when = new Date(r.clock).toISOString().slice(0, 16).replace("T", " ");
  const versions = r.version_from !== null || r.version_to !== null ? ` v${r.version_from ?? "–"}→v${r.version_to ?? "–"}${rejected(r)}` : "";
  const rows = r.rows !== null ? ` rows ${r.rows}` : "";
  const tail = r.error ? `  ${r.error}` : "";
  return `${when}  ${r.kind.padEnd(11)} ${(r.target || "·").padEnd(16)} ${r.status.padEnd(11)} ${r.trigger}${rows}${versions}${tail}`;
}

/**
 * A retrain whose challenger was not promoted names it and why: the line said only `v3→v3`, the
 * production version kept, and not that v4 was trained and registered as staging (the newuser lane's
 * quarterly retrains over vega-datasets unemployment: six of ten kept the champion, no word why).
 */
function rejected(r: RunRecord): string {
  if (r.kind !== "retrain" || !r.detail) return "";
  let d: { challenger?: unknown; promoted?: unknown; reason?: unknown };
  try {
    d = JSON.parse(r.detail) as typeof d;
  } catch {
    return "";
  }
  return d.promoted === false && typeof d.challenger === "number" ? ` (v${d.challenger} not promoted: ${typeof d.reason === "string" ? d.reason : "see fti runs --json"})` : "";
}

interface RunOpts {
  from?: string;
  to?: string;
  step: string;
  interval: string;
  now?: string;
  once?: boolean;
  window: string;
  logs?: string;
  store?: string;
}

function replayOf(opts: RunOpts): { from: Date; to: Date; stepMs: number } | undefined {
  const from = timeFlag(opts.from, "--from");
  const to = timeFlag(opts.to, "--to");
  if (!from && !to) return undefined;
  if (!from || !to) throw new UsageError("a replay needs both --from and --to");
  if (to.getTime() < from.getTime()) throw new UsageError(`--to ${opts.to} is before --from ${opts.from}`);
  return { from, to, stepMs: durationFlag(opts.step, "--step")! };
}

export function registerRunCommands(program: Command, deps: RuntimeCliDeps): void {
  program
    .command("run")
    .description("the orchestrator: scheduled feature pipelines, materialize, monitor, retrain on a trigger, promote a better model")
    .argument("<spec>", ".fti file")
    .option("--once", "one tick, then exit")
    .option("--now <time>", "the clock of a --once tick (default: now)")
    .option("--from <time>", "replay: first tick's clock")
    .option("--to <time>", "replay: last tick's clock (inclusive)")
    .option("--step <duration>", "replay: clock step between ticks", "1h")
    .option("--interval <duration>", "live: wall time between ticks", "1m")
    .option("--window <duration>", "monitoring window", "1d")
    .option("--logs <dir>", "request log directory (default: logs/ next to the store)")
    .option("--store <path>", "the DuckDB store (default: $FTI_STORE or .fti/store.duckdb)")
    .action(async (spec: string, opts: RunOpts) => {
      const replay = replayOf(opts);
      if (replay && (opts.once || opts.now)) throw new UsageError("--once/--now and a replay (--from/--to) exclude each other");
      const now = timeFlag(opts.now, "--now");
      const windowMs = durationFlag(opts.window, "--window")!;
      const intervalMs = durationFlag(opts.interval, "--interval")!;
      parseOnlineStore(process.env.FTI_ONLINE_STORE); // each materialize job reads it: a malformed value is said once, before any tick
      const bundle = await deps.loadSpec(spec);
      const { runOrchestrator, tickOnce } = await import("../orchestrator/run.ts");
      const base = { storePath: opts.store, logsDir: logsDirFor(opts), windowMs, onRun: (r: RunRecord) => r.kind !== "tick" && out(runLine(r)) };
      let failed = false;
      const onRun = (r: RunRecord) => ((failed ||= r.status === "failed"), base.onRun(r));
      if (opts.once || now) {
        await tickOnce(bundle, now ?? new Date(), { ...base, onRun });
        if (failed) deps.exit(1);
        return;
      }
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        await runOrchestrator(bundle, { ...base, onRun, replay, intervalMs, signal: stop.signal });
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      if (replay && failed) deps.exit(1);
    });

  program
    .command("runs")
    .description("the runs `fti run` recorded, newest first")
    .option("--model <name>", "only runs of this model or group")
    .option("--limit <n>", "at most this many", "50")
    .option("--json", "as JSON")
    .option("--store <path>", "the DuckDB store (default: $FTI_STORE or .fti/store.duckdb)")
    .action(async (opts: { model?: string; limit: string; json?: boolean; store?: string }) => {
      const limit = wholeNumberFlag(opts.limit, "--limit", 1);
      const { listRuns } = await import("../orchestrator/runs.ts");
      const runs = await withStore(opts, (store) => listRuns(store, { limit, target: opts.model }));
      if (opts.json) return void out(JSON.stringify(runs, null, 2));
      if (!runs.length) return void out("no runs recorded yet; start `fti run <spec>`");
      for (const r of runs) out(runLine(r));
    });
}
