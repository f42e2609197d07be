// A probe of `fti serve`'s stream freshness under load, for finding where the
// time goes (not a suite: no reference, no checks). Builds the athlete example
// once into --work (kept; default .fti/stream-probe), copies it per run, starts
// the server with the given node flags and environment and the stall probe
// (lib/stall-probe.mjs), and runs the stream suite's paced loads
// (stream-load.ts) against it: events alone (--predictions 0) or with
// predictions. Prints the latencies, the server's CPU over the load and its
// event-loop stalls (own CPU / waiting for a CPU / GC).
//
//   npx tsx bench/stream-probe.ts --athletes 1000 --days 365 --work .fti/probe-full --seconds 10 --checkpoint-ms 3600000 --predictions 1000 [--node-args=--cpu-prof]

import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { setPriority } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { buildAthleteWork } from "../test/helpers/online-athlete.ts";
import { fmtMs } from "./lib/harness.ts";
import { processCpuMs, threadCpuMs } from "./lib/proc-cpu.ts";
import { load, renice } from "./suites/stream-load.ts";
import { startServe, stopServe } from "./suites/online.ts";

const BIN = join(import.meta.dirname, "../compiler/cli/bin.mjs");

const { values } = parseArgs({
  options: {
    work: { type: "string", default: join(import.meta.dirname, "../.fti/stream-probe") },
    athletes: { type: "string", default: "30" },
    days: { type: "string", default: "200" },
    seconds: { type: "string", default: "6" },
    events: { type: "string", default: "5000" },
    predictions: { type: "string", default: "1000" },
    "checkpoint-ms": { type: "string" },
    "node-args": { type: "string", default: "" },
    env: { type: "string", multiple: true, default: [] },
    label: { type: "string", default: "" },
    /** Writes the server's stdout and stderr here at the end (e.g. with --node-args=--trace-gc-nvp). */
    "server-log": { type: "string" },
    /** Runs the server and the generators at this nice (e.g. -10, as root): on a busy machine they then preempt the other work. */
    nice: { type: "string" },
    /** Seconds of events alone before the measured run (the suite runs 30 s of them first: the state, and the old space, grow). */
    "pre-seconds": { type: "string", default: "0" },
    /** Every thread of the server but its main thread at this nice (GC helpers, libuv's pool): does the serving thread's precedence matter? */
    "helpers-nice": { type: "string" },
  },
});

values.work = resolve(values.work);
const base = join(values.work, "base");
if (!existsSync(join(base, "meta.json"))) {
  const w = await buildAthleteWork({ athletes: Number(values.athletes), days: Number(values.days) });
  mkdirSync(values.work, { recursive: true });
  cpSync(w.root, base, { recursive: true });
  writeFileSync(join(base, "meta.json"), JSON.stringify({ root: w.root, athletes: w.athletes }));
  w.cleanup();
}
const meta = JSON.parse(readFileSync(join(base, "meta.json"), "utf8")) as { athletes: string[] };
const run = join(values.work, `run-${process.pid}`);
rmSync(run, { recursive: true, force: true });
cpSync(base, run, { recursive: true });
const env: Record<string, string> = Object.fromEntries(values.env.map((kv) => kv.split(/=(.*)/s).slice(0, 2) as [string, string]));
if (values["checkpoint-ms"]) env.FTI_STREAM_CHECKPOINT_MS = values["checkpoint-ms"];
const stallsOut = join(run, "stalls.json");
env.FTI_STALL_OUT = stallsOut;
const nodeArgs = values["node-args"].split(" ").filter(Boolean);
for (const [k, v] of Object.entries(env)) process.env[k] = v;
const server = await startServe([...nodeArgs, "--import", join(import.meta.dirname, "lib/stall-probe.mjs"), BIN, "serve", join(run, "athlete.fti"), "--store", join(run, ".fti/store.duckdb"), "--port", "0", "--no-watch", "--logs", join(run, ".fti/logs"), "--log-level", "warn"], run);
for (const k of Object.keys(env)) delete process.env[k];
if (values["helpers-nice"] !== undefined) {
  const pid = server.child.pid!;
  for (const tid of readdirSync(`/proc/${pid}/task`)) if (tid !== String(pid)) setPriority(Number(tid), Number(values["helpers-nice"]));
}
if (values.nice !== undefined) {
  renice(server.child.pid!, Number(values.nice));
  process.env.FTI_BENCH_NICE = values.nice;
}
const stalls = async () => {
  rmSync(stallsOut, { force: true });
  server.child.kill("SIGUSR2");
  for (let i = 0; i < 100 && !existsSync(stallsOut); i++) await new Promise((r) => setTimeout(r, 20));
  return existsSync(stallsOut) ? readFileSync(stallsOut, "utf8") : "(no stall report)";
};
try {
  const rates = { eventsPerSec: Number(values.events), batch: 10, predictionsPerSec: Number(values.predictions), seconds: Number(values.seconds) };
  await load(server.url, meta.athletes, { ...rates, seconds: 1 }, "warm");
  if (Number(values["pre-seconds"]) > 0) await load(server.url, meta.athletes, { ...rates, predictionsPerSec: 0, seconds: Number(values["pre-seconds"]) }, "pre");
  await stalls();
  const c0 = processCpuMs(server.child.pid!);
  const t0 = threadCpuMs(server.child.pid!);
  const r = await load(server.url, meta.athletes, rates, "probe");
  const cpuMs = processCpuMs(server.child.pid!) - c0;
  const t1 = threadCpuMs(server.child.pid!);
  const threads = `main thread ${Math.round(t1.main - t0.main)}, other threads ${Math.round(t1.others - t0.others)}`;
  const report = await stalls();
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const cp = metrics.split("\n").filter((l) => /^fti_stream_checkpoint/.test(l)).join("; ");
  // The slow events requests' time per phase (runtime/stream/slow-requests.ts): the durable write and its queue vs the event loop.
  const slow = metrics
    .split("\n")
    .flatMap((l) => {
      const m = /^fti_stream_slow_request(?:s_total\{[^}]*\}|_seconds_total\{[^}]*phase="(\w+)"\}) (\S+)$/.exec(l);
      return m ? [m[1] ? `${m[1]} ${Number(m[2]).toFixed(2)} s` : `${m[2]} requests`] : [];
    });
  const side = (x: typeof r.events | null) => (x ? `p50 ${fmtMs(x.p50)} p99 ${fmtMs(x.p99)} max ${fmtMs(x.max)} (${x.ok}/${x.sent}; generator loop p99 ${fmtMs(x.loopP99)}, generator CPU ${Math.round(x.genCpuMs)} ms)` : "-");
  process.stdout.write(`${values.label} events: ${side(r.events)} | predictions: ${side(r.predictions)} | server CPU ${Math.round(cpuMs)} ms (${threads}) | ${cp}\nslow requests: ${slow.join(", ")}\nstalls: ${report}\n`);
} finally {
  await stopServe(server.child);
  if (values["server-log"]) writeFileSync(values["server-log"], server.log());
  rmSync(run, { recursive: true, force: true });
}
