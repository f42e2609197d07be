// Diagnosis probe (issue 12, ninth session): the default-checkpoint HTTP case (stream-checkpoint-http.ts)
// on the same example with one or more fti trees side by side, each run from the same store copy: a
// served `fti serve` of each tree, PRELOAD events pushed fast, then 5,000 events/s for SECONDS with a
// checkpoint every CP_MS; per run the p99 near / away from the checkpoints, the server's event-loop
// stalls (CPU vs waiting), its main-thread and other threads' CPU, and its checkpoints' own figures.
//   TREES=/tmp/old,/work/wt/disk ATHLETES=1000 DAYS=365 PRELOAD=200000 SECONDS=40 CP_MS=15000 \
//     npx tsx bench/stream-cp-http-probe.ts
import { cpSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { buildAthleteWork } from "../test/helpers/online-athlete.ts";
import { checkpointFiles } from "../runtime/stream/checkpoint.ts";
import { streamDir } from "../runtime/stream/segments.ts";
import { runNodeTask } from "./lib/harness.ts";
import { eventsOf, stallNote, startProbed } from "./suites/stream-load.ts";
import { stopServe } from "./suites/online.ts";
import { readdirSync, readFileSync, statSync } from "node:fs";

const trees = (process.env.TREES ?? process.cwd()).split(",");
const athletesN = Number(process.env.ATHLETES ?? 1000);
const days = Number(process.env.DAYS ?? 365);
const preload = Number(process.env.PRELOAD ?? 200_000);
const seconds = Number(process.env.SECONDS ?? 40);
const cpMs = Number(process.env.CP_MS ?? 15_000);
const rounds = Number(process.env.ROUNDS ?? 1);

const work = await buildAthleteWork({ athletes: athletesN, days });
const storeDir = dirname(work.storePath);
const pristine = `${storeDir}.pristine`;
cpSync(storeDir, pristine, { recursive: true });
const pct = (xs: number[], p: number) => {
  const s = Float64Array.from(xs).sort();
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
};
const threadCpu = (pid: number) => {
  const stat = (t: string) => readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8").split(") ")[1].split(" ");
  let main = 0;
  let others = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    const f = stat(t);
    const ms = ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    if (Number(t) === pid) main += ms;
    else others += ms;
  }
  return { main, others };
};

try {
  for (let round = 0; round < rounds; round++) {
    for (const tree of trees) {
      rmSync(storeDir, { recursive: true, force: true });
      cpSync(pristine, storeDir, { recursive: true });
      process.env.FTI_STREAM_CHECKPOINT_MS = String(cpMs);
      const server = await startProbed([join(tree, "compiler/cli/bin.mjs"), "serve", work.specPath, "--store", work.storePath, "--port", "0", "--no-watch", "--logs", work.logsDir, "--log-level", "warn"], work.root, join(work.root, "stalls.json"));
      try {
        const pre = eventsOf(work.athletes, 500, `pre${round}`);
        for (let i = 0; i < preload / 500; i++) {
          const r = await fetch(`${server.url}/v1/sources/activities/events`, { method: "POST", headers: { "content-type": "application/json" }, body: pre(i) });
          if (r.status !== 200) throw new Error(`preload: ${r.status} ${await r.text()}`);
        }
        await server.stalls();
        const c0 = threadCpu(server.child.pid!);
        const r = await runNodeTask<{ latencies: number[]; dueAt: number[]; statuses: number[]; sent: number }>("stream-checkpoint-http.events", { url: server.url, athletes: work.athletes, rate: 500, batch: 10, seconds, tag: `run${round}` });
        const c1 = threadCpu(server.child.pid!);
        const stalls = await server.stalls();
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        const first = Math.min(...r.dueAt.slice(0, 10));
        const cps = checkpointFiles(streamDir(work.storePath, "activities")).flatMap((f) => {
          const h = JSON.parse(readFileSync(f, "utf8").slice(0, 64 * 1024).split("\n")[0]) as { writtenAt: string };
          const st = statSync(f);
          return [{ begun: Date.parse(h.writtenAt), written: st.mtimeMs, bytes: st.size }];
        }).filter((c) => c.written >= first);
        const near = (t: number) => cps.some((c) => t >= c.begun - 1000 && t <= c.written + 1000);
        const a: number[] = [];
        const w: number[] = [];
        r.latencies.forEach((ms, i) => (near(r.dueAt[i]) ? a : w).push(ms));
        const f = (x: number) => x.toFixed(1);
        const ok = r.statuses.filter((s) => s === 200).length;
        console.log(`[${tree}] round ${round}: all p99 ${f(pct(r.latencies, 0.99))} | near p50 ${f(pct(a, 0.5))} p99 ${f(pct(a, 0.99))} max ${f(pct(a, 1))} (${a.length}) | away p99 ${f(pct(w, 0.99))} max ${f(pct(w, 1))} (${w.length}) | ${ok}/${r.sent} ok | server CPU main ${f(c1.main - c0.main)} ms others ${f(c1.others - c0.others)} ms`);
        console.log(`   checkpoints: ${cps.map((c) => `at ${((c.begun - first) / 1000).toFixed(1)} s ${(c.written - c.begun).toFixed(0)} ms ${(c.bytes / 1e6).toFixed(1)} MB`).join("; ")}; ${/fti_stream_checkpoint[^\n]*/.exec(metrics)?.[0] ?? ""}`);
        console.log(`   ${stallNote(stalls).slice(2)}`);
      } finally {
        await stopServe(server.child);
      }
    }
  }
} finally {
  rmSync(pristine, { recursive: true, force: true });
  work.cleanup();
}
