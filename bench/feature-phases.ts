// Where the feature pipeline's CPU goes: one `runFeaturePipeline` over a
// dataset of the features suite (bench/.data/acts-<athletes>x<runs>/), with
// the process CPU (user + sys: DuckDB's threads included) of every statement
// the store runs, and the COMMIT; or the suite's reference statement alone.
//
//   npx tsx bench/feature-phases.ts bench/.data/acts-2000x1000 [fti|ref] [--sql FILE]
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

import { appendFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { availableParallelism } from "node:os";
import { openStore, type Store } from "../runtime/store/store.ts";
import { openRefDb } from "./lib/duck.ts";
import { perThreadCpuMs, threadSpread } from "./lib/proc-cpu.ts";
import { loadBundle } from "./lib/spec.ts";
import { referenceSql } from "./suites/features.ts";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { sql: { type: "string" } } });
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
const line = (l: Omit<Logged, "sql">) =>
  `${l.cpu.toFixed(0).padStart(7)} ms cpu ${l.busiest.toFixed(0).padStart(6)} busiest thread ${l.minWall.toFixed(0).padStart(6)} least wall ${l.wall.toFixed(0).padStart(7)} ms wall`;

/** Wraps `run` and `all` of the store, and the connection's BEGIN / COMMIT, to log each statement's CPU and wall time. */
function instrument(store: Store, log: Logged[]): void {
  const s = store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const timedCall = async (sql: string, call: () => Promise<unknown>, keep: boolean) => {
    const c = cpuMs();
    const threads = perThreadCpuMs(process.pid);
    const w = performance.now();
    try {
      return await call();
    } finally {
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
    const c0 = cpuMs();
    const r = await runFeaturePipeline(store, bundle, { groups: ["activity_features"] });
    const total = cpuMs() - c0;
    for (const l of log) if (l.cpu > 50 || l.wall > 50) console.log(`${line(l)}  ${l.sql.slice(0, 100)}`);
    const inStatements = log.reduce((a, l) => a + l.cpu, 0);
    const leastWall = log.reduce((a, l) => a + l.minWall, 0);
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
