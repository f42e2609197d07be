// Diagnosis probe (issue 12, ninth session): ONE stream checkpoint inside a paced 5,000 events/s run, in
// process, with a timeline of what the events wait on: per 100 ms bin the batches' latency (p99/max)
// and their durable append's, the checkpoint's slices on the event loop (v8.serialize calls), its
// writes and datasyncs (FileHandle calls, off the loop), GC pauses, and the main thread's CPU.
//   ATHLETES=1000 PRELOAD=500000 SECONDS=12 CP_AT=3 npx tsx bench/stream-cp-trace.ts
import { readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import v8 from "node:v8";
import { preloadedStream } from "./lib/preloaded-stream.ts";

process.env.FTI_STREAM_CHECKPOINT_MS = "0";
const athletes = Number(process.env.ATHLETES ?? 1000);
const preload = Number(process.env.PRELOAD ?? 300_000);
const seconds = Number(process.env.SECONDS ?? 10);
const cpAt = Number(process.env.CP_AT ?? 3) * 1000;
const binMs = Number(process.env.BIN_MS ?? 100);

type Span = { at: number; ms: number };
const spans: Record<string, Span[]> = { slice: [], writev: [], datasync: [], segwrite: [], gc: [], sync: [], truncate: [] };
let t0 = performance.now();
const timed = <A extends unknown[], R>(kind: string, f: (...a: A) => R) =>
  function (this: unknown, ...a: A): R {
    const at = performance.now();
    const r = f.apply(this, a);
    if (r instanceof Promise) return r.finally(() => spans[kind].push({ at: at - t0, ms: performance.now() - at })) as R;
    spans[kind].push({ at: at - t0, ms: performance.now() - at });
    return r;
  };
// The checkpoint's slices: one v8.serialize each (patched before checkpoint.ts binds it).
const serialize0 = v8.serialize;
const sliceLog: Array<{ at: number; ms: number; bytes: number }> = [];
(v8 as { serialize: typeof v8.serialize }).serialize = (v: unknown) => {
  const at = performance.now();
  const out = serialize0(v);
  const ms = performance.now() - at;
  spans.slice.push({ at: at - t0, ms });
  sliceLog.push({ at: at - t0, ms, bytes: out.length });
  return out;
};
syncBuiltinESMExports();
// File calls, off the loop: how long each took from call to completion.
const probeFile = join(tmpdir(), `fti-trace-${process.pid}`);
const fh0 = await open(probeFile, "w");
const proto = Object.getPrototypeOf(fh0) as Record<string, (...a: unknown[]) => unknown>;
await fh0.close();
rmSync(probeFile, { force: true });
for (const [m, kind] of [["writev", "writev"], ["datasync", "datasync"], ["write", "segwrite"], ["sync", "sync"], ["truncate", "truncate"]] as const) proto[m] = timed(kind, proto[m]);
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) spans.gc.push({ at: e.startTime - t0, ms: e.duration });
}).observe({ entryTypes: ["gc"] });

// Imported here, after the patches above: checkpoint.ts binds the patched serialize.
const { svc, event, close } = await preloadedStream({ athletes, preload, dirPrefix: "fti-cp-trace-", parentDir: process.env.DIAG_DIR });
// One checkpoint before, so the run's checkpoint overwrites a file in place as the server's second one does.
await svc.checkpoint(true);
await svc.checkpoint(true);
console.log(`preloaded ${preload}; checkpoint alone: ${JSON.stringify(svc.stats()[0].lastCheckpoint)}`);

/** Main thread CPU (ms) from /proc (utime+stime of the thread, 10 ms ticks). */
const mainCpu = () => {
  const f = readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, "utf8").split(" ");
  return { run: Number(f[0]) / 1e6, wait: Number(f[1]) / 1e6 };
};
for (const k of Object.keys(spans)) spans[k].length = 0;
sliceLog.length = 0;
const lat: Array<{ at: number; ms: number; append: number }> = [];
const cpuBins: Array<{ at: number; run: number; wait: number }> = [];
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const src = (svc as any).sources.get("activities");
const origAppend = src.writer.append.bind(src.writer);
let appendMs = 0;
src.writer.append = (lines: string[]) => {
  const t = performance.now();
  return origAppend(lines).then(() => void (appendMs = performance.now() - t));
};
t0 = performance.now();
const cpuTimer = setInterval(() => cpuBins.push({ at: performance.now() - t0, ...mainCpu() }), binMs);
const pending: Array<Promise<unknown>> = [];
let cpDone = NaN;
let cpBegun = NaN;
// Paced by a 1 ms timer (not a spinning loop: the probe's own CPU would hide the server's): every batch
// due by now is sent, its latency counted from when it was due.
await new Promise<void>((done) => {
  let b = 0;
  const tick = () => {
    const now = performance.now();
    if (Number.isNaN(cpBegun) && now - t0 >= cpAt) {
      cpBegun = now - t0;
      pending.push(svc.checkpoint(true).then(() => void (cpDone = performance.now() - t0)));
    }
    for (; b < seconds * 500 && t0 + b * 2 <= now; b++) {
      const due = t0 + b * 2;
      pending.push(
        svc.ingest("activities", Array.from({ length: 10 }, event), (k) => [k]).then((r) => {
          if (!r.ok) throw new Error(r.message);
          lat.push({ at: due - t0, ms: performance.now() - due, append: appendMs });
        }),
      );
    }
    if (b < seconds * 500) setTimeout(tick, 1);
    else done();
  };
  tick();
});
await Promise.all(pending);
clearInterval(cpuTimer);
const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};
const f = (x: number) => (Number.isNaN(x) ? "-" : x.toFixed(1));
const near = lat.filter((l) => l.at >= cpBegun - 1000 && l.at <= cpDone + 1000);
const away = lat.filter((l) => !(l.at >= cpBegun - 1000 && l.at <= cpDone + 1000));
console.log(`checkpoint begun ${f(cpBegun)} done ${f(cpDone)} ms: ${JSON.stringify(svc.stats()[0].lastCheckpoint)}`);
console.log(`all p99 ${f(q(lat.map((l) => l.ms), 0.99))} | near p50 ${f(q(near.map((l) => l.ms), 0.5))} p99 ${f(q(near.map((l) => l.ms), 0.99))} max ${f(q(near.map((l) => l.ms), 1))} | away p99 ${f(q(away.map((l) => l.ms), 0.99))} max ${f(q(away.map((l) => l.ms), 1))}`);
const sum = (xs: Span[]) => xs.reduce((a, s) => a + s.ms, 0);
console.log(`slices ${spans.slice.length} (${f(sum(spans.slice))} ms, longest ${f(Math.max(0, ...spans.slice.map((s) => s.ms)))}); writev ${spans.writev.length} (max ${f(Math.max(0, ...spans.writev.map((s) => s.ms)))}); datasync ${spans.datasync.length} p50 ${f(q(spans.datasync.map((s) => s.ms), 0.5))} max ${f(Math.max(0, ...spans.datasync.map((s) => s.ms)))}; gc ${spans.gc.length} ${f(sum(spans.gc))} ms longest ${f(Math.max(0, ...spans.gc.map((s) => s.ms)))}`);
console.log(`slices in order (ms/KB): ${sliceLog.map((x) => `${x.ms.toFixed(0)}/${Math.round(x.bytes / 1024)}`).join(" ")}`);
const inBin = (xs: Span[], a: number) => xs.filter((s) => s.at >= a && s.at < a + binMs);
console.log("bin(ms)  n  p99   max   appMax | slices ms | wv  ds(max) | segw max | gc ms | cpu run wait");
for (let a = Math.max(0, Math.floor((cpBegun - 1000) / binMs) * binMs); a < Math.min(seconds * 1000, cpDone + 1000); a += binMs) {
  const ls = lat.filter((l) => l.at >= a && l.at < a + binMs);
  const c = cpuBins.find((x) => x.at >= a + binMs);
  const cPrev = cpuBins.filter((x) => x.at < a + binMs).at(-1);
  const cpu = c && cPrev ? `${f(c.run - cPrev.run)} ${f(c.wait - cPrev.wait)}` : "";
  const sl = inBin(spans.slice, a);
  const ds = inBin(spans.datasync, a);
  const sw = inBin(spans.segwrite, a);
  const gc = inBin(spans.gc, a);
  console.log(
    `${String(a).padStart(6)} ${String(ls.length).padStart(3)} ${f(q(ls.map((l) => l.ms), 0.99)).padStart(5)} ${f(q(ls.map((l) => l.ms), 1)).padStart(5)} ${f(q(ls.map((l) => l.append), 1)).padStart(6)} | ${String(sl.length).padStart(3)} ${f(sum(sl)).padStart(5)} | ${String(inBin(spans.writev, a).length).padStart(2)} ${f(Math.max(0, ...ds.map((s) => s.ms))).padStart(6)} | ${f(Math.max(0, ...sw.map((s) => s.ms))).padStart(6)} | ${f(sum(gc)).padStart(5)} | ${cpu}`,
  );
}
await close();
