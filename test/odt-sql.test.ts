// An ODT's SQL form (compiler/lower/odt-sql.ts, run by the training-data
// export as a DuckDB macro) against its generated TypeScript (the transforms.ts
// function and the view plan's `compute` wrapper, emitted by the real
// emitter code and run through the export's JS path, a chunk-wise scalar
// function): random ODT bodies over random and edge rows must give the same
// bits — every double compared with Object.is (so -0 and NaN count), ints,
// strings, bools and timestamps (to the microsecond) exactly.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IrExpr, IrOdt, IrType } from "../compiler/ir.ts";
import { odtToSql } from "../compiler/lower/odt-sql.ts";
import { quoteIdent, sqlType } from "../compiler/lower/sql.ts";
import { columnType } from "../compiler/emit/names.ts";
import { exprNodes } from "../compiler/ir-walk.ts";
import type { OdtPlan, ViewPlan } from "../runtime/api.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { odtCalls, type OdtInput } from "../runtime/retrieval/odt-sql.ts";
import { exportTrainingData } from "../runtime/retrieval/export.ts";
import { buildTrainingFrame } from "../runtime/retrieval/pit.ts";
import { columnValues } from "../runtime/retrieval/columns.ts";
import { join } from "node:path";
import { pitBundle, tempDir } from "./helpers/bundles.ts";
import { odtPlanFromIr } from "./helpers/odt-plan.ts";
import { COLS, FUNCTIONS, Gen, randomValue, Rng, sqlValue, T, type Base } from "./helpers/expr-gen.ts";

const SEED = Number(process.env.FTI_SEED ?? 20261207);
const N_RANDOM_ROWS = 48;
const N_ODTS = 240;

let store: Store;
beforeAll(async () => {
  store = await openStore({ path: ":memory:" });
});
afterAll(async () => {
  await store?.close();
});

/** A random ODT: a random body over COLS, each column read becoming a parameter (a request field, or a feature when the column is nullable). */
function randomOdt(gen: Gen, rng: Rng, i: number, base: Base): IrOdt {
  const body = gen.gen(base, rng.int(1, 4));
  const used = [...new Set([...exprNodes(body)].flatMap((e) => (e.k === "col" ? [e.name] : [])))];
  const asFeature = new Set(used.filter((name) => COLS.find((c) => c.name === name)!.type.nullable && rng.chance(0.5)));
  const param = (name: string) => ({ name, type: COLS.find((c) => c.name === name)!.type });
  const toParams = (e: IrExpr): IrExpr => {
    if (e.k === "col") return { k: "param", name: e.name, type: e.type };
    const copy = { ...e } as Record<string, unknown>;
    for (const [k, v] of Object.entries(e)) {
      if (Array.isArray(v)) copy[k] = v.map((x) => (x && typeof x === "object" && "k" in x ? toParams(x as IrExpr) : x));
      else if (v && typeof v === "object" && "k" in v) copy[k] = toParams(v as IrExpr);
    }
    return copy as unknown as IrExpr;
  };
  // An int body declared float sometimes (the widening the checker allows).
  const returns: IrType = body.type.base === "int" && rng.chance(0.3) ? T("float", true) : { ...body.type, nullable: true };
  return {
    name: `o${i}`,
    loc: { line: 1, column: 1 },
    requestParams: used.filter((n) => !asFeature.has(n)).map(param),
    featureParams: [...asFeature].map((n) => ({ ...param(n), group: "g" })),
    returns,
    body: toParams(body),
  };
}

/** Edge rows: every column null; signed zeros, huge, tiny and integral doubles; ints at ±2^53 − 1; timestamps with microseconds, before 1970 too. */
function edgeRows(): string[] {
  const nulls = COLS.map((c) => `CAST(NULL AS ${sqlType(c.type)})`);
  const row = (v: Record<string, string>) => COLS.map((c, j) => v[c.type.base] ?? nulls[j]);
  return [
    nulls,
    row({ int: "9007199254740991", float: "(-0e0)", bool: "TRUE", string: "''", timestamp: "TIMESTAMP '1969-12-31 23:59:59.999501'" }),
    row({ int: "(-9007199254740991)", float: "1.7976931348623157e308", bool: "FALSE", string: "'ǅ'", timestamp: "TIMESTAMP '1970-01-01 00:00:00.000999'" }),
    row({ int: "0", float: "5e-324", string: "'😀'", timestamp: "TIMESTAMP '2026-12-07 03:04:05.678901'" }),
    row({ int: "(-1)", float: "(-2.5e0)", timestamp: "TIMESTAMP '1900-02-28 23:59:59.999999'" }),
    row({ int: "4503599627370497", float: "4.5035996273704985e15", timestamp: "TIMESTAMP '2262-04-11 23:47:16.854775'" }),
  ].map((values, k) => `(${1000 + k}, ${values.join(", ")})`);
}

describe("an ODT's SQL form and its generated TypeScript give the same bits", () => {
  it("on random bodies over random and edge rows", async () => {
    const rng = new Rng(SEED);
    const gen = new Gen(rng);
    const rows = Array.from({ length: N_RANDOM_ROWS }, () => Object.fromEntries(COLS.map((c) => [c.name, randomValue(rng, c.type)])));
    await store.run(`CREATE OR REPLACE TABLE t (id INTEGER, ${COLS.map((c) => `${quoteIdent(c.name)} ${sqlType(c.type)}`).join(", ")})`);
    const values = [...rows.map((r, i) => `(${i}, ${COLS.map((c) => sqlValue(r[c.name], c.type)).join(", ")})`), ...edgeRows()];
    await store.run(`INSERT INTO t VALUES ${values.join(",\n")}`);

    const bases: Base[] = ["int", "float", "float", "bool", "string", "timestamp"];
    const odts = Array.from({ length: N_ODTS }, (_, i) => randomOdt(gen, rng, i, bases[i % bases.length]));
    const plans = odts.map((o) => odtPlanFromIr(o, FUNCTIONS));
    const lowered = plans.filter((p) => p.sql);
    // Most bodies have an exact form; the rest (libm) must say why.
    expect(lowered.length).toBeGreaterThan(N_ODTS * 0.6);
    for (const o of odts) if (!plans.find((p) => p.name === o.name)!.sql) expect(odtToSql(o, FUNCTIONS)).toHaveProperty("reason");

    const view = { name: "v", odts: lowered } as unknown as ViewPlan;
    const inputs = new Map<string, OdtInput>(COLS.map((c) => [c.name, { type: columnType(c.type), expr: `t.${quoteIdent(c.name)}` }]));
    const js = await odtCalls(store, view, inputs, "js");
    const sql = await odtCalls(store, view, inputs, "auto");
    expect(sql.every((c, i) => c.sql !== js[i].sql)).toBe(true);
    // Timestamps compared to the microsecond.
    const out = (call: string, odt: OdtPlan) => (odt.returns.type === "timestamp" ? `epoch_us(${call})` : call);
    const BATCH = 40;
    let compared = 0;
    let nonNull = 0;
    for (let start = 0; start < lowered.length; start += BATCH) {
      const idx = lowered.map((_, i) => i).slice(start, start + BATCH);
      const cols = idx.flatMap((i) => [`${out(js[i].sql, lowered[i])} AS j${i}`, `${out(sql[i].sql, lowered[i])} AS s${i}`]);
      const result = await store.all<Record<string, unknown>>(`SELECT id, ${cols.join(", ")} FROM t ORDER BY id`);
      for (const i of idx) {
        for (const r of result) {
          const a = r[`j${i}`];
          const b = r[`s${i}`];
          if (!Object.is(a, b)) {
            const odt = odts.find((o) => o.name === lowered[i].name)!;
            const show = (v: unknown) => (Object.is(v, -0) ? "-0" : `${typeof v} ${String(v)}`);
            throw new Error(`${odt.name} row ${r.id}: JS ${show(a)} vs SQL ${show(b)}\nbody: ${JSON.stringify(odt.body)}\nSQL: ${lowered[i].sql!.body}`);
          }
          if (a !== null) nonNull++;
          compared++;
        }
      }
    }
    expect(compared).toBe(lowered.length * values.length);
    // Not a comparison of nulls: most values are real.
    expect(nonNull).toBeGreaterThan(compared * 0.4);
  }, 60_000);
});

describe("the training-data export computes ODTs with an exact SQL form in DuckDB", () => {
  const F = (base: "int" | "float" | "timestamp", nullable: boolean): IrType => T(base, nullable);
  const p = (name: string, type: IrType): IrExpr => ({ k: "param", name, type });
  const lit = (value: number, base: "int" | "float" = "float"): IrExpr => ({ k: "lit", value, type: T(base) });
  const amount = p("amount", F("float", false));
  const f1 = p("f1", F("float", true));
  const f2 = p("f2", F("int", true));
  const ts = p("ts", F("timestamp", false));
  const odt = (name: string, body: IrExpr, returns: IrType, request: string[], features: string[]): IrOdt => {
    const types: Record<string, IrType> = { amount: amount.type, f1: f1.type, f2: f2.type, ts: ts.type };
    return {
      name,
      loc: { line: 1, column: 1 },
      requestParams: request.map((n) => ({ name: n, type: types[n] })),
      featureParams: features.map((n) => ({ name: n, group: "g", type: types[n] })),
      returns,
      body,
    };
  };
  // (amount - f1) / f1; f2 % 3 as a float (-0 for negative multiples in JS before i64); hour(ts) * 100 + minute-free
  // parts of the request's timestamp, cut to the millisecond; exp(f1 / 100): libm, so the JS path.
  const IR_ODTS: IrOdt[] = [
    odt("gap", { k: "binary", op: "/", left: { k: "binary", op: "-", left: amount, right: f1, type: F("float", true) }, right: f1, type: F("float", true) }, F("float", true), ["amount"], ["f1"]),
    odt("f2_mod", { k: "binary", op: "%", left: { k: "unary", op: "neg", arg: f2, type: F("int", true) }, right: lit(3, "int"), type: F("int", true) }, F("float", true), [], ["f2"]),
    odt(
      "hour_code",
      { k: "binary", op: "+", left: { k: "binary", op: "*", left: { k: "builtin", name: "hour", args: [ts], type: T("int") }, right: lit(100, "int"), type: T("int") }, right: { k: "builtin", name: "day_of_week", args: [ts], type: T("int") }, type: T("int") },
      T("int", true),
      ["ts"],
      [],
    ),
    odt("ts_shift", { k: "binary", op: "+", left: ts, right: { k: "lit", value: 0.7, type: T("duration") }, type: T("timestamp") }, T("timestamp", true), ["ts"], []),
    odt("grow", { k: "builtin", name: "exp", args: [{ k: "binary", op: "/", left: f1, right: lit(100), type: F("float", true) }], type: F("float", true) }, F("float", true), [], ["f1"]),
  ];

  it("with the frame's values, and calls the JS function only for the others", async () => {
    await store.run(
      `CREATE OR REPLACE TABLE src_events AS SELECT 'u' || (hash(i, 1) % 30) AS user_id,
              TIMESTAMP '2026-01-01' + to_minutes(CAST(hash(i, 2) % 600 AS BIGINT)) + to_microseconds(CAST(hash(i, 13) % 1000000 AS BIGINT)) AS ts,
              CASE WHEN hash(i, 3) % 17 = 0 THEN NULL ELSE (hash(i, 4) % 1000) / 10.0 END AS y,
              (hash(i, 5) % 500) / 4.0 AS amount, TIMESTAMP '2026-02-01' AS ingested_at
         FROM range(12000) AS t(i)`,
    );
    await store.run(
      `CREATE OR REPLACE TABLE fg_g_v1 AS SELECT 'u' || (hash(i, 6) % 30) AS user_id,
              TIMESTAMP '2026-01-01' + to_minutes(CAST(hash(i, 7) % 600 AS BIGINT)) AS event_time, i AS rid,
              CASE WHEN hash(i, 8) % 5 = 0 THEN NULL WHEN hash(i, 8) % 5 = 1 THEN 0.0 ELSE (hash(i, 9) % 1000) / 8.0 END AS f1,
              CASE WHEN hash(i, 10) % 7 = 0 THEN NULL ELSE CAST(hash(i, 11) % 50 AS BIGINT) - 25 END AS f2,
              TIMESTAMP '2026-02-01' AS ingested_at
         FROM range(8000) AS t(i)`,
    );
    const bundle = pitBundle({ asOf: "strict", ttlMs: 2 * 3_600_000, rowId: true });
    const view = bundle.views[0];
    view.requestFields.push({ name: "ts", type: "timestamp", nullable: false });
    const calls = new Map<string, number>();
    view.odts = IR_ODTS.map((o) => {
      const plan = odtPlanFromIr(o);
      const compute = plan.compute;
      return { ...plan, compute: (r, f) => (calls.set(o.name, (calls.get(o.name) ?? 0) + 1), compute(r, f)) };
    });
    expect(view.odts.map((o) => o.sql !== undefined)).toEqual([true, true, true, true, false]);

    const frame = await buildTrainingFrame(store, bundle, "v");
    const read = async (file: string): Promise<Record<string, unknown[]>> => {
      const { columns } = await store.readColumns(`SELECT * FROM read_parquet('${file}')`, undefined, { timestamps: "ms" });
      return Object.fromEntries(Object.entries(columns).map(([k, c]) => [k, Array.from(c as ArrayLike<unknown>)]));
    };
    calls.clear();
    const dir = tempDir();
    expect(await exportTrainingData(store, bundle, "v", join(dir, "auto.parquet"))).toBe(frame.n);
    expect([...calls.keys()]).toEqual(["grow"]);
    const auto = await read(join(dir, "auto.parquet"));
    await exportTrainingData(store, bundle, "v", join(dir, "js.parquet"), { odts: "js" });
    const js = await read(join(dir, "js.parquet"));
    for (const o of IR_ODTS) {
      const want = columnValues(frame.columns[o.name]);
      // The frame reads a timestamp ODT as ISO text; the file as epoch ms.
      const got = o.returns.base === "timestamp" ? auto[o.name].map((v) => (v === null ? null : new Date(v as number).toISOString())) : auto[o.name];
      expect(got.map(bits), o.name).toEqual(want.map(bits));
      expect(auto[o.name].map(bits), o.name).toEqual(js[o.name].map(bits));
    }
    // The data reaches what the ODTs are about: nulls, zero divisors, negative multiples, both signs.
    const gap = columnValues(frame.columns.gap);
    expect(gap.filter((v) => v === null).length).toBeGreaterThan(500);
    expect(gap.filter((v) => v !== null).length).toBeGreaterThan(5000);
    expect(columnValues(frame.columns.f2_mod).filter((v) => Object.is(v, 0)).length).toBeGreaterThan(100);
  }, 60_000);
});

/** A value compared by its bits: -0 apart from 0, NaN equal to NaN. */
function bits(v: unknown): string {
  return Object.is(v, -0) ? "-0" : typeof v === "number" && Number.isNaN(v) ? "NaN" : JSON.stringify(v);
}
