// Diagnosis probe (issue 12, eighth session): the suite's in-process checkpoint A/B at any size, with
// where each events batch's latency goes (gate, durable append, apply), the checkpoints' timeline and GC.
//   ATHLETES=10000 PER=50 SECONDS=10 npx tsx bench/stream-cp-diag.ts
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";
import type { SpecBundle } from "../runtime/api.ts";
import { openStore } from "../runtime/store/store.ts";
import { StreamService } from "../runtime/stream/service.ts";
import { generateActivities } from "../specs/athlete.data.ts";

process.env.FTI_STREAM_CHECKPOINT_MS = "0";
const athletes = Number(process.env.ATHLETES ?? 1000);
const per = Number(process.env.PER ?? 20);
const seconds = Number(process.env.SECONDS ?? 2);
const cpEvery = Number(process.env.CP_EVERY ?? 1000);
const { spec } = (await import("../generated/athlete/index.ts")) as { spec: SpecBundle };
const dir = mkdtempSync(join(process.env.DIAG_DIR ?? tmpdir(), "fti-cp-diag-"));
const store = await openStore({ path: join(dir, "store.duckdb") });
const svc = new StreamService(spec, join(dir, "store.duckdb"));
await svc.rebuild(store, () => {});
const rows = [...generateActivities({ athletes, activitiesPerAthlete: per, seed: 11 })].sort((a, b) => (a.started_at < b.started_at ? -1 : 1));
const events = rows.map((r) => ({ ...r, started_at: `${r.started_at.replace(" ", "T")}Z` }));
for (let i = 0; i < events.length; i += 500) {
  const r = await svc.ingest("activities", events.slice(i, i + 500), (k) => [k]);
  if (!r.ok) throw new Error(r.message);
}
const last = events.reduce((m, e) => Math.max(m, Date.parse(e.started_at)), -Infinity);
let n = 0;
const live = () => Array.from({ length: 10 }, () => {
  const e = events[n % events.length];
  return { ...e, activity_id: `${e.activity_id}-live-${n}`, started_at: new Date(last + ++n).toISOString() };
});
const gcs: Array<{ at: number; ms: number; kind: number }> = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) gcs.push({ at: e.startTime, ms: e.duration, kind: (e as unknown as { detail: { kind: number } }).detail?.kind }); }).observe({ entryTypes: ["gc"] });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const src = (svc as any).sources.get("activities");
const appendMs: number[] = [];
const origAppend = src.writer.append.bind(src.writer);
src.writer.append = (lines: string[]) => { const t = performance.now(); return origAppend(lines).then(() => void appendMs.push(performance.now() - t)); };
console.log(`state: ${svc.engine.stats().map((g) => `${g.group} ${g.entities}/${g.rows}`).join(", ")}; unique held ${svc.stats()[0].uniqueHeld}`);

async function paced(withCp: boolean) {
  const lat: Array<{ at: number; ms: number }> = [];
  appendMs.length = 0;
  gcs.length = 0;
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const start = performance.now();
  const pending: Array<Promise<unknown>> = [];
  let nextCp = start + cpEvery / 2;
  const cps: Array<{ begun: number; started: number; done: number; info: unknown }> = [];
  const c0 = process.cpuUsage();
  for (let b = 0; b < seconds * 500; b++) {
    const due = start + b * 2;
    while (performance.now() < due) await new Promise((r) => setImmediate(r));
    if (withCp && performance.now() >= nextCp) {
      nextCp += cpEvery;
      const begun = performance.now();
      const rec = { begun: begun - start, started: NaN, done: NaN, info: null as unknown };
      cps.push(rec);
      pending.push(svc.checkpoint(true).then(() => { rec.done = performance.now() - start; rec.info = svc.stats()[0].lastCheckpoint; }));
    }
    const sent = performance.now();
    pending.push(svc.ingest("activities", live(), (k) => [k]).then((r) => { if (!r.ok) throw new Error(r.message); lat.push({ at: sent - start, ms: performance.now() - sent }); }));
  }
  await Promise.all(pending);
  const cpu = process.cpuUsage(c0);
  loop.disable();
  const s = lat.map((x) => x.ms).sort((a, b) => a - b);
  const p = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(2);
  const a = [...appendMs].sort((x, y) => x - y);
  const pa = (q: number) => a[Math.min(a.length - 1, Math.floor(q * a.length))].toFixed(2);
  const wall = performance.now() - start;
  console.log(`${withCp ? "CP " : "off"}: p50 ${p(0.5)} p99 ${p(0.99)} max ${p(1)} ms; append p50 ${pa(0.5)} p99 ${pa(0.99)} max ${pa(1)}; loop p99 ${(loop.percentile(99) / 1e6).toFixed(1)} max ${(loop.max / 1e6).toFixed(1)}; cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms / wall ${wall.toFixed(0)}`);
  const major = gcs.filter((g) => g.kind === 4);
  console.log(`  rollovers ${JSON.stringify(src.writer.rollovers ?? "n/a")}`);
  console.log(`  gc: ${gcs.length} pauses ${gcs.reduce((x, g) => x + g.ms, 0).toFixed(0)} ms; major ${major.length}: ${major.map((g) => `${(g.at - start).toFixed(0)}:${g.ms.toFixed(0)}`).join(" ")}; longest ${Math.max(0, ...gcs.map((g) => g.ms)).toFixed(0)}`);
  for (const c of cps) console.log(`  cp begun ${c.begun.toFixed(0)} done ${c.done.toFixed(0)} ${JSON.stringify(c.info)}`);
  // the worst latencies: when sent
  const worst = [...lat].sort((x, y) => y.ms - x.ms).slice(0, 8);
  console.log(`  worst: ${worst.map((w) => `${w.at.toFixed(0)}+${w.ms.toFixed(0)}`).join(" ")}`);
}
for (let k = 0; k < Number(process.env.ROUNDS ?? 1); k++) {
  await paced(false);
  await paced(true);
}
await svc.close();
await store.close();
rmSync(dir, { recursive: true, force: true });
