// Source validation on inputs the athlete CSV does not cover: typed Parquet
// (read with its own types), several files, duplicates whose first occurrence
// is invalid, range runs, and a file that changes while it is being read.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { SourcePlan } from "../runtime/api.ts";
import { UserError } from "../runtime/errors.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { activitiesSource, athleteBundle, tempDir } from "./helpers/bundles.ts";

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

/** Rows as SQL VALUES tuples: (activity_id, athlete_id, started_at, sport, distance_km, elapsed_time_s, elevation_gain_m, planned_pace_min_km, avg_hr). */
type Row = [string | null, string | null, string | null, string | null, string, string, string, string, string];

function row(id: string | null, day: number, over: Partial<Record<"athlete" | "sport" | "km" | "time" | "hr" | "at", string | null>> = {}): Row {
  const at = over.at !== undefined ? over.at : `TIMESTAMP '2025-01-${String(day).padStart(2, "0")} 08:00:00'`;
  return [
    id === null ? "NULL" : `'${id}'`,
    over.athlete === null ? "NULL" : `'${over.athlete ?? "ath0"}'`,
    at === null ? "NULL" : at,
    over.sport === null ? "NULL" : `'${over.sport ?? "run"}'`,
    over.km ?? "10.0",
    over.time ?? "3000.0",
    "50.0",
    "5.0",
    over.hr ?? "NULL::DOUBLE",
  ];
}

/** Writes rows to a typed Parquet file: VARCHAR ids, TIMESTAMP, DOUBLE measures (NaN and Infinity allowed). */
async function writeParquet(s: Store, path: string, rows: Row[]): Promise<void> {
  const values = rows.map((r) => `(${r.join(", ")})`).join(",\n");
  await s.run(
    `COPY (SELECT * FROM (VALUES ${values}) AS t(activity_id, athlete_id, started_at, sport, distance_km, elapsed_time_s, elevation_gain_m, planned_pace_min_km, avg_hr))
       TO '${path}' (FORMAT parquet)`,
  );
}

function bundleFor(dir: string, source: SourcePlan) {
  return athleteBundle(dir, { sources: [source], groups: [], views: [] });
}

/** Records the SQL of every `run` on the store that matches `pattern`, until `restore()`. */
function watchRuns(s: Store, pattern: RegExp): { seen: string[]; restore(): void } {
  const run = s.run.bind(s);
  const seen: string[] = [];
  s.run = (async (sql: string, params?: never) => {
    if (pattern.test(sql)) seen.push(sql);
    return run(sql, params);
  }) as typeof s.run;
  return { seen, restore: () => void (s.run = run) };
}

/** Runs `then` right after each statement matching `pattern` (a file rewritten mid-run); restore() puts run back. */
function afterRuns(s: Store, pattern: RegExp, then: () => Promise<void>): { restore(): void } {
  const run = s.run.bind(s);
  s.run = (async (sql: string, params?: never) => {
    const out = await run(sql, params);
    if (pattern.test(sql)) await then();
    return out;
  }) as typeof s.run;
  return { restore: () => void (s.run = run) };
}

/** The quarantined rows as [file name, row number, reason], in the order they were quarantined. */
async function quarantinedByFile(s: Store) {
  return (await quarantine(s)).map((q) => [q.file.split("/").pop(), q.row_number, q.reason]);
}

async function quarantine(s: Store) {
  return s.all<{ row_number: number; reason: string; file: string; row_json: string }>(
    "SELECT row_number, reason, file, row_json FROM fti_quarantine ORDER BY rowid",
  );
}

describe("source validation", () => {
  it("typed Parquet: NaN, Infinity and nulls in typed columns are quarantined with their reasons; valid rows keep their values", async () => {
    const dir = tempDir();
    const file = join(dir, "acts.parquet");
    store = await openStore({ path: ":memory:" });
    await writeParquet(store, file, [
      row("a1", 1, { hr: "150.0" }),
      row("a2", 2, { km: "'NaN'::DOUBLE" }),
      row("a3", 3, { time: "'Infinity'::DOUBLE", hr: "'-Infinity'::DOUBLE" }),
      row("a4", 4, { at: null }),
      row("a5", 5, { athlete: null, km: "-1.0" }),
      row("a6", 6, { sport: "swim" }),
      row("a7", 7),
    ]);
    const report = await runFeaturePipeline(store, bundleFor(dir, activitiesSource("acts.parquet", "parquet")));
    expect(report.sources[0]).toMatchObject({ read: 7, valid: 2, quarantined: 5, skipped: 0 });
    const q = await quarantine(store);
    expect(q.map((r) => [r.row_number, r.reason])).toEqual([
      [2, "distance_km: NaN is not allowed"],
      [3, "avg_hr: -Infinity is not allowed; elapsed_time_s: Infinity is not allowed"],
      [4, "started_at: missing value (the event time is required)"],
      [5, "athlete_id: missing value (not nullable); distance_km: -1.0 fails check (> 0)"],
      [6, "sport: 'swim' not in (run, trail, treadmill)"],
    ]);
    // The row as read: NaN and Infinity are not JSON numbers, so they are kept as strings.
    expect(JSON.parse(q[0].row_json)).toMatchObject({ activity_id: "a2", distance_km: "nan" });
    expect(JSON.parse(q[1].row_json)).toMatchObject({ elapsed_time_s: "inf", avg_hr: "-inf" });
    expect(q.every((r) => r.file === file)).toBe(true);
    expect(await store.all("SELECT activity_id, started_at, distance_km, avg_hr FROM src_activities ORDER BY activity_id")).toEqual([
      { activity_id: "a1", started_at: new Date("2025-01-01T08:00:00Z"), distance_km: 10, avg_hr: 150 },
      { activity_id: "a7", started_at: new Date("2025-01-07T08:00:00Z"), distance_km: 10, avg_hr: null },
    ]);
  });

  it("several files: row numbers count within each file, the first occurrence of a value wins across files (its row is the one kept)", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "parts"));
    store = await openStore({ path: ":memory:" });
    await writeParquet(store, join(dir, "parts", "p1.parquet"), [row("a1", 1), row("a2", 2), row("a3", 3)]);
    await writeParquet(store, join(dir, "parts", "p2.parquet"), [row("a4", 4), row("a2", 5), row("a5", 6, { km: "0.0" }), row("a6", 7)]);
    const report = await runFeaturePipeline(store, bundleFor(dir, activitiesSource("parts/*.parquet", "parquet")));
    expect(report.sources[0]).toMatchObject({ read: 7, valid: 5, quarantined: 2 });
    const q = await quarantine(store);
    expect(q.map((r) => [r.file.split("/").pop(), r.row_number, r.reason])).toEqual([
      ["p2.parquet", 2, "activity_id: duplicate value 'a2' (first at row 2)"],
      ["p2.parquet", 3, "distance_km: 0.0 fails check (> 0)"],
    ]);
    const kept = await store.all<{ activity_id: string; started_at: Date }>("SELECT activity_id, started_at FROM src_activities ORDER BY activity_id");
    expect(kept.map((r) => `${r.activity_id}@${r.started_at.getUTCDate()}`)).toEqual(["a1@1", "a2@2", "a3@3", "a4@4", "a6@7"]);
  });

  it("unique: an invalid first occurrence does not count, and the first valid occurrence's row is the one kept", async () => {
    const dir = tempDir();
    store = await openStore({ path: ":memory:" });
    await writeParquet(store, join(dir, "acts.parquet"), [
      row("a1", 1, { sport: "swim" }), // invalid: the next a1 is the first valid one
      row("a2", 2),
      row("a1", 3),
      row("a2", 4),
      row("a3", 5),
      row("a1", 6),
      row(null, 7),
      row(null, 8),
    ]);
    await runFeaturePipeline(store, bundleFor(dir, activitiesSource("acts.parquet", "parquet")));
    expect((await quarantine(store)).map((r) => [r.row_number, r.reason])).toEqual([
      [1, "sport: 'swim' not in (run, trail, treadmill)"],
      [4, "activity_id: duplicate value 'a2' (first at row 2)"],
      [6, "activity_id: duplicate value 'a1' (first at row 3)"],
      [7, "activity_id: missing value (not nullable)"],
      [8, "activity_id: missing value (not nullable)"],
    ]);
    const kept = await store.all<{ activity_id: string; started_at: Date }>("SELECT activity_id, started_at FROM src_activities ORDER BY started_at");
    expect(kept.map((r) => `${r.activity_id}@${r.started_at.getUTCDate()}`)).toEqual(["a2@2", "a1@3", "a3@5"]);
  });

  it("unique over many rows (several vectors and threads): exactly the later occurrences are quarantined, each naming its first", async () => {
    const dir = tempDir();
    store = await openStore({ path: ":memory:" });
    const n = 150_000;
    const distinct = 140_000; // rows from `distinct` on repeat an earlier value (some twice)
    const idOf = (i: number) => (i < distinct ? i : (i * 7919) % distinct);
    await store.run(
      `COPY (SELECT 'a' || CAST(CASE WHEN i < ${distinct} THEN i ELSE (i * 7919) % ${distinct} END AS VARCHAR) AS activity_id,
                    'ath0' AS athlete_id, TIMESTAMP '2025-01-01' + INTERVAL (i) SECOND AS started_at, 'run' AS sport,
                    10.0 AS distance_km, 3000.0 AS elapsed_time_s, 50.0 AS elevation_gain_m, 5.0 AS planned_pace_min_km, NULL::DOUBLE AS avg_hr
               FROM range(${n}) AS t(i) ORDER BY i)
         TO '${join(dir, "acts.parquet")}' (FORMAT parquet, ROW_GROUP_SIZE 20000)`,
    );
    const first = new Map<number, number>();
    const expected: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = idOf(i);
      const at = first.get(id);
      if (at === undefined) first.set(id, i + 1);
      else expected.push(`${i + 1}: activity_id: duplicate value 'a${id}' (first at row ${at})`);
    }
    const r = await runFeaturePipeline(store, bundleFor(dir, activitiesSource("acts.parquet", "parquet")));
    expect(r.sources[0]).toMatchObject({ read: n, valid: n - expected.length, quarantined: expected.length });
    const got = (await quarantine(store)).map((q) => `${q.row_number}: ${q.reason}`);
    expect(got).toEqual(expected);
    // The table keeps exactly the first occurrences (their times are their positions): the rows of a duplicated
    // value are deleted and the first written again from the input.
    const kept = await store.all<{ activity_id: string; at: number }>(
      "SELECT activity_id, epoch(started_at)::BIGINT - epoch(TIMESTAMP '2025-01-01')::BIGINT AS at FROM src_activities ORDER BY started_at",
    );
    const firsts = [...first.entries()].sort((a, b) => a[1] - b[1]).map(([id, at]) => `a${id}@${at - 1}`);
    expect(kept.map((r) => `${r.activity_id}@${r.at}`)).toEqual(firsts);
  });

  it("the failing-rows pass reads the input only when some row failed (a clean source is read once for its rows)", async () => {
    const dir = tempDir();
    store = await openStore({ path: ":memory:" });
    const s = store;
    const bad = watchRuns(s, /CREATE TEMP TABLE "__fti_bad_/);
    await writeParquet(s, join(dir, "clean.parquet"), [row("a1", 1), row("a2", 2), row("a1", 3)]);
    const clean = await runFeaturePipeline(s, bundleFor(dir, activitiesSource("clean.parquet", "parquet")));
    await writeParquet(s, join(dir, "dirty.parquet"), [row("a1", 1), row("a2", 2, { km: "-1.0" }), row("a1", 3)]);
    const dirty = await runFeaturePipeline(s, bundleFor(dir, activitiesSource("dirty.parquet", "parquet")));
    bad.restore();
    expect(bad.seen.map((sql) => (/WHERE FALSE\s*$/.test(sql) ? "empty" : "read"))).toEqual(["empty", "read"]);
    expect(clean.sources[0]).toMatchObject({ read: 3, valid: 2, quarantined: 1 });
    expect(dirty.sources[0]).toMatchObject({ read: 3, valid: 1, quarantined: 2 });
    expect(await quarantinedByFile(s)).toEqual([
      ["clean.parquet", 3, "activity_id: duplicate value 'a1' (first at row 1)"],
      ["dirty.parquet", 2, "distance_km: -1.0 fails check (> 0)"],
      ["dirty.parquet", 3, "activity_id: duplicate value 'a1' (first at row 1)"],
    ]);
  });

  it("unique values in order are proved distinct without sorting their hashes; a repeat among them is still found", async () => {
    const dir = tempDir();
    store = await openStore({ path: ":memory:" });
    const s = store;
    const hashSorts = watchRuns(s, /CREATE TEMP TABLE "__fti_duphash_/);
    const sorts = async (file: string, rows: Row[]) => {
      await writeParquet(s, join(dir, file), rows);
      const before = hashSorts.seen.length;
      const r = await runFeaturePipeline(s, bundleFor(dir, activitiesSource(file, "parquet")));
      return { sorted: hashSorts.seen.length - before, quarantined: r.sources[0].quarantined, valid: r.sources[0].valid };
    };
    // Increasing or decreasing (the null is not a value): no repeat possible, no sort.
    expect(await sorts("up.parquet", [row("a1", 1), row("a2", 2), row(null, 3), row("a3", 4)])).toEqual({ sorted: 0, quarantined: 1, valid: 3 });
    expect(await sorts("down.parquet", [row("a3", 1), row("a2", 2), row("a1", 3)])).toEqual({ sorted: 0, quarantined: 0, valid: 3 });
    // A repeat next to its first, or after a step back: not strictly ordered, so the hashes decide.
    expect(await sorts("adjacent.parquet", [row("a1", 1), row("a2", 2), row("a2", 3), row("a3", 4)])).toEqual({ sorted: 1, quarantined: 1, valid: 3 });
    expect(await sorts("later.parquet", [row("a1", 1), row("a2", 2), row("a3", 3), row("a2", 4)])).toEqual({ sorted: 1, quarantined: 1, valid: 3 });
    expect(await sorts("unordered.parquet", [row("a2", 1), row("a1", 2), row("a3", 3)])).toEqual({ sorted: 1, quarantined: 0, valid: 3 });
    // The input is read as two halves (rows 1–3, 4–6), each one sequence: each strictly ordered either way and
    // their ranges apart is enough; ranges that meet (a3 ends the first and starts the second) are not.
    expect(await sorts("apart.parquet", [row("a4", 1), row("a5", 2), row("a6", 3), row("a3", 4), row("a2", 5), row("a1", 6)])).toEqual({ sorted: 0, quarantined: 0, valid: 6 });
    expect(await sorts("meet.parquet", [row("a1", 1), row("a2", 2), row("a3", 3), row("a3", 4), row("a4", 5), row("a5", 6)])).toEqual({ sorted: 1, quarantined: 1, valid: 5 });
    expect(await sorts("overlap.parquet", [row("a1", 1), row("a3", 2), row("a5", 3), row("a2", 4), row("a4", 5), row("a6", 6)])).toEqual({ sorted: 1, quarantined: 0, valid: 6 });
    // A falling half's range runs from its last value up to its first: here its first (a4) repeats in the other half.
    expect(await sorts("falling.parquet", [row("a3", 1), row("a4", 2), row("a5", 3), row("a4", 4), row("a2", 5), row("a1", 6)])).toEqual({ sorted: 1, quarantined: 1, valid: 5 });
    // Several Parquet files (positions restart in each): the halves are the first and second half of the files.
    mkdirSync(join(dir, "inorder"));
    await writeParquet(s, join(dir, "inorder", "p1.parquet"), [row("b1", 1), row("b2", 2)]);
    await writeParquet(s, join(dir, "inorder", "p2.parquet"), [row("b3", 3), row("b4", 4)]);
    const before = hashSorts.seen.length;
    const files = await runFeaturePipeline(s, bundleFor(dir, activitiesSource("inorder/*.parquet", "parquet")));
    expect({ sorted: hashSorts.seen.length - before, valid: files.sources[0].valid }).toEqual({ sorted: 0, valid: 4 });
    hashSorts.restore();
    expect(await quarantinedByFile(s)).toEqual([
      ["up.parquet", 3, "activity_id: missing value (not nullable)"],
      ["adjacent.parquet", 3, "activity_id: duplicate value 'a2' (first at row 2)"],
      ["later.parquet", 4, "activity_id: duplicate value 'a2' (first at row 2)"],
      ["meet.parquet", 4, "activity_id: duplicate value 'a3' (first at row 3)"],
      ["falling.parquet", 4, "activity_id: duplicate value 'a4' (first at row 2)"],
    ]);
  });

  it("ordered unique values over many vectors and row groups: a repeat at a vector's edge is found", async () => {
    const dir = tempDir();
    store = await openStore({ path: ":memory:" });
    const n = 100_000;
    // Zero-padded ids increase with i; row 2049 (i = 2048, the first row of the second vector) repeats row 2048's id, and so does row 60001.
    const dups = [2048, 60_000];
    await store.run(
      `COPY (SELECT 'a' || lpad(CAST(CASE WHEN i IN (${dups.join(", ")}) THEN i - 1 ELSE i END AS VARCHAR), 6, '0') AS activity_id,
                    'ath0' AS athlete_id, TIMESTAMP '2025-01-01' + INTERVAL (i) SECOND AS started_at, 'run' AS sport,
                    10.0 AS distance_km, 3000.0 AS elapsed_time_s, 50.0 AS elevation_gain_m, 5.0 AS planned_pace_min_km, NULL::DOUBLE AS avg_hr
               FROM range(${n}) AS t(i) ORDER BY i)
         TO '${join(dir, "acts.parquet")}' (FORMAT parquet, ROW_GROUP_SIZE 7000)`,
    );
    const r = await runFeaturePipeline(store, bundleFor(dir, activitiesSource("acts.parquet", "parquet")));
    expect(r.sources[0]).toMatchObject({ read: n, valid: n - dups.length, quarantined: dups.length });
    expect((await quarantine(store)).map((q) => `${q.row_number}: ${q.reason}`)).toEqual(
      dups.map((i) => `${i + 1}: activity_id: duplicate value 'a${String(i - 1).padStart(6, "0")}' (first at row ${i})`),
    );
  });

  it("range runs judge duplicates among the rows of the range only", async () => {
    const dir = tempDir();
    store = await openStore({ path: ":memory:" });
    await writeParquet(store, join(dir, "acts.parquet"), [row("a1", 1), row("a1", 10), row("a2", 11), row("a2", 12), row("a3", 20)]);
    const bundle = bundleFor(dir, activitiesSource("acts.parquet", "parquet"));
    const r = await runFeaturePipeline(store, bundle, { from: new Date(Date.UTC(2025, 0, 5)), to: new Date(Date.UTC(2025, 0, 15)) });
    expect(r.sources[0]).toMatchObject({ read: 3, valid: 2, quarantined: 1, skipped: 2 });
    expect((await quarantine(store)).map((q) => [q.row_number, q.reason])).toEqual([[4, "activity_id: duplicate value 'a2' (first at row 3)"]]);
  });

  it("a field called rowid (which hides DuckDB's rowid) does not break the unique pass", async () => {
    const dir = tempDir();
    const header = "activity_id,athlete_id,started_at,sport,distance_km,elapsed_time_s,elevation_gain_m,planned_pace_min_km,avg_hr,rowid";
    const line = (id: string, day: number, rowid: string) => `${id},ath0,2025-01-${String(day).padStart(2, "0")} 08:00:00,run,10,3000,50,5,,${rowid}`;
    writeFileSync(join(dir, "acts.csv"), [header, line("a1", 1, "x"), line("a2", 2, ""), line("a3", 3, "y")].join("\n") + "\n");
    const source = activitiesSource("acts.csv");
    source.fields.push({ name: "rowid", type: "string", nullable: true });
    store = await openStore({ path: ":memory:" });
    const r = await runFeaturePipeline(store, bundleFor(dir, source));
    expect(r.sources[0]).toMatchObject({ read: 3, valid: 3, quarantined: 0 });
    expect(await store.all(`SELECT activity_id, rowid FROM src_activities ORDER BY activity_id`)).toEqual([
      { activity_id: "a1", rowid: "x" },
      { activity_id: "a2", rowid: null },
      { activity_id: "a3", rowid: "y" },
    ]);
  });

  it("csv: several files are numbered per file as well", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "parts"));
    const header = "activity_id,athlete_id,started_at,sport,distance_km,elapsed_time_s,elevation_gain_m,planned_pace_min_km,avg_hr";
    const line = (id: string, day: number, km = "10") => `${id},ath0,2025-01-${String(day).padStart(2, "0")} 08:00:00,run,${km},3000,50,5,`;
    writeFileSync(join(dir, "parts", "a.csv"), [header, line("a1", 1), line("a2", 2, "x")].join("\n") + "\n");
    writeFileSync(join(dir, "parts", "b.csv"), [header, line("a3", 3), line("a1", 4), line("a4", 5, "-2")].join("\n") + "\n");
    store = await openStore({ path: ":memory:" });
    await runFeaturePipeline(store, bundleFor(dir, activitiesSource("parts/*.csv")));
    expect(await quarantinedByFile(store)).toEqual([
      ["a.csv", 2, "distance_km: 'x' is not a float"],
      ["b.csv", 2, "activity_id: duplicate value 'a1' (first at row 1)"],
      ["b.csv", 3, "distance_km: -2 fails check (> 0)"],
    ]);
  });

  it("a Parquet file that changes while the run reads it fails the run and changes nothing", async () => {
    const dir = tempDir();
    const file = join(dir, "acts.parquet");
    store = await openStore({ path: ":memory:" });
    await writeParquet(store, file, [row("a1", 1), row("a2", 2)]);
    const bundle = bundleFor(dir, activitiesSource("acts.parquet", "parquet"));
    await runFeaturePipeline(store, bundle);
    const before = await store.all("SELECT * FROM src_activities ORDER BY ALL");

    // Rewrite the file right after the first pass over it (the valid rows into the table).
    const s = store;
    const rewrite = afterRuns(s, /^INSERT INTO "src_activities"/, () => writeParquet(s, file, [row("a1", 1), row("a2", 2), row("a3", 3, { km: "-1.0" })]));
    const err = await runFeaturePipeline(s, bundle).catch((e: unknown) => e);
    rewrite.restore();
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(`${file} changed while being read`);
    expect(await s.all("SELECT * FROM src_activities ORDER BY ALL")).toEqual(before);
    expect(await s.all("SELECT count(*) AS n FROM fti_quarantine")).toEqual([{ n: 0 }]);
  });

  it("a clean Parquet source's groups read its rows from the file, the rows the table holds; a quarantined row or a range keeps the table", async () => {
    const dir = tempDir();
    store = await openStore({ path: ":memory:" });
    const s = store;
    const rows = (over: (a: number, d: number) => Partial<Record<"km", string>> = () => ({})) =>
      [0, 1, 2].flatMap((a) => Array.from({ length: 20 }, (_, d) => row(`a${a}-${String(d).padStart(2, "0")}`, d + 1, { athlete: `ath${a}`, km: `${5 + ((a * 7 + d * 3) % 11)}.5`, ...over(a, d) })));
    await writeParquet(s, join(dir, "acts.parquet"), rows());
    const bundle = athleteBundle(dir, { sources: [activitiesSource("acts.parquet", "parquet")] });
    const inputs = watchRuns(s, /^CREATE OR REPLACE TEMP VIEW __input /);
    const features = async () =>
      s.all(`SELECT athlete_id, event_time, pace, climb, tss, distance, round(km_7d, 9) AS km_7d, round(pace_28d, 9) AS pace_28d, runs_28d, longest_28d
               FROM fg_activity_stats_v1 JOIN fg_fitness_v1 USING (athlete_id, event_time) ORDER BY ALL`);
    const fromFile = await runFeaturePipeline(s, bundle);
    const fileRows = await features();
    // A range from before every row: the same rows, read from the table.
    const fromTable = await runFeaturePipeline(s, bundle, { from: new Date("2000-01-01T00:00:00Z") });
    expect(fromFile.groups.map((g) => g.rows)).toEqual([60, 60]);
    expect(fromTable.groups.map((g) => g.rows)).toEqual([60, 60]);
    expect(fileRows).toHaveLength(60);
    expect(await features()).toEqual(fileRows);
    // A failing row (and so the validation filter) between the file and the table: the groups read the table.
    await writeParquet(s, join(dir, "acts.parquet"), rows((a, d) => (a === 1 && d === 4 ? { km: "-1.0" } : {})));
    const dirty = await runFeaturePipeline(s, bundle);
    inputs.restore();
    expect(dirty.sources[0].quarantined).toBe(1);
    expect(dirty.groups.map((g) => g.rows)).toEqual([59, 59]);
    expect(await s.all(`SELECT activity_id FROM fg_activity_stats_v1 EXCEPT SELECT activity_id FROM src_activities`)).toEqual([]);
    // Each run's activity_stats input (fitness reads activity_stats' table).
    const read = inputs.seen.filter((sql) => !sql.includes("fg_activity_stats_v1")).map((sql) => (sql.includes(`"src_activities"`) ? "table" : sql.includes(`"__fti_in_activities"`) ? "file" : sql));
    expect(read).toEqual(["file", "table", "table"]);
  });

  it("a Parquet file that changes while a group reads it fails the run and changes nothing", async () => {
    const dir = tempDir();
    const file = join(dir, "acts.parquet");
    store = await openStore({ path: ":memory:" });
    const s = store;
    await writeParquet(s, file, [row("a1", 1), row("a2", 2)]);
    const bundle = athleteBundle(dir, { sources: [activitiesSource("acts.parquet", "parquet")] });
    await runFeaturePipeline(s, bundle);
    const before = await s.all("SELECT * FROM fg_activity_stats_v1 ORDER BY ALL");
    const rewrite = afterRuns(s, /^INSERT INTO "fg_activity_stats_v1"/, () => writeParquet(s, file, [row("a1", 1), row("a2", 2), row("a3", 3)]));
    const err = await runFeaturePipeline(s, bundle).catch((e: unknown) => e);
    rewrite.restore();
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(`${file} changed while being read`);
    expect(await s.all("SELECT * FROM fg_activity_stats_v1 ORDER BY ALL")).toEqual(before);
    expect(await s.all("SELECT count(*) AS n FROM src_activities")).toEqual([{ n: 2 }]);
  });

  it("a check whose SQL does not bind fails before any row is written", async () => {
    const dir = tempDir();
    store = await openStore({ path: ":memory:" });
    await writeParquet(store, join(dir, "acts.parquet"), [row("a1", 1)]);
    const source = activitiesSource("acts.parquet", "parquet");
    source.checks = [...source.checks, { field: "distance_km", text: "check (> nope)", sql: `("distance_km" > "nope")` }];
    const err = await runFeaturePipeline(store, bundleFor(dir, source)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/validating the rows failed \(a check's SQL may be wrong\)/);
    expect(await store.tableExists("src_activities")).toBe(false);
  });

  it("the source table is written without insertion order, and the store keeps it on for everything else — also after a run that failed inside that write", async () => {
    const dir = tempDir();
    store = await openStore({ path: ":memory:" });
    const s = store;
    const setting = async () => (await s.all<{ v: boolean }>("SELECT current_setting('preserve_insertion_order') AS v"))[0].v;
    const writes = watchRuns(s, /^SET preserve_insertion_order = false$|^INSERT INTO "src_activities"|^RESET preserve_insertion_order$/);
    await writeParquet(s, join(dir, "acts.parquet"), [row("a1", 1), row("a2", 2)]);
    const source = activitiesSource("acts.parquet", "parquet");
    await runFeaturePipeline(s, bundleFor(dir, source));
    expect(writes.seen.map((sql) => sql.split(" ")[0])).toEqual(["SET", "INSERT", "RESET"]);
    expect(await setting()).toBe(true);
    // A check that binds but fails on the first row it reads (a cast error): the INSERT fails mid-transaction,
    // where DuckDB refuses the RESET until the ROLLBACK; the setting is restored after it.
    const failing = { ...source, checks: [...source.checks, { field: "sport", text: "check (cast)", sql: `(CAST("sport" AS INTEGER) > 0)` }] };
    const err = await runFeaturePipeline(s, bundleFor(dir, failing)).catch((e: unknown) => e);
    writes.restore();
    expect((err as Error).message).toMatch(/validating the rows failed/);
    expect(await setting()).toBe(true);
    expect((await s.all<{ n: number }>("SELECT count(*) AS n FROM src_activities"))[0].n).toBe(2);
  });
});
