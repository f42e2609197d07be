// A run's quarantine summarized by kind of reason: the kind is written beside
// each reason when the row is quarantined (values elided), so rows refused
// for the same rule group together whatever their values, duplicate or
// unreadable line included; a store made before the column existed gains it.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { quarantineReasons } from "../runtime/store/quarantine.ts";
import { openStore } from "../runtime/store/store.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";
import { ridesSpec, RIDE_FIELDS } from "./helpers/rides-spec.ts";

const spec = ridesSpec("rides.csv", [...RIDE_FIELDS, 'kind: string in ("road", "trail")']);

const csv = [
  "ride_id,rider,at,km,kind",
  "r1,ann,2024-01-02 10:00,10,road",
  "r2,ann,2024-01-03 10:00,-1,road", // check
  "r3,bob,2024-01-03 11:00,-7.5,trail", // check, another value
  "r4,bob,2024-01-03 12:00,0,gravel", // check and `in`: a kind of its own
  "r1,bob,2024-01-04 10:00,3,road", // duplicate
  "r5,bob,2024-01-04 11:00,3,road",
  "r5,ann,2024-01-04 12:00,4,road", // duplicate, another value
  "r6,ann,yesterday,4,road", // not a timestamp
  "r7,ann,2024-01-05 10:00,4,road,extra", // unreadable
  "r8,ann,2024-01-05 11:00,4,road,extra,more", // unreadable, other details
].join("\n");

const temps: TempSpec[] = [];
afterAll(() => temps.forEach((t) => t.cleanup()));

describe("a check calling a fn", () => {
  it("quarantines the rows it fails (sources were checked before fns, so the call had no signature and the check was dropped)", async () => {
    const fields = [...RIDE_FIELDS.slice(0, 3), "km: float check (plausible(km)) check (> 0)"];
    const text = `fn plausible(km: float): bool = km < 500\n\n${ridesSpec("rides.csv", fields)}`;
    const rides = ["ride_id,rider,at,km", "r1,ann,2024-01-02 10:00,10", "r2,ann,2024-01-03 10:00,900", "r3,bob,2024-01-03 11:00,-1"].join("\n");
    const t = await compileTempSpec({ "spec.fti": text, "rides.csv": rides });
    temps.push(t);
    const store = await openStore({ path: ":memory:" });
    try {
      const { runId } = await runFeaturePipeline(store, t.bundle);
      const reasons = await quarantineReasons(store, runId, 10);
      expect(reasons.map((r) => [r.example, r.rows]).sort()).toEqual([
        ["km: -1 fails check (> 0)", 1],
        ["km: 900 fails check (plausible(km))", 1],
      ]);
    } finally {
      await store.close();
    }
  });
});

describe("quarantine reasons by kind", () => {
  it("group rows refused by the same rules, whatever their values, with one full reason as the example", async () => {
    const t = await compileTempSpec({ "spec.fti": spec, "rides.csv": csv });
    temps.push(t);
    const store = await openStore({ path: ":memory:" });
    try {
      const { runId } = await runFeaturePipeline(store, t.bundle);
      const reasons = await quarantineReasons(store, runId, 10);
      expect(reasons.map((r) => [r.reason, r.rows])).toEqual([
        ["km: … fails check (> 0)", 2],
        ["ride_id: duplicate value", 2],
        ["unreadable line: more fields than the header", 2],
        ["at: … is not a timestamp", 1],
        ["kind: … not in (road, trail); km: … fails check (> 0)", 1],
      ]);
      const byKind = new Map(reasons.map((r) => [r.reason, r.example]));
      expect(byKind.get("km: … fails check (> 0)")).toBe("km: -1 fails check (> 0)");
      expect(byKind.get("ride_id: duplicate value")).toMatch(/^ride_id: duplicate value '(r1|r5)' \(first at row \d\)$/);
      expect(byKind.get("at: … is not a timestamp")).toBe("at: 'yesterday' is not a timestamp");
      expect((await quarantineReasons(store, runId, 2)).length).toBe(2);
    } finally {
      await store.close();
    }
  });

  it("a reason repeats at most 80 characters of a value, then its length (the row's JSON keeps it whole)", async () => {
    const long = "x".repeat(100_000);
    const t = await compileTempSpec({ "spec.fti": spec, "rides.csv": ["ride_id,rider,at,km,kind", `r1,ann,${long},10,road`, `r2,ann,2024-01-02 10:00,'${"y".repeat(90)},road`].join("\n") });
    temps.push(t);
    const store = await openStore({ path: ":memory:" });
    try {
      await runFeaturePipeline(store, t.bundle);
      const rows = await store.all<{ reason: string; row_json: string }>("SELECT reason, row_json FROM fti_quarantine ORDER BY row_number");
      expect(rows.map((r) => r.reason)).toEqual([
        `at: '${"x".repeat(80)}'… (100000 characters) is not a timestamp`,
        `km: '''${"y".repeat(79)}'… (91 characters) is not a float`,
      ]);
      expect(JSON.parse(rows[0].row_json).at).toBe(long);
    } finally {
      await store.close();
    }
  });

  it("an int beyond ±(2^53 − 1) is quarantined (fti holds ints as JS numbers: two such ids would be one key); the bounds themselves are kept", async () => {
    const ints = ridesSpec("rides.csv", [...RIDE_FIELDS, "laps: int"]);
    const rows = [
      ["r1", "9007199254740991"],
      ["r2", "-9007199254740991"],
      ["r3", "9007199254740992"],
      ["r4", "9007199254740993"],
      ["r5", "-9007199254740992"],
      ["r6", "-9223372036854775808"],
      ["r7", "9223372036854775807"],
    ];
    const t = await compileTempSpec({ "spec.fti": ints, "rides.csv": ["ride_id,rider,at,km,laps", ...rows.map(([id, laps], i) => `${id},ann,2024-01-0${i + 1} 10:00,5,${laps}`)].join("\n") });
    temps.push(t);
    const store = await openStore({ path: ":memory:" });
    try {
      const { runId } = await runFeaturePipeline(store, t.bundle);
      const kept = await store.all<{ ride_id: string; laps: number | bigint }>("SELECT ride_id, laps FROM src_rides ORDER BY ride_id");
      expect(kept.map((r) => [r.ride_id, String(r.laps)])).toEqual([["r1", "9007199254740991"], ["r2", "-9007199254740991"]]);
      const reasons = await quarantineReasons(store, runId, 10);
      expect(reasons.map((r) => [r.reason, r.rows])).toEqual([["laps: … is outside ±(2^53 − 1), where an int is exact in fti (declare the field string for larger ids)", 5]]);
    } finally {
      await store.close();
    }
  });

  it("a timestamp outside the years 1 to 9999 (infinity, year 294246, BC) is quarantined: a window over it overflowed DuckDB's microseconds (exit 3)", async () => {
    const rows = [
      ["r1", "2024-01-02 10:00"],
      ["r2", "infinity"],
      ["r3", "-infinity"],
      ["r4", "294246-01-01"],
      ["r5", "-290307-01-01"],
      ["r6", "10000-01-01"],
      ["r7", "0001-01-01"],
      ["r8", "9999-12-31 23:59:59"],
    ];
    const t = await compileTempSpec({ "spec.fti": spec.replace(/ {4}kind: .*\n/, ""), "rides.csv": ["ride_id,rider,at,km", ...rows.map(([id, at]) => `${id},ann,${at},5`)].join("\n") });
    temps.push(t);
    const store = await openStore({ path: ":memory:" });
    try {
      const { runId } = await runFeaturePipeline(store, t.bundle);
      const kept = await store.all<{ ride_id: string }>("SELECT ride_id FROM src_rides ORDER BY ride_id");
      expect(kept.map((r) => r.ride_id)).toEqual(["r1", "r7", "r8"]);
      const rows2 = await store.all<{ row_number: number | bigint; reason: string }>(`SELECT row_number, reason FROM fti_quarantine WHERE run_id = ? ORDER BY row_number`, [runId]);
      expect(rows2.map((r) => [Number(r.row_number), r.reason])).toEqual([
        [2, "at: infinity is outside the years 1 to 9999"],
        [3, "at: -infinity is outside the years 1 to 9999"],
        [4, "at: 294246-01-01 is outside the years 1 to 9999"],
        [5, "at: -290307-01-01 is outside the years 1 to 9999"],
        [6, "at: 10000-01-01 is outside the years 1 to 9999"],
      ]);
      const fg = await store.all<{ n: number | bigint }>("SELECT count(*) AS n FROM fg_riding_v1");
      expect(Number(fg[0].n)).toBe(3);
    } finally {
      await store.close();
    }
  });

  it("a file's own `rowid` column (read with `from`) hides nothing: read order, row numbers and the first of two duplicates stay the file's", async () => {
    const spec = ridesSpec("rides.csv", [...RIDE_FIELDS, 'row_id: int from "rowid"']);
    const csv = [
      "rowid,ride_id,rider,at,km",
      "100,r1,ann,2024-01-02 10:00,10",
      "7,r2,ann,2024-01-03 10:00,-1", // check: row 2
      "3,r1,bob,2024-01-04 10:00,3", // duplicate of row 1: the later one goes
      "0,r3,bob,2024-01-05 10:00,4",
    ].join("\n");
    const t = await compileTempSpec({ "spec.fti": spec, "rides.csv": csv });
    temps.push(t);
    const store = await openStore({ path: ":memory:" });
    try {
      const { runId } = await runFeaturePipeline(store, t.bundle);
      const kept = await store.all<{ ride_id: string; rider: string; row_id: number | bigint }>("SELECT ride_id, rider, row_id FROM src_rides ORDER BY ride_id");
      expect(kept.map((r) => [r.ride_id, r.rider, Number(r.row_id)])).toEqual([["r1", "ann", 100], ["r3", "bob", 0]]);
      const rows = await store.all<{ row_number: number | bigint; reason: string }>(`SELECT row_number, reason FROM fti_quarantine WHERE run_id = ? ORDER BY row_number`, [runId]);
      expect(rows.map((r) => [Number(r.row_number), r.reason])).toEqual([
        [2, "km: -1 fails check (> 0)"],
        [3, "ride_id: duplicate value 'r1' (first at row 1)"],
      ]);
    } finally {
      await store.close();
    }
  });

  it("a store made before reason_kind existed gains the column; its old rows are each their own kind", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-quarantine-"));
    const file = path.join(dir, "old.duckdb");
    try {
      const db = await DuckDBInstance.create(file);
      const c = await db.connect();
      await c.run(`CREATE TABLE fti_quarantine (run_id VARCHAR NOT NULL, source VARCHAR NOT NULL, row_number BIGINT, row_json JSON,
                     reason VARCHAR NOT NULL, quarantined_at TIMESTAMP NOT NULL, file VARCHAR)`);
      await c.run(`INSERT INTO fti_quarantine VALUES ('old', 'rides', 2, '{}', 'km: -1 fails check (> 0)', TIMESTAMP '2024-01-01', 'a.csv'),
                                                      ('old', 'rides', 3, '{}', 'km: -1 fails check (> 0)', TIMESTAMP '2024-01-01', 'a.csv')`);
      c.closeSync();
      db.closeSync();
      const store = await openStore({ path: file });
      try {
        expect(await quarantineReasons(store, "old")).toEqual([{ source: "rides", reason: "km: -1 fails check (> 0)", rows: 2, example: "km: -1 fails check (> 0)" }]);
        const cols = await store.all<{ name: string }>("SELECT name FROM pragma_table_info('fti_quarantine') ORDER BY cid");
        expect(cols.map((r) => r.name)).toContain("reason_kind");
      } finally {
        await store.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
