// A same-minute A/B of two trees' segment writers on this disk (not a suite):
// each round, one tree's `SegmentWriter` takes 10-event appends paced at
// 500/s (the stream suite's 5,000 events/s) for --seconds, while a stressor
// in another process writes new files and fsyncs them (`alloc`: 64 MB
// buffered, one fsync, removed, again — journal commits carrying block
// allocations, as DuckDB's writes or a checkpoint file's growth make them) or
// nothing (`none`: the machine's own traffic), or overwrites a 50 MB file in
// place 1 MB at a time with a datasync after each (`cp`: a checkpoint;
// `cp-paced`: with a pause as long as each took). A variant `new3@cp` has its
// own stressor. Rounds alternate ABBA (--variants
// old,new1,new3: the new writer one write at a time, and three); prints
// per round the appends' latency (call → durable, acknowledged) and the
// writer's longest write.
//
//   npx tsx bench/segment-writer-ab.ts --old /tmp/disk-old --rounds 4 --seconds 10 --stress alloc

import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    old: { type: "string" },
    rounds: { type: "string", default: "4" },
    seconds: { type: "string", default: "10" },
    stress: { type: "string", default: "alloc" },
    dir: { type: "string", default: join(import.meta.dirname, ".data") },
    stressor: { type: "boolean", default: false },
    /** The writers compared: old, new, newN (the new one with N writes in flight). */
    variants: { type: "string", default: "old,new" },
  },
});

if (values.stressor && values.stress !== "alloc") {
  // The child, `cp`: a 50 MB checkpoint overwritten in place again and again, 1 MB at a time with a datasync
  // after each (as runtime/stream/checkpoint.ts writes one); `cp-paced`: the same with a pause as long as each took.
  const { open } = await import("node:fs/promises");
  const chunk = Buffer.alloc(1 << 20, 7);
  const fh = await open(join(values.dir, `stress-${process.pid}-cp`), "w");
  for (;;) {
    for (let k = 0; k < 50; k++) {
      const t0 = performance.now();
      await fh.write(chunk, 0, chunk.length, k * chunk.length);
      await fh.datasync();
      if (values.stress === "cp-paced") await new Promise((r) => setTimeout(r, performance.now() - t0));
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
if (values.stressor) {
  // The child, `alloc`: new files written and fsynced until killed.
  const { open, rm } = await import("node:fs/promises");
  const chunk = Buffer.alloc(1 << 20, 7);
  for (let i = 0; ; i++) {
    const path = join(values.dir, `stress-${process.pid}-${i % 2}`);
    const fh = await open(path, "w");
    for (let k = 0; k < 64; k++) await fh.write(chunk);
    await fh.sync();
    await fh.close();
    await rm(join(values.dir, `stress-${process.pid}-${(i + 1) % 2}`), { force: true });
  }
}

interface Writer {
  append(lines: string[]): Promise<unknown>;
  close(): Promise<void>;
  writeTimes: { longestMs: number; over100ms: number };
}
type WriterClass = new (dir: string, maxBytes?: number, inFlight?: number) => Writer;

const trees: Array<[string, string]> = [["old", resolve(values.old!)], ["new", resolve(import.meta.dirname, "..")]];
const classes = new Map<string, WriterClass>();
for (const [name, root] of trees) classes.set(name, ((await import(join(root, "runtime/stream/segments.ts"))) as { SegmentWriter: WriterClass }).SegmentWriter);

const line = (i: number) => JSON.stringify({ activity_id: `ab-${i}`, athlete_id: `a${i % 1000}`, started_at: new Date(1.7e12 + i * 1000).toISOString(), sport: "run", distance_km: 10.25, elapsed_time_s: 3300, elevation_gain_m: 85, planned_pace_min_km: 5.4, avg_hr: 151, route_id: `r${i % 40}` });
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

/** A tree, or the new tree with this many writes in flight ("new1": one at a time). */
async function round(name: string): Promise<string> {
  const dir = mkdtempSync(join(values.dir, `segab-${name}-`));
  const inFlight = /^new(\d)$/.exec(name)?.[1];
  const w = new (classes.get(name.replace(/\d$/, ""))!)(dir, undefined, inFlight ? Number(inFlight) : undefined);
  await w.append([line(0)]); // the first part open, as in a running server
  const lat: number[] = [];
  const pending: Array<Promise<unknown>> = [];
  const t0 = performance.now();
  const ms = Number(values.seconds) * 1000;
  let n = 0;
  for (let k = 0; performance.now() - t0 < ms; k++) {
    const due = t0 + k * 2;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const lines = Array.from({ length: 10 }, () => line(++n));
    pending.push(w.append(lines).then(() => lat.push(performance.now() - due)));
  }
  await Promise.all(pending);
  await w.close();
  rmSync(dir, { recursive: true, force: true });
  const f = (x: number) => x.toFixed(x < 10 ? 2 : 0);
  return `${name}: ${lat.length} appends, p50 ${f(pct(lat, 0.5))} p99 ${f(pct(lat, 0.99))} p99.9 ${f(pct(lat, 0.999))} max ${f(Math.max(...lat))} ms, > 20 ms ${lat.filter((x) => x > 20).length}; longest write ${f(w.writeTimes.longestMs)} ms`;
}

/** A variant `<writer>@<stress>` runs beside its own stressor (`new3@cp,new3@cp-paced`); otherwise --stress's. */
const startStressor = (stress: string) => (stress === "none" ? null : fork(import.meta.filename, ["--stressor", "--stress", stress, "--dir", values.dir], { execArgv: process.execArgv, stdio: "ignore" }));
const order = values.variants.split(",");
const shared = order.some((v) => v.includes("@")) ? null : startStressor(values.stress);
try {
  await new Promise((r) => setTimeout(r, 1000));
  for (let i = 0; i < Number(values.rounds); i++) {
    // ABBA…: each variant as often first as last
    const cycle = Math.floor(i / order.length);
    const [name, stress = values.stress] = (cycle % 2 ? [...order].reverse() : order)[i % order.length].split("@");
    const own = shared ? null : startStressor(stress);
    if (own) await new Promise((r) => setTimeout(r, 500));
    const load = (await import("node:os")).loadavg()[0].toFixed(1);
    try {
      console.log(`${new Date().toISOString().slice(11, 19)} load ${load} stress ${stress} ${await round(name)}`);
    } finally {
      own?.kill("SIGKILL");
      await new Promise((r) => setTimeout(r, 100));
      for (const f of (await import("node:fs")).readdirSync(values.dir)) if (own && f.startsWith(`stress-${own.pid}-`)) rmSync(join(values.dir, f), { force: true });
    }
  }
} finally {
  shared?.kill("SIGKILL");
  await new Promise((r) => setTimeout(r, 200));
  for (const f of (await import("node:fs")).readdirSync(values.dir)) if (f.startsWith("stress-")) rmSync(join(values.dir, f), { force: true });
}
