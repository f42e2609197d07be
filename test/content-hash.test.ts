// The content hash a store keeps (store/content-hash.ts) is always the table's: after every way a
// table can be written — the feature pipeline's full and range runs, SQL through the store (in
// place, WITH …, several statements, qualified and in another case, RETURNING), appends, a
// rolled-back transaction, another process while the store was closed — the kept hash changes and
// equals the hash computed from the rows. A stale one would let the PIT join reuse kept tie winners
// of rows that are gone (retrieval/tie-winners.ts).

import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterEach, describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { contentHashSql, contentHashText, statementMayWrite } from "../runtime/store/content-hash.ts";
import { readEveryBlock } from "../runtime/store/integrity.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { athleteBundle, athleteSpecDir, DAY, T0, tempDir } from "./helpers/bundles.ts";

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

/** The hash computed from the rows now (the store's own query, not its kept value). */
async function fresh(s: Store, table: string): Promise<string> {
  const cols = (await s.tableColumns(table)).map((c) => c.name);
  const [r] = await s.all<{ h: unknown }>(contentHashSql(table, cols));
  return contentHashText(r.h);
}

/** Runs `write`, then expects the store's hash of `table` to have changed and to equal the rows'. */
async function expectSeen(s: Store, table: string, write: () => Promise<unknown>): Promise<string> {
  const before = await s.contentHash(table);
  expect(await s.contentHash(table)).toBe(before); // kept
  await write();
  const after = await s.contentHash(table);
  expect(after).not.toBe(before);
  expect(after).toBe(await fresh(s, table));
  return after;
}

const TABLE = `CREATE TABLE g (k VARCHAR, event_time TIMESTAMP, v DOUBLE, ingested_at TIMESTAMP)`;
const ROWS = `INSERT INTO g SELECT 'k' || (i % 7), TIMESTAMP '2025-01-01' + i * INTERVAL 1 HOUR, i / 4, TIMESTAMP '2025-06-01' FROM range(200) t(i)`;

describe("a store's kept content hash", () => {
  it("changes with every write through the store, and a rolled-back write leaves the hash of the rows as they are", async () => {
    const path = join(tempDir(), "h.duckdb");
    store = await openStore({ path });
    await store.run(TABLE);
    await store.run(ROWS);
    const s = store;
    // In place: the row count, latest ingested_at and time range stay (the fingerprint cannot see these).
    await expectSeen(s, "g", () => s.run(`UPDATE g SET v = v + 1 WHERE k = 'k3'`));
    await expectSeen(s, "g", () => s.run(`WITH x AS (SELECT 2 AS d) UPDATE g SET v = v + (SELECT d FROM x) WHERE k = 'k1'`));
    await expectSeen(s, "g", () => s.run(`SELECT 1; UPDATE g SET v = -v WHERE k = 'k2'`));
    await expectSeen(s, "g", () => s.run(`UPDATE "MAIN"."G" SET v = v * 3 WHERE k = 'k4'`));
    await expectSeen(s, "g", () => s.all(`UPDATE g SET v = v + 5 WHERE k = 'k5' RETURNING v`));
    await expectSeen(s, "g", () => s.readColumns(`DELETE FROM g WHERE k = 'k6' AND v < 10 RETURNING v`));
    // One row out and another in: the same count.
    await expectSeen(s, "g", () => s.run(`DELETE FROM g WHERE v = (SELECT max(v) FROM g); INSERT INTO g VALUES ('k0', TIMESTAMP '2025-01-02', 0.5, TIMESTAMP '2025-06-01')`));
    await expectSeen(s, "g", () => s.appendColumns("g", { k: ["k9"], event_time: [T0], v: [1], ingested_at: [T0] }));
    await expectSeen(s, "g", () => s.run(`ALTER TABLE g ADD COLUMN w INTEGER DEFAULT 1`));
    // Reads keep it: a SELECT that names the table, or a statement that does not.
    const kept = await s.contentHash("g");
    await s.all(`SELECT count(*) FROM g`);
    await s.run(`CREATE TABLE other AS SELECT 1 AS a`);
    expect(await s.contentHash("g")).toBe(kept);

    // A hash taken inside a transaction that rolls back is not kept.
    const committed = await s.contentHash("g");
    let inside = "";
    await expect(
      s.transaction(async () => {
        await s.run(`UPDATE g SET v = v + 100`);
        inside = await s.contentHash("g");
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");
    expect(inside).not.toBe(committed);
    expect(await s.contentHash("g")).toBe(committed);
    expect(await fresh(s, "g")).toBe(committed);
  });

  it("is computed by the next open's read of every block, and sees what another process wrote while the store was closed", async () => {
    const path = join(tempDir(), "h.duckdb");
    store = await openStore({ path });
    await store.run(TABLE);
    await store.run(ROWS);
    await store.run(`CREATE TABLE plain AS SELECT 1 AS a`);
    const before = await store.contentHash("g"); // lists g in fti_content_hashed
    await store.close();
    store = undefined;

    // Another process (a plain DuckDB connection) updates g in place.
    const db = await DuckDBInstance.create(path);
    const conn = await db.connect();
    await conn.run(`UPDATE g SET v = v + 1 WHERE k = 'k2'`);
    const hashes = await readEveryBlock(conn); // what the next open computes
    conn.closeSync();
    db.closeSync();
    expect([...hashes.values()].map((h) => h.table)).toEqual(["g"]); // only the listed table

    store = await openStore({ path });
    const after = await store.contentHash("g");
    expect(after).not.toBe(before);
    expect(after).toBe(await fresh(store, "g"));
    expect([...hashes.values()][0].hash).toBe(after);
  });

  it("changes with the feature pipeline's full and range runs (a backfill) in the same open store", async () => {
    const bundle = athleteBundle(athleteSpecDir());
    store = await openStore({ path: join(tempDir(), "p.duckdb") });
    const s = store;
    await runFeaturePipeline(s, bundle);
    const group = "fg_fitness_v1";
    const from = new Date(T0 + 40 * DAY);
    const to = new Date(T0 + 70 * DAY);
    const spoiled = await expectSeen(s, group, () => s.run(`UPDATE fg_fitness_v1 SET runs_28d = -1 WHERE event_time >= ? AND event_time < ?`, [from, to]));
    // The range run puts the range's rows back (a new ingested_at on them).
    const ranged = await expectSeen(s, group, () => runFeaturePipeline(s, bundle, { from, to }));
    expect(ranged).not.toBe(spoiled);
    // A full run writes every row again.
    await expectSeen(s, group, () => runFeaturePipeline(s, bundle));
  });

  it("tells reads from statements that may write", () => {
    for (const sql of [`SELECT * FROM g`, `  from g where a = 1;  `, `SELECT 1 FROM other`, `UPDATE other SET a = 1`]) {
      expect(statementMayWrite(sql, "g")).toBe(false);
    }
    for (const sql of [
      `UPDATE g SET v = 1`,
      `update "G" set v = 1`,
      `INSERT INTO main.g VALUES (1)`,
      `WITH x AS (SELECT 1) DELETE FROM g`,
      `SELECT 1; DELETE FROM g`,
      `COPY g FROM 'f.csv'`,
      `DROP TABLE g`,
      `CREATE TEMP TABLE t AS SELECT * FROM g`, // a read, taken for a write: only costs the hash again
    ]) {
      expect(statementMayWrite(sql, "g")).toBe(true);
    }
    expect(statementMayWrite(`UPDATE "a""b" SET v = 1`, 'a"b')).toBe(true);
  });
});
