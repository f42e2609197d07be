// A probe of what a stream checkpoint costs the event loop, in process (no
// HTTP, not a suite): a StreamService preloaded with PRELOAD events of ATHLETES
// athletes, all within the lateness (as in the stream suite's HTTP case), then
// CP_ALONE checkpoints alone (their gate hold `copyMs`, longest slice
// `serializeMs`, size), then ROUNDS × (paced 5,000 events/s for SECONDS without
// checkpoints, the same with one every CP_EVERY ms). Run it on two trees for a
// before/after (docs/benchmarks.md, "Seventh session: fresh").
//
//   PRELOAD=300000 CP_ALONE=3 ROUNDS=1 SECONDS=3 npx tsx bench/stream-cp-probe.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import type { SpecBundle } from "../runtime/api.ts";
import { openStore } from "../runtime/store/store.ts";
import { StreamService } from "../runtime/stream/service.ts";

process.env.FTI_STREAM_CHECKPOINT_MS = "0";
const athletes = Number(process.env.ATHLETES ?? 1000);
const preload = Number(process.env.PRELOAD ?? 300_000);
const seconds = Number(process.env.SECONDS ?? 4);
const cpEvery = Number(process.env.CP_EVERY ?? 1000);
const { spec } = (await import("../generated/athlete/index.ts")) as { spec: SpecBundle };
const dir = mkdtempSync(join(tmpdir(), "fti-cp-probe-"));
const store = await openStore({ path: join(dir, "store.duckdb") });
const svc = new StreamService(spec, join(dir, "store.duckdb"));
await svc.rebuild(store, () => {});
const base = Date.now() - 3_600_000;
let n = 0;
const event = () => {
  const i = n++;
  const km = 5 + (i % 11);
  return { activity_id: `p-${i}`, athlete_id: `a${i % athletes}`, started_at: new Date(base + Math.floor(i / 10)).toISOString(), sport: "run", distance_km: km, elapsed_time_s: km * 330, elevation_gain_m: 40, planned_pace_min_km: 5.4, avg_hr: i % 3 === 0 ? null : 150, route_id: `r${i % 40}` };
};
const c0 = process.cpuUsage();
for (let i = 0; i < preload; i += 500) {
  const r = await svc.ingest("activities", Array.from({ length: 500 }, event), (k) => [k]);
  if (!r.ok) throw new Error(r.message);
}
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
await svc.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
