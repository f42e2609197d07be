// Preloaded into a server under test (`node --import ./bench/lib/loop-probe.mjs …`)
// by bench/online-tail.ts: what stopped the event loop, with wall-clock times
// the load generator's slow requests can be matched against.
//
// - every GC (PerformanceObserver "gc": kind, start, duration), epoch ms;
// - every stall of the loop: a timer every PROBE_TICK_MS (2 ms) that came
//   more than FTI_PROBE_STALL_MS (default 3 ms) late, with its start and length;
// - the loop's delay histogram (perf_hooks monitorEventLoopDelay, 1 ms resolution).
// On SIGUSR2 it writes what it saw since the last signal to $FTI_PROBE_OUT (JSON) and starts afresh.

import { openSync, readSync, writeFileSync } from "node:fs";
import { monitorEventLoopDelay, PerformanceObserver, constants } from "node:perf_hooks";

const out = process.env.FTI_PROBE_DIR ? `${process.env.FTI_PROBE_DIR}/probe-${process.pid}.json` : process.env.FTI_PROBE_OUT;
const stallMs = Number(process.env.FTI_PROBE_STALL_MS ?? 3);
const TICK_MS = 2;
const epoch = () => performance.timeOrigin + performance.now();
const kinds = { [constants.NODE_PERFORMANCE_GC_MINOR]: "minor", [constants.NODE_PERFORMANCE_GC_MAJOR]: "major", [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental", [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb" };

let gcs = [];
let stalls = [];
const hist = monitorEventLoopDelay({ resolution: 1 });
hist.enable();
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcs.push({ at: performance.timeOrigin + e.startTime, ms: e.duration, kind: kinds[e.detail?.kind] ?? String(e.detail?.kind) });
}).observe({ entryTypes: ["gc"] });

// The main thread's time on a CPU and waiting for one (ns, /proc/<pid>/task/<pid>/schedstat; Linux):
// a stall the thread spent running is the server's own work (or GC); one spent waiting is the machine.
let schedFd = -1;
try {
  schedFd = openSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, "r");
} catch {
  // not Linux: stalls without the split
}
const schedBuf = Buffer.alloc(128);
const sched = () => {
  if (schedFd < 0) return [NaN, NaN];
  const n = readSync(schedFd, schedBuf, 0, 128, 0);
  const [run, wait] = schedBuf.toString("latin1", 0, n).split(" ");
  return [Number(run) / 1e6, Number(wait) / 1e6];
};

let last = epoch();
let lastSched = sched();
const tick = setInterval(() => {
  const now = epoch();
  const s = sched();
  const late = now - last - TICK_MS;
  if (late > stallMs) stalls.push({ at: last + TICK_MS, ms: late, ranMs: s[0] - lastSched[0], waitedMs: s[1] - lastSched[1] });
  last = now;
  lastSched = s;
}, TICK_MS);
tick.unref();

process.on("SIGUSR2", () => {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  const report = {
    at: epoch(),
    gcs,
    stalls,
    loopDelay: { p50: hist.percentile(50) / 1e6, p99: hist.percentile(99) / 1e6, p999: hist.percentile(99.9) / 1e6, max: hist.max / 1e6, count: hist.count },
    cpuMs: (cpu.user + cpu.system) / 1000,
    heapUsedMB: mem.heapUsed / 2 ** 20,
    rssMB: mem.rss / 2 ** 20,
  };
  gcs = [];
  stalls = [];
  hist.reset();
  if (out) writeFileSync(out, JSON.stringify(report));
});

// $FTI_PROBE_CPU=<µs>: the CPU profiler at that sampling interval, written as probe-<pid>.cpuprofile at each
// SIGUSR2 (then it starts afresh): the profile of one measured run alone (bench/profile.ts summarises it).
if (process.env.FTI_PROBE_CPU && out) {
  const { Session } = await import("node:inspector");
  const session = new Session();
  session.connect();
  const post = (m, p) => new Promise((ok, fail) => session.post(m, p, (e, r) => (e ? fail(e) : ok(r))));
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: Number(process.env.FTI_PROBE_CPU) });
  await post("Profiler.start");
  process.on("SIGUSR2", () => {
    void post("Profiler.stop").then(async (r) => {
      writeFileSync(out.replace(/\.json$/, ".cpuprofile"), JSON.stringify(r.profile));
      await post("Profiler.start");
    });
  });
}

// $FTI_PROBE_HEAP=<bytes>: V8's sampling heap profiler at that interval, counting the objects the GC
// already collected too (what a request allocates, not what stays), written beside the report as
// probe-<pid>.heapprofile at each SIGUSR2 (then sampling starts afresh).
if (process.env.FTI_PROBE_HEAP && out) {
  const { Session } = await import("node:inspector");
  const session = new Session();
  session.connect();
  const post = (m, p) => new Promise((ok, fail) => session.post(m, p, (e, r) => (e ? fail(e) : ok(r))));
  const start = () =>
    post("HeapProfiler.startSampling", {
      samplingInterval: Number(process.env.FTI_PROBE_HEAP),
      // $FTI_PROBE_HEAP_LIVE=1: only what no GC has collected yet (what survived, and what was promoted and
      // waits for the next major GC), not everything allocated
      includeObjectsCollectedByMajorGC: !process.env.FTI_PROBE_HEAP_LIVE,
      includeObjectsCollectedByMinorGC: !process.env.FTI_PROBE_HEAP_LIVE,
    });
  await post("HeapProfiler.enable");
  await start();
  process.on("SIGUSR2", () => {
    void post("HeapProfiler.stopSampling").then(async (r) => {
      writeFileSync(out.replace(/\.json$/, ".heapprofile"), JSON.stringify(r.profile));
      await start();
    });
  });
}
