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

/** Its main thread's CPU time (the event loop, and the GC work done on it) and its other threads' (V8's GC helpers, libuv's pool), ms; a thread that ended meanwhile is not counted. */
export function threadCpuMs(pid: number): { main: number; others: number } {
  let main = 0;
  let others = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const ms = statCpuMs(`/proc/${pid}/task/${tid}/stat`);
      if (tid === String(pid)) main = ms;
      else others += ms;
    } catch {
      // the thread ended
    }
  }
  return { main, others };
}
