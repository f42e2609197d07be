// What a suite gets from bench/run.ts, and the interleaved round runner.

import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { ActivitiesSpec } from "./data.ts";
import { DATA, type Sample } from "./harness.ts";
import { fromSamples, type Measured, type Reporter, type Role } from "./report.ts";

export interface Ctx {
  quick: boolean;
  /** Timed rounds per measurement (after one warm-up round). */
  rounds: number;
  warmup: boolean;
  /** Whether the python references run (pandas / scikit-learn importable, and not --no-python). */
  python: boolean;
  /** DuckDB memory_limit for fti and the DuckDB references alike. */
  memoryLimit: string;
  /** DuckDB threads (undefined: DuckDB's default, the core count). */
  threads?: number;
  /** DuckDB max_temp_directory_size for the features and pit suites (undefined: DuckDB's default, 90% of the free disk). */
  maxTemp?: string;
  /** How the pit suite builds its store: fti's feature pipeline (default), or plain SQL in the same layout. */
  pitPrepare: "fti" | "sql";
  /** Which cases the pit suite runs: all, only the event-shaped one, or only the planned-runs spine ones. */
  pitCase: "all" | "events" | "planned";
  /** The pit suite's event-shaped case: events (every one a spine row) and users. */
  events: number;
  eventUsers: number;
  /** The event case's `fti training-data` memory cap (`--memory-limit`; undefined: the export's default). */
  exportMemory?: string;
  /** The activities dataset of the features and pit suites. */
  acts: ActivitiesSpec;
  /** The batch suite's dataset: one entity per athlete. */
  batchActs: ActivitiesSpec;
  /** Logged requests of the monitor suite. */
  monitorRequests: number;
  /** Rows of the train suite (train split; the test split is a quarter of it). */
  trainRows: number;
  /** Features of the train suite's matrix (the first of its 12; default 12). */
  trainFeatures: number;
  /** Which of the train suite's tasks run. */
  trainTask: "regression" | "classification" | "both" | "multiclass";
  trees: number;
  /** Lines of the generated spec of the compile suite. */
  bigSpecLines: number;
  out: Reporter;
  /** Scratch directory of the suite (emptied before it runs). */
  work(suite: string): string;
}

export interface Suite {
  name: string;
  describe: string;
  run(ctx: Ctx): Promise<void>;
}

export interface RoundSpec {
  id: string;
  label: string;
  role: Role;
  /** One timed execution (normally: one child process). `last` is the final round: keep outputs for the checks. */
  run(round: number, last: boolean): Promise<Sample>;
}

/**
 * Runs every spec once per round, interleaved; round 0 is a warm-up (unless
 * ctx.warmup is false) and is discarded.
 */
export async function rounds(ctx: Ctx, suite: string, specs: RoundSpec[]): Promise<Map<string, Measured>> {
  const samples = new Map<string, Sample[]>(specs.map((s) => [s.id, []]));
  const errors = new Map<string, string>();
  const total = ctx.rounds + (ctx.warmup ? 1 : 0);
  for (let r = 0; r < total; r++) {
    const warm = ctx.warmup && r === 0;
    for (const s of specs) {
      if (errors.has(s.id)) continue; // a measurement that failed once is not retried
      process.stderr.write(`  · ${suite}: ${s.label}${warm ? " (warm-up)" : ` (${r + (ctx.warmup ? 0 : 1)}/${ctx.rounds})`}\n`);
      try {
        const sample = await s.run(r, r === total - 1);
        if (!warm) samples.get(s.id)!.push(sample);
      } catch (e) {
        const msg = ((e as Error)?.message ?? String(e)).split("\n").filter((l) => l.trim() && !/^\s+at /.test(l));
        errors.set(s.id, msg.slice(0, 1).concat(msg.filter((l) => /Error|error/.test(l)).slice(-2)).join(" | ").slice(0, 600));
        process.stderr.write(`  · ${suite}: ${s.label} FAILED: ${errors.get(s.id)}\n`);
      }
    }
  }
  return new Map(
    specs.map((s) => {
      const m = fromSamples(suite, s.id, s.label, s.role, samples.get(s.id)!);
      if (errors.has(s.id)) m.error = errors.get(s.id);
      return [s.id, m];
    }),
  );
}

/** Scratch space of one suite in this bench run (per process: two runs never share it). */
export function workDir(suite: string): string {
  const dir = join(DATA, "work", `${process.pid}`, suite);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Removes a DuckDB database file and its side files. */
export function rmDb(path: string): void {
  for (const p of [path, `${path}.wal`, `${path}.tmp`]) rmSync(p, { recursive: true, force: true });
}
