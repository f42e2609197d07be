// Peak RSS of one buildTrainingFrame of the bench spec's `finish_time_data`,
// with the RSS sampled every 20 ms and at the first read of the joined table
// (the PIT statement before it, the JS columns after).
//
//   npx tsx bench/frame-memory.ts <athletes> <runs> <memoryLimit> [prepare]
//
// The store (both sources and groups by fti's feature pipeline, as the pit
// suite prepares it) is bench/.data/acts-<athletes>x<runs>/frame-mem.duckdb,
// built on first use; STORE=<file> reads another (e.g. one with a larger
// spine). READ_LIMIT=<size> also lowers memory_limit at the first read.
// MAX_TEMP=<size> caps DuckDB's spill while the store is prepared (default
// 20GB: the disk is shared). A run that prepares the store exits after it:
// its RSS is the feature pipeline's, not the frame's; run again to measure.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { buildTrainingFrame } from "../runtime/retrieval/pit.ts";
import { openStore } from "../runtime/store/store.ts";
import { ensureActivities } from "./lib/data.ts";
import { ensureCompiled, loadBundle } from "./lib/spec.ts";
import { tasks } from "./suites/pit.ts";

const [athletes, runs, memoryLimit, prep] = process.argv.slice(2);
const data = await ensureActivities({ athletes: Number(athletes), runs: Number(runs) } as any, { csv: false });
await ensureCompiled();
const path = process.env.STORE ?? join(data.dir, "frame-mem.duckdb");
if (prep || !existsSync(path)) {
  const t0 = performance.now();
  await tasks.prepare({ data, store: path, memoryLimit: "3GB", maxTemp: process.env.MAX_TEMP ?? "20GB" } as any);
  console.log(`prepared in ${((performance.now() - t0) / 1000).toFixed(1)} s (maxRSS ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GB); run again to measure the frame`);
  process.exit(0);
}
const bundle = await loadBundle(data);
const store = await openStore({ path, memoryLimit });
let peak = 0;
const marks: string[] = [];
const sample = () => {
  const r = process.memoryUsage();
  if (r.rss > peak) peak = r.rss;
  return r;
};
const timer = setInterval(sample, 20);
const mb = (x: number) => `${(x / 2 ** 20).toFixed(0)} MB`;
const c0 = process.cpuUsage();
const t0 = performance.now();
const orig = store.readColumnsInSlices.bind(store);
let first = true;
(store as any).readColumnsInSlices = async (...a: any[]) => {
  if (first) {
    first = false;
    const r = sample();
    marks.push(`before the first slice read: rss ${mb(r.rss)} (peak so far ${mb(peak)}), heap ${mb(r.heapUsed)}, external ${mb(r.external)} arrayBuffers ${mb(r.arrayBuffers)}`);
    if (process.env.READ_LIMIT) {
      const c = process.cpuUsage();
      await store.run(`SET memory_limit = '${process.env.READ_LIMIT}'`);
      await new Promise((res) => setTimeout(res, 200));
      const r2 = sample();
      const cc = process.cpuUsage(c);
      marks.push(`after SET memory_limit = ${process.env.READ_LIMIT}: rss ${mb(r2.rss)} (${((cc.user + cc.system) / 1000).toFixed(0)} ms cpu)`);
    }
  }
  return (orig as any)(...a);
};
const f = await buildTrainingFrame(store, bundle, "finish_time_data");
const r = sample();
clearInterval(timer);
const c = process.cpuUsage(c0);
console.log(marks.join("\n"));
console.log(`frame ${f.n} rows, ${Object.keys(f.columns).length} columns: wall ${((performance.now() - t0) / 1000).toFixed(1)} s, cpu ${((c.user + c.system) / 1e6).toFixed(1)} s`);
console.log(`after: rss ${mb(r.rss)}, heap ${mb(r.heapUsed)}, arrayBuffers ${mb(r.arrayBuffers)}; sampled peak rss ${mb(peak)}; maxRSS (getrusage) ${mb(process.resourceUsage().maxRSS * 1024)}`);
await store.close();
