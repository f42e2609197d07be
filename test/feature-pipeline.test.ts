import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { GroupPlan } from "../runtime/api.ts";
import { UserError } from "../runtime/errors.ts";
import { runFeaturePipeline, type ProgressEvent } from "../runtime/features/pipeline.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import {
  ACTIVITY_HEADER,
  activityRows,
  activitiesSource,
  activityStatsGroup,
  athleteBundle,
  athleteSpecDir,
  DAY,
  fitnessGroup,
  T0,
  tempDir,
  writeCsv,
} from "./helpers/bundles.ts";

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const GROUP_TABLES = ["fg_activity_stats_v1", "fg_fitness_v1"];

/** A table's rows without ingested_at, in a total order: what "the same table" means across runs. */
async function rowsOf(s: Store, table: string): Promise<unknown[]> {
  return s.all(`SELECT * EXCLUDE (ingested_at) FROM ${table} ORDER BY ALL`);
}

/**
 * Rows equal up to floating-point summation order: a windowed aggregate over
 * a range run's input (range + lookback) can differ from the full run's in the
 * last bit, since DuckDB sums window frames in a tree shaped by the partition.
 */
function expectSameRows(actual: unknown[], expected: unknown[]): void {
  expect(actual.length).toBe(expected.length);
  const close = (a: unknown, b: unknown) =>
    typeof a === "number" && typeof b === "number" ? a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b)) : false;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as Record<string, unknown>;
    const b = expected[i] as Record<string, unknown>;
    expect(Object.keys(a)).toEqual(Object.keys(b));
    for (const k of Object.keys(b)) if (!close(a[k], b[k])) expect({ row: i, [k]: a[k] }).toEqual({ row: i, [k]: b[k] });
  }
}

async function snapshot(s: Store, tables: string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of tables) out[t] = (await s.tableExists(t)) ? await s.all(`SELECT * FROM ${t} ORDER BY ALL`) : ["<missing>"];
  return out;
}

/** Seeded rows with one bad row per kind of problem, at known positions. */
function rowsWithProblems() {
  const rows = activityRows({ seed: 3, athletes: 3, days: 60 });
  rows[2][4] = "abc"; // distance_km: not a float
  rows[4][1] = null; // athlete_id: null in a non-nullable field
  rows[6][5] = "NaN"; // elapsed_time_s: NaN
  rows[8][3] = "swim"; // sport: not in the allowed values
  rows[10][4] = -3; // distance_km: fails check (> 0)
  rows[12][3] = "swim"; // two problems in one row
  rows[12][4] = -3;
  rows[14][6] = "Infinity"; // elevation_gain_m: Infinity
  rows[16][8] = null; // avg_hr is nullable: fine
  rows[18][2] = "yesterday"; // started_at: not a timestamp
  rows[20][0] = rows[21][0]; // activity_id: duplicate (row 22 is the second occurrence)
  return rows;
}

describe("sources", () => {
  it("quarantines bad rows with every reason and keeps the valid ones", async () => {
    const rows = rowsWithProblems();
    const bundle = athleteBundle(athleteSpecDir(rows));
    store = await openStore({ path: ":memory:" });
    const report = await runFeaturePipeline(store, bundle);
    const src = report.sources[0];
    expect(src).toMatchObject({ source: "activities", table: "src_activities", read: rows.length, quarantined: 9, skipped: 0 });
    expect(src.valid).toBe(rows.length - 9);
    expect(await store.all("SELECT count(*) AS n FROM src_activities")).toEqual([{ n: rows.length - 9 }]);

    const q = await store.all<{ row_number: number; reason: string; row_json: string; source: string; run_id: string; file: string }>(
      "SELECT * FROM fti_quarantine ORDER BY row_number",
    );
    expect(q.map((r) => [r.row_number, r.reason])).toEqual([
      [3, "distance_km: 'abc' is not a float"],
      [5, "athlete_id: missing value (not nullable)"],
      [7, "elapsed_time_s: NaN is not allowed"],
      [9, "sport: 'swim' not in (run, trail, treadmill)"],
      [11, "distance_km: -3 fails check (> 0)"],
      [13, "distance_km: -3 fails check (> 0); sport: 'swim' not in (run, trail, treadmill)"],
      [15, "elevation_gain_m: Infinity is not allowed"],
      [19, "started_at: 'yesterday' is not a timestamp"],
      [22, `activity_id: duplicate value '${rows[21][0]}' (first at row 21)`],
    ]);
    expect(q.every((r) => r.source === "activities" && r.run_id === report.runId && r.file.endsWith("activities.csv"))).toBe(true);
    // The original row, as read.
    expect(JSON.parse(q[3].row_json)).toMatchObject({ activity_id: rows[8][0], sport: "swim", distance_km: String(rows[8][4]) });
  });

  it("counts and reasons are the same for parquet and ndjson files", async () => {
    const rows = rowsWithProblems().slice(0, 15);
    const dir = athleteSpecDir(rows);
    store = await openStore({ path: ":memory:" });
    const csvBundle = athleteBundle(dir, { groups: [] });
    await runFeaturePipeline(store, csvBundle);
    const expected = await store.all("SELECT row_number, reason FROM fti_quarantine ORDER BY row_number");
    // ndjson: numbers as JSON numbers where they are numbers, the rest as strings.
    const lines = rows.map((r) => JSON.stringify(Object.fromEntries(ACTIVITY_HEADER.map((h, i) => [h, r[i]]))));
    writeFileSync(join(dir, "data", "activities.ndjson"), lines.join("\n") + "\n");
    await store.run(`COPY (SELECT * FROM read_csv('${join(dir, "data", "activities.csv")}', all_varchar = true)) TO '${join(dir, "data", "activities.parquet")}' (FORMAT parquet)`);
    for (const format of ["ndjson", "parquet"] as const) {
      await store.run("DELETE FROM fti_quarantine");
      const bundle = athleteBundle(dir, { sources: [activitiesSource(`data/activities.${format}`, format)], groups: [] });
      const r = await runFeaturePipeline(store, bundle);
      expect(r.sources[0].quarantined).toBe(expected.length);
      expect(await store.all("SELECT row_number, reason FROM fti_quarantine ORDER BY row_number")).toEqual(expected);
    }
  });

  it("a missing file or an empty glob is a UserError naming the resolved path", async () => {
    const dir = tempDir();
    store = await openStore({ path: ":memory:" });
    const missing = athleteBundle(dir, { sources: [activitiesSource("data/nope.csv")] });
    const err = await runFeaturePipeline(store, missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(join(dir, "data", "nope.csv"));
    expect((err as Error).message).toContain("activities");
    expect((err as Error).message).not.toContain("\n");

    const glob = athleteBundle(dir, { sources: [activitiesSource("data/*.parquet", "parquet")] });
    const err2 = await runFeaturePipeline(store, glob).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(UserError);
    expect((err2 as Error).message).toContain(`no files match ${join(dir, "data", "*.parquet")}`);
    // Nothing was recorded as done.
    expect(await store.all("SELECT status FROM fti_runs")).toEqual([{ status: "failed" }, { status: "failed" }]);
  });

  it("a file without a declared column is a UserError listing the columns it has", async () => {
    const dir = tempDir();
    writeCsv(join(dir, "a.csv"), ["activity_id", "athlete_id"], [["a1", "x"]]);
    store = await openStore({ path: ":memory:" });
    const err = await runFeaturePipeline(store, athleteBundle(dir, { sources: [activitiesSource("a.csv")] })).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/`started_at`.*not found.*columns: activity_id, athlete_id/);
  });
});

describe("feature groups", () => {
  it("idempotent: re-running the whole pipeline leaves every table as one run did", async () => {
    const bundle = athleteBundle(athleteSpecDir());
    store = await openStore({ path: ":memory:" });
    await runFeaturePipeline(store, bundle);
    const once = { src: await rowsOf(store, "src_activities"), a: await rowsOf(store, GROUP_TABLES[0]), f: await rowsOf(store, GROUP_TABLES[1]) };
    expect(once.a.length).toBeGreaterThan(100);
    expect(once.f.length).toBe(once.a.length);
    await runFeaturePipeline(store, bundle);
    await runFeaturePipeline(store, bundle);
    expect({ src: await rowsOf(store, "src_activities"), a: await rowsOf(store, GROUP_TABLES[0]), f: await rowsOf(store, GROUP_TABLES[1]) }).toEqual(once);
  });

  it("the unique string column and a group's row id are stored uncompressed; other columns keep DuckDB's compression", async () => {
    // enough rows (~60 k) for DuckDB to compress a column when left to choose
    store = await openStore({ path: join(tempDir(), "store.duckdb") });
    await runFeaturePipeline(store, athleteBundle(athleteSpecDir(activityRows({ athletes: 30, days: 2000, gapDays: 1 }))));
    await store.run("CHECKPOINT");
    const methods = async (table: string) => {
      const rows = await store!.all<{ column_name: string; c: string }>(
        `SELECT column_name, string_agg(DISTINCT compression, ',' ORDER BY compression) AS c FROM pragma_storage_info('${table}') GROUP BY ALL`,
      );
      return Object.fromEntries(rows.map((r) => [r.column_name, r.c.split(",")]));
    };
    const src = await methods("src_activities");
    const group = await methods(GROUP_TABLES[0]);
    // Constant: a segment of one repeated value (or all NULL) is stored as that value whatever the method
    for (const used of [src.activity_id, group.activity_id]) for (const m of used) expect(["Uncompressed", "Constant"]).toContain(m);
    // a repeated string keeps its dictionary
    expect(src.athlete_id.some((m) => m !== "Uncompressed")).toBe(true);
    expect(group.athlete_id.some((m) => m !== "Uncompressed")).toBe(true);
  });

  it("range runs replace only their range, and windows at the start of the range see earlier history", async () => {
    const bundle = athleteBundle(athleteSpecDir());
    const from = new Date(T0 + 40 * DAY);
    const to = new Date(T0 + 70 * DAY);
    store = await openStore({ path: ":memory:" });
    await runFeaturePipeline(store, bundle);
    const full = { a: await rowsOf(store, GROUP_TABLES[0]), f: await rowsOf(store, GROUP_TABLES[1]) };

    // Spoil the range (and only the range), then re-run it twice.
    await store.run(`UPDATE fg_fitness_v1 SET runs_28d = -1, pace_28d = NULL WHERE event_time >= ? AND event_time < ?`, [from, to]);
    await store.run(`DELETE FROM fg_activity_stats_v1 WHERE event_time >= ? AND event_time < ?`, [from, to]);
    const events: ProgressEvent[] = [];
    const r1 = await runFeaturePipeline(store, bundle, { from, to, onProgress: (e) => events.push(e) });
    await runFeaturePipeline(store, bundle, { from, to });
    expect(await rowsOf(store, GROUP_TABLES[0])).toEqual(full.a);
    expectSameRows(await rowsOf(store, GROUP_TABLES[1]), full.f);

    // Only rows of the range were written; the windowed group read history before it.
    const inRange = await store.all<{ n: number }>(`SELECT count(*) AS n FROM fg_fitness_v1 WHERE event_time >= ? AND event_time < ?`, [from, to]);
    const fit = r1.groups.find((g) => g.group === "fitness")!;
    expect(fit.rows).toBe(inRange[0].n);
    expect(fit.inputRows).toBeGreaterThan(fit.rows);
    expect(r1.sources[0].skipped).toBeGreaterThan(0);
    expect(r1.warnings).toEqual([]);
    // The first row of each athlete in the range counts runs from before the range.
    const starts = await store.all<{ runs_28d: number; since_from: number }>(
      `SELECT f.runs_28d, (SELECT count(*) FROM fg_activity_stats_v1 a WHERE a.athlete_id = f.athlete_id AND a.event_time >= ? AND a.event_time <= f.event_time) AS since_from
         FROM fg_fitness_v1 f WHERE f.event_time >= ? AND f.event_time < ?
        QUALIFY row_number() OVER (PARTITION BY f.athlete_id ORDER BY f.event_time) = 1`,
      [from, from, to],
    );
    expect(starts.length).toBe(5);
    for (const s of starts) expect(s.runs_28d).toBeGreaterThan(s.since_from);

    // Progress: start/rows/done per source and group, in order.
    expect(events.map((e) => `${e.kind}:${e.name}:${e.phase}`)).toEqual([
      "source:activities:start",
      "source:activities:rows",
      "source:activities:done",
      "group:activity_stats:start",
      "group:activity_stats:rows",
      "group:activity_stats:done",
      "group:fitness:start",
      "group:fitness:rows",
      "group:fitness:done",
    ]);
  });

  it("a range run on another store equals the same rows of a full run", async () => {
    const dir = athleteSpecDir();
    const bundle = athleteBundle(dir);
    const from = new Date(T0 + 30 * DAY);
    const to = new Date(T0 + 50 * DAY);
    store = await openStore({ path: ":memory:" });
    await runFeaturePipeline(store, bundle);
    const fullRange = await store.all(
      `SELECT * EXCLUDE (ingested_at) FROM fg_fitness_v1 WHERE event_time >= ? AND event_time < ? ORDER BY ALL`,
      [from, to],
    );
    const other = await openStore({ path: ":memory:" });
    try {
      // History up to the range, then the range.
      await runFeaturePipeline(other, bundle, { to: from });
      const r = await runFeaturePipeline(other, bundle, { from, to });
      expect(r.warnings).toEqual([]);
      expectSameRows(await other.all(`SELECT * EXCLUDE (ingested_at) FROM fg_fitness_v1 WHERE event_time >= ? ORDER BY ALL`, [from]), fullRange);
    } finally {
      await other.close();
    }
  });

  it("a failed run leaves the store exactly as before and is logged as failed", async () => {
    const bundle = athleteBundle(athleteSpecDir(rowsWithProblems()));
    store = await openStore({ path: ":memory:" });
    await runFeaturePipeline(store, bundle);
    const tables = ["src_activities", ...GROUP_TABLES, "fti_quarantine"];
    const before = await snapshot(store, tables);
    const runsBefore = await store.all("SELECT * FROM fti_runs");

    // Throw in the middle: after the source and the first group were written.
    const failing = runFeaturePipeline(store, bundle, {
      onProgress: (e) => {
        if (e.kind === "group" && e.name === "fitness" && e.phase === "start") throw new Error("killed");
      },
    });
    await expect(failing).rejects.toThrow("killed");
    expect(await snapshot(store, tables)).toEqual(before);

    // A group whose SQL fails at run time (a cast error in the middle of the data).
    const bad: GroupPlan = { ...fitnessGroup(), sql: `SELECT athlete_id, event_time, CAST('x' || pace AS DOUBLE) AS pace_28d, 1 AS runs_28d, 0.0 AS km_7d, 0.0 AS longest_28d FROM __input` };
    const err = await runFeaturePipeline(store, { ...bundle, groups: [activityStatsGroup(), bad] }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/fitness.*SQL failed/);
    expect(await snapshot(store, tables)).toEqual(before);
    // The group's INSERT runs without insertion order; the option is back on after the ROLLBACK.
    expect((await store.all<{ v: boolean }>("SELECT current_setting('preserve_insertion_order') AS v"))[0].v).toBe(true);

    const runs = await store.all<{ status: string; stats: string }>("SELECT status, stats FROM fti_runs ORDER BY started_at");
    expect(runs.length).toBe(runsBefore.length + 2);
    expect(runs.slice(-2).map((r) => r.status)).toEqual(["failed", "failed"]);
    expect(JSON.parse(runs[runs.length - 2].stats).error).toBe("killed");
  });

  it("refuses a changed group without a version bump; a bump writes a new table", async () => {
    const dir = athleteSpecDir();
    store = await openStore({ path: ":memory:" });
    await runFeaturePipeline(store, athleteBundle(dir));
    const changed = fitnessGroup();
    changed.features = [...changed.features, { name: "km_28d", type: "float", nullable: false }];
    changed.sql = changed.sql.replace("FROM __input", ", sum(distance) OVER (PARTITION BY athlete_id ORDER BY event_time RANGE BETWEEN INTERVAL 28 DAYS PRECEDING AND CURRENT ROW) AS km_28d FROM __input");
    const err = await runFeaturePipeline(store, athleteBundle(dir, { groups: [activityStatsGroup(), changed] })).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/feature group `fitness`.*changed since fg_fitness_v1 was written \(adds km_28d\)/);
    expect((err as UserError).hint).toMatch(/bump its `version`.*to 2/);

    const retyped = fitnessGroup();
    retyped.features = retyped.features.map((f) => (f.name === "runs_28d" ? { ...f, type: "float" as const } : f));
    const err2 = await runFeaturePipeline(store, athleteBundle(dir, { groups: [activityStatsGroup(), retyped] })).catch((e) => e);
    expect((err2 as Error).message).toMatch(/changes the type of runs_28d/);

    const v2 = { ...changed, version: 2, table: "fg_fitness_v2" };
    const r = await runFeaturePipeline(store, athleteBundle(dir, { groups: [activityStatsGroup(), v2] }));
    expect(r.groups.map((g) => g.table)).toEqual(["fg_activity_stats_v1", "fg_fitness_v2"]);
    expect(await store.tableExists("fg_fitness_v1")).toBe(true);
    expect((await store.tableColumns("fg_fitness_v2")).map((c) => `${c.name} ${c.type}`)).toEqual([
      "athlete_id VARCHAR",
      "event_time TIMESTAMP",
      "pace_28d DOUBLE",
      "runs_28d BIGINT",
      "km_7d DOUBLE",
      "longest_28d DOUBLE",
      "km_28d DOUBLE",
      "ingested_at TIMESTAMP",
    ]);
  });

  it("--group runs only the named groups and says which command to run when an input is missing", async () => {
    const bundle = athleteBundle(athleteSpecDir());
    store = await openStore({ path: ":memory:" });
    const err = await runFeaturePipeline(store, bundle, { groups: ["fitness"] }).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toContain("reads group `activity_stats`, whose table fg_activity_stats_v1 does not exist yet");
    expect((err as UserError).hint).toContain("fti features specs/athlete.fti --group activity_stats");

    const r1 = await runFeaturePipeline(store, bundle, { groups: ["activity_stats"] });
    expect(r1.groups.map((g) => g.group)).toEqual(["activity_stats"]);
    expect(await store.tableExists("fg_fitness_v1")).toBe(false);
    const r2 = await runFeaturePipeline(store, bundle, { groups: ["fitness"] });
    expect(r2.sources).toEqual([]);
    expect(r2.groups.map((g) => g.group)).toEqual(["fitness"]);

    await expect(runFeaturePipeline(store, bundle, { groups: ["nope"] })).rejects.toThrow(/no feature group `nope`; its groups: activity_stats, fitness/);
  });

  it("registers extern functions the group SQL calls", async () => {
    const dir = athleteSpecDir(activityRows({ athletes: 2, days: 20 }));
    const hrZone = (hr: number | null, max: number) => (hr === null ? 0 : Math.min(5, Math.floor((hr / max) * 10) - 4));
    const group: GroupPlan = {
      ...activityStatsGroup(),
      name: "zones",
      table: "fg_zones_v1",
      rowId: undefined,
      features: [
        { name: "zone", type: "int", nullable: false },
        { name: "zone_strict", type: "int", nullable: true },
      ],
      sql: `SELECT athlete_id, started_at AS event_time, hr_zone(avg_hr, 190.0) AS zone, hr_zone_strict(avg_hr, 190.0) AS zone_strict FROM __input`,
      externs: [
        // avg_hr declared nullable: the function is called with nulls and handles them.
        { name: "hr_zone", params: [{ name: "avg_hr", type: "float", nullable: true }, { name: "max_hr", type: "float", nullable: false }], returns: { name: "result", type: "int", nullable: false } },
        // declared non-null: null in, null out, without calling the function.
        { name: "hr_zone_strict", params: [{ name: "avg_hr", type: "float", nullable: false }, { name: "max_hr", type: "float", nullable: false }], returns: { name: "result", type: "int", nullable: true } },
      ],
    };
    const bundle = athleteBundle(dir, {
      groups: [group],
      views: [],
      externs: {
        hr_zone: (hr: unknown, max: unknown) => hrZone(hr as number | null, max as number),
        hr_zone_strict: (hr: unknown, max: unknown) => {
          if (hr === null) throw new Error("called with null");
          return hrZone(hr as number, max as number);
        },
      },
    });
    store = await openStore({ path: ":memory:" });
    await runFeaturePipeline(store, bundle);
    const rows = await store.all<{ avg_hr: number | null; zone: number; zone_strict: number | null }>(
      `SELECT s.avg_hr, z.zone, z.zone_strict FROM fg_zones_v1 z JOIN src_activities s ON s.athlete_id = z.athlete_id AND s.started_at = z.event_time`,
    );
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.some((r) => r.avg_hr === null)).toBe(true);
    for (const r of rows) {
      expect(r.zone).toBe(hrZone(r.avg_hr, 190));
      expect(r.zone_strict).toBe(r.avg_hr === null ? null : hrZone(r.avg_hr, 190));
    }
  });
});
