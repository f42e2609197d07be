// The pieces of the column-wise batch inference path: reading the joined
// features (NaN-free float columns as NullableFloats, everything else as the
// training frame reads it; every spine row exactly once), the ODTs over
// columns, and predictColumns = predictRows. End-to-end batch = one-row
// equivalence is in train-predict.test.ts.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OdtPlan, Scalar, ViewPlan } from "../runtime/api.ts";
import { UserError } from "../runtime/errors.ts";
import { NullableFloats, valueAt } from "../runtime/retrieval/columns.ts";
import { spineFromFile } from "../runtime/retrieval/entity-spine.ts";
import { featureBatches } from "../runtime/inference/feature-batches.ts";
import { addOdtColumns } from "../runtime/retrieval/odt-columns.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import type { PitJoinResult } from "../runtime/retrieval/pit.ts";
import { input, model, userView } from "./helpers/model-bundles.ts";
import { writeBatchOutput } from "../runtime/inference/batch-output.ts";
import type { Predictor } from "../runtime/inference/predictor.ts";

let store: Store;
let dir: string;
beforeAll(async () => {
  store = await openStore({ path: ":memory:" });
  dir = mkdtempSync(join(tmpdir(), "fti-batch-"));
});
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const view: ViewPlan = { ...userView, requestFields: [{ name: "amount", type: "float", nullable: false }] };

function joinedOf(table: string): PitJoinResult {
  return {
    table,
    n: 0,
    groups: ["user_stats"],
    joins: [],
    features: [
      { name: "x1", type: "float", group: "user_stats" },
      { name: "x2", type: "float", group: "user_stats" },
      { name: "cat", type: "string", group: "user_stats" },
    ],
  };
}

/** A joined table as pitJoin leaves it, rows deliberately not in __sid order. */
async function makeJoined(table: string, rows: Array<[number, number | null, number | null, string | null, number]>): Promise<void> {
  await store.run(`CREATE OR REPLACE TABLE ${table} (__sid BIGINT, user_id VARCHAR, x1 DOUBLE, x2 DOUBLE, cat VARCHAR, amount DOUBLE)`);
  await store.appendRows(
    table,
    ["__sid", "user_id", "x1", "x2", "cat", "amount"],
    rows.map(([sid, x1, x2, cat, amount]) => [sid, `u${sid}`, x1, x2, cat, amount]),
  );
}

const plain = (c: unknown, n: number): Scalar[] => Array.from({ length: n }, (_, i) => valueAt(c as NullableFloats, i));

describe("featureBatches", () => {
  it("reads NaN-free float columns unboxed (NULL → null) and keeps a column with NaN values exact", async () => {
    await makeJoined("j1", [
      [3, 4.5, NaN, "c", 1],
      [0, 1.5, 2, "a", 10],
      [2, null, null, null, 3],
      [1, -0.25, 7, "b", 2],
    ]);
    const batches = await featureBatches(store, view, joinedOf("j1"), 4);
    expect(batches.names).toEqual(["x1", "x2", "cat", "amount"]);
    // x2 holds a NaN: NaN and NULL must stay apart (impute replaces null, not NaN)
    expect(batches.floats).toEqual(["x1", "amount"]);

    const first = await batches.read(0, 3);
    expect(first.x1).toBeInstanceOf(NullableFloats);
    expect(plain(first.x1, 3)).toEqual([1.5, -0.25, null]);
    expect(first.x2).toEqual([2, 7, null]);
    expect(first.cat).toEqual(["a", "b", null]);
    expect(plain(first.amount, 3)).toEqual([10, 2, 3]);

    const last = await batches.read(3, 4);
    expect(plain(last.x1, 1)).toEqual([4.5]);
    expect(Number.isNaN((last.x2 as Scalar[])[0])).toBe(true);
  });

  it("refuses a join that lost or doubled a spine row", async () => {
    await makeJoined("j2", [
      [0, 1, 1, "a", 1],
      [1, 2, 2, "b", 1],
      [1, 2, 2, "b", 1],
    ]);
    const readAll = async (n: number, size: number) => {
      const seen: number[] = [];
      await (await featureBatches(store, view, joinedOf("j2"), n)).readAll(size, (_, from, m) => void seen.push(from, m));
      return seen;
    };
    for (const size of [1, 2, 3]) {
      await expect(readAll(3, size)).rejects.toThrow(/lost or doubled a row: spine row 1 twice \(3 spine rows\)/);
      await expect(readAll(4, size)).rejects.toThrow(/lost or doubled a row: spine row 1 twice \(4 spine rows\)/);
    }
    await expect((await featureBatches(store, view, joinedOf("j2"), 3)).read(1, 2)).rejects.toThrow(/read 2 rows for spine rows 1\.\.1/);
    // a lost row: ids 0, 2
    await makeJoined("j3", [
      [0, 1, 1, "a", 1],
      [2, 2, 2, "b", 1],
    ]);
    await expect((await featureBatches(store, view, joinedOf("j3"), 3)).readAll(2, () => undefined)).rejects.toThrow(
      /read 2 rows for 3 spine rows/,
    );
    // a row beyond the spine: every batch scored, then refused
    await makeJoined("j4", [
      [0, 1, 1, "a", 1],
      [1, 2, 2, "b", 1],
    ]);
    await expect((await featureBatches(store, view, joinedOf("j4"), 1)).readAll(1, () => undefined)).rejects.toThrow(
      /spine row 1 is not one of the 1 spine rows/,
    );
  });

  it("reads every row once in the table's storage order with its __sid, in batches of exactly the size asked (the last shorter)", async () => {
    const rows: Array<[number, number | null, number | null, string | null, number]> = [];
    for (let i = 0; i < 5000; i++) rows.push([(i * 7919) % 5000, i % 13 === 0 ? null : i / 4, i % 11 === 0 ? NaN : i, i % 17 === 0 ? null : `c${i % 5}`, i]);
    await makeJoined("j5", rows);
    const batches = await featureBatches(store, view, joinedOf("j5"), 5000);
    const whole = await batches.read(0, 5000);
    for (const size of [1, 999, 2048, 4999, 5000, 9000]) {
      const seen: Array<[number, number]> = [];
      const cols: Record<string, Scalar[]> = { x1: [], x2: [], cat: [], amount: [] };
      const order: number[] = [];
      await batches.readAll(size, (c, at, m, sids) => {
        seen.push([at, m]);
        expect(sids.length).toBe(m);
        // each value placed at its spine row
        for (let i = 0; i < m; i++) {
          order.push(sids[i]);
          for (const name of Object.keys(cols)) cols[name][sids[i]] = valueAt(c[name], i);
        }
      });
      const expected = Array.from({ length: Math.ceil(5000 / size) }, (_, k) => [k * size, Math.min(size, 5000 - k * size)]);
      expect(seen).toEqual(expected);
      expect(order).toEqual(rows.map((r) => r[0])); // the storage order: no sort
      for (const name of Object.keys(cols)) expect(cols[name]).toEqual(plain(whole[name], 5000));
    }
  });
});

describe("writeBatchOutput", () => {
  it("pairs the scores with the joined rows by position, and fails rather than write a score on another row", async () => {
    const asOf = new Date("2025-12-15T00:00:00Z");
    const file = join(dir, "out-entities.csv");
    writeFileSync(file, "user_id,amount\nu1,1\nu2,2\nu3,3\n");
    const spine = await spineFromFile(store, view, file, { asOf });
    const plan = model("m", [input("x1")]);
    const predictor = { model: "m", version: 1 } as Predictor;
    // the joined table in an order of its own; the scores appended in that same order
    await store.run(`CREATE OR REPLACE TEMP TABLE wj AS SELECT s.*, s.amount * 10 AS x1 FROM ${spine.table} AS s ORDER BY __sid DESC`);
    const write = async (scores: string) => {
      await store.run(`CREATE OR REPLACE TEMP TABLE wp AS ${scores}`);
      const targets = { table: "out_m", rejectsTable: "out_m_rejects", replace: "as_of" as const };
      // in a transaction, as predictBatch writes
      await store.transaction(() => writeBatchOutput(store, view, plan, predictor, spine, { pred: "wp", joined: "wj", staged: [] }, targets));
      return store.all<{ user_id: string; prediction: number; input_x1: number }>(`SELECT user_id, prediction, input_x1 FROM out_m ORDER BY row_number`);
    };
    const inStorageOrder = `SELECT __sid, __sid * 100.0 AS prediction FROM wj`;
    expect(await write(inStorageOrder)).toEqual([
      { user_id: "u1", prediction: 0, input_x1: 10 },
      { user_id: "u2", prediction: 100, input_x1: 20 },
      { user_id: "u3", prediction: 200, input_x1: 30 },
    ]);
    // the scores in another order than the joined rows: refused, the table as it was
    await expect(write(`SELECT __sid, __sid * 100.0 AS prediction FROM wj ORDER BY __sid`)).rejects.toThrow(/out of step at spine row/);
    expect((await store.all(`SELECT * FROM out_m`)).length).toBe(3);
  });
});

describe("spineFromFile", () => {
  const asOf = new Date("2025-12-15T00:00:00Z");

  it("numbers the file's rows from 0, casts keys and request fields to their spec types, and sets the as-of time", async () => {
    const file = join(dir, "entities.csv");
    writeFileSync(file, "amount,user_id,extra\n2,7,x\n5,u01,y\n");
    const spine = await spineFromFile(store, view, file, { asOf });
    expect(spine.n).toBe(2);
    const rows = await store.all<{ __sid: number; user_id: string; __t: Date; amount: number }>(
      `SELECT * FROM ${spine.table} ORDER BY __sid`,
    );
    expect(rows.map((r) => [r.__sid, r.user_id, r.__t.getTime(), r.amount])).toEqual([
      [0, "7", asOf.getTime(), 2],
      [1, "u01", asOf.getTime(), 5],
    ]);
  });

  it("numbers a Parquet file's rows by their position in it, over many row groups; a file with a file_row_number column too", async () => {
    for (const extra of ["", ", i * 3 AS file_row_number"]) {
      const file = join(dir, `entities${extra ? "-frn" : ""}.parquet`);
      // 20,000 rows in 20 row groups, in an order no column sorts by: pos is each row's position
      await store.run(
        `COPY (SELECT i AS pos, 'u' || (hash(i) % 997) AS user_id, (hash(i, 2) % 100) / 4.0 AS amount${extra}
                 FROM range(20000) AS t(i) ORDER BY i) TO '${file}' (FORMAT parquet, ROW_GROUP_SIZE 1000)`,
      );
      const spine = await store.transaction(() => spineFromFile(store, view, file, { asOf }));
      expect(spine.n).toBe(20000);
      const [bad] = await store.all<{ n: number }>(
        `SELECT count(*)::DOUBLE AS n FROM ${spine.input.table} AS i JOIN ${spine.table} AS s ON s.__row = i.__row
          WHERE i.__row <> i.pos + 1 OR s.__sid <> i.pos OR s.user_id <> i.user_id`,
      );
      expect(bad.n).toBe(0);
      expect(spine.input.columns).toEqual(["pos", "user_id", "amount", ...(extra ? ["file_row_number"] : [])]);
      const [frn] = await store.all<{ n: number }>(extra ? `SELECT count(*)::DOUBLE AS n FROM ${spine.input.table} WHERE file_row_number <> pos * 3` : `SELECT 0::DOUBLE AS n`);
      expect(frn.n).toBe(0);
    }
  });

  it("keeps a row whose key or request field is null or does not convert out of the spine, with the reason online gives", async () => {
    const file = join(dir, "bad-amount.csv");
    writeFileSync(file, "user_id,amount,note\nu01,2,a\nu02,lots,b\n,3,c\nu04,,d\nu05,4,e\n");
    const spine = await spineFromFile(store, view, file, { asOf });
    expect(spine.n).toBe(2);
    expect(spine.input.columns).toEqual(["user_id", "amount", "note"]);
    const kept = await store.all<{ __sid: number; __row: number; user_id: string }>(`SELECT __sid, __row, user_id FROM ${spine.table} ORDER BY __sid`);
    expect(kept.map((r) => [r.__sid, r.__row, r.user_id])).toEqual([[0, 1, "u01"], [1, 5, "u05"]]);
    const bad = await store.all<{ __row: number; status: number; fields: string[]; reason: string }>(
      `SELECT __row, status, fields, reason FROM ${spine.invalid.table} ORDER BY __row`,
    );
    expect(bad.map((r) => [r.__row, r.status, r.fields])).toEqual([[2, 400, ["amount"]], [3, 400, ["user_id"]], [4, 400, ["amount"]]]);
    expect(bad[0].reason).toBe("`amount` = 'lots' is not a float");
    expect(bad[1].reason).toBe("`user_id` is null; the request needs a string");
  });

  it("a row failing several checks is one reject listing each field and reason; non-finite floats are rejects", async () => {
    const file = join(dir, "bad-several.csv");
    writeFileSync(file, "user_id,amount\n,nan\nu02,2\nu03,inf\n,\nu05,-inf\nu06,3\n");
    const spine = await spineFromFile(store, view, file, { asOf });
    const kept = await store.all<{ __sid: number; __row: number }>(`SELECT __sid, __row FROM ${spine.table} ORDER BY __sid`);
    expect(kept.map((r) => [r.__sid, r.__row])).toEqual([[0, 2], [1, 6]]);
    expect(spine.n).toBe(2);
    const bad = await store.all<{ __row: number; fields: string[]; reason: string }>(`SELECT __row, fields, reason FROM ${spine.invalid.table} ORDER BY __row`);
    expect(spine.invalid.n).toBe(4);
    expect(bad.map((r) => [r.__row, r.fields, r.reason])).toEqual([
      [1, ["user_id", "amount"], "`user_id` is null; the request needs a string; `amount` = nan is not a finite number"],
      [3, ["amount"], "`amount` = inf is not a finite number"],
      [4, ["user_id", "amount"], "`user_id` is null; the request needs a string; `amount` is null; the request needs a float"],
      [5, ["amount"], "`amount` = -inf is not a finite number"],
    ]);
  });

  it("reads each row's time from the time column; an unreadable time is a reject", async () => {
    const file = join(dir, "timed.csv");
    writeFileSync(file, "at,user_id,amount\n2025-03-01T10:00:00Z,u01,1\nsoon,u02,2\n2025-03-02 00:00:00+02:00,u03,3\n");
    const spine = await spineFromFile(store, view, file, { asOf, timeColumn: "at" });
    const rows = await store.all<{ user_id: string; __t: Date }>(`SELECT user_id, __t FROM ${spine.table} ORDER BY __sid`);
    expect(rows.map((r) => [r.user_id, r.__t.toISOString()])).toEqual([
      ["u01", "2025-03-01T10:00:00.000Z"],
      ["u03", "2025-03-01T22:00:00.000Z"],
    ]);
    const [bad] = await store.all<{ __row: number; reason: string }>(`SELECT __row, reason FROM ${spine.invalid.table}`);
    expect(bad).toEqual({ __row: 2, reason: "the time column `at` = 'soon' is not a timestamp" });
  });

  it("an infinite time (`infinity`, `-infinity`) or one past the year 9999 is a reject, not an as-of time, from text and from a typed timestamp column", async () => {
    const csv = join(dir, "timed-infinite.csv");
    writeFileSync(csv, "at,user_id,amount\n2025-03-01T10:00:00Z,u01,1\ninfinity,u02,2\n-infinity,u03,3\n20000-01-01 00:00:00,u04,4\n");
    const parquet = join(dir, "timed-infinite.parquet");
    await store.run(
      `COPY (SELECT * FROM (VALUES (TIMESTAMP '2025-03-01 10:00:00', 'u01', 1.0), ('infinity'::TIMESTAMP, 'u02', 2.0), ('-infinity'::TIMESTAMP, 'u03', 3.0), (TIMESTAMP '20000-01-01 00:00:00', 'u04', 4.0)) t("at", user_id, amount)) TO '${parquet}' (FORMAT parquet)`,
    );
    // The csv's column reads as TIMESTAMP WITH TIME ZONE (its first row ends in Z): a reason shows the value as read.
    for (const [file, year20000] of [[csv, "20000-01-01 00:00:00+00"], [parquet, "20000-01-01 00:00:00"]]) {
      const spine = await spineFromFile(store, view, file, { asOf, timeColumn: "at" });
      const rows = await store.all<{ user_id: string }>(`SELECT user_id FROM ${spine.table} ORDER BY __sid`);
      expect(rows.map((r) => r.user_id)).toEqual(["u01"]);
      const bad = await store.all<{ __row: number; fields: string[]; reason: string }>(`SELECT __row, fields, reason FROM ${spine.invalid.table} ORDER BY __row`);
      expect(bad.map((r) => [r.__row, r.fields, r.reason])).toEqual([
        [2, ["at"], "the time column `at` = 'infinity' is not a finite time"],
        [3, ["at"], "the time column `at` = '-infinity' is not a finite time"],
        [4, ["at"], `the time column \`at\` = '${year20000}' is outside the years 1 to 9999`],
      ]);
    }
  });

  it("a timestamp request field that is infinite or past the year 9999 is a reject, as the online request schema refuses it", async () => {
    const timed: ViewPlan = { ...userView, requestFields: [{ name: "since", type: "timestamp", nullable: false }] };
    const file = join(dir, "field-infinite.csv");
    writeFileSync(file, "user_id,since\nu01,2025-03-01 10:00:00\nu02,infinity\nu03,20000-01-01 00:00:00\n");
    const spine = await spineFromFile(store, timed, file, { asOf });
    expect((await store.all<{ user_id: string }>(`SELECT user_id FROM ${spine.table}`)).map((r) => r.user_id)).toEqual(["u01"]);
    const bad = await store.all<{ __row: number; fields: string[]; reason: string }>(`SELECT __row, fields, reason FROM ${spine.invalid.table} ORDER BY __row`);
    expect(bad.map((r) => [r.__row, r.fields, r.reason])).toEqual([
      [2, ["since"], "`since` = 'infinity' is not a finite time"],
      // The value as DuckDB read the column (its sniffer may take it WITH TIME ZONE: +00).
      [3, ["since"], expect.stringMatching(/^`since` = '20000-01-01 00:00:00(\+00)?' is outside the years 1 to 9999$/)],
    ]);
    const { requestTimestamp } = await import("../runtime/timestamp-text.ts");
    for (const text of ["infinity", "20000-01-01T00:00:00Z"]) expect(requestTimestamp().safeParse(text).success, text).toBe(false);
  });

  it("refuses a file whose columns clash with the output's", async () => {
    const file = join(dir, "clash.csv");
    writeFileSync(file, "user_id,amount,prediction\nu01,2,1\n");
    const e = await spineFromFile(store, view, file, { asOf }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toContain("`prediction`");
  });
});

describe("addOdtColumns", () => {
  const odt: OdtPlan = {
    name: "boost",
    line: 1,
    requestParams: [{ name: "amount", type: "float", nullable: false }],
    featureParams: ["user_stats.x1"],
    returns: { name: "boost", type: "float", nullable: true },
    compute: (req, f) => {
      if (req.amount === 13) throw new Error("unlucky");
      return req.amount === null || f.x1 === null ? null : (req.amount as number) * (f.x1 as number);
    },
  };

  it("computes the generated function per row, null for missing inputs, reading group.feature as feature", () => {
    const columns: Record<string, ArrayLike<Scalar> | NullableFloats> = {
      amount: [2, null, 3],
      x1: new NullableFloats(Float64Array.from([1.5, 2, NaN])),
    };
    addOdtColumns([odt], columns, 3);
    expect(columns.boost).toEqual([3, null, null]);
  });

  it("names the failing row by its position in the whole run", () => {
    const columns = { amount: [1, 13], x1: [1, 1] };
    expect(() => addOdtColumns([odt], columns, 2, 100)).toThrow(/on_demand `boost` failed on row 101 .*unlucky/);
  });
});
