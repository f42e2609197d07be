// CPU time of another process from /proc (Linux): what a served process or a
// load generator cost, whatever share of the cores it got.

import { readdirSync, readFileSync } from "node:fs";

const TICKS_PER_SECOND = 100;

/** utime + stime (ms) of a /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat file. */
function statCpuMs(file: string): number {
  const fields = readFileSync(file, "utf8").replace(/^.*\) /s, "").split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

/** The process's CPU time so far (ms, all threads). */
export function processCpuMs(pid: number): number {
  return statCpuMs(`/proc/${pid}/stat`);
}

/** Every live thread's CPU time so far (ms), by thread id; a thread that ended is not listed. */
export function perThreadCpuMs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(tid, statCpuMs(`/proc/${pid}/task/${tid}/stat`));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Its main thread's CPU time (the event loop, and the GC work done on it) and its other threads' (V8's GC helpers, libuv's pool), ms; a thread that ended meanwhile is not counted. */
export function threadCpuMs(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const [tid, ms] of perThreadCpuMs(pid)) {
    if (tid === String(pid)) main = ms;
    else others += ms;
  }
  return { main, others };
}

/**
 * Between two perThreadCpuMs snapshots: the CPU of all threads and of the
 * busiest one. On `cores` cores a piece of work takes at least
 * max(busiest, total / cores) of wall time, whatever the machine's load: a
 * load-independent measure of how parallel it ran (10 ms ticks).
 */
export function threadSpread(before: Map<string, number>, after: Map<string, number>, cores: number): { total: number; busiest: number; minWall: number } {
  let total = 0;
  let busiest = 0;
  for (const [tid, ms] of after) {
    const d = ms - (before.get(tid) ?? 0);
    total += d;
    busiest = Math.max(busiest, d);
  }
  return { total, busiest, minWall: Math.max(busiest, total / cores) };
}

/**
 * Every live thread's time on a CPU and waiting for one (ms, from
 * /proc/<pid>/task/<tid>/schedstat: Linux), by thread id. Between two
 * snapshots, (on CPU + waiting) / elapsed is how many threads wanted a CPU —
 * on a loaded machine too, where the time on a CPU alone says little.
 */
export function perThreadSchedMs(pid: number): Map<string, { run: number; wait: number }> {
  const out = new Map<string, { run: number; wait: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ").map(Number);
      out.set(tid, { run: run / 1e6, wait: wait / 1e6 });
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Threads that wanted a CPU between two perThreadSchedMs snapshots `ms` apart (on a CPU or runnable). */
export function threadsWanting(before: Map<string, { run: number; wait: number }>, after: Map<string, { run: number; wait: number }>, ms: number): number {
  let busy = 0;
  for (const [tid, s] of after) {
    const b = before.get(tid) ?? { run: 0, wait: 0 };
    busy += s.run - b.run + (s.wait - b.wait);
  }
  return ms > 0 ? busy / ms : 0;
}

/**
 * The `n` threads (other than the main one) that ran the most between two
 * perThreadSchedMs snapshots `ms` apart: their time on a CPU, and their time
 * blocked — neither on a CPU nor waiting for one (a lock, a task that waits
 * for another's output). A pool of `n` threads that never blocks would take
 * (run + blocked) / n of wall time on `n` idle cores: unlike the wall time,
 * it hardly moves with the machine's load (docs/benchmarks.md, "Fourteenth
 * session: export").
 */
export function busiestBlocked(
  pid: number,
  before: Map<string, { run: number; wait: number }>,
  after: Map<string, { run: number; wait: number }>,
  ms: number,
  n: number,
): { run: number; blocked: number } {
  const threads = [...after]
    .filter(([tid]) => tid !== String(pid))
    .map(([tid, s]) => {
      const b = before.get(tid) ?? { run: 0, wait: 0 };
      return { run: s.run - b.run, wait: s.wait - b.wait };
    })
    .sort((x, y) => y.run - x.run)
    .slice(0, n);
  return {
    run: threads.reduce((a, t) => a + t.run, 0),
    blocked: threads.reduce((a, t) => a + Math.max(0, ms - t.run - t.wait), 0),
  };
}
