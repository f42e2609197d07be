import { afterEach, describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { rowidParts } from "../runtime/features/table-parts.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { activityRows, athleteBundle, athleteSpecDir, tempDir } from "./helpers/bundles.ts";
import { join } from "node:path";

let stores: Store[] = [];
afterEach(async () => {
  for (const s of stores) await s.close();
  stores = [];
});

async function open(threads: number, path = ":memory:"): Promise<Store> {
  const s = await openStore({ path, threads });
  stores.push(s);
  return s;
}

/** How many of the table's rows each part holds, and how many rows no part or several parts hold. */
async function coverage(s: Store, table: string, parts: string[]): Promise<{ perPart: number[]; none: number; several: number }> {
  const hits = parts.map((p) => `CAST(${p} AS INT)`).join(" + ");
  const [r] = await s.all<Record<string, number>>(
    `SELECT ${parts.map((p, i) => `count(*) FILTER (WHERE ${p}) AS p${i}`).join(", ")},
            count(*) FILTER (WHERE ${hits} = 0) AS none, count(*) FILTER (WHERE ${hits} > 1) AS several
       FROM ${table}`,
  );
  return { perPart: parts.map((_, i) => Number(r[`p${i}`])), none: Number(r.none), several: Number(r.several) };
}

describe("rowidParts: a table as one contiguous rowid range per thread", () => {
  it("splits rows written in the open transaction (rowids past 2^53) into even parts that hold every row once", async () => {
    const s = await open(4, join(tempDir(), "store.duckdb"));
    await s.transaction(async () => {
      await s.run(`CREATE TABLE t (v INT)`);
      await s.run(`INSERT INTO t SELECT range FROM range(10000)`);
      const parts = await rowidParts(s, "t");
      expect(parts).toHaveLength(4);
      const c = await coverage(s, "t", parts);
      expect(c).toEqual({ perPart: [2500, 2500, 2500, 2500], none: 0, several: 0 });
      const [big] = await s.all<{ n: number }>(`SELECT count(*) AS n FROM t WHERE rowid > 9007199254740991`);
      expect(big.n).toBe(10000);
    });
  });

  it("covers committed rows and rows of the open transaction together", async () => {
    const s = await open(3, join(tempDir(), "store.duckdb"));
    await s.run(`CREATE TABLE t (v INT)`);
    await s.run(`INSERT INTO t SELECT range FROM range(3000)`);
    await s.transaction(async () => {
      await s.run(`DELETE FROM t WHERE v % 7 = 0`);
      await s.run(`INSERT INTO t SELECT range FROM range(2000)`);
      const parts = await rowidParts(s, "t");
      expect(parts).toHaveLength(3);
      const c = await coverage(s, "t", parts);
      expect(c.none).toBe(0);
      expect(c.several).toBe(0);
      expect(c.perPart.reduce((a, b) => a + b, 0)).toBe(3000 - 429 + 2000);
    });
  });

  it("is one part on one thread, for an empty or one-row table, a column called rowid, or a view", async () => {
    const one = await open(1);
    await one.run(`CREATE TABLE t AS SELECT range AS v FROM range(100)`);
    expect(await rowidParts(one, "t")).toEqual(["TRUE"]);

    const s = await open(2);
    await s.run(`CREATE TABLE empty (v INT)`);
    expect(await rowidParts(s, "empty")).toEqual(["TRUE"]);
    await s.run(`CREATE TABLE single AS SELECT 1 AS v`);
    expect(await rowidParts(s, "single")).toEqual(["TRUE"]);
    await s.run(`CREATE TABLE hidden AS SELECT range AS rowid, range AS v FROM range(100)`);
    expect(await rowidParts(s, "hidden")).toEqual(["TRUE"]);
    await s.transaction(async () => {
      await s.run(`CREATE VIEW v AS SELECT range AS v FROM range(100)`);
      expect(await rowidParts(s, "v")).toEqual(["TRUE"]);
      // The transaction is still usable: nothing referred to a view's rowid.
      const [n] = await s.all<{ n: number }>(`SELECT count(*) AS n FROM v`);
      expect(n.n).toBe(100);
    });
  });
});

describe("a feature run on several threads", () => {
  it("gives the same tables as on one (the unique check reads in parts): 4 threads against 1, row for row", async () => {
    const rows = activityRows({ seed: 11, athletes: 40, days: 200, gapDays: 1 });
    const dir = athleteSpecDir(rows);
    const bundle = athleteBundle(dir);
    const tables: Record<number, Store> = {};
    for (const threads of [1, 4]) {
      const s = await open(threads, join(tempDir(), "store.duckdb"));
      const r = await runFeaturePipeline(s, bundle);
      expect(r.groups.map((g) => g.inputRows)).toEqual([rows.length, rows.length]);
      tables[threads] = s;
    }
    for (const table of ["src_activities", "fg_activity_stats_v1", "fg_fitness_v1"]) {
      const a = await tables[1].all(`SELECT * EXCLUDE (ingested_at) FROM ${table} ORDER BY ALL`);
      const b = await tables[4].all(`SELECT * EXCLUDE (ingested_at) FROM ${table} ORDER BY ALL`);
      expect(b.length).toBe(rows.length);
      expect(b).toEqual(a);
    }
  });
});
