// Manual benchmark (not part of the compiler): the SQL groupToSql generates
// for windowed features against hand-written RANGE window SQL, on synthetic
// athlete-like events (10k entities, hour-granular times over two years).
//
//   npx tsx bench/window-lowering.ts              # 5 RANGE windows, 5M rows
//   N=10000000 R=5 npx tsx bench/window-lowering.ts
//   MODE=ewma npx tsx bench/window-lowering.ts    # two ewmas (no hand-written equivalent)
//   MODE=ewma INPUT=group ...                           # ewma over a nullable input: + carry-forward pass
//   SHOW=1 ... (print the generated SQL)   EXPLAIN=1 ... (EXPLAIN ANALYZE operator times)
//
// Reports wall time and process CPU time (user + system, all DuckDB threads)
// per variant; CPU time is the steadier figure on a shared machine.

import { DuckDBInstance } from "@duckdb/node-api";
import { WINDOW_AGGS } from "../compiler/builtins.ts";
import type { IrExpr, IrFeature, IrGroup, IrSpec, IrType, ScalarType, WindowAgg } from "../compiler/ir.ts";
import { groupToSql } from "../compiler/lower/group-sql.ts";

const N = Number(process.env.N ?? 5_000_000);
const R = Number(process.env.R ?? 3);
const MODE = process.env.MODE ?? "plain";
const T = (base: ScalarType, nullable = false): IrType => ({ base, nullable });
const loc = { line: 1, column: 1 };
const col = (name: string, type: IrType): IrExpr => ({ k: "col", name, type });
const DAY = 86_400_000;
const win = (name: string, agg: WindowAgg, arg: IrExpr | null, ms: number): IrFeature => ({
  kind: "window",
  name,
  loc,
  type: WINDOW_AGGS[agg].returns(arg?.type ?? null),
  agg,
  arg,
  windowMs: ms,
  windowText: `${ms}ms`,
});

const pace = col("pace", T("float"));
const dist = col("distance", T("float"));
const tss = col("tss", T("float"));
const features: IrFeature[] =
  MODE === "ewma"
    ? [win("ctl_42d", "ewma", tss, 42 * DAY), win("atl_7d", "ewma", tss, 7 * DAY)]
    : [
        win("pace_28d", "avg", pace, 28 * DAY),
        win("pace_sd_28d", "stddev", pace, 28 * DAY),
        win("runs_28d", "count", null, 28 * DAY),
        win("km_7d", "sum", dist, 7 * DAY),
        win("longest_28d", "max", dist, 28 * DAY),
      ];
const group: IrGroup = {
  name: "fitness",
  version: 1,
  loc,
  table: "fg_fitness_v1",
  entity: "athlete",
  keys: [{ name: "athlete_id", type: T("string") }],
  keyColumns: ["athlete_id"],
  where: null,
  input: { kind: process.env.INPUT === "group" ? "group" : "source", name: "activities" },
  rowId: { name: "activity_id", type: T("string") },
  inputColumns: [],
  features,
  lookbackMs: null,
};
const spec: IrSpec = {
  name: "bench",
  file: "bench.fti",
  specHash: "",
  sources: [
    {
      name: "activities",
      loc,
      location: { kind: "table", table: "src" },
      eventTime: "started_at",
      unique: ["activity_id"],
      fields: [],
    },
  ],
  entities: [],
  functions: [],
  groups: [group],
  onDemand: [],
  views: [],
  models: [],
  serves: [],
};

const generated = groupToSql(group, spec);
const handWritten = `SELECT athlete_id, started_at AS event_time, activity_id,
  avg(pace) OVER w28 AS pace_28d, stddev_samp(pace) OVER w28 AS pace_sd_28d, count(*) OVER w28 AS runs_28d,
  sum(distance) OVER w7 AS km_7d, max(distance) OVER w28 AS longest_28d
FROM __input
WINDOW w28 AS (PARTITION BY athlete_id ORDER BY started_at RANGE BETWEEN INTERVAL 28 DAYS PRECEDING AND CURRENT ROW),
  w7 AS (PARTITION BY athlete_id ORDER BY started_at RANGE BETWEEN INTERVAL 7 DAYS PRECEDING AND CURRENT ROW)`;
const variants: Record<string, string> = { generated };
if (MODE !== "ewma") {
  // [t - w, t] as usually written, and the same with the exact frame (t - w, t].
  variants.range_naive = handWritten;
  variants.range_exclusive = handWritten
    .replace("INTERVAL 28 DAYS", "INTERVAL '2419199999999 microseconds'")
    .replace("INTERVAL 7 DAYS", "INTERVAL '604799999999 microseconds'");
}

if (process.env.SHOW) {
  console.log(generated);
} else {
  const instance = await DuckDBInstance.create(":memory:");
  const c = await instance.connect();
  await c.run(`CREATE TABLE src AS SELECT 'a' || lpad((i % 10000)::VARCHAR, 5, '0') AS athlete_id, 'r' || i::VARCHAR AS activity_id,
    TIMESTAMP '2023-01-01' + to_seconds(CAST(floor(random() * 730 * 24) AS BIGINT) * 3600) AS started_at,
    (4 + random() * 3)::DOUBLE AS pace, (5 + random() * 15)::DOUBLE AS distance,
    CASE WHEN random() < 0.02 THEN NULL ELSE (random() * 150)::DOUBLE END AS tss
    FROM range(${N}) t(i)`);
  await c.run(`CREATE VIEW __input AS SELECT *, started_at AS event_time FROM src`);
  const wall: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  for (let r = 0; r < R; r++) {
    const order = r % 2 ? Object.entries(variants).reverse() : Object.entries(variants);
    for (const [name, sql] of order) {
      const t0 = performance.now();
      const u0 = process.cpuUsage();
      await c.run(`CREATE OR REPLACE TEMP TABLE out AS ${sql}`);
      const u = process.cpuUsage(u0);
      (wall[name] ??= []).push(Math.round(performance.now() - t0));
      (cpu[name] ??= []).push(Math.round((u.user + u.system) / 1000));
    }
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  for (const name of Object.keys(variants)) {
    console.log(`${name.padEnd(16)} cpu median ${median(cpu[name])} ms  (cpu ${cpu[name].join(", ")}; wall ${wall[name].join(", ")})`);
  }
  if (process.env.EXPLAIN) {
    for (const [name, sql] of Object.entries(variants)) {
      const text = String((await c.runAndReadAll(`EXPLAIN ANALYZE ${sql}`)).getRows()[0][1]);
      const ops = text.split("\n").filter((l) => /[A-Z_]{4,}|[0-9]+\.[0-9]+s/.test(l)).map((l) => l.replace(/[│┌┐└┘─]/g, "").trim()).filter(Boolean);
      console.log(`--- ${name}\n${ops.join("\n")}`);
    }
  }
  c.closeSync();
}
