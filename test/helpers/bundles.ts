// Hand-made SpecBundles for the store / feature pipeline / PIT tests: what the
// compiler will generate, written out by hand (plans plus GroupPlan.sql over
// `__input`), and seeded data to run them on.

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GroupPlan, OdtPlan, Scalar, SourcePlan, SpecBundle, ViewPlan } from "../../runtime/api.ts";
import { entityView } from "./view-plan.ts";
import { mulberry32 as rng } from "../../runtime/random.ts";

/** A small seeded PRNG (mulberry32): the same seed gives the same data. */
export { rng };

export const DAY = 86_400_000;
export const T0 = Date.UTC(2025, 0, 1);

export function tempDir(prefix = "fti-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** "2025-01-03 10:00:00": the SQL-ish form a CSV export would use. */
export function sqlTime(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.000Z$/, "");
}

export function writeCsv(path: string, header: string[], rows: Array<Array<string | number | null>>): void {
  const cell = (v: string | number | null) => (v === null ? "" : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  writeFileSync(path, [header.join(","), ...rows.map((r) => r.map(cell).join(","))].join("\n") + "\n");
}

// ------------------------------------------------------------------ the athlete spec, by hand

export const ACTIVITY_HEADER = [
  "activity_id",
  "athlete_id",
  "started_at",
  "sport",
  "distance_km",
  "elapsed_time_s",
  "elevation_gain_m",
  "planned_pace_min_km",
  "avg_hr",
];

/** Seeded, valid activities: `athletes` athletes, about one run every `gapDays` days over `days` days from T0. */
export function activityRows(opts: { seed?: number; athletes?: number; days?: number; gapDays?: number } = {}) {
  const rand = rng(opts.seed ?? 7);
  const athletes = opts.athletes ?? 5;
  const days = opts.days ?? 120;
  const gap = opts.gapDays ?? 2;
  const rows: Array<Array<string | number | null>> = [];
  let id = 0;
  for (let a = 0; a < athletes; a++) {
    let t = T0 + Math.floor(rand() * DAY);
    while (t < T0 + days * DAY) {
      const km = Math.round((3 + rand() * 15) * 100) / 100;
      const pace = 4.5 + rand() * 2;
      rows.push([
        `act${String(++id).padStart(5, "0")}`,
        `ath${a}`,
        sqlTime(Math.floor(t / 1000) * 1000),
        ["run", "trail", "treadmill"][Math.floor(rand() * 3)],
        km,
        Math.round(km * pace * 60),
        Math.round(rand() * 300),
        Math.round(pace * 100) / 100,
        rand() < 0.2 ? null : Math.round(130 + rand() * 40),
      ]);
      t += Math.floor((0.3 + rand() * 1.4) * gap * DAY);
    }
  }
  return rows;
}

export function activitiesSource(path = "data/activities.csv", format: "csv" | "parquet" | "ndjson" = "csv"): SourcePlan {
  return {
    name: "activities",
    line: 4,
    location: { kind: "files", path, format },
    eventTime: "started_at",
    unique: ["activity_id"],
    fields: [
      { name: "activity_id", type: "string", nullable: false },
      { name: "athlete_id", type: "string", nullable: false },
      { name: "started_at", type: "timestamp", nullable: false },
      { name: "sport", type: "string", nullable: false, allowed: ["run", "trail", "treadmill"] },
      { name: "distance_km", type: "float", nullable: false },
      { name: "elapsed_time_s", type: "float", nullable: false },
      { name: "elevation_gain_m", type: "float", nullable: false },
      { name: "planned_pace_min_km", type: "float", nullable: false },
      { name: "avg_hr", type: "float", nullable: true },
    ],
    checks: [
      { field: "distance_km", text: "check (> 0)", sql: `("distance_km" > 0)` },
      { field: "elapsed_time_s", text: "check (> 0)", sql: `("elapsed_time_s" > 0)` },
      { field: "elevation_gain_m", text: "check (>= 0)", sql: `("elevation_gain_m" >= 0)` },
      { field: "planned_pace_min_km", text: "check (> 0)", sql: `("planned_pace_min_km" > 0)` },
    ],
  };
}

const athleteKey = [{ name: "athlete_id", type: "string" as const, nullable: false }];

export function activityStatsGroup(version = 1): GroupPlan {
  return {
    name: "activity_stats",
    version,
    line: 30,
    table: `fg_activity_stats_v${version}`,
    entity: "athlete",
    keys: athleteKey,
    input: { kind: "source", name: "activities" },
    rowId: { name: "activity_id", type: "string", nullable: false },
    features: [
      { name: "pace", type: "float", nullable: false },
      { name: "climb", type: "float", nullable: false },
      { name: "tss", type: "float", nullable: false },
      { name: "distance", type: "float", nullable: false },
    ],
    lookbackMs: 0,
    sql: `
      WITH base AS (
        SELECT athlete_id, started_at AS event_time, activity_id,
               (elapsed_time_s / 60) / distance_km AS pace,
               elevation_gain_m / distance_km AS climb,
               elapsed_time_s, distance_km
          FROM __input
      )
      SELECT athlete_id, event_time, activity_id, pace, climb,
             (elapsed_time_s / 3600) * pow(5.0 / pace, 2) * 100 AS tss,
             distance_km AS distance
        FROM base`,
    externs: [],
  };
}

/** Windows are (t - w, t] over each athlete's activities; ewma is left out (its lookback is unbounded). */
export function fitnessGroup(version = 1): GroupPlan {
  const w = (days: number) =>
    `OVER (PARTITION BY athlete_id ORDER BY event_time RANGE BETWEEN INTERVAL ${days} DAYS PRECEDING AND CURRENT ROW)`;
  return {
    name: "fitness",
    version,
    line: 40,
    table: `fg_fitness_v${version}`,
    entity: "athlete",
    keys: athleteKey,
    input: { kind: "group", name: "activity_stats" },
    features: [
      { name: "pace_28d", type: "float", nullable: true },
      { name: "runs_28d", type: "int", nullable: false },
      { name: "km_7d", type: "float", nullable: false },
      { name: "longest_28d", type: "float", nullable: true },
    ],
    lookbackMs: 28 * DAY,
    sql: `
      SELECT athlete_id, event_time,
             avg(pace) ${w(28)} AS pace_28d,
             count(*) ${w(28)} AS runs_28d,
             sum(distance) ${w(7)} AS km_7d,
             max(distance) ${w(28)} AS longest_28d
        FROM __input`,
    externs: [],
  };
}

export const paceDeviation: OdtPlan = {
  name: "pace_deviation",
  line: 60,
  requestParams: [{ name: "planned_pace_min_km", type: "float", nullable: false }],
  featureParams: ["pace_28d"],
  returns: { name: "pace_deviation", type: "float", nullable: true },
  compute: (r, f) =>
    r.planned_pace_min_km === null || f.pace_28d === null
      ? null
      : ((r.planned_pace_min_km as number) - (f.pace_28d as number)) / (f.pace_28d as number),
};

export const plannedDistance: OdtPlan = {
  name: "planned_distance_km",
  line: 70,
  requestParams: [{ name: "distance_km", type: "float", nullable: false }],
  featureParams: [],
  returns: { name: "planned_distance_km", type: "float", nullable: false },
  compute: (r) => r.distance_km,
};

export function timeEstimatorView(): ViewPlan {
  const fitness = fitnessGroup();
  return entityView({
    name: "time_estimator_data",
    line: 80,
    entity: "athlete",
    keys: athleteKey,
    label: { name: "finish_time_s", source: "activities", column: "elapsed_time_s", type: "float", eventTime: "started_at" },
    features: fitness.features.map((f) => ({ name: f.name, group: "fitness", table: fitness.table, type: f.type })),
    odts: [paceDeviation, plannedDistance],
    requestFields: [
      { name: "planned_pace_min_km", type: "float", nullable: false },
      { name: "distance_km", type: "float", nullable: false },
    ],
    ttlMs: 90 * DAY,
    asOf: "strict",
  });
}

export function athleteBundle(specDir: string, over: Partial<SpecBundle> = {}): SpecBundle {
  return {
    name: "athlete",
    file: "specs/athlete.fti",
    specDir,
    specHash: "test-spec-hash",
    transformsHash: "test-transforms-hash",
    sources: [activitiesSource()],
    groups: [activityStatsGroup(), fitnessGroup()],
    views: [timeEstimatorView()],
    models: [],
    serves: [],
    externs: {},
    ...over,
  };
}

/** A spec directory with `data/activities.csv` holding the given rows (default: seeded valid ones). */
export function athleteSpecDir(rows = activityRows()): string {
  const dir = tempDir();
  const data = join(dir, "data");
  mkdirSync(data, { recursive: true });
  writeCsv(join(data, "activities.csv"), ACTIVITY_HEADER, rows);
  return dir;
}

// ------------------------------------------------------------------ a generic one-group bundle (PIT tests)

export interface PitFixtureOptions {
  ttlMs: number | null;
  asOf: "strict" | "inclusive";
  rowId?: boolean;
}

/**
 * A bundle with a label source `events` (src_events: user_id, ts, y, amount)
 * and one group `g` (fg_g_v1: user_id, event_time, [rid], f1, f2, ingested_at)
 * whose tables the test fills directly.
 */
export function pitBundle(opts: PitFixtureOptions): SpecBundle {
  const key = [{ name: "user_id", type: "string" as const, nullable: false }];
  const group: GroupPlan = {
    name: "g",
    version: 1,
    line: 10,
    table: "fg_g_v1",
    entity: "user",
    keys: key,
    input: { kind: "source", name: "events" },
    ...(opts.rowId ? { rowId: { name: "rid", type: "int" as const, nullable: false } } : {}),
    features: [
      { name: "f1", type: "float", nullable: true },
      { name: "f2", type: "int", nullable: true },
    ],
    lookbackMs: 0,
    sql: "SELECT user_id, ts AS event_time, amount AS f1, 1 AS f2 FROM __input",
    externs: [],
  };
  const odt: OdtPlan = {
    name: "f1_plus_amount",
    line: 20,
    requestParams: [{ name: "amount", type: "float", nullable: false }],
    featureParams: ["f1"],
    returns: { name: "f1_plus_amount", type: "float", nullable: true },
    compute: (r: Record<string, Scalar>, f: Record<string, Scalar>) =>
      r.amount === null || f.f1 === null ? null : (r.amount as number) + (f.f1 as number),
  };
  const view: ViewPlan = entityView({
    name: "v",
    line: 30,
    entity: "user",
    keys: key,
    label: { name: "y", source: "events", column: "y", type: "float", eventTime: "ts" },
    features: group.features.map((f) => ({ name: f.name, group: "g", table: "fg_g_v1", type: f.type })),
    odts: [odt],
    requestFields: [{ name: "amount", type: "float", nullable: false }],
    ttlMs: opts.ttlMs,
    asOf: opts.asOf,
  });
  const source: SourcePlan = {
    name: "events",
    line: 1,
    location: { kind: "table", table: "raw_events" },
    eventTime: "ts",
    fields: [
      { name: "user_id", type: "string", nullable: false },
      { name: "ts", type: "timestamp", nullable: false },
      { name: "y", type: "float", nullable: true },
      { name: "amount", type: "float", nullable: false },
    ],
    checks: [],
  };
  return {
    name: "pit",
    file: "pit.fti",
    specDir: tmpdir(),
    specHash: "h",
    transformsHash: "t",
    sources: [source],
    groups: [group],
    views: [view],
    models: [],
    serves: [],
    externs: {},
  };
}
