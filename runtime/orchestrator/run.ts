// `fti run`: ticks of the orchestrator (tick.ts) on a clock. Live, a tick
// runs every `intervalMs` of wall time; in replay (`--from/--to/--step`) the
// clock jumps from tick to tick without waiting, so weeks of schedules run in
// minutes. Each tick opens the store, runs what is due and closes it again:
// DuckDB has one writer per file, and between ticks `fti serve` (read-only
// reloads), `fti train` or `fti materialize` can have it. When another process
// holds the store the tick waits and tries again.

import type { SpecBundle } from "../api.ts";
import { openStore, type Store } from "../store/store.ts";
import { firstTickClock, markInterrupted, runJob, type RunRecord } from "./runs.ts";
import { tick } from "./tick.ts";

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export interface OrchestratorOptions {
  /** The store file (default: $FTI_STORE, else .fti/store.duckdb). */
  storePath?: string;
  logsDir: string;
  /** Monitoring window (default one day). */
  windowMs?: number;
  /** Replay: ticks at from, from + step, … up to and including `to`, without waiting. */
  replay?: { from: Date; to: Date; stepMs: number };
  /** Live: wall time between ticks (default 60 s). */
  intervalMs?: number;
  /** Live: stop after this many ticks (default: run until `signal` aborts). */
  maxTicks?: number;
  clock?: Clock;
  signal?: AbortSignal;
  onRun?: (run: RunRecord) => void;
  /** Opening a store another process holds: tries before giving up on a tick (default 30, 1 s apart). */
  openAttempts?: number;
}

function isLocked(e: unknown): boolean {
  return e instanceof Error && /in use by another fti process|lock/i.test(e.message);
}

/** Opens the store for one tick, waiting while another process holds it. */
async function openForTick(opts: OrchestratorOptions, clock: Clock): Promise<Store> {
  const attempts = opts.openAttempts ?? 30;
  for (let i = 1; ; i++) {
    try {
      return await openStore({ path: opts.storePath });
    } catch (e) {
      if (!isLocked(e) || i >= attempts || opts.signal?.aborted) throw e;
      await clock.sleep(1000);
    }
  }
}

/** One tick at `now`: interrupted rows of a dead run are marked, due jobs run, the tick is recorded. */
export async function tickOnce(bundle: SpecBundle, now: Date, opts: OrchestratorOptions): Promise<RunRecord[]> {
  const clock = opts.clock ?? systemClock;
  const store = await openForTick(opts, clock);
  try {
    await markInterrupted(store, clock.now());
    const firstClock = await firstTickClock(store);
    const runs = await tick(store, bundle, { now, logsDir: opts.logsDir, windowMs: opts.windowMs, firstClock });
    for (const r of runs) opts.onRun?.(r);
    const failed = runs.filter((r) => r.status === "failed").length;
    const record = await runJob(store, { kind: "tick", target: "", trigger: opts.replay ? "replay" : "clock", slot: now, clock: now }, async () => ({
      rows: runs.length,
      detail: { jobs: runs.length, failed },
    }));
    opts.onRun?.(record);
    return [...runs, record];
  } finally {
    await store.close();
  }
}

/** Runs ticks until the replay ends, maxTicks is reached or the signal aborts; returns every job run. */
export async function runOrchestrator(bundle: SpecBundle, opts: OrchestratorOptions): Promise<RunRecord[]> {
  const clock = opts.clock ?? systemClock;
  const all: RunRecord[] = [];
  if (opts.replay) {
    const { from, to, stepMs } = opts.replay;
    for (let t = from.getTime(); t <= to.getTime() && !opts.signal?.aborted; t += stepMs) all.push(...(await tickOnce(bundle, new Date(t), opts)));
    return all;
  }
  for (let n = 0; !opts.signal?.aborted && (opts.maxTicks === undefined || n < opts.maxTicks); n++) {
    if (n > 0) await clock.sleep(opts.intervalMs ?? 60_000);
    if (opts.signal?.aborted) break;
    all.push(...(await tickOnce(bundle, clock.now(), opts)));
  }
  return all;
}
