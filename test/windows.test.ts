// Windowed features: groupToSql in DuckDB against a brute-force TS
// implementation of the semantics in compiler/lower/CONTEXT.md, on random
// multi-entity events (duplicate timestamps, nulls, gaps, years of data).

import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IrExpr, IrFeature, IrGroup } from "../compiler/ir.ts";
import { groupToSql } from "../compiler/lower/group-sql.ts";
import { mulberry32 } from "../runtime/random.ts";
import { close, col, DAY, everyAggregation, HOUR, loadRows, makeSpec, randomRows, reference, row, runGroupSql, T, win, type Row, type V } from "./helpers/window-reference.ts";

// ------------------------------------------------------------------ running it in DuckDB

let instance: DuckDBInstance;
let conn: DuckDBConnection;

beforeAll(async () => {
  instance = await DuckDBInstance.create(":memory:");
  conn = await instance.connect();
});
afterAll(() => {
  conn?.closeSync();
});

function compare(rows: Row[], group: IrGroup, got: Map<string, Record<string, unknown>>, want: Map<string, Record<string, V>>): number {
  expect(got.size).toBe(rows.length);
  let checked = 0;
  for (const r of rows) {
    const g = got.get(r.id)!;
    expect(g.k).toBe(r.k);
    expect((g.event_time as Date).getTime()).toBe(r.ts);
    for (const f of group.features) {
      const w = want.get(r.id)![f.name];
      if (!close(g[f.name], w, f.type)) {
        throw new Error(`row ${r.id} (k=${r.k}, t=${new Date(r.ts).toISOString()}) feature ${f.name}: SQL ${String(g[f.name])} vs reference ${String(w)}`);
      }
      checked++;
    }
  }
  return checked;
}

// ------------------------------------------------------------------ tests

const X = col("x", T("float", true));
const Y = col("y", T("int"));
const S = col("s", T("string", true));

describe("groupToSql windows match the brute-force reference", () => {
  it("for every aggregation, a row feature after a window, and windows over row features", async () => {
    const rows = randomRows(7, 1200, 6, 120);
    await loadRows(conn, rows);
    const features = everyAggregation();
    features.push(win("max_form_6d", "max", col("form", T("float", true)), 6 * DAY));
    features.push(row("n_plus", { k: "binary", op: "+", left: col("n_3d", T("int")), right: col("max_form_6d", T("float", true)), type: T("float", true) }));
    const { spec, group } = makeSpec(features);
    const got = await runGroupSql(conn, group, spec);
    const checked = compare(rows, group, got, reference(rows, features));
    expect(checked).toBe(rows.length * features.length);
  }, 20_000);

  it("for a group over another group's table (event_time column)", async () => {
    const rows = randomRows(11, 600, 3, 60);
    await loadRows(conn, rows);
    await conn.run("DROP VIEW __input");
    await conn.run("CREATE VIEW __input AS SELECT id, k, ts AS event_time, x, y, s FROM events");
    const features = [win("avg_x_1d", "avg", X, DAY), win("ewma_x_2d", "ewma", X, 2 * DAY), win("n_7d", "count", null, 7 * DAY)];
    const { spec, group } = makeSpec(features, { kind: "group", name: "upstream" });
    const got = await runGroupSql(conn, group, spec);
    compare(rows, group, got, reference(rows, features));
  });

  it("ewma stays exact over years of data with tau = 12h (gaps, nulls, bursts)", async () => {
    const rnd = mulberry32(99);
    const rows: Row[] = [];
    let t = Date.UTC(2015, 0, 1);
    for (let i = 0; i < 3000; i++) {
      // Mostly ~12h apart, sometimes bursts at one instant, sometimes gaps of months.
      const r = rnd();
      t += r < 0.1 ? 0 : r < 0.13 ? Math.floor(rnd() * 200) * DAY : Math.floor(rnd() * 24) * HOUR;
      rows.push({ id: `r${String(i).padStart(5, "0")}`, k: "solo", ts: t, x: rnd() < 0.15 ? null : Math.round(rnd() * 800) / 4, y: i, s: null });
    }
    expect(rows[rows.length - 1].ts - rows[0].ts).toBeGreaterThan(5 * 365 * DAY);
    await loadRows(conn, rows);
    const features = [win("ewma_12h", "ewma", X, 12 * HOUR), win("ewma_1h", "ewma", X, HOUR), win("ewma_y_12h", "ewma", Y, 12 * HOUR)];
    const { spec, group } = makeSpec(features);
    let t0 = performance.now();
    const got = await runGroupSql(conn, group, spec);
    if (process.env.FTI_STATS) console.log("sql ms", performance.now() - t0);
    t0 = performance.now();
    const want = reference(rows, features);
    if (process.env.FTI_STATS) console.log("ref ms", performance.now() - t0);
    compare(rows, group, got, want);
  }, 20_000);

  it("lets a feature shadow an input column (later features read the feature)", async () => {
    const rows = randomRows(5, 300, 3, 20);
    await loadRows(conn, rows);
    const x2: IrExpr = { k: "binary", op: "*", left: X, right: { k: "lit", type: T("float"), value: 2 }, type: T("float", true) };
    const features = [row("x", x2), win("sx", "sum", X, DAY), win("ex", "ewma", X, HOUR)];
    const { spec, group } = makeSpec(features);
    const got = await runGroupSql(conn, group, spec);
    compare(rows, group, got, reference(rows, features));
  });

  it("returns the columns in order with the declared types", async () => {
    const rows = randomRows(3, 50, 2, 10);
    await loadRows(conn, rows);
    const features = [win("n", "count", null, DAY), win("sy", "sum", Y, DAY), win("ax", "avg", X, DAY), row("flag", { k: "binary", op: ">", left: Y, right: { k: "lit", type: T("int"), value: 0 }, type: T("bool") })];
    const { spec, group } = makeSpec(features);
    const sql = groupToSql(group, spec);
    const d = (await conn.runAndReadAll(`DESCRIBE ${sql}`)).getRowObjectsJS();
    expect(d.map((r) => [r.column_name, r.column_type])).toEqual([
      ["k", "VARCHAR"],
      ["event_time", "TIMESTAMP"],
      ["id", "VARCHAR"],
      ["n", "BIGINT"],
      ["sy", "BIGINT"],
      ["ax", "DOUBLE"],
      ["flag", "BOOLEAN"],
    ]);
  });
});
