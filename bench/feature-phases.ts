// Where the feature pipeline's CPU goes: one `runFeaturePipeline` over a
// dataset of the features suite (bench/.data/acts-<athletes>x<runs>/), with
// the process CPU (user + sys: DuckDB's threads included) of every statement
// the store runs, and the COMMIT; or the suite's reference statement alone.
//
//   npx tsx bench/feature-phases.ts bench/.data/acts-2000x1000 [fti|ref] [--sql FILE] [--timeline]
//
// fti prints the statements over 50 ms of CPU or wall (the phases: failing
// rows, duplicate hashes, the source table's INSERT, the group's INSERT),
// then the run's CPU and the part spent outside statements. Alternate fti and
// ref runs on a loaded machine and compare medians (docs/benchmarks.md).
//
// Beside each statement's CPU: its busiest thread's CPU and the least wall
// time it can take on the machine's cores, max(busiest, CPU / cores) — how
// parallel it ran, which a loaded machine's wall time cannot show (a scan of a
// table written in the same transaction runs on one thread: DuckDB sizes a
// scan by the table's committed rows). The sum over the statements is the
// run's wall time on an idle machine, less waiting (a COMMIT's fsync).
//
// --timeline (fti): every 100 ms, how many of the process's threads wanted a
// CPU (on one or runnable, /proc schedstat), per statement: its mean, and its
// idle-core time, the sum of max(0, cores − wanting) × 100 ms — on a quiet
// machine the wall a statement leaves a core unused (a serial stretch, I/O
// waits). On a loaded machine it is rough: a thread woken for a moment waits
// for a CPU long enough to count as wanting one (10 M at load 14: 4.5 threads
// "wanting" through the group's INSERT, which ran on two).

import { appendFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { availableParallelism } from "node:os";
import { openStore, type Store } from "../runtime/store/store.ts";
import { openRefDb } from "./lib/duck.ts";
import { perThreadCpuMs, perThreadSchedMs, threadSpread, threadsWanting } from "./lib/proc-cpu.ts";
import { loadBundle } from "./lib/spec.ts";
import { referenceSql } from "./suites/features.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { sql: { type: "string" }, timeline: { type: "boolean", default: false } } });
const dir = resolve(positionals[0] ?? "bench/.data/acts-200x300");
const mode = positionals[1] ?? "fti";
const data = { parquet: join(dir, "activities.parquet"), plannedParquet: join(dir, "planned_runs.parquet") };
const path = `/tmp/fti-feature-phases-${process.pid}.duckdb`;

const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};
const CORES = availableParallelism();
/** Process CPU, the busiest thread's CPU and the least wall time on CORES cores, since `before`. */
const spread = (before: Map<string, number>) => threadSpread(before, perThreadCpuMs(process.pid), CORES);
type Logged = { sql: string; cpu: number; wall: number; busiest: number; minWall: number };
/** The statement running now (--timeline attributes each 100 ms sample to it), and the samples per statement. */
let running = "between statements";
const samples = new Map<string, { n: number; wanting: number; idleCoreMs: number }>();

/** Samples every 100 ms how many threads wanted a CPU, attributed to the statement running; returns a stop function. */
function startTimeline(): () => void {
  let before = perThreadSchedMs(process.pid);
  let at = performance.now();
  const timer = setInterval(() => {
    const now = perThreadSchedMs(process.pid);
    const t = performance.now();
    const wanting = threadsWanting(before, now, t - at);
    const s = samples.get(running) ?? { n: 0, wanting: 0, idleCoreMs: 0 };
    s.n++;
    s.wanting += wanting;
    s.idleCoreMs += Math.max(0, CORES - wanting) * (t - at);
    samples.set(running, s);
    before = now;
    at = t;
  }, 100);
  return () => clearInterval(timer);
}
const line = (l: Omit<Logged, "sql">) =>
  `${l.cpu.toFixed(0).padStart(7)} ms cpu ${l.busiest.toFixed(0).padStart(6)} busiest thread ${l.minWall.toFixed(0).padStart(6)} least wall ${l.wall.toFixed(0).padStart(7)} ms wall`;

/** Wraps `run` and `all` of the store, and the connection's BEGIN / COMMIT, to log each statement's CPU and wall time. */
function instrument(store: Store, log: Logged[]): void {
  const s = store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const timedCall = async (sql: string, call: () => Promise<unknown>, keep: boolean) => {
    const c = cpuMs();
    const threads = perThreadCpuMs(process.pid);
    const w = performance.now();
    const label = sql.replace(/\s+/g, " ").slice(0, 60);
    running = label;
    try {
      return await call();
    } finally {
      running = `after ${label}`;
      if (keep) log.push({ sql: sql.replace(/\s+/g, " "), cpu: cpuMs() - c, wall: performance.now() - w, ...spread(threads) });
      if (keep && values.sql) appendFileSync(values.sql, `${sql};\n\n`);
    }
  };
  for (const name of ["run", "all"]) {
    const orig = s[name].bind(store);
    s[name] = (sql: unknown, params?: unknown) => timedCall(String(sql), () => orig(sql, params), true);
  }
  const connection = s.connection.bind(store) as unknown as () => Record<string, (...a: unknown[]) => Promise<unknown>>;
  (s as unknown as { connection: () => unknown }).connection = () => {
    const conn = connection();
    return new Proxy(conn, {
      get(target, p) {
        const v = target[p as string];
        if (typeof v !== "function") return v;
        if (p !== "run") return v.bind(target);
        return (sql: unknown, ...rest: unknown[]) => timedCall(`conn: ${sql}`, () => v.call(target, sql, ...rest), /^(BEGIN|COMMIT)/.test(String(sql)));
      },
    });
  };
}

async function runFti(): Promise<void> {
  const bundle = await loadBundle(data);
  const store = await openStore({ path, memoryLimit: "3GB" });
  const log: Logged[] = [];
  instrument(store, log);
  try {
    const stop = values.timeline ? startTimeline() : () => {};
    const c0 = cpuMs();
    const r = await runFeaturePipeline(store, bundle, { groups: ["activity_features"] }).finally(stop);
    const total = cpuMs() - c0;
    for (const l of log) if (l.cpu > 50 || l.wall > 50) console.log(`${line(l)}  ${l.sql.slice(0, 100)}`);
    const inStatements = log.reduce((a, l) => a + l.cpu, 0);
    const leastWall = log.reduce((a, l) => a + l.minWall, 0);
    if (values.timeline) {
      console.log(`timeline (100 ms samples; threads wanting a CPU: on one or runnable):`);
      for (const [label, t] of samples) {
        if (t.n < 2 && t.idleCoreMs < 100) continue;
        console.log(`${(t.n / 10).toFixed(1).padStart(7)} s ${(t.wanting / t.n).toFixed(2).padStart(5)} wanting ${t.idleCoreMs.toFixed(0).padStart(6)} ms idle-core  ${label}`);
      }
    }
    console.log(
      `fti: ${r.groups[0].rows} rows, ${r.sources[0].quarantined} quarantined; pipeline cpu ${total.toFixed(0)} ms (in ${log.length} statements ${inStatements.toFixed(0)} ms, least wall on ${CORES} cores ${leastWall.toFixed(0)} ms)`,
    );
  } finally {
    await store.close();
  }
}

async function runRef(): Promise<void> {
  const db = await openRefDb(path, { memoryLimit: "3GB" });
  try {
    const c0 = cpuMs();
    const threads = perThreadCpuMs(process.pid);
    const w = performance.now();
    await db.conn.run(`CREATE TABLE features AS ${referenceSql(`read_parquet('${data.parquet.replaceAll("'", "''")}')`)}`);
    console.log(`ref: statement ${line({ cpu: cpuMs() - c0, wall: performance.now() - w, ...spread(threads) })}`);
  } finally {
    db.close();
  }
}

try {
  await (mode === "ref" ? runRef() : runFti());
} finally {
  rmSync(path, { force: true });
  rmSync(`${path}.wal`, { force: true });
}
