import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { UserError } from "../runtime/errors.ts";
import { defaultStorePath, openStore, type Store } from "../runtime/store/store.ts";
import { tempDir } from "./helpers/bundles.ts";

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe("transactions", () => {
  it("roll back every write when the function throws", async () => {
    store = await openStore({ path: ":memory:" });
    const s = store;
    await s.run("CREATE TABLE t (id BIGINT, v VARCHAR)");
    await s.run("INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    await expect(
      s.transaction(async () => {
        await s.run("DELETE FROM t WHERE id = 1");
        await s.run("INSERT INTO t VALUES (3, 'c')");
        await s.appendRows("t", ["id", "v"], [[4, "d"], [5, "e"]]);
        await s.run("CREATE TABLE t2 AS SELECT * FROM t");
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await s.all("SELECT * FROM t ORDER BY id")).toEqual([
      { id: 1, v: "a" },
      { id: 2, v: "b" },
    ]);
    expect(await s.tableExists("t2")).toBe(false);
    expect(s.inTransaction).toBe(false);
  });

  it("roll back when a statement fails, and the store stays usable", async () => {
    store = await openStore({ path: ":memory:" });
    const s = store;
    await s.run("CREATE TABLE t (id BIGINT)");
    await expect(
      s.transaction(async (tx) => {
        await tx.run("INSERT INTO t VALUES (1)");
        await tx.run("INSERT INTO no_such_table VALUES (1)");
      }),
    ).rejects.toThrow(/no_such_table/);
    expect(await s.all("SELECT count(*) AS n FROM t")).toEqual([{ n: 0 }]);
    await s.transaction(async () => s.run("INSERT INTO t VALUES (7)"));
    expect(await s.all("SELECT id FROM t")).toEqual([{ id: 7 }]);
  });

  it("commit, return the function's value, and nest by joining the outer transaction", async () => {
    store = await openStore({ path: ":memory:" });
    const s = store;
    await s.run("CREATE TABLE t (id BIGINT)");
    const r = await s.transaction(async () => {
      await s.run("INSERT INTO t VALUES (1)");
      return s.transaction(async () => {
        await s.run("INSERT INTO t VALUES (2)");
        return "done";
      });
    });
    expect(r).toBe("done");
    expect(await s.all("SELECT count(*) AS n FROM t")).toEqual([{ n: 2 }]);
    // An inner failure rolls back the whole outer transaction.
    await expect(
      s.transaction(async () => {
        await s.run("INSERT INTO t VALUES (3)");
        await s.transaction(async () => {
          throw new Error("inner");
        });
      }),
    ).rejects.toThrow("inner");
    expect(await s.all("SELECT count(*) AS n FROM t")).toEqual([{ n: 2 }]);
  });

  it("serialise concurrent statements issued inside one transaction", async () => {
    store = await openStore({ path: ":memory:" });
    const s = store;
    await s.run("CREATE TABLE t (id BIGINT)");
    await s.transaction(async () => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => s.run("INSERT INTO t VALUES (?)", [i])));
      await Promise.all([s.appendRows("t", ["id"], [[100]]), s.all("SELECT count(*) FROM t")]);
    });
    expect(await s.all("SELECT count(*) AS n, sum(id) AS s FROM t")).toEqual([{ n: 21, s: 290 }]);
  });

  it("make other callers wait instead of running inside someone else's transaction", async () => {
    store = await openStore({ path: ":memory:" });
    const s = store;
    await s.run("CREATE TABLE t (id BIGINT)");
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const tx = s
      .transaction(async () => {
        await s.run("INSERT INTO t VALUES (1)");
        await gate;
        throw new Error("rolled back");
      })
      .catch((e: Error) => e.message);
    // Issued while the transaction is open: must not become part of it.
    const outside = s.run("INSERT INTO t VALUES (2)");
    await new Promise((r) => setTimeout(r, 20));
    release();
    expect(await tx).toBe("rolled back");
    await outside;
    expect(await s.all("SELECT id FROM t")).toEqual([{ id: 2 }]);
  });
});

describe("values", () => {
  it("convert bigint to number (string beyond 2^53), timestamps to UTC Dates, decimals to numbers", async () => {
    store = await openStore({ path: ":memory:" });
    const rows = await store.all(
      `SELECT 42::BIGINT AS small, -7::HUGEINT AS huge_small, 9007199254740993::BIGINT AS unsafe,
              count(*) AS cnt, 2.5::DECIMAL(4,1) AS dec, 1.5::DOUBLE AS dbl, NULL::BIGINT AS nil,
              TIMESTAMP '2025-03-01 12:34:56.789' AS ts, [1::BIGINT, 2::BIGINT] AS list, 'x' AS s, true AS b
         FROM range(3)`,
    );
    expect(rows).toEqual([
      {
        small: 42,
        huge_small: -7,
        unsafe: "9007199254740993",
        cnt: 3,
        dec: 2.5,
        dbl: 1.5,
        nil: null,
        ts: new Date("2025-03-01T12:34:56.789Z"),
        list: [1, 2],
        s: "x",
        b: true,
      },
    ]);
    expect(typeof rows[0].small).toBe("number");
  });

  it("bind Dates as UTC timestamps and accept named parameters", async () => {
    store = await openStore({ path: ":memory:" });
    const d = new Date("2025-06-01T08:00:00.000Z");
    const [r] = await store.all<{ t: Date; same: boolean; n: number }>(
      `SELECT $d AS t, $d = TIMESTAMP '2025-06-01 08:00:00' AS same, $n + 1 AS n`,
      { d, n: 41 },
    );
    expect(r).toEqual({ t: d, same: true, n: 42 });
    const [p] = await store.all<{ x: string }>("SELECT ? || ? AS x", ["a", "b"]);
    expect(p.x).toBe("ab");
  });

  it("read columns chunk by chunk, with Float64Array and timestamp options", async () => {
    store = await openStore({ path: ":memory:" });
    const r = await store.readColumns(
      `SELECT i::BIGINT AS i, CASE WHEN i % 3 = 0 THEN NULL ELSE i * 0.5::DOUBLE END AS x,
              TIMESTAMP '2025-01-01' + to_seconds(i) AS ts, 'k' || i AS k
         FROM range(5000) t(i) ORDER BY i`,
      undefined,
      { float64: ["x"], timestamps: "ms" },
    );
    expect(r.n).toBe(5000);
    expect(r.names).toEqual(["i", "x", "ts", "k"]);
    expect(r.types).toEqual(["BIGINT", "DOUBLE", "TIMESTAMP", "VARCHAR"]);
    const x = r.columns.x as Float64Array;
    expect(x).toBeInstanceOf(Float64Array);
    expect(Number.isNaN(x[0])).toBe(true);
    expect(x[4999]).toBe(4999 * 0.5);
    expect((r.columns.i as number[])[4321]).toBe(4321);
    expect((r.columns.ts as number[])[10]).toBe(Date.UTC(2025, 0, 1) + 10_000);
    expect((r.columns.k as string[])[2048]).toBe("k2048");
  });
});

describe("readColumns of numeric columns (read straight from the vectors)", () => {
  // Values every numeric type can hold, nulls among them, in several chunks; BIGINTs beyond ±2^53 come back as
  // strings, as the all() path gives them. The direct read must give what getItem gives, value for value.
  it("equals the row-object path for every numeric type, nulls, NaN and large BIGINTs", async () => {
    store = await openStore({ path: ":memory:" });
    const types = ["DOUBLE", "FLOAT", "INTEGER", "SMALLINT", "TINYINT", "UINTEGER", "USMALLINT", "UTINYINT", "BIGINT"];
    const value = (t: string) =>
      t === "BIGINT"
        ? `CASE i % 7 WHEN 0 THEN NULL WHEN 1 THEN 9007199254740993 + i WHEN 2 THEN -9007199254740993 - i WHEN 3 THEN -i * 4294967297 ELSE i * 4294967291 END`
        : t === "DOUBLE" || t === "FLOAT"
          ? `CASE i % 5 WHEN 0 THEN NULL WHEN 1 THEN 'nan'::DOUBLE WHEN 2 THEN -i / 3.0 ELSE i * 0.1 END`
          : `CASE WHEN i % 4 = 0 THEN NULL ELSE i % 100 END`;
    const sql = `SELECT ${types.map((t, c) => `CAST(${value(t)} AS ${t}) AS c${c}`).join(", ")} FROM range(5000) t(i) ORDER BY i`;
    const cols = await store.readColumns(sql);
    const f64 = await store.readColumns(sql, undefined, { float64: types.map((_, c) => `c${c}`) });
    const rows = await store.all<Record<string, unknown>>(sql);
    types.forEach((t, c) => {
      const want = rows.map((r) => r[`c${c}`]);
      expect(cols.columns[`c${c}`], t).toEqual(want);
      expect(Array.from(f64.columns[`c${c}`] as Float64Array), t).toEqual(want.map((v) => (v === null ? NaN : Number(v))));
    });
    expect(rows.some((r) => typeof r.c8 === "string")).toBe(true);
  });

  it("a Float64Array column copied in bulk marks exactly the nulls: none, one in a chunk, a null at each chunk edge, all", async () => {
    store = await openStore({ path: ":memory:" });
    const columns = {
      none: `i * 0.25`,
      one: `CASE WHEN i = 4101 THEN NULL ELSE -i / 7.0 END`,
      edges: `CASE WHEN i % 2048 IN (0, 7, 8, 2047) OR i = 4999 THEN NULL ELSE i END`,
      all: `NULL`,
      ints: `CASE WHEN i % 9 = 4 THEN NULL ELSE i % 1000 END`,
    };
    const types = { none: "DOUBLE", one: "DOUBLE", edges: "FLOAT", all: "DOUBLE", ints: "INTEGER" };
    const sql = `SELECT ${Object.entries(columns).map(([c, v]) => `CAST(${v} AS ${types[c as keyof typeof types]}) AS ${c}`).join(", ")} FROM range(5000) t(i) ORDER BY i`;
    const f64 = await store.readColumns(sql, undefined, { float64: Object.keys(columns) });
    const rows = await store.all<Record<string, number | null>>(sql);
    for (const c of Object.keys(columns)) {
      expect(Array.from(f64.columns[c] as Float64Array), c).toEqual(rows.map((r) => r[c] ?? NaN));
    }
    expect(rows.filter((r) => r.edges === null).length).toBe(12);
  });
});

describe("appendRows", () => {
  // Speed is measured by the benchmarks, never asserted here: this checks a large append is complete.
  it("appends 1M rows", async () => {
    store = await openStore({ path: ":memory:" });
    await store.run("CREATE TABLE big (id BIGINT, x DOUBLE)");
    const n = 1_000_000;
    const rows: Array<[number, number]> = new Array(n);
    for (let i = 0; i < n; i++) rows[i] = [i, i / 2];
    expect(await store.appendRows("big", ["id", "x"], rows)).toBe(n);
    expect(await store.all("SELECT count(*) AS n, sum(id) AS s, max(x) AS m FROM big")).toEqual([
      { n, s: (n * (n - 1)) / 2, m: (n - 1) / 2 },
    ]);
  }, 120_000);

  it("stores numbers in DOUBLE, FLOAT and BIGINT columns exactly (written straight into the chunk's vectors)", async () => {
    store = await openStore({ path: ":memory:" });
    await store.run("CREATE TABLE nums (i INTEGER, b BIGINT, d DOUBLE, f FLOAT)");
    const bigs = [0, -1, 1, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), -(2 ** 32) - 1, 2 ** 53 - 1, -(2 ** 53 - 1), 123456789012, -987654321098, 2.5, -2.5, null];
    const doubles = [0, -0, 1.5, -1e300, 5e-324, NaN, Infinity, -Infinity, null, "2.25", true, 7, 8, 9];
    const n = 3000; // more than one chunk
    await store.appendColumns("nums", {
      i: Array.from({ length: n }, (_, r) => r),
      b: Array.from({ length: n }, (_, r) => bigs[r % bigs.length]),
      d: Array.from({ length: n }, (_, r) => doubles[r % doubles.length]),
      f: Array.from({ length: n }, (_, r) => doubles[r % doubles.length]),
    });
    const rows = await store.all<{ i: number; b: number | null; d: number | null; f: number | null }>(
      "SELECT i, b, d, f FROM nums ORDER BY i",
    );
    const asDouble = (v: unknown) => (v === null ? null : typeof v === "string" ? Number(v) : typeof v === "boolean" ? (v ? 1 : 0) : (v as number));
    expect(rows.map((r) => r.b)).toEqual(Array.from({ length: n }, (_, r) => {
      const v = bigs[r % bigs.length];
      return v === null ? null : Math.round(v); // toDuck rounds a fractional number for a BIGINT
    }));
    expect(rows.map((r) => r.d)).toEqual(Array.from({ length: n }, (_, r) => asDouble(doubles[r % doubles.length])));
    expect(rows.map((r) => r.f)).toEqual(Array.from({ length: n }, (_, r) => {
      const v = asDouble(doubles[r % doubles.length]);
      return v === null ? null : Math.fround(v);
    }));
    expect(Object.is(rows[1].d, -0)).toBe(true);
  });

  it("takes a subset of columns in any order and converts values to the column types", async () => {
    store = await openStore({ path: ":memory:" });
    await store.run("CREATE SCHEMA p");
    await store.run("CREATE TABLE p.t (k VARCHAR, ts TIMESTAMP, n BIGINT, x DOUBLE, b BOOLEAN, j JSON, extra VARCHAR DEFAULT 'd')");
    await store.appendRows(
      "p.t",
      ["x", "ts", "k", "n", "b", "j"],
      [
        [1.5, "2025-01-02T03:04:05.000Z", "a", 3, true, { z: 1 }],
        [null, new Date(Date.UTC(2025, 0, 2)), "b", 9007199254740993n, false, null],
        [2, Date.UTC(2025, 0, 3), "c", "12", null, "[1]"],
        [3, "2025-01-04 10:00:00", "d", null, 1, null],
      ],
    );
    const rows = await store.all("SELECT * FROM p.t ORDER BY k");
    expect(rows).toEqual([
      { k: "a", ts: new Date("2025-01-02T03:04:05.000Z"), n: 3, x: 1.5, b: true, j: '{"z":1}', extra: "d" },
      { k: "b", ts: new Date("2025-01-02T00:00:00.000Z"), n: "9007199254740993", x: null, b: false, j: null, extra: "d" },
      { k: "c", ts: new Date("2025-01-03T00:00:00.000Z"), n: 12, x: 2, b: null, j: "[1]", extra: "d" },
      { k: "d", ts: new Date("2025-01-04T10:00:00.000Z"), n: null, x: 3, b: true, j: null, extra: "d" },
    ]);
    await store.appendColumns("p.t", { k: ["e", "f"], n: [1, 2] });
    expect(await store.all("SELECT k, n FROM p.t WHERE k IN ('e', 'f') ORDER BY k")).toEqual([
      { k: "e", n: 1 },
      { k: "f", n: 2 },
    ]);
  });

  it("says which column or value does not fit", async () => {
    store = await openStore({ path: ":memory:" });
    await store.run("CREATE TABLE t (n BIGINT)");
    await expect(store.appendRows("t", ["nope"], [[1]])).rejects.toThrow(/no column `nope`/);
    await expect(store.appendRows("t", ["n"], [["abc"]])).rejects.toThrow(/cannot store "abc" in column `n`/);
    await expect(store.appendRows("missing", ["n"], [[1]])).rejects.toThrow(/does not exist/);
  });
});

describe("opening", () => {
  it("refuses a CSV, Parquet or JSON file given as the store (DuckDB would open it as an in-memory database: every write lost)", async () => {
    const dir = tempDir();
    const files = { csv: "a,b\n1,2\n", json: '[{"a": 1}]\n' } as Record<string, string>;
    const scratch = await openStore({ path: ":memory:" });
    await scratch.run(`COPY (SELECT 1 AS a) TO '${join(dir, "x.parquet")}' (FORMAT parquet)`);
    await scratch.close();
    for (const [ext, text] of Object.entries(files)) writeFileSync(join(dir, `x.${ext}`), text);
    for (const ext of ["csv", "json", "parquet"]) {
      const path = join(dir, `x.${ext}`);
      const before = readFileSync(path);
      for (const readOnly of [false, true]) {
        const opened = openStore({ path, readOnly });
        await expect(opened).rejects.toThrow(UserError);
        await expect(opened).rejects.toThrow(`the store path ${path} is a data file (CSV, Parquet or JSON), not a DuckDB database`);
      }
      expect(readFileSync(path).equals(before)).toBe(true);
    }
    store = await openStore({ path: join(dir, "x.csv.duckdb") }); // a new path still creates a store
    expect(await store.tableExists("fti_runs")).toBe(true);
  });

  it("creates the folder, the run log and the quarantine table; FTI_STORE sets the default path", async () => {
    const dir = tempDir();
    const path = join(dir, "nested", "deeper", "store.duckdb");
    const before = process.env.FTI_STORE;
    process.env.FTI_STORE = path;
    try {
      expect(defaultStorePath()).toBe(path);
      store = await openStore();
      expect(store.path).toBe(path);
      expect(existsSync(path)).toBe(true);
      expect(await store.tableExists("fti_runs")).toBe(true);
      expect(await store.tableExists("fti_quarantine")).toBe(true);
      expect((await store.tableColumns("fti_quarantine")).map((c) => c.name)).toEqual([
        "run_id",
        "source",
        "row_number",
        "row_json",
        "reason",
        "quarantined_at",
        "file",
        "reason_kind",
      ]);
      expect((await store.tableColumns("fti_runs")).map((c) => c.name)).toEqual([
        "run_id",
        "kind",
        "spec",
        "started_at",
        "finished_at",
        "status",
        "stats",
      ]);
    } finally {
      if (before === undefined) delete process.env.FTI_STORE;
      else process.env.FTI_STORE = before;
    }
  });

  it("refuses a second open of the same file in one process with a UserError", async () => {
    const path = join(tempDir(), "s.duckdb");
    store = await openStore({ path });
    await expect(openStore({ path })).rejects.toThrow(UserError);
    await store.close();
    store = await openStore({ path }); // closed: opens again
  });

  it("says clearly when another process holds the store", async () => {
    const path = join(tempDir(), "locked.duckdb");
    const child: ChildProcess = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { DuckDBInstance } from "@duckdb/node-api";
         const i = await DuckDBInstance.create(${JSON.stringify(path)});
         const c = await i.connect(); await c.run("CREATE TABLE x (a INT)");
         console.log("ready"); setTimeout(() => {}, 20000);`,
      ],
      { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await new Promise<void>((ok, fail) => {
        child.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && ok());
        child.on("exit", (code) => fail(new Error(`holder exited with ${code}`)));
      });
      const err = await openStore({ path }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).message).toMatch(
        new RegExp(`^the store .*locked\\.duckdb is in use by another fti process \\(pid ${child.pid}\\)$`),
      );
      expect((err as UserError).message).not.toContain("\n");
    } finally {
      child.kill();
    }
  }, 20_000);
});
