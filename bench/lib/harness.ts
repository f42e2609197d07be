// The measuring harness of `npm run bench`: child processes, their results,
// medians and the printed lines.
//
// Every measurement runs in a child process of its own (a fresh Node with
// tsx, a fresh /usr/bin/python3, or a cold `fti` process), so that peak RSS
// is the child's own (getrusage maxrss, reported by the child) and nothing
// cached in one process flatters the next. Node and cold measurements run in
// rounds, fti and its references interleaved (fti, ref a, fti, ref a, ...):
// on a shared, noisy machine the load then hits both sides alike. Round 0 is
// the warm-up (page cache, lazy files) and is discarded.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BENCH = join(ROOT, "bench");
/** Datasets, cached stores, compiled specs and results; $FTI_BENCH_DATA moves it (the smoke test uses a temp dir). */
export const DATA = resolve(process.env.FTI_BENCH_DATA ?? join(BENCH, ".data"));
/** The Debian python that sees pandas and scikit-learn (the first `python3` on PATH does not). */
export const PYTHON = process.env.FTI_BENCH_PYTHON ?? "/usr/bin/python3";

const WORKER = join(BENCH, "worker.ts");
const RSS_PRELOAD = join(BENCH, "lib", "report-rss.mjs");
const RESULT_TAG = "@@RESULT ";

/** What one child reports. */
export interface Sample {
  /** Wall time of the measured section (ms). */
  ms: number;
  /** CPU time (user + system, all threads) of the measured section (ms). */
  cpuMs: number;
  /** Peak RSS of the whole child process (KB). */
  rssKB: number;
  [extra: string]: unknown;
}

/** What an in-process (python) child reports: several timed repetitions after its own warm-up. */
export interface MultiSample {
  ms: number[];
  cpuMs: number[];
  rssKB: number;
  [extra: string]: unknown;
}

export class ChildError extends Error {}

function tail(text: string, lines = 25): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

function parseResult(stdout: string, what: string, stderr: string): Record<string, unknown> {
  const line = stdout.split("\n").reverse().find((l) => l.startsWith(RESULT_TAG));
  if (!line) throw new ChildError(`${what}: no result line\n${tail(stderr || stdout)}`);
  return JSON.parse(line.slice(RESULT_TAG.length)) as Record<string, unknown>;
}

interface SpawnOut {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

/** Runs a command to completion, collecting its output. `echo` streams its stderr to ours. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; echo?: boolean; cwd?: string } = {}): Promise<SpawnOut> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      if (opts.echo) process.stderr.write(d);
    });
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code, signal, stdout, stderr, wallMs: performance.now() - t0 }));
  });
}

/** Runs `bench/worker.ts <task> <args>` in a fresh Node (tsx) and returns its result. */
export async function runNodeTask<T = Sample>(task: string, args: unknown, opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {}): Promise<T> {
  const out = await run(process.execPath, [...(opts.nodeArgs ?? []), "--import", "tsx", WORKER, task, JSON.stringify(args)], {
    env: { ...process.env, ...opts.env },
    echo: verbose,
  });
  if (out.code !== 0) throw new ChildError(`node task ${task} exited with ${out.code ?? out.signal}\n${tail(out.stderr)}`);
  return parseResult(out.stdout, `node task ${task}`, out.stderr) as T;
}

/**
 * The environment of a python reference: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE
 * are removed (set on this machine, they slow numpy's BLAS down).
 */
export function pythonEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** Runs `bench/py/<script> <args-json>` with /usr/bin/python3. */
export async function runPython<T = MultiSample>(script: string, args: unknown, opts: { env?: NodeJS.ProcessEnv } = {}): Promise<T> {
  const out = await run(PYTHON, [join(BENCH, "py", script), JSON.stringify(args)], { env: pythonEnv(opts.env), echo: verbose });
  if (out.code !== 0) throw new ChildError(`python ${script} exited with ${out.code ?? out.signal}\n${tail(out.stderr)}`);
  return parseResult(out.stdout, `python ${script}`, out.stderr) as T;
}

/**
 * A cold process (`node <argv>`), timed from spawn to exit, with its peak RSS
 * reported by a preloaded module at exit.
 */
export async function runCold(argv: string[], opts: { expectCode?: number } = {}): Promise<Sample & { stdout: string; stderr: string }> {
  mkdirSync(join(DATA, "tmp"), { recursive: true });
  const rssFile = join(DATA, "tmp", `rss-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  const out = await run(process.execPath, ["--import", RSS_PRELOAD, ...argv], { env: { ...process.env, FTI_BENCH_RSS_FILE: rssFile } });
  if (out.code !== (opts.expectCode ?? 0)) throw new ChildError(`node ${argv.join(" ")} exited with ${out.code ?? out.signal}\n${tail(out.stderr || out.stdout)}`);
  let rssKB = 0;
  let cpuMs = NaN;
  if (existsSync(rssFile)) {
    const r = JSON.parse(readFileSync(rssFile, "utf8")) as { rssKB: number; cpuMs: number };
    rssKB = r.rssKB;
    cpuMs = r.cpuMs;
    rmSync(rssFile, { force: true });
  }
  return { ms: out.wallMs, cpuMs, rssKB, stdout: out.stdout, stderr: out.stderr };
}

/** Whether /usr/bin/python3 can import the given modules. */
export async function pythonHas(modules: string[]): Promise<boolean> {
  try {
    const out = await run(PYTHON, ["-c", `import ${modules.join(", ")}`], { env: pythonEnv() });
    return out.code === 0;
  } catch {
    return false;
  }
}

let verbose = false;
export function setVerbose(v: boolean): void {
  verbose = v;
}

// ------------------------------------------------------------------ statistics and formatting

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 0)} ms`;
  return `${(ms / 1000).toFixed(ms < 100_000 ? 2 : 1)} s`;
}

export function fmtKB(kb: number): string {
  if (!Number.isFinite(kb) || kb <= 0) return "—";
  if (kb < 1024 * 1024) return `${(kb / 1024).toFixed(0)} MB`;
  return `${(kb / 1024 / 1024).toFixed(2)} GB`;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

export function fmtRate(perSec: number): string {
  if (perSec >= 1e6) return `${(perSec / 1e6).toFixed(2)} M rows/s`;
  if (perSec >= 1e3) return `${(perSec / 1e3).toFixed(0)} k rows/s`;
  return `${perSec.toFixed(0)} rows/s`;
}

export function loadAverage(): number {
  return loadavg()[0];
}

/** Wall and CPU time of an async section. */
export async function timed<T>(fn: () => Promise<T> | T): Promise<{ value: T; ms: number; cpuMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { value, ms, cpuMs: (c.user + c.system) / 1000 };
}
