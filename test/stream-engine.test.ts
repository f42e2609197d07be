// The incremental form of a feature group (compiler/lower/incremental.ts, run by
// runtime/stream/engine.ts) against the group's DuckDB SQL and the brute-force
// reference of the window semantics, on random event sequences: several
// entities, ties at one instant, nulls, events arriving out of order. After
// every event, each entity's online row (its latest row) must equal the
// reference's latest row of the events so far; at checkpoints, the SQL's too.

import { transformSync } from "esbuild";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IrExpr, IrFeature, IrGroup, IrSpec } from "../compiler/ir.ts";
import { columnType } from "../compiler/emit/names.ts";
import { groupToIncremental } from "../compiler/lower/incremental.ts";
import { lowerTs } from "../compiler/lower/ts.ts";
import type { GroupPlan, SpecBundle, StreamGroupPlan } from "../runtime/api.ts";
import * as expr from "../runtime/expr.ts";
import { cmpStr } from "../runtime/expr.ts";
import { mulberry32 } from "../runtime/random.ts";
import { StreamEngine, type StreamUpdate } from "../runtime/stream/engine.ts";
import { sumErrorBound } from "./helpers/exact-float.ts";
import { close, col, DAY, everyAggregation, frameArgs, HOUR, loadRows, makeSpec, randomRows, reference, row, runGroupSql, T, win, type Row, type V } from "./helpers/window-reference.ts";

let instance: DuckDBInstance;
let conn: DuckDBConnection;
beforeAll(async () => {
  instance = await DuckDBInstance.create(":memory:");
  conn = await instance.connect();
});
afterAll(() => conn?.closeSync());

/** The group's runtime plan with its incremental form, compiled as the emitter would (TS → JS, `$rt` the runtime helpers). */
function streamPlan(group: IrGroup, spec: IrSpec): GroupPlan {
  group.stream = { source: "events" };
  const code = groupToIncremental(group, spec, (e, c) => lowerTs(e, { col: c, param: c, call: (n) => n, helper: (n) => `$rt.${n}` }).code)!;
  const js = transformSync(`module.exports = ${code};`, { loader: "ts", format: "cjs" }).code;
  const module = { exports: {} as StreamGroupPlan };
  new Function("$rt", "module", js)(expr, module);
  const column = (name: string, t: IrExpr["type"]) => ({ name, type: columnType(t), nullable: t.nullable });
  return {
    name: group.name,
    version: 1,
    line: 1,
    table: group.table,
    entity: group.entity,
    keys: group.keys.map((k) => column(k.name, k.type)),
    input: group.input,
    rowId: column("id", T("string")),
    features: group.features.map((f) => column(f.name, f.type)),
    lookbackMs: group.lookbackMs,
    sql: "",
    externs: [],
    stream: module.exports,
  };
}

function bundleOf(plan: GroupPlan): SpecBundle {
  return { name: "t", file: "t.fti", specDir: ".", specHash: "", transformsHash: "", sources: [], groups: [plan], views: [], models: [], serves: [], externs: {} } as unknown as SpecBundle;
}

/** Arrival order: each event may arrive up to `lateMs` after a later event (out of order within the lateness). */
function arrivalOrder(rows: Row[], seed: number, lateMs: number): Row[] {
  const rnd = mulberry32(seed);
  return rows
    .map((r) => ({ r, at: r.ts + rnd() * lateMs }))
    .sort((a, b) => a.at - b.at)
    .map((x) => x.r);
}

/** Each entity's latest row (greatest time, then row id) among `rows`. */
function latestPerEntity(rows: Row[]): Map<string, Row> {
  const out = new Map<string, Row>();
  for (const r of rows) {
    const cur = out.get(r.k);
    if (!cur || r.ts > cur.ts || (r.ts === cur.ts && cmpStr(r.id, cur.id) > 0)) out.set(r.k, r);
  }
  return out;
}

/**
 * How a feature is compared. Stream vs reference: every aggregation but ewma bit for bit
 * (sums are exact values rounded once on both sides); ewma and what reads it to 1e-9
 * relative (a running sum of exp() weights). Stream vs DuckDB: count, min, max, last
 * exactly; sum and avg exactly on multiples of 0.25 (exact in any order), else within the
 * rounding bound of a float sum in any order, (n − 1)·2^-52·Σ|x| — DuckDB sums a frame in
 * the order of its segment tree over the partition's physical rows, which depends on how
 * peers were sorted and on the other partitions sharing its hash bucket, so no stream can
 * reproduce its last bits; stddev (Welford's update and Chan's merge in that order) and
 * ewma to 1e-9 relative.
 */
type Mode = "exact" | "close" | { bound: number };
const STREAM_EXACT = new Set(["count", "sum", "avg", "min", "max", "last", "stddev"]);
const readsEwma = (f: IrFeature) => (f.kind === "window" ? f.agg === "ewma" : JSON.stringify(f.expr).includes("ewma"));

function expectSame(what: string, got: unknown, want: V, f: IrFeature, mode: Mode): void {
  const g = typeof got === "bigint" ? Number(got) : got;
  const ok =
    mode === "exact" ? g === want
    : mode === "close" ? close(g, want, f.type)
    : g === null || want === null ? g === want : Math.abs((g as number) - (want as number)) <= mode.bound;
  if (!ok) throw new Error(`${what} feature ${f.name}: ${String(got)} vs ${String(want)} (${JSON.stringify(mode)})`);
}

/** The comparison of each feature, stream vs DuckDB, at entity row `id` of `seen`. */
function sqlMode(f: IrFeature, group: IrGroup, seen: Row[], id: string, floats: "quarters" | "any"): Mode {
  if (f.kind === "row") return readsEwma(f) ? "close" : "exact";
  if (f.agg === "stddev" || f.agg === "ewma") return "close";
  if ((f.agg !== "sum" && f.agg !== "avg") || floats === "quarters" || f.type.base === "int") return "exact";
  const xs = frameArgs(seen, group.features, f.name, id);
  const bound = sumErrorBound(xs);
  return { bound: f.agg === "avg" ? bound / Math.max(xs.length, 1) * 2 : bound * 2 };
}

/** Feeds the events in order; after each, compares every changed entity with the reference over the events so far; SQL at the checkpoints. */
async function run(group: IrGroup, spec: IrSpec, events: Row[], keep: (r: Row) => boolean, checkpoints: number[], floats: "quarters" | "any" = "quarters"): Promise<number> {
  const plan = streamPlan(group, spec);
  const engine = new StreamEngine(bundleOf(plan));
  const online = new Map<string, StreamUpdate>();
  const exact = new Set(group.features.filter((f) => (f.kind === "window" ? STREAM_EXACT.has(f.agg) : !readsEwma(f))).map((f) => f.name));
  let compared = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    for (const u of engine.apply("events", { id: e.id, k: e.k, ts: new Date(e.ts), x: e.x, y: e.y, s: e.s })) online.set(u.keys[0] as string, u);
    const seen = events.slice(0, i + 1).filter(keep);
    const latest = latestPerEntity(seen);
    const entity = latest.get(e.k);
    if (!keep(e) || !entity) continue;
    // The reference over this entity's rows so far (other entities do not change).
    const own = seen.filter((r) => r.k === e.k);
    const want = reference(own, group.features, entity.id).get(entity.id)!;
    const got = online.get(e.k)!;
    expect(got.eventMs).toBe(entity.ts);
    expect(got.rowId).toBe(entity.id);
    group.features.forEach((f, j) => expectSame(`after event ${i} (${e.id}), entity ${e.k}:`, got.values[j], want[f.name], f, exact.has(f.name) ? "exact" : "close"));
    compared += group.features.length;
    if (checkpoints.includes(i + 1)) compared += await compareSql(group, spec, seen, online, floats);
  }
  expect(online.size).toBe(latestPerEntity(events.filter(keep)).size);
  return compared;
}

/** The SQL over the events so far: each entity's latest row equals the online row. */
async function compareSql(group: IrGroup, spec: IrSpec, seen: Row[], online: Map<string, StreamUpdate>, floats: "quarters" | "any"): Promise<number> {
  await loadRows(conn, seen);
  const sql = await runGroupSql(conn, group, spec);
  let n = 0;
  for (const [k, r] of latestPerEntity(seen)) {
    const s = sql.get(r.id)!;
    const got = online.get(k)!;
    group.features.forEach((f, j) => {
      expectSame(`SQL vs stream, entity ${k}:`, s[f.name], got.values[j] as V, f, sqlMode(f, group, seen, r.id, floats));
      n++;
    });
  }
  return n;
}

const X = col("x", T("float", true));
const Y = col("y", T("int"));


describe("the incremental form equals the batch SQL and the brute-force reference", () => {
  for (const seed of [1, 2, 3]) {
    it(`for every aggregation, after every event, out of order within 2 days (seed ${seed})`, async () => {
      const { spec, group } = makeSpec(everyAggregation());
      const events = arrivalOrder(randomRows(seed, 500, 5, 60), seed, 2 * DAY);
      const compared = await run(group, spec, events, () => true, [150, 500]);
      expect(compared).toBeGreaterThan(500 * group.features.length);
    }, 60_000);
  }

  for (const seed of [4, 5, 6]) {
    it(`on doubles of every magnitude, the sums bit for bit with the exact reference (seed ${seed})`, async () => {
      const { spec, group } = makeSpec(everyAggregation());
      const events = arrivalOrder(randomRows(seed, 400, 4, 60, "any"), seed, 2 * DAY);
      const compared = await run(group, spec, events, () => true, [200, 400], "any");
      expect(compared).toBeGreaterThan(400 * group.features.length);
    }, 60_000);
  }

  it("with a `where` filter and events arriving in any order (older than every frame: only the ewmas change)", async () => {
    const features = [win("n_1d", "count", null, DAY), win("avg_y_3d", "avg", Y, 3 * DAY), win("e_y_6h", "ewma", Y, 6 * HOUR), win("last_y_2d", "last", Y, 2 * DAY)];
    const { spec, group } = makeSpec(features);
    group.where = { k: "binary", op: ">", left: Y, right: { k: "lit", type: T("int"), value: 0 }, type: T("bool") };
    const events = arrivalOrder(randomRows(9, 400, 3, 40), 9, 40 * DAY);
    await run(group, spec, events, (r) => r.y > 0, [400]);
  }, 60_000);

  it("keeps per entity only the rows of its longest frame", () => {
    const { spec, group } = makeSpec([win("n_1d", "count", null, DAY), win("e", "ewma", X, DAY)]);
    const engine = new StreamEngine(bundleOf(streamPlan(group, spec)));
    const start = Date.UTC(2025, 0, 1);
    for (let i = 0; i < 1000; i++) engine.apply("events", { id: `r${i}`, k: `e${i % 2}`, ts: new Date(start + i * HOUR), x: i, y: 1, s: null });
    // One event an hour per two entities: 12 per entity per day, never more.
    expect(engine.stats()).toEqual([{ group: "g", entities: 2, rows: 24 }]);
  });
});
