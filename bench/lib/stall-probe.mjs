// Preloaded into a served process by a bench (`node --import bench/lib/stall-probe.mjs …`):
// where its event loop's stalls go. Every turn of a 1 ms timer that comes later than 15 ms
// is a stall; for each, the main thread's own CPU time and its time waiting for a CPU
// (/proc/thread-self/schedstat: Linux) and the GC pauses inside it. A stall that is mostly
// CPU is the process's own work (GC or JavaScript); one that is mostly waiting is the
// machine's load. On SIGUSR2 the report since the last one is written as JSON to
// $FTI_STALL_OUT and the counts start again.

import { openSync, readSync, writeFileSync } from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";

const STALL_MS = 15;
const out = process.env.FTI_STALL_OUT;
// Read through one descriptor held open (a pread at 0 each tick): reading the file anew every
// millisecond (open, stat, read, close) cost the served process ~4% of its main thread.
let schedFd = -1;
try {
  schedFd = openSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, "r");
} catch {
  // not Linux: stalls without the split
}
const schedBuf = Buffer.alloc(128);
const sched = () => {
  if (schedFd < 0) return { run: NaN, wait: NaN };
  const n = readSync(schedFd, schedBuf, 0, 128, 0);
  const text = schedBuf.latin1Slice(0, n);
  const a = text.indexOf(" ");
  const b = text.indexOf(" ", a + 1);
  return { run: Number(text.slice(0, a)) / 1e6, wait: Number(text.slice(a + 1, b)) / 1e6 };
};
let stalls = [];
let gcs = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ at: e.startTime, ms: e.duration, major: e.detail?.kind === 4 });
}).observe({ entryTypes: ["gc"] });

let last = performance.now();
let lastSched = sched();
const tick = () => {
  const now = performance.now();
  const s = sched();
  if (now - last > STALL_MS) {
    const gc = gcs.filter((g) => g.at >= last - 1 && g.at <= now).reduce((a, g) => a + g.ms, 0);
    stalls.push({ ms: now - last, cpu: s.run - lastSched.run, wait: s.wait - lastSched.wait, gc });
  }
  last = now;
  lastSched = s;
  setTimeout(tick, 1).unref();
};
setTimeout(tick, 1).unref();

const round = (x) => Math.round(x * 10) / 10;
process.on("SIGUSR2", () => {
  const major = gcs.filter((g) => g.major);
  const report = {
    stalls: stalls.length,
    stallMs: round(stalls.reduce((a, s) => a + s.ms, 0)),
    cpuMs: round(stalls.reduce((a, s) => a + s.cpu, 0)),
    waitMs: round(stalls.reduce((a, s) => a + s.wait, 0)),
    gcInStallsMs: round(stalls.reduce((a, s) => a + s.gc, 0)),
    gc: { count: gcs.length, ms: round(gcs.reduce((a, g) => a + g.ms, 0)), major: major.length, majorMaxMs: round(Math.max(0, ...major.map((g) => g.ms))) },
    longest: [...stalls].sort((a, b) => b.ms - a.ms).slice(0, 5).map((s) => ({ ms: round(s.ms), cpu: round(s.cpu), wait: round(s.wait), gc: round(s.gc) })),
  };
  if (out) writeFileSync(out, JSON.stringify(report));
  stalls = [];
  gcs = [];
});
