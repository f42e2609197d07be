import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACTIVITY_COLUMNS,
  BAD_ROW_KINDS,
  SPORTS,
  activityToCsvLine,
  athleteProfile,
  generateActivities,
  generateActivitiesWithTruth,
  writeAthleteCsv,
  writeAthleteParquet,
  type ActivityRow,
  type ActivityTruth,
} from "../specs/athlete.data.ts";

// One default-size dataset (200 athletes × 730 days), shared by the tests below.
const all: Array<{ row: ActivityRow; truth: ActivityTruth }> = [...generateActivitiesWithTruth({ athletes: 200 })];
const rows = all.map((x) => x.row);

const pace = (r: ActivityRow) => r.elapsed_time_s / 60 / r.distance_km;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sorted = (xs: number[]) => Float64Array.from(xs).sort();
const median = (xs: number[]) => sorted(xs)[Math.floor(xs.length / 2)];
/** Quantiles of xs at qs. */
const quantiles = (xs: number[], ...qs: number[]) => {
  const s = sorted(xs);
  return qs.map((q) => s[Math.floor(q * (s.length - 1))]);
};
function corr(xs: number[], ys: number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
/** Least squares by normal equations (small k). */
function ols(X: number[][], y: number[]): number[] {
  const k = X[0].length;
  const A = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0));
  for (let i = 0; i < X.length; i++) {
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) A[a][b] += X[i][a] * X[i][b];
      A[a][k] += X[i][a] * y[i];
    }
  }
  for (let c = 0; c < k; c++) {
    let piv = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
    [A[c], A[piv]] = [A[piv], A[c]];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let j = c; j <= k; j++) A[r][j] -= f * A[c][j];
    }
  }
  return A.map((row, i) => row[k] / row[i]);
}

describe("athlete data: determinism", () => {
  it("same seed → same rows; different seed → different rows", () => {
    const text = (seed: number) => [...generateActivities({ athletes: 10, seed })].map(activityToCsvLine).join("");
    const a = text(7);
    expect(a.split("\n").length).toBeGreaterThan(1000);
    expect(text(7)).toBe(a);
    expect(text(8)).not.toBe(a);
  });

  it("an athlete's rows do not depend on how many athletes are generated", () => {
    const few = [...generateActivities({ athletes: 5 })].map(activityToCsvLine);
    const prefix = rows.filter((r) => r.athlete_id <= "a0005").map(activityToCsvLine);
    expect(few.join("")).toBe(prefix.join(""));
  });

  it("activitiesPerAthlete gives exactly that many rows per athlete", () => {
    const counts = new Map<string, number>();
    for (const r of generateActivities({ athletes: 12, activitiesPerAthlete: 300 })) {
      counts.set(r.athlete_id, (counts.get(r.athlete_id) ?? 0) + 1);
    }
    expect([...counts.values()]).toEqual(new Array(12).fill(300));
  });
});

describe("athlete data: spec constraints (badRowFraction = 0)", () => {
  it("every row satisfies the `activities` source", () => {
    const ids = new Set<string>();
    const lo = "2024-01-01 00:00:00";
    const hi = "2025-12-31 23:59:59";
    const bad: ActivityRow[] = [];
    for (const r of rows) {
      const ok =
        Object.keys(r).join() === ACTIVITY_COLUMNS.join() &&
        /^a\d{4}-\d{5}$/.test(r.activity_id) &&
        /^a\d{4}$/.test(r.athlete_id) &&
        /^\d{4}-\d\d-\d\d \d\d:\d\d:00$/.test(r.started_at) &&
        r.started_at >= lo &&
        r.started_at <= hi &&
        (SPORTS as readonly string[]).includes(r.sport) &&
        r.distance_km > 0 &&
        Number.isInteger(r.elapsed_time_s) &&
        r.elapsed_time_s > 0 &&
        r.elevation_gain_m >= 0 &&
        r.planned_pace_min_km > 0 &&
        (r.avg_hr === null || (Number.isInteger(r.avg_hr) && r.avg_hr > 0));
      if (!ok || ids.has(r.activity_id)) bad.push(r);
      ids.add(r.activity_id);
    }
    expect(bad).toEqual([]);
  });

  it("default size: 200 athletes, 50–80k activities, each athlete's rows in time order", () => {
    expect(new Set(rows.map((r) => r.athlete_id)).size).toBe(200);
    expect(rows.length).toBeGreaterThan(50_000);
    expect(rows.length).toBeLessThan(80_000);
    let outOfOrder = 0;
    for (let i = 1; i < rows.length; i++) {
      if (rows[i].athlete_id === rows[i - 1].athlete_id && rows[i].started_at <= rows[i - 1].started_at) outOfOrder++;
    }
    expect(outOfOrder).toBe(0);
  });
});

describe("athlete data: realism", () => {
  it("ranges look like real running", () => {
    const [p01, p50, p99] = quantiles(rows.map(pace), 0.01, 0.5, 0.99);
    expect(p01).toBeGreaterThan(3);
    expect(p50).toBeGreaterThan(5);
    expect(p50).toBeLessThan(7);
    expect(p99).toBeLessThan(11);
    const [dMin, d50, d99] = quantiles(rows.map((r) => r.distance_km), 0, 0.5, 0.99);
    expect(dMin).toBeGreaterThanOrEqual(1.5);
    expect(d50).toBeGreaterThan(5);
    expect(d50).toBeLessThan(12);
    expect(d99).toBeLessThan(45);
    const [t01, t99] = quantiles(rows.map((r) => r.elapsed_time_s), 0.01, 0.99);
    expect(t01).toBeGreaterThan(10 * 60);
    expect(t99).toBeLessThan(5 * 3600);
    const hr = rows.filter((r) => r.avg_hr !== null).map((r) => r.avg_hr!);
    const [hrMin, hrMax] = quantiles(hr, 0, 1);
    expect(hrMin).toBeGreaterThan(90);
    expect(hrMax).toBeLessThan(210);
    const missingHr = 1 - hr.length / rows.length;
    expect(missingHr).toBeGreaterThan(0.08);
    expect(missingHr).toBeLessThan(0.22);
    const sports = new Map<string, number>();
    for (const r of rows) sports.set(r.sport, (sports.get(r.sport) ?? 0) + 1);
    expect(sports.get("run")! / rows.length).toBeGreaterThan(0.6);
    expect(sports.get("trail")! / rows.length).toBeGreaterThan(0.05);
    expect(sports.get("treadmill")! / rows.length).toBeGreaterThan(0.02);
  });

  it("training frequency varies by athlete (≈2×/week … ≈6×/week) and includes gaps", () => {
    const byAthlete = new Map<string, ActivityRow[]>();
    for (const r of rows) {
      const list = byAthlete.get(r.athlete_id) ?? [];
      list.push(r);
      byAthlete.set(r.athlete_id, list);
    }
    const perWeek = [...byAthlete.values()].map((l) => (l.length / 730) * 7);
    expect(Math.min(...perWeek)).toBeLessThan(2.3);
    expect(Math.max(...perWeek)).toBeGreaterThan(5);
    // Most athletes have at least one break of two weeks or more.
    const withGap = [...byAthlete.values()].filter((l) => {
      for (let i = 1; i < l.length; i++) {
        const d = (Date.parse(l[i].started_at + "Z") - Date.parse(l[i - 1].started_at + "Z")) / 86_400_000;
        if (d >= 14) return true;
      }
      return false;
    });
    expect(withGap.length / byAthlete.size).toBeGreaterThan(0.5);
  });

  it("athletes have their own threshold pace: median pace tracks it", () => {
    const byAthlete = new Map<number, number[]>();
    for (const { row, truth } of all) {
      const l = byAthlete.get(truth.profile.index) ?? [];
      l.push(pace(row));
      byAthlete.set(truth.profile.index, l);
    }
    const thr: number[] = [];
    const med: number[] = [];
    for (const [i, l] of byAthlete) {
      thr.push(athleteProfile(i).thresholdPace);
      med.push(median(l));
    }
    expect(Math.min(...thr)).toBeGreaterThanOrEqual(3.6);
    expect(Math.max(...thr)).toBeLessThanOrEqual(6.5);
    expect(corr(thr, med)).toBeGreaterThan(0.8);
  });

  it("pace depends on climbing, distance, sport and the Banister state before the run", () => {
    // Within-athlete regression of log pace on easy/long road+trail runs.
    const sample = all.filter((x) => x.truth.session === "easy" || x.truth.session === "long");
    const byAthlete = new Map<number, number[]>();
    sample.forEach((x, i) => {
      const l = byAthlete.get(x.truth.profile.index) ?? [];
      l.push(i);
      byAthlete.set(x.truth.profile.index, l);
    });
    const feats = sample.map(({ row, truth }) => [
      row.elevation_gain_m / row.distance_km,
      Math.log(row.distance_km),
      row.sport === "trail" ? 1 : 0,
      row.sport === "treadmill" ? 1 : 0,
      truth.ctl,
      truth.atl,
    ]);
    const y = sample.map((x) => Math.log(pace(x.row)));
    // Demean per athlete (athlete fixed effects).
    const X: number[][] = feats.map((f) => [...f]);
    const Y = [...y];
    for (const idx of byAthlete.values()) {
      for (let j = 0; j < feats[0].length; j++) {
        const m = mean(idx.map((i) => feats[i][j]));
        for (const i of idx) X[i][j] -= m;
      }
      const m = mean(idx.map((i) => y[i]));
      for (const i of idx) Y[i] -= m;
    }
    const [climb, logDist, trail, treadmill, ctl, atl] = ols(X, Y);
    expect(climb).toBeGreaterThan(0.002); // ≈ +0.35% pace per m/km
    expect(logDist).toBeGreaterThan(0.02); // longer → slower
    expect(trail).toBeGreaterThan(0.02); // technical terrain
    expect(treadmill).toBeLessThan(0);
    expect(ctl).toBeLessThan(-0.001); // fitness → faster
    expect(atl).toBeGreaterThan(0.0005); // fatigue → slower
    // Raw correlation of pace with climb per km, across all rows.
    expect(corr(rows.map((r) => r.elevation_gain_m / r.distance_km), rows.map(pace))).toBeGreaterThan(0.3);
  });

  it("planned pace is a noisy estimate: correlated with the truth, not equal", () => {
    const actual = rows.map(pace);
    const planned = rows.map((r) => r.planned_pace_min_km);
    expect(corr(actual.map(Math.log), planned.map(Math.log))).toBeGreaterThan(0.9);
    const relErr = mean(actual.map((a, i) => Math.abs(planned[i] - a) / a));
    expect(relErr).toBeGreaterThan(0.02);
    expect(relErr).toBeLessThan(0.12);
  });

  it("finishing time is learnable: simple predictors beat the mean baseline clearly", () => {
    const y = rows.map((r) => r.elapsed_time_s);
    const m = mean(y);
    const baseline = mean(y.map((v) => Math.abs(v - m)));
    // distance × planned pace (a request-time feature).
    const planned = mean(rows.map((r) => Math.abs(r.elapsed_time_s - r.distance_km * r.planned_pace_min_km * 60)));
    // distance × the athlete's average pace over the previous 28 days (the spec's pace_28d).
    const errs: number[] = [];
    let cur = "";
    let hist: Array<{ t: number; p: number }> = [];
    for (const r of rows) {
      if (r.athlete_id !== cur) [cur, hist] = [r.athlete_id, []];
      const t = Date.parse(r.started_at.replace(" ", "T") + "Z") / 86_400_000;
      hist = hist.filter((h) => h.t > t - 28);
      if (hist.length >= 3) errs.push(Math.abs(r.elapsed_time_s - r.distance_km * mean(hist.map((h) => h.p)) * 60));
      hist.push({ t, p: pace(r) });
    }
    expect(baseline).toBeGreaterThan(1000);
    expect(planned / baseline).toBeLessThan(0.25);
    expect(mean(errs) / baseline).toBeLessThan(0.35);
    expect(mean(errs)).toBeLessThan(600); // the spec's `require mae < 600`
  });
});

describe("athlete data: bad rows", () => {
  it("badRowFraction corrupts about that fraction and leaves the other rows untouched", () => {
    const clean = [...generateActivities({ athletes: 30 })];
    const dirty = [...generateActivitiesWithTruth({ athletes: 30, badRowFraction: 0.05 })];
    expect(dirty.length).toBe(clean.length);
    const badOnes = dirty.filter((x) => x.truth.bad !== null);
    expect(badOnes.length / dirty.length).toBeGreaterThan(0.03);
    expect(badOnes.length / dirty.length).toBeLessThan(0.07);
    expect(new Set(badOnes.map((x) => x.truth.bad))).toEqual(new Set(BAD_ROW_KINDS));
    const same = (a: ActivityRow, b: ActivityRow) => ACTIVITY_COLUMNS.every((c) => Object.is(a[c], b[c]));
    const wrong = dirty.filter((x, i) => same(x.row, clean[i]) !== (x.truth.bad === null));
    expect(wrong).toEqual([]);
    expect(all.every((x) => x.truth.bad === null)).toBe(true);
  });
});

describe("athlete data: writers", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "fti-athlete-test-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("CSV: header + one line per row, identical to activityToCsvLine (also for bad rows)", async () => {
    const opts = { athletes: 8, badRowFraction: 0.05, seed: 3 };
    const res = await writeAthleteCsv({ ...opts, path: join(dir, "a.csv") });
    const text = await readFile(join(dir, "a.csv"), "utf8");
    const expected = ACTIVITY_COLUMNS.join(",") + "\n" + [...generateActivities(opts)].map(activityToCsvLine).join("");
    expect(text).toBe(expected);
    expect(res).toEqual({ rows: text.split("\n").length - 2, athletes: 8 });
    expect(text).toContain("n/a"); // a non-numeric time
    expect(text).toMatch(/,,(r\d\d|treadmill)\n/); // an empty avg_hr, then the route
  });

  it("CSV and Parquet load in DuckDB with the spec's types and pass its checks", async () => {
    const { DuckDBInstance } = await import("@duckdb/node-api");
    const csv = join(dir, "b.csv");
    const parquet = join(dir, "b.parquet");
    const { rows: n } = await writeAthleteCsv({ athletes: 20, path: csv });
    const { rows: m } = await writeAthleteParquet({ athletes: 20, path: parquet });
    expect(m).toBe(n);
    const db = await DuckDBInstance.create(":memory:");
    const conn = await db.connect();
    try {
      const checks = `count(*)::INT, count(DISTINCT activity_id)::INT,
        count(*) FILTER (WHERE sport NOT IN ('run', 'trail', 'treadmill') OR distance_km <= 0
          OR elapsed_time_s <= 0 OR elevation_gain_m < 0 OR planned_pace_min_km <= 0)::INT,
        count(*) FILTER (WHERE avg_hr IS NULL)::INT`;
      const fromCsv = await conn.runAndReadAll(
        `SELECT ${checks} FROM read_csv('${csv}', header = true, columns = {'activity_id': 'VARCHAR',
          'athlete_id': 'VARCHAR', 'started_at': 'TIMESTAMP', 'sport': 'VARCHAR', 'distance_km': 'DOUBLE',
          'elapsed_time_s': 'DOUBLE', 'elevation_gain_m': 'DOUBLE', 'planned_pace_min_km': 'DOUBLE', 'avg_hr': 'DOUBLE',
          'route_id': 'VARCHAR'})`,
      );
      const fromParquet = await conn.runAndReadAll(`SELECT ${checks} FROM '${parquet}'`);
      const [total, distinct, violations, nullHr] = fromCsv.getRows()[0] as number[];
      expect(total).toBe(n);
      expect(distinct).toBe(n);
      expect(violations).toBe(0);
      expect(nullHr).toBeGreaterThan(0);
      expect(fromParquet.getRows()[0]).toEqual(fromCsv.getRows()[0]);
      const types = await conn.runAndReadAll(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '${parquet}')`);
      expect(Object.fromEntries(types.getRows() as string[][])).toEqual({
        activity_id: "VARCHAR",
        athlete_id: "VARCHAR",
        started_at: "TIMESTAMP",
        sport: "VARCHAR",
        distance_km: "DOUBLE",
        elapsed_time_s: "DOUBLE",
        elevation_gain_m: "DOUBLE",
        planned_pace_min_km: "DOUBLE",
        avg_hr: "DOUBLE",
        route_id: "VARCHAR",
      });
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });
});
