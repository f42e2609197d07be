// A probe of what a stream checkpoint costs the event loop, in process (no
// HTTP, not a suite): a StreamService preloaded with PRELOAD events of ATHLETES
// athletes, all within the lateness (as in the stream suite's HTTP case), then
// CP_ALONE checkpoints alone (their gate hold `copyMs`, longest slice
// `serializeMs`, size), then ROUNDS × (paced 5,000 events/s for SECONDS without
// checkpoints, the same with one every CP_EVERY ms). Run it on two trees for a
// before/after (docs/benchmarks.md, "Seventh session: fresh").
//
//   PRELOAD=300000 CP_ALONE=3 ROUNDS=1 SECONDS=3 npx tsx bench/stream-cp-probe.ts
import { monitorEventLoopDelay } from "node:perf_hooks";
import { preloadedStream } from "./lib/preloaded-stream.ts";

process.env.FTI_STREAM_CHECKPOINT_MS = "0";
const athletes = Number(process.env.ATHLETES ?? 1000);
const preload = Number(process.env.PRELOAD ?? 300_000);
const seconds = Number(process.env.SECONDS ?? 4);
const cpEvery = Number(process.env.CP_EVERY ?? 1000);
const c0 = process.cpuUsage();
const { svc, event, close } = await preloadedStream({ athletes, preload, dirPrefix: "fti-cp-probe-" });
const cpu = process.cpuUsage(c0);
process.stdout.write(`preloaded ${preload} events in ${Math.round((cpu.user + cpu.system) / 1000)} ms CPU\n`);
for (let k = 0; k < Number(process.env.CP_ALONE ?? 2); k++) {
  const t = performance.now();
  await svc.checkpoint(true);
  process.stdout.write(`checkpoint alone: ${Math.round(performance.now() - t)} ms ${JSON.stringify(svc.stats()[0].lastCheckpoint)}\n`);
}

async function paced(withCp: boolean) {
  const lat: number[] = [];
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const start = performance.now();
  const pending: Array<Promise<void>> = [];
  let nextCp = start + cpEvery / 2;
  const cps: unknown[] = [];
  for (let b = 0; b < seconds * 500; b++) {
    const due = start + b * 2;
    while (performance.now() < due) await new Promise((r) => setImmediate(r));
    if (withCp && performance.now() >= nextCp) {
      nextCp += cpEvery;
      pending.push(svc.checkpoint(true).then(() => void cps.push(svc.stats()[0].lastCheckpoint)));
    }
    const batch = Array.from({ length: 10 }, event);
    const sent = performance.now();
    pending.push(
      svc.ingest("activities", batch, (k) => [k]).then((r) => {
        if (!r.ok) throw new Error(r.message);
        lat.push(performance.now() - sent);
      }),
    );
  }
  await Promise.all(pending);
  loop.disable();
  const s = lat.sort((a, b) => a - b);
  const p = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(2);
  process.stdout.write(`${withCp ? "with checkpoints" : "no checkpoints  "}: p50 ${p(0.5)} p99 ${p(0.99)} max ${p(1)} ms; loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} max ${(loop.max / 1e6).toFixed(1)} ms; ${cps.length} checkpoints ${JSON.stringify(cps.at(-1))}\n`);
}
for (let k = 0; k < Number(process.env.ROUNDS ?? 2); k++) {
  await paced(false);
  await paced(true);
}
await close();
