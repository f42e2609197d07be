// The server CPU per answer of `fti serve`, A/B: the same store served by one
// or more code trees (a `git archive` copy of main beside this worktree, say)
// and the bare node:http floor, runs interleaved round by round, each
// server's CPU time (user + system, from /proc) divided by the answers it
// gave. CPU time, not wall latency: on a shared machine it is what a change
// to the server's work moves, whatever share of the cores the server got.
//
//   npm run bench -- online --quick        # once: builds the store (5,000 athletes) and compiles the bench spec
//   npx tsx bench/online-cpu.ts --trees /tmp/main-copy,. --rounds 5
//   npx tsx bench/online-cpu.ts --prof bench/.data/prof      # one tree, `node --cpu-prof` on the server
//
// Per round and server: a paced run (--rate req/s for --seconds; open loop, as
// the online suite's latency line) and a closed-loop run (autocannon,
// --connections), each giving CPU µs per answer; 1 request in 20 is bad (4xx),
// as in the suite. Options: --entities N (which store: acts-N x4, default
// 5,000), --batch N (a third run per round: N-instance batch requests back to
// back for --seconds, CPU µs per instance), --trace-gc (the servers run with
// --trace-gc: per server, the GC pauses of each run — scavenges and mark-compacts,
// count, total and longest).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DATA, fmtInt, median, ROOT, runNodeTask, type Sample } from "./lib/harness.ts";
import { ensureActivities } from "./lib/data.ts";
import { GEN_ROOT } from "./lib/spec.ts";
import { startServe, stopServe } from "./suites/online.ts";

const { values } = parseArgs({
  options: {
    trees: { type: "string", default: "." },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "4" },
    rate: { type: "string", default: "1000" },
    connections: { type: "string", default: "16" },
    entities: { type: "string", default: "5000" },
    batch: { type: "string" },
    prof: { type: "string" },
    "trace-gc": { type: "boolean", default: false },
    /** The closed-loop client: the suite's lean one (paced-load.ts closedLoad, default) or autocannon. */
    client: { type: "string", default: "lean" },
  },
});

const WORKER = join(ROOT, "bench", "worker.ts");
const num = (s: string | undefined, d: number) => (s === undefined ? d : Number(s));

function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

interface Server {
  name: string;
  log: () => string;
  child: Awaited<ReturnType<typeof startServe>>["child"];
  url: string;
}

interface GcStats {
  scavenges: number;
  scavengeMs: number;
  scavengeMax: number;
  majors: number;
  majorMs: number;
  majorMax: number;
}

/** Adds the pauses of --trace-gc lines (`Scavenge … MB, 1.2 / 0.0 ms`, `Mark-Compact … MB, 12.3 / 0.0 ms`) to the run's stats. */
function addGc(into: Map<string, GcStats>, run: string, text: string): void {
  let g = into.get(run);
  if (!g) into.set(run, (g = { scavenges: 0, scavengeMs: 0, scavengeMax: 0, majors: 0, majorMs: 0, majorMax: 0 }));
  for (const m of text.matchAll(/ms: (Scavenge|Mark-Compact|Mark-sweep|Minor Mark-Sweep)[^\n]*?MB, ([\d.]+) \/ ([\d.]+) ms/g)) {
    const ms = Number(m[2]);
    if (m[1] === "Scavenge" || m[1] === "Minor Mark-Sweep") {
      g.scavenges++;
      g.scavengeMs += ms;
      g.scavengeMax = Math.max(g.scavengeMax, ms);
    } else {
      g.majors++;
      g.majorMs += ms;
      g.majorMax = Math.max(g.majorMax, ms);
    }
  }
}

async function main(): Promise<void> {
  const entities = num(values.entities, 5000);
  const data = await ensureActivities({ athletes: entities, runs: 4 }, { csv: false });
  const store = join(data.dir, "batch.duckdb");
  if (!existsSync(`${store}.online`)) throw new Error(`no materialized store at ${store}: run \`npm run bench -- online --quick\` (or --batch-entities ${entities}) first`);
  const asOf = (JSON.parse(readFileSync(`${store}.done`, "utf8")) as { asOf: string }).asOf;
  const work = join(DATA, "work", "online-cpu");
  mkdirSync(work, { recursive: true });
  const ids = join(work, `ids-${entities}.json`);
  if (!existsSync(ids)) await runNodeTask("online.ids", { data, n: 20_000, out: ids, asOf });
  const cwd = join(GEN_ROOT, "online-cwd");
  const trees = values.trees!.split(",").map((t) => resolve(t));
  const servers: Server[] = [];
  try {
    const prof = [...(values.prof ? [`--cpu-prof`, `--cpu-prof-dir=${resolve(values.prof)}`] : []), ...(values["trace-gc"] ? ["--trace-gc"] : [])];
    for (const [i, tree] of trees.entries()) {
      const argv = [...prof, join(tree, "compiler/cli/bin.mjs"), "serve", join(tree, "bench/specs/bench.fti"), "--store", store, "--port", "0", "--no-watch", "--now", asOf, "--logs", join(work, `logs-${i}`), "--log-level", "warn"];
      const s = await startServe(argv, cwd);
      servers.push({ name: tree, child: s.child, url: s.url, log: s.log });
    }
    const answerFile = join(work, "answer.json");
    const first = await fetch(`${servers[0].url}/v1/models/finish_time/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ athlete_id: (JSON.parse(readFileSync(ids, "utf8")) as string[])[0], distance_km: 10 }),
    });
    writeFileSync(answerFile, await first.text());
    const floor = await startServe([...prof, "--import", "tsx", WORKER, "online.httpFloor", JSON.stringify({ answerFile })], ROOT);
    servers.push({ name: "node:http floor", child: floor.child, url: floor.url, log: floor.log });
    const base = { ids, badEvery: 20 };
    const seconds = num(values.seconds, 4);
    for (const s of servers) await runNodeTask("online.load", { url: s.url, ...base, connections: 16, seconds: 2 }); // warm-up
    const cells = new Map<string, { paced: number[]; closed: number[]; batch: number[]; p99: number[]; rps: number[]; genUs: number[]; gc: Map<string, GcStats> }>();
    for (const s of servers) cells.set(s.name, { paced: [], closed: [], batch: [], p99: [], rps: [], genUs: [], gc: new Map() });
    const closedTask = values.client === "autocannon" ? "online.load" : "online.closed";
    const cpuPer = async (s: Server, load: () => Promise<{ answered: number }>, run = "") => {
      const c0 = processCpuMs(s.child.pid!);
      const at = s.log().length;
      const r = await load();
      const us = ((processCpuMs(s.child.pid!) - c0) * 1000) / r.answered;
      if (run) addGc(cells.get(s.name)!.gc, run, s.log().slice(at));
      return us;
    };
    const answered = <R extends { statusCodes: Record<string, number> }>(r: R) => ({ answered: Object.values(r.statusCodes).reduce((a, b) => a + b, 0), r });
    for (let round = 0; round < num(values.rounds, 3); round++) {
      // A different server first each round: the order is not on one side.
      const order = servers.map((_, i) => servers[(i + round) % servers.length]);
      for (const s of order) {
        const c = cells.get(s.name)!;
        let p99 = NaN;
        c.paced.push(
          await cpuPer(s, async () => {
            const x = answered(await runNodeTask<{ statusCodes: Record<string, number>; p99: number }>("online.paced", { url: s.url, ...base, rate: num(values.rate, 1000), connections: 10, seconds }));
            p99 = x.r.p99;
            return x;
          }, "paced"),
        );
        c.p99.push(p99);
        c.closed.push(
          await cpuPer(s, async () => {
            const x = answered(await runNodeTask<{ statusCodes: Record<string, number>; reqPerSec: number; genCpuUsPerReq: number }>(closedTask, { url: s.url, ...base, connections: num(values.connections, 16), seconds }));
            c.rps.push(x.r.reqPerSec);
            c.genUs.push(x.r.genCpuUsPerReq);
            return x;
          }, "closed"),
        );
        if (values.batch && s.name !== "node:http floor") {
          const n = Number(values.batch);
          c.batch.push(await cpuPer(s, async () => ({ answered: Number((await runNodeTask<Sample>("online.bigBatches", { url: s.url, ids, instances: n, seconds })).requests) * n }), "batch"));
        }
      }
      process.stderr.write(`round ${round + 1} done\n`);
    }
    const floorCell = cells.get("node:http floor")!;
    const f = { paced: median(floorCell.paced), closed: median(floorCell.closed) };
    const fmt = (x: number) => `${x.toFixed(1)} µs`;
    process.stdout.write(`server CPU per answer, median of ${num(values.rounds, 3)} rounds (${fmtInt(entities)} entities; paced ${values.rate} req/s, closed loop ${values.connections} connections, ${seconds} s each)\n`);
    for (const [name, c] of cells) {
      const pm = median(c.paced);
      const cm = median(c.closed);
      process.stdout.write(
        `${name}: paced ${fmt(pm)} (${(pm / f.paced).toFixed(2)}× floor) [${c.paced.map((x) => x.toFixed(0)).join(", ")}]; ` +
          `closed ${fmt(cm)} (${(cm / f.closed).toFixed(2)}× floor) [${c.closed.map((x) => x.toFixed(0)).join(", ")}], ${fmtInt(median(c.rps))} req/s, the ${values.client} client's CPU ${fmt(median(c.genUs))} per request; paced p99 ${median(c.p99).toFixed(2)} ms` +
          (c.batch.length ? `; batch ${fmt(median(c.batch))} per instance [${c.batch.map((x) => x.toFixed(1)).join(", ")}]` : "") +
          "\n",
      );
      for (const [run, g] of c.gc) {
        process.stdout.write(`  GC during the ${run} runs: ${g.scavenges} scavenges (total ${g.scavengeMs.toFixed(1)} ms, longest ${g.scavengeMax.toFixed(2)} ms), ${g.majors} mark-compacts (total ${g.majorMs.toFixed(1)} ms, longest ${g.majorMax.toFixed(2)} ms)\n`);
      }
    }
  } finally {
    for (const s of servers) await stopServe(s.child);
  }
}

await main();
