// Admission's `unique` values: the JS heap and the garbage collector's work
// they cost, off the heap (runtime/stream/unique-set.ts, what Admission holds
// now) vs the reference: the `Map<string, number>` admission held before
// (unique value → event time; the same values, the same sweeps by time).
//
//   node --expose-gc --import tsx bench/admission-heap.ts [values...] [--rounds 3]
//
// Each (implementation, size) runs in its own child process, interleaved per
// round: N events admitted at 5,000 per simulated second with the stream
// suite's ids (`a00042-00123-live-<n>`), every one within the lateness (as
// in the suite's HTTP run: its live events are all within the 1-day
// lateness). Reported per run: heap used and external memory after a full GC,
// the full GC's pause (median of 5 `gc()`: marking is proportional to the
// heap's live objects), the young-generation GCs' total pause while
// admitting, and the CPU time of admitting.

import { spawnSync } from "node:child_process";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Admission } from "../runtime/stream/admission.ts";
import { medianFullGcMs } from "./lib/full-gc-pause.ts";

const LATENESS_MS = 86_400_000;
type Kind = "set" | "map";

/** The reference: admission's structure before (a Map of unique value → time, swept by iterating it). */
class MapAdmission {
  watermark = -Infinity;
  private seen = new Map<string, number>();
  private since = 0;
  classify(id: string, t: number): string {
    if (this.seen.has(id)) return "duplicate";
    if (t < this.watermark - LATENESS_MS) return "late";
    this.seen.set(id, t);
    return "new";
  }
  applied(t: number): void {
    if (t > this.watermark) this.watermark = t;
    if (++this.since >= 4096 && this.since >= this.seen.size / 2) {
      this.since = 0;
      const floor = this.watermark - LATENESS_MS;
      for (const [k, at] of this.seen) if (at < floor) this.seen.delete(k);
    }
  }
  get size(): number {
    return this.seen.size;
  }
}

async function child(kind: Kind, n: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with node --expose-gc");
  let youngMs = 0;
  let majorMs = 0;
  let majors = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const k = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (k === 1) youngMs += e.duration;
      else if (k === 4) (majorMs += e.duration), majors++;
    }
  });
  obs.observe({ entryTypes: ["gc"] });
  gc();
  const base = process.memoryUsage();
  const a = kind === "set" ? new Admission(LATENESS_MS) : new MapAdmission();
  const t0 = Date.UTC(2026, 11, 6);
  const c0 = process.cpuUsage();
  let fresh = 0;
  for (let i = 0; i < n; i++) {
    const id = `a${String(i % 10_000).padStart(5, "0")}-${String(i % 997).padStart(5, "0")}-live-${i}`;
    const t = t0 + Math.floor(i / 5); // 5,000 events per second of event time
    if (a.classify(id, t) === "new") {
      a.applied(t);
      fresh++;
    }
  }
  const c = process.cpuUsage(c0);
  const admitCpuMs = (c.user + c.system) / 1000;
  await new Promise((r) => setTimeout(r, 100)); // the GC entries of the admitting are delivered
  const admitting = { youngGcMs: +youngMs.toFixed(0), majorGcs: majors, majorGcMs: +majorMs.toFixed(0) };
  const fullGcMs = medianFullGcMs(gc);
  const m = process.memoryUsage();
  obs.disconnect();
  const mb = (b: number) => +(b / 1e6).toFixed(1);
  console.log(JSON.stringify({ kind, n, held: a.size, fresh, heapMB: mb(m.heapUsed - base.heapUsed), externalMB: mb(m.external - base.external), fullGcMs, ...admitting, admitCpuMs: Math.round(admitCpuMs) }));
}

function parent(sizes: number[], rounds: number): void {
  const self = fileURLToPath(import.meta.url);
  const rows: Array<Record<string, number | string>> = [];
  for (let r = 0; r < rounds; r++) {
    for (const n of sizes) {
      for (const kind of ["map", "set"] as Kind[]) {
        const out = spawnSync(process.execPath, ["--expose-gc", "--import", "tsx", self, "--child", kind, String(n)], { encoding: "utf8" });
        if (out.status !== 0) throw new Error(out.stderr);
        rows.push({ round: r + 1, ...JSON.parse(out.stdout.trim().split("\n").pop()!) });
      }
    }
  }
  console.log("| round | values | implementation | held | heap (MB) | off-heap (MB) | full GC pause (ms) | while admitting: young GCs (ms), major GCs (n, ms) | CPU admitting (ms) |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const x of rows) console.log(`| ${x.round} | ${x.n} | ${x.kind === "set" ? "off the heap (now)" : "Map (before)"} | ${x.held} | ${x.heapMB} | ${x.externalMB} | ${x.fullGcMs} | ${x.youngGcMs}; ${x.majorGcs}, ${x.majorGcMs} | ${x.admitCpuMs} |`);
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") await child(argv[1] as Kind, Number(argv[2]));
else {
  const ri = argv.indexOf("--rounds");
  const rounds = ri >= 0 ? Number(argv[ri + 1]) : 3;
  const sizes = argv.filter((a, i) => /^\d+$/.test(a) && argv[i - 1] !== "--rounds").map(Number);
  parent(sizes.length ? sizes : [500_000, 2_000_000], rounds);
}
