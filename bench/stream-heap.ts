// The stream server's heap at the stream suite's in-process size: 500,000 events of 10,000 athletes
// through StreamService.ingest (batches of 500, durable segments in a temp dir), then 200,000 live
// events after them (ids and times as the suite's checkpoint A/B: every one within the 1-day lateness,
// so admission holds each unique value). Prints the heap after a full GC beyond the bench's own input
// arrays (the service's state), memory off the heap, a full
// GC's pause (median of 5) and the GCs seen while ingesting. Run it in two trees to compare them:
//
//   node --expose-gc --import tsx bench/stream-heap.ts [athletes] [live]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import type { SpecBundle } from "../runtime/api.ts";
import { StreamService } from "../runtime/stream/service.ts";
import { generateActivities } from "../specs/athlete.data.ts";
import { medianFullGcMs } from "./lib/full-gc-pause.ts";

process.env.FTI_STREAM_CHECKPOINT_MS = "0";
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");
const athletes = Number(process.argv[2] ?? 10_000);
const liveCount = Number(process.argv[3] ?? 200_000);
const { spec } = (await import("../generated/athlete/index.ts")) as { spec: SpecBundle };
const rows = [...generateActivities({ athletes, activitiesPerAthlete: 50, seed: 11 })].sort((a, b) => (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : 0));
const events = rows.map((r) => ({ ...r, started_at: `${r.started_at.replace(" ", "T")}Z` }));
const dir = mkdtempSync(join(tmpdir(), "fti-stream-heap-"));
const gcs = { minor: 0, minorMs: 0, major: 0, majorMs: 0 };
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) {
    const k = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    if (k === 1) (gcs.minor++, (gcs.minorMs += e.duration));
    else if (k === 4) (gcs.major++, (gcs.majorMs += e.duration));
  }
}).observe({ entryTypes: ["gc"] });
try {
  gc();
  const inputs = process.memoryUsage().heapUsed; // the bench's own event arrays: not the service's
  const svc = new StreamService(spec, join(dir, "store.duckdb"));
  const c0 = process.cpuUsage();
  const ingest = async (batch: unknown[]) => {
    const r = await svc.ingest("activities", batch, (k) => [k]);
    if (!r.ok) throw new Error(r.message);
  };
  for (let i = 0; i < events.length; i += 500) await ingest(events.slice(i, i + 500));
  const last = Date.parse(events[events.length - 1].started_at);
  let n = 0;
  for (let i = 0; i < liveCount; i += 500) {
    await ingest(Array.from({ length: 500 }, () => {
      const e = events[n % events.length];
      return { ...e, activity_id: `${e.activity_id}-live-${n}`, started_at: new Date(last + ++n).toISOString() };
    }));
  }
  const c = process.cpuUsage(c0);
  await new Promise((r) => setTimeout(r, 200));
  const during = { ...gcs };
  const fullGcMs = medianFullGcMs(gc);
  const m = process.memoryUsage();
  const st = svc.stats()[0];
  console.log(JSON.stringify({
    events: events.length + liveCount, uniqueHeld: st.uniqueHeld, heapMB: +((m.heapUsed - inputs) / 1e6).toFixed(1), externalMB: +(m.external / 1e6).toFixed(1),
    fullGcMs, ingestCpuS: +((c.user + c.system) / 1e6).toFixed(1),
    whileIngesting: { minor: during.minor, minorMs: Math.round(during.minorMs), major: during.major, majorMs: Math.round(during.majorMs) },
    state: svc.engine.stats(),
  }));
  await svc.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
