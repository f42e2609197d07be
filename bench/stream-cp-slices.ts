// Diagnosis probe (issue 12, ninth session): one stream checkpoint alone on a StreamService preloaded with
// PRELOAD events of 1,000 athletes and 40 routes (the HTTP case's shape: a route holds PRELOAD/40 rows), from
// the tree $TREE (default this one): its main-thread CPU, and each event-loop turn's main-thread CPU while it
// runs (a 1 ms timer's gaps, CPU from /proc schedstat: robust to the machine's load, unlike wall time).
//   TREE=/path/to/other/tree PRELOAD=300000 npx tsx bench/stream-cp-slices.ts
import { openSync, readSync } from "node:fs";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { preloadedStream } from "./lib/preloaded-stream.ts";
const TREE = process.env.TREE ?? join(import.meta.dirname, "..");
process.env.FTI_STREAM_CHECKPOINT_MS = "0";
const preload = Number(process.env.PRELOAD ?? 300000);
const { svc, close } = await preloadedStream({ athletes: 1000, preload, dirPrefix: "fti-cp-slices-", tree: TREE });
const fd = openSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, "r");
const buf = Buffer.alloc(128);
const cpu = () => { const t = buf.toString("latin1", 0, readSync(fd, buf, 0, 128, 0)); return Number(t.slice(0, t.indexOf(" "))) / 1e6; };
let gcMs = 0;
const gcKinds = new Map<number, number>();
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) {
    gcMs += e.duration;
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0;
    gcKinds.set(kind, (gcKinds.get(kind) ?? 0) + 1);
  }
}).observe({ entryTypes: ["gc"] });
const KINDS: Record<number, string> = { 1: "minor", 2: "minor-mc", 4: "major", 8: "incremental", 16: "weak" };
for (let k = 0; k < 3; k++) {
  const gaps: number[] = [];
  let lastCpu = cpu();
  let on = true;
  const tick = () => { const c = cpu(); gaps.push(c - lastCpu); lastCpu = c; if (on) setTimeout(tick, 1); };
  setTimeout(tick, 1);
  gcMs = 0;
  gcKinds.clear();
  const c0 = cpu(); const p0 = process.cpuUsage(); const t0 = performance.now();
  await svc.checkpoint(true);
  on = false;
  const main = cpu() - c0; const p = process.cpuUsage(p0);
  gaps.sort((a, b) => a - b);
  const q = (x: number) => gaps[Math.min(gaps.length - 1, Math.floor(x * gaps.length))].toFixed(1);
  console.log(`${TREE.split("/").pop()}: checkpoint ${((svc.stats()[0].lastCheckpoint?.bytes ?? 0) / 1e6).toFixed(1)} MB, wall ${(performance.now() - t0).toFixed(0)} ms, main-thread CPU ${main.toFixed(0)} ms, process CPU ${((p.user + p.system) / 1000).toFixed(0)} ms, GC ${gcMs.toFixed(0)} ms (${[...gcKinds].map(([k, c]) => `${c} ${KINDS[k] ?? k}`).join(", ")}); loop turns: ${gaps.length}, CPU per turn p50 ${q(0.5)} p99 ${q(0.99)} max ${q(1)} ms, > 10 ms: ${gaps.filter((g) => g > 10).length}, > 20 ms: ${gaps.filter((g) => g > 20).length}`);
}
await close();
