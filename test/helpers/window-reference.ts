// The window semantics of docs/language.md §6, straight from the definitions:
// a brute-force reference that the DuckDB lowering (test/windows.test.ts) and
// the incremental form (test/stream-engine.test.ts) are both compared with,
// and the random multi-entity events they run on.

import type { DuckDBConnection } from "@duckdb/node-api";
import { WINDOW_AGGS } from "../../compiler/builtins.ts";
import type { IrExpr, IrFeature, IrGroup, IrSource, IrSpec, IrType, ScalarType, WindowAgg } from "../../compiler/ir.ts";
import { groupToSql } from "../../compiler/lower/group-sql.ts";
import { sqlDoubleLiteral, sqlStringLiteral } from "../../compiler/lower/sql.ts";
import { cmpStr } from "../../runtime/expr.ts";
import { mulberry32 } from "../../runtime/random.ts";
import { exactAvg, exactStddev, exactSum } from "./exact-float.ts";

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

// ------------------------------------------------------------------ IR of a test group

export const T = (base: ScalarType, nullable = false): IrType => ({ base, nullable });
export const loc = { line: 1, column: 1 };
export const col = (name: string, type: IrType): IrExpr => ({ k: "col", name, type });

export function win(name: string, agg: WindowAgg, arg: IrExpr | null, windowMs: number): IrFeature {
  return { kind: "window", name, loc, type: WINDOW_AGGS[agg].returns(arg ? arg.type : null), agg, arg, windowMs, windowText: `${windowMs}ms` };
}
export function row(name: string, expr: IrExpr): IrFeature {
  return { kind: "row", name, loc, type: expr.type, expr };
}

/** Every aggregation over an int, a float and a string column, row features before and after windows,
 * and a row feature over two windows (`form`): the features both the SQL and the stream tests compare. */
export function everyAggregation(): IrFeature[] {
  const X = col("x", T("float", true));
  const Y = col("y", T("int"));
  const S = col("s", T("string", true));
  const x2: IrExpr = { k: "binary", op: "*", left: X, right: { k: "lit", type: T("int"), value: 2 }, type: T("float", true) };
  const form: IrExpr = { k: "binary", op: "-", left: col("avg_x_2d", T("float", true)), right: col("ewma_x_12h", T("float", true)), type: T("float", true) };
  return [
    row("x2", x2),
    win("n_3d", "count", null, 3 * DAY),
    win("nx_3d", "count", X, 3 * DAY),
    win("sum_x_7d", "sum", X, 7 * DAY),
    win("sum_y_7d", "sum", Y, 7 * DAY),
    win("avg_x_2d", "avg", X, 2 * DAY),
    win("min_x_10d", "min", X, 10 * DAY),
    win("max_x_10d", "max", X, 10 * DAY),
    win("min_s_5d", "min", S, 5 * DAY),
    win("max_s_5d", "max", S, 5 * DAY),
    win("sd_x_30d", "stddev", X, 30 * DAY),
    win("sd_y_1h", "stddev", Y, HOUR),
    win("last_x_4d", "last", X, 4 * DAY),
    win("last_s_1h", "last", S, HOUR),
    win("ewma_x_12h", "ewma", X, 12 * HOUR),
    win("ewma_y_3d", "ewma", Y, 3 * DAY),
    win("sum_x2_7d", "sum", col("x2", T("float", true)), 7 * DAY),
    win("avg_x2_1d", "avg", x2, DAY),
    row("form", form),
  ];
}

export const SOURCE: IrSource = {
  name: "events",
  loc,
  location: { kind: "table", table: "events" },
  eventTime: "ts",
  unique: ["id"],
  fields: [
    { name: "id", type: T("string"), checks: [] },
    { name: "k", type: T("string"), checks: [] },
    { name: "ts", type: T("timestamp"), checks: [] },
    { name: "x", type: T("float", true), checks: [] },
    { name: "y", type: T("int"), checks: [] },
    { name: "s", type: T("string", true), checks: [] },
  ],
};

export function makeSpec(features: IrFeature[], input: IrGroup["input"] = { kind: "source", name: "events" }): { spec: IrSpec; group: IrGroup } {
  const group: IrGroup = {
    name: "g",
    version: 1,
    loc,
    table: "fg_g_v1",
    entity: "e",
    keys: [{ name: "k", type: T("string") }],
    keyColumns: ["k"],
    where: null,
    input,
    rowId: { name: "id", type: T("string") },
    inputColumns: SOURCE.fields.map((f) => ({ name: f.name, type: f.type })),
    features,
    lookbackMs: null,
  };
  const spec: IrSpec = {
    name: "t",
    file: "t.fti",
    specHash: "",
    sources: [SOURCE],
    entities: [{ name: "e", loc, keys: group.keys }],
    functions: [],
    groups: [group],
    onDemand: [],
    views: [],
    models: [],
    serves: [],
  };
  return { spec, group };
}

export interface Row {
  id: string;
  k: string;
  ts: number; // epoch ms
  x: number | null; // float?: multiples of 0.25 (sums exact in any order) or any double (randomRows)
  y: number; // int
  s: string | null;
}

export type V = number | string | null;

const finite = (x: number): V => (Number.isFinite(x) ? x : null);

/**
 * One aggregation over the frame rows (with their argument values), straight
 * from the definition: sum, avg and stddev are the exact values rounded once
 * (exact-float.ts; docs/streaming.md, "Exactness").
 */
function aggregate(agg: WindowAgg, frame: Row[], vals: V[]): V {
  const present = vals.filter((v): v is number | string => v !== null);
  switch (agg) {
    case "count":
      return present.length;
    case "sum":
      return present.length ? finite(exactSum(present as number[])) : null;
    case "avg":
      return present.length ? finite(exactAvg(present as number[])) : null;
    case "min":
    case "max": {
      if (!present.length) return null;
      let best = present[0];
      for (const v of present) {
        const c = typeof v === "string" ? cmpStr(v, best as string) : (v as number) - (best as number);
        if (agg === "min" ? c < 0 : c > 0) best = v;
      }
      return best;
    }
    case "stddev":
      return present.length < 2 ? null : finite(exactStddev(present as number[]));
    case "last": {
      // x of the latest row with a non-null x; ties at one instant: the greatest row id.
      let best = -1;
      for (let i = 0; i < frame.length; i++) {
        if (vals[i] === null) continue;
        if (best < 0 || frame[i].ts > frame[best].ts || (frame[i].ts === frame[best].ts && cmpStr(frame[i].id, frame[best].id) > 0)) best = i;
      }
      return best < 0 ? null : vals[best];
    }
    case "ewma":
      throw new Error("ewma has no frame");
  }
}

/**
 * ewma at t: Σ w_i x_i / Σ w_i over all rows at or before t with non-null x,
 * w_i = exp(-(t - t_i)/tau). The common factor exp(-(t - t_L)/tau) (t_L: the
 * latest such row) cancels, so it is computed relative to t_L: nothing underflows.
 */
function ewmaAt(history: Row[], vals: V[], t: number, tauMs: number): V {
  let tl = -Infinity;
  for (let i = 0; i < history.length; i++) if (history[i].ts <= t && vals[i] !== null && history[i].ts > tl) tl = history[i].ts;
  if (tl === -Infinity) return null;
  let num = 0;
  let den = 0;
  for (let i = 0; i < history.length; i++) {
    if (history[i].ts > t || vals[i] === null) continue;
    const w = Math.exp(-(tl - history[i].ts) / tauMs);
    num += w * (vals[i] as number);
    den += w;
  }
  return num / den;
}

/** The row expressions used in these tests: columns, literals, x * 2, a - b, a + b, a > b. */
function evalRow(e: IrExpr, v: Record<string, V>): V {
  if (e.k === "col") return v[e.name] ?? null;
  if (e.k === "lit") return e.value as V;
  if (e.k === "binary") {
    const a = evalRow(e.left, v) as number | null;
    const b = evalRow(e.right, v) as number | null;
    if (a === null || b === null) return null;
    const r = e.op === "*" ? a * b : e.op === "-" ? a - b : e.op === "+" ? a + b : e.op === ">" ? Number(a > b) : NaN;
    return Number.isFinite(r) ? r : null;
  }
  throw new Error(`reference cannot evaluate ${e.k}`);
}

/** The non-null argument values of window feature `name` over the frame of row `id` (what bounds a float sum's rounding). */
export function frameArgs(rows: Row[], features: IrFeature[], name: string, id: string): number[] {
  const f = features.find((x) => x.name === name);
  const at = rows.find((r) => r.id === id);
  if (!f || f.kind !== "window" || !at) throw new Error(`no window ${name} or row ${id}`);
  const values = reference(rows.filter((r) => r.k === at.k), features);
  return rows
    .filter((r) => r.k === at.k && r.ts > at.ts - f.windowMs && r.ts <= at.ts)
    .map((r) => (f.arg ? evalRow(f.arg, values.get(r.id)!) : 1))
    .filter((v): v is number => v !== null);
}

/** Brute force: every feature of every row, straight from the definitions. */
/** `only`: the windows of that row alone (the others' are left out: enough when no window reads a window). */
export function reference(rows: Row[], features: IrFeature[], only?: string): Map<string, Record<string, V>> {
  const byKey = new Map<string, Row[]>();
  for (const r of rows) (byKey.get(r.k) ?? byKey.set(r.k, []).get(r.k)!).push(r);
  const values = new Map<string, Record<string, V>>(rows.map((r) => [r.id, { x: r.x, y: r.y, s: r.s } as Record<string, V>]));
  for (const f of features) {
    if (f.kind === "row") {
      for (const r of rows) values.get(r.id)![f.name] = evalRow(f.expr, values.get(r.id)!);
      continue;
    }
    const arg = f.arg;
    const argOf = (o: Row): V => (arg ? evalRow(arg, values.get(o.id)!) : 1);
    const result = new Map<string, V>();
    for (const ents of byKey.values()) {
      const vals = ents.map(argOf);
      for (const r of ents) {
        if (only !== undefined && r.id !== only) continue;
        if (f.agg === "ewma") {
          result.set(r.id, ewmaAt(ents, vals, r.ts, f.windowMs));
          continue;
        }
        // The frame (t - w, t]: same entity, every row of that span, peers included.
        const idx = ents.map((_, i) => i).filter((i) => ents[i].ts > r.ts - f.windowMs && ents[i].ts <= r.ts);
        result.set(r.id, aggregate(f.agg, idx.map((i) => ents[i]), idx.map((i) => vals[i])));
      }
    }
    for (const [id, v] of result) values.get(id)![f.name] = v;
  }
  return values;
}

/**
 * Random multi-entity events: coarse instants (many peers), nulls, a gap of 40 days, in shuffled order.
 * `x`: multiples of 0.25 (a float sum is exact in any order), or `"any"`: doubles with every
 * mantissa bit used and magnitudes from 1e-3 to 1e4 (a float sum depends on its order).
 */
export function randomRows(seed: number, n: number, entities: number, spanDays: number, x: "quarters" | "any" = "quarters"): Row[] {
  const rnd = mulberry32(seed);
  const rows: Row[] = [];
  const start = Date.UTC(2024, 0, 1);
  const strings = ["a", "b", "B", "é", "z", "😀", "\uffff", ""];
  for (let i = 0; i < n; i++) {
    const k = `e${Math.floor(rnd() * entities)}`;
    // Coarse instants (minutes, hours) make many duplicates; a gap in the middle of the span.
    let ts = start + Math.floor(rnd() * spanDays * 24) * HOUR + (rnd() < 0.3 ? Math.floor(rnd() * 3) * 60_000 : 0);
    if (ts > start + (spanDays / 2) * DAY && ts < start + (spanDays / 2 + 15) * DAY) ts += 40 * DAY;
    rows.push({
      id: `r${String(i).padStart(5, "0")}`,
      k,
      ts,
      x: rnd() < 0.2 ? null : x === "any" ? (rnd() - 0.3) * 10 ** Math.floor(rnd() * 8 - 3) : Math.round((rnd() - 0.3) * 400) / 4,
      y: Math.floor(rnd() * 2000) - 500,
      s: rnd() < 0.2 ? null : strings[Math.floor(rnd() * strings.length)],
    });
  }
  // Shuffle so peers arrive in arbitrary order.
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  return rows;
}

/** A computed value against the reference: ints exactly, floats to 1e-9 relative (summation order and exp differ in the last bits). */
export function close(a: unknown, b: V, type: IrType): boolean {
  if (typeof a === "bigint") a = Number(a);
  if (a === null || b === null) return a === b;
  if (typeof b === "number" && typeof a === "number") {
    if (type.base === "int") return a === b;
    return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) || Math.abs(a - b) <= 1e-12;
  }
  return a === b;
}

// ------------------------------------------------------------------ the group's SQL in DuckDB

/** The rows as table `events` and the view `__input` the group SQL reads. */
export async function loadRows(conn: DuckDBConnection, rows: Row[]): Promise<void> {
  await conn.run("DROP VIEW IF EXISTS __input");
  await conn.run("DROP TABLE IF EXISTS events");
  await conn.run("CREATE TABLE events (id VARCHAR, k VARCHAR, ts TIMESTAMP, x DOUBLE, y BIGINT, s VARCHAR)");
  const lit = (r: Row) =>
    `(${sqlStringLiteral(r.id)}, ${sqlStringLiteral(r.k)}, epoch_ms(CAST(${r.ts} AS BIGINT)), ${r.x === null ? "NULL" : sqlDoubleLiteral(r.x)}, ${r.y}, ${r.s === null ? "NULL" : sqlStringLiteral(r.s)})`;
  for (let i = 0; i < rows.length; i += 2000) {
    await conn.run(`INSERT INTO events VALUES ${rows.slice(i, i + 2000).map(lit).join(", ")}`);
  }
  await conn.run("CREATE VIEW __input AS SELECT * FROM events");
}

/** The group's SQL over `__input`: its rows by row id (the column names checked). */
export async function runGroupSql(conn: DuckDBConnection, group: IrGroup, spec: IrSpec): Promise<Map<string, Record<string, unknown>>> {
  const sql = groupToSql(group, spec);
  const reader = await conn.runAndReadAll(sql);
  const names = reader.columnNames();
  const expected = ["k", "event_time", "id", ...group.features.map((f) => f.name)];
  if (JSON.stringify(names) !== JSON.stringify(expected)) throw new Error(`SQL columns ${names.join(", ")}, expected ${expected.join(", ")}`);
  const out = new Map<string, Record<string, unknown>>();
  for (const r of reader.getRowObjectsJS()) out.set(r.id as string, r as Record<string, unknown>);
  return out;
}
