// Where the online tail comes from: `fti serve` under the online suite's paced
// load (1,000 req/s, open loop, 1 request in 20 bad), with a probe preloaded
// into each server (bench/lib/loop-probe.mjs: every GC, every stall of the
// event loop, the loop-delay histogram, all with wall-clock times), and the
// generator's slow answers matched against them. A/B: several code trees side
// by side, with the node:http floor, interleaved round by round.
//
//   npx tsx bench/online-tail.ts --entities 1000000 --trees /tmp/main-copy,. --rounds 3 --seconds 10
//
// Needs the store of `npm run bench -- online` at that size (bench/.data/acts-<N>x4/batch.duckdb, materialized).
// Per server: p50/p99/p99.9/max of the 200s, the slow answers (> --slow ms) and how many of them overlap
// a GC pause (by kind) or another stall of the server's loop, the GC pauses and the stalls themselves,
// the loop delay p99/max, and the server's CPU per answer over the run. --node-args adds flags to the fti servers
// (e.g. "--max-semi-space-size=16"), --serve-args to `fti serve` (e.g. --serve-args="--log-max-file-mb 8": a rotation in each run).
// --fill <s>: before each paced run, that many seconds of 10,000-instance batch requests to the same server, as the
// online suite's tail case and max-load runs do before its next round: ~40 MB of request log per second, so parts
// rotate and their compressions (and removals) run on into the paced run.
// A stall's length is split into the main thread's running, its waiting for a CPU, and the rest: blocked (a
// syscall or a page fault that slept, e.g. on the disk), the server's own stall that no GC explains.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fmtGcTrace, gcTrace } from "./lib/gc-trace.ts";
import { DATA, median, ROOT, runNodeTask } from "./lib/harness.ts";
import { ensureActivities } from "./lib/data.ts";
import { GEN_ROOT } from "./lib/spec.ts";
import { startServe, stopServe } from "./suites/online.ts";

const { values } = parseArgs({
  options: {
    trees: { type: "string", default: "." },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "10" },
    rate: { type: "string", default: "1000" },
    entities: { type: "string", default: "1000000" },
    slow: { type: "string", default: "2" },
    "node-args": { type: "string", default: "" },
    "serve-args": { type: "string", default: "" },
    "no-floor": { type: "boolean", default: false },
    fill: { type: "string", default: "0" },
  },
});

const WORKER = join(ROOT, "bench", "worker.ts");
const PROBE = join(ROOT, "bench", "lib", "loop-probe.mjs");
const FLOOR = "node:http floor";

interface Gc { at: number; ms: number; kind: string }
interface Stall { at: number; ms: number; ranMs?: number; waitedMs?: number }
interface Probe { gcs: Gc[]; stalls: Stall[]; loopDelay: { p50: number; p99: number; p999: number; max: number }; cpuMs: number; heapUsedMB: number; rssMB: number }
interface Paced { p50: number; p99: number; p999: number; max: number; lateMs: number; statusCodes: Record<string, number>; slow: Stall[]; t0: number; t1: number }
interface Server { name: string; child: Awaited<ReturnType<typeof startServe>>["child"]; url: string; probeFile: string; log: () => string }

const overlaps = (a: Stall, b: { at: number; ms: number }) => a.at < b.at + b.ms && b.at < a.at + a.ms;

function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

async function readProbe(s: Server): Promise<Probe> {
  rmSync(s.probeFile, { force: true });
  s.child.kill("SIGUSR2");
  for (let i = 0; i < 200 && !existsSync(s.probeFile); i++) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, 50));
  return JSON.parse(readFileSync(s.probeFile, "utf8")) as Probe;
}

/** One line per run: latency, and what the slow answers overlapped. */
function describe(p: Paced, probe: Probe, cpuUs: number, slowMs: number): string {
  const inRun = (x: { at: number }) => x.at >= p.t0 - 5 && x.at <= p.t1 + 50;
  const gcs = probe.gcs.filter(inRun);
  const stalls = probe.stalls.filter(inRun);
  const slow = p.slow.filter((x) => x.ms > slowMs);
  const byKind = new Map<string, { n: number; total: number; max: number; slow: number; all: number[] }>();
  for (const g of gcs) {
    const k = byKind.get(g.kind) ?? { n: 0, total: 0, max: 0, slow: 0, all: [] };
    k.all.push(g.ms);
    k.n++;
    k.total += g.ms;
    k.max = Math.max(k.max, g.ms);
    byKind.set(g.kind, k);
  }
  let withGc = 0;
  let withStall = 0;
  for (const r of slow) {
    const g = gcs.find((x) => overlaps(r, x));
    if (g) {
      withGc++;
      byKind.get(g.kind)!.slow++;
    } else if (stalls.some((x) => overlaps(r, x))) withStall++;
  }
  const f = (x: number) => x.toFixed(2);
  const gcText = [...byKind].map(([k, v]) => `${k} ${v.n}× (median ${f(median(v.all))}, total ${v.total.toFixed(0)} ms, max ${f(v.max)}; ${v.slow} slow)`).join(", ") || "none";
  // each stall's length split: the main thread running / waiting for a CPU (the rest: neither, e.g. blocked in a syscall)
  const longest = [...stalls].sort((a, b) => b.ms - a.ms).slice(0, 4).map((x) => `${x.ms.toFixed(1)} (ran ${x.ranMs?.toFixed(1)}, waited ${x.waitedMs?.toFixed(1)})`).join(", ");
  const sum = (k: "ms" | "ranMs" | "waitedMs") => stalls.reduce((a, x) => a + (x[k] ?? NaN), 0);
  // the server's own blocks: stalls in which the main thread ran for more than 3 ms
  const own = stalls.filter((x) => (x.ranMs ?? 0) > 3).map((x) => (x.ranMs ?? 0).toFixed(1));
  const blocked = (x: Stall) => x.ms - (x.ranMs ?? 0) - (x.waitedMs ?? 0);
  const asleep = stalls.filter((x) => blocked(x) > 3).map((x) => `${blocked(x).toFixed(1)}@${new Date(x.at).toISOString().slice(11, 23)}`);
  return (
    `p50 ${f(p.p50)} p99 ${f(p.p99)} p99.9 ${f(p.p999)} max ${f(p.max)} ms; gen late ≤ ${f(p.lateMs)}; CPU/answer ${cpuUs.toFixed(0)} µs; ` +
    `slow (> ${slowMs} ms) ${slow.length}: ${withGc} during a GC, ${withStall} during another stall, ${slow.length - withGc - withStall} neither; ` +
    `GC ${gcText}; stalls > 3 ms ${stalls.length}, ${sum("ms").toFixed(0)} ms (ran ${sum("ranMs").toFixed(0)}, waited for a CPU ${sum("waitedMs").toFixed(0)}; ran > 3 ms: ${own.length} [${own.slice(0, 8).join(", ")}]; blocked > 3 ms: ${asleep.length} [${asleep.slice(0, 8).join(", ")}]; longest ${longest || "-"}); loop delay p99 ${f(probe.loopDelay.p99)} max ${f(probe.loopDelay.max)}; heap ${probe.heapUsedMB.toFixed(0)} MB`
  );
}

async function main(): Promise<void> {
  const entities = Number(values.entities);
  const data = await ensureActivities({ athletes: entities, runs: 4 }, { csv: false });
  const store = join(data.dir, "batch.duckdb");
  if (!existsSync(`${store}.online`)) throw new Error(`no materialized store at ${store}: run \`npm run bench -- online\` at that size first`);
  const asOf = (JSON.parse(readFileSync(`${store}.done`, "utf8")) as { asOf: string }).asOf;
  const work = join(DATA, "work", "online-tail");
  mkdirSync(work, { recursive: true });
  const ids = join(work, `ids-${entities}.json`);
  if (!existsSync(ids)) await runNodeTask("online.ids", { data, n: 20_000, out: ids, asOf });
  const cwd = join(GEN_ROOT, "online-cwd");
  // A tree may carry its own node flags: `.@--max-semi-space-size=64` (several: `.@--a@--b`).
  const trees = values.trees!.split(",").map((t) => {
    const [dir, ...flags] = t.split("@");
    return { dir: resolve(dir), flags };
  });
  const nodeArgs = values["node-args"]!.split(" ").filter(Boolean);
  // Each server's probe writes probe-<pid>.json here (startServe passes this process's environment on).
  process.env.FTI_PROBE_DIR = work;
  const servers: Server[] = [];
  const load0 = loadavg()[0];
  try {
    for (const [i, { dir: tree, flags }] of trees.entries()) {
      const args = [...nodeArgs, ...flags];
      const argv = ["--import", PROBE, ...args, join(tree, "compiler/cli/bin.mjs"), "serve", join(tree, "bench/specs/bench.fti"), "--store", store, "--port", "0", "--no-watch", "--now", asOf, "--logs", join(work, `logs-${i}`), "--log-level", "warn", ...values["serve-args"]!.split(" ").filter(Boolean)];
      const s = await startServe(argv, cwd);
      servers.push({ name: `${tree}${args.length ? ` ${args.join(" ")}` : ""}`, child: s.child, url: s.url, probeFile: join(work, `probe-${s.child.pid}.json`), log: s.log });
    }
    if (!values["no-floor"]) {
      const answerFile = join(work, "answer.json");
      const first = await fetch(`${servers[0].url}/v1/models/finish_time/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ athlete_id: (JSON.parse(readFileSync(ids, "utf8")) as string[])[0], distance_km: 10 }),
      });
      writeFileSync(answerFile, await first.text());
      const floor = await startServe(["--import", PROBE, "--import", "tsx", WORKER, "online.httpFloor", JSON.stringify({ answerFile })], ROOT);
      servers.push({ name: FLOOR, child: floor.child, url: floor.url, probeFile: join(work, `probe-${floor.child.pid}.json`), log: floor.log });
    }
    const base = { ids, badEvery: 20 };
    for (const s of servers) await runNodeTask("online.load", { url: s.url, ...base, connections: 16, seconds: 3 }); // warm-up
    const results = new Map<string, string[]>(servers.map((s) => [s.name, []]));
    const p99s = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    const p999s = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    const slowMs = Number(values.slow);
    for (let round = 0; round < Number(values.rounds); round++) {
      const order = servers.map((_, i) => servers[(i + round) % servers.length]);
      for (const s of order) {
        if (Number(values.fill) > 0 && s.name !== FLOOR) await runNodeTask("online.bigBatches", { url: s.url, ids, instances: 10_000, seconds: Number(values.fill) });
        await readProbe(s); // starts afresh
        const c0 = processCpuMs(s.child.pid!);
        const logAt = s.log().length;
        const slowFile = join(work, "slow.json");
        const r = await runNodeTask<Paced>("online.paced", { url: s.url, ...base, rate: Number(values.rate), connections: 10, seconds: Number(values.seconds), slowOverMs: 1, slowFile });
        const p: Paced = { ...r, ...(JSON.parse(readFileSync(slowFile, "utf8")) as Pick<Paced, "slow" | "t0" | "t1">) };
        const cpuUs = ((processCpuMs(s.child.pid!) - c0) * 1000) / Object.values(r.statusCodes).reduce((a, b) => a + b, 0);
        const probe = await readProbe(s);
        const answers = Object.values(r.statusCodes).reduce((a, b) => a + b, 0);
        const gc = gcTrace(s.log().slice(logAt));
        results.get(s.name)!.push(describe(p, probe, cpuUs, slowMs) + (gc.size ? `; ${fmtGcTrace(gc, answers)}` : ""));
        p99s.get(s.name)!.push(p.p99);
        p999s.get(s.name)!.push(p.p999);
        process.stderr.write(`round ${round + 1} ${s.name}: ${results.get(s.name)!.at(-1)}\n`);
      }
    }
    process.stdout.write(`paced ${values.rate} req/s × ${values.seconds} s, ${values.rounds} rounds, ${entities} entities; load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}\n`);
    for (const s of servers) {
      process.stdout.write(`${s.name}: median p99 ${median(p99s.get(s.name)!).toFixed(2)} ms, p99.9 ${median(p999s.get(s.name)!).toFixed(2)} ms\n`);
      for (const line of results.get(s.name)!) process.stdout.write(`  ${line}\n`);
    }
  } finally {
    // each server's output (e.g. --trace-gc-nvp lines) beside the probes
    for (const [i, s] of servers.entries()) {
      await stopServe(s.child);
      writeFileSync(join(work, `server-${i}.log`), s.log());
    }
  }
}

await main();
