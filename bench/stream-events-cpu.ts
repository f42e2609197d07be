// The server CPU per events request of `fti serve`, A/B between code trees
// (a `git archive` copy of main beside this worktree, say): each tree serves
// its own copy of the stream probe's store (bench/stream-probe.ts --work, the
// full-size athlete example), rounds interleaved; per round and tree a
// closed-loop run of 10-event requests (the stream suite's bodies) and a
// paced one at --rate requests/s, each giving the server's main-thread CPU and
// its other threads' CPU per answered request (from /proc: CPU time, not wall
// latency, is what a change to the server's work moves on a shared machine).
//
//   npx tsx bench/stream-probe.ts --work .fti/probe-full --athletes 1000 --days 365 --seconds 1   # builds the store once
//   npx tsx bench/stream-events-cpu.ts --work .fti/probe-full --trees /tmp/main-copy,. --rounds 3

import { cpSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fmtInt, median } from "./lib/harness.ts";
import { closedLoad, pacedLoad, pacedCount, prepareRequests } from "./lib/paced-load.ts";
import { threadCpuMs } from "./lib/proc-cpu.ts";
import { eventsOf } from "./suites/stream-load.ts";
import { startServe, stopServe } from "./suites/online.ts";

const { values } = parseArgs({
  options: {
    work: { type: "string", default: join(import.meta.dirname, "../.fti/probe-full") },
    trees: { type: "string", default: "." },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    rate: { type: "string", default: "500" },
    connections: { type: "string", default: "8" },
  },
});

const base = join(resolve(values.work), "base");
const meta = JSON.parse(readFileSync(join(base, "meta.json"), "utf8")) as { athletes: string[] };
const trees = values.trees.split(",").map((t) => resolve(t));
const seconds = Number(values.seconds);
const EVENTS = "/v1/sources/activities/events";

/** One tree's server on its own copy of the store (the stream has one writer per store). */
async function serve(tree: string, i: number) {
  // Under the tree's own .fti/: the generated code's "fti/runtime" resolves to the package it is in.
  const run = join(tree, ".fti", `events-cpu-${process.pid}-${i}`);
  rmSync(run, { recursive: true, force: true });
  cpSync(base, run, { recursive: true });
  const bin = join(tree, "compiler/cli/bin.mjs");
  const server = await startServe([bin, "serve", join(run, "athlete.fti"), "--store", join(run, ".fti/store.duckdb"), "--port", "0", "--no-watch", "--logs", join(run, ".fti/logs"), "--log-level", "warn"], run);
  return { ...server, run };
}

/** The server's main-thread and other threads' CPU per answered request (µs) over `load`. */
async function perRequest(pid: number, load: () => Promise<{ answered: number; ok: number }>): Promise<{ main: number; others: number; answered: number; ok: number }> {
  const a = threadCpuMs(pid);
  const r = await load();
  const b = threadCpuMs(pid);
  return { main: ((b.main - a.main) * 1000) / r.answered, others: ((b.others - a.others) * 1000) / r.answered, answered: r.answered, ok: r.ok };
}

const servers = [];
for (const [i, t] of trees.entries()) servers.push(await serve(t, i));
const results = new Map<string, Array<{ closed: number; closedOthers: number; paced: number; pacedOthers: number }>>();
try {
  for (let round = 0; round < Number(values.rounds); round++) {
    // ABBA: every other round the other order, so a drift over the run (the state grows) favours neither tree.
    const order = round % 2 === 0 ? [...servers.entries()] : [...servers.entries()].reverse();
    for (const [i, s] of order) {
      const tag = `r${round}t${i}`;
      const body = eventsOf(meta.athletes, 10, `${tag}c`);
      const prepared = prepareRequests(s.url, 20_000, (k) => ({ path: EVENTS, body: body(k), tag: "events" }));
      const closed = await perRequest(s.child.pid!, async () => {
        const r = await closedLoad({ url: s.url, connections: Number(values.connections), seconds, prepared });
        return { answered: r.answered, ok: Array.from(r.statuses).filter((x) => x === 200).length };
      });
      const pacedBody = eventsOf(meta.athletes, 10, `${tag}p`);
      const rate = Number(values.rate);
      const paced = await perRequest(s.child.pid!, async () => {
        const r = await pacedLoad({ url: s.url, rate, seconds, connections: 64, request: (k) => ({ path: EVENTS, body: pacedBody(k), tag: "events" }), prepared: prepareRequests(s.url, pacedCount(rate, seconds), (k) => ({ path: EVENTS, body: pacedBody(k), tag: "events" })) });
        return { answered: r.latencies.length, ok: Array.from(r.statuses).filter((x) => x === 200).length };
      });
      const line = { closed: closed.main, closedOthers: closed.others, paced: paced.main, pacedOthers: paced.others };
      results.set(trees[i], [...(results.get(trees[i]) ?? []), line]);
      process.stdout.write(`round ${round + 1} ${trees[i]}: closed loop ${fmtInt(closed.answered)} answered (${fmtInt(closed.ok)} 200), main thread ${fmtInt(closed.main)} µs + other threads ${fmtInt(closed.others)} µs per request; paced ${rate}/s ${fmtInt(paced.answered)} answered (${fmtInt(paced.ok)} 200), main thread ${fmtInt(paced.main)} µs + other threads ${fmtInt(paced.others)} µs per request\n`);
    }
  }
  for (const [tree, rs] of results) {
    const m = (k: keyof (typeof rs)[number]) => fmtInt(median(rs.map((r) => r[k])));
    process.stdout.write(`median ${tree}: closed loop main ${m("closed")} µs (+${m("closedOthers")}), paced main ${m("paced")} µs (+${m("pacedOthers")}) per events request\n`);
  }
} finally {
  for (const s of servers) {
    await stopServe(s.child);
    rmSync(s.run, { recursive: true, force: true });
  }
}
