// The bench datasets, written once and cached under bench/.data/ (git-ignored).
//
//   acts-<athletes>x<runs>/activities.parquet   the athlete generator, scaled (specs/athlete.data.ts)
//   acts-<athletes>x<runs>/activities.csv       the same rows for pandas (no pyarrow here: no Parquet)
//   acts-<athletes>x<runs>/planned_runs.parquet ~1 in 10 activities as a training spine (+ .csv)
//   acts-<athletes>x<runs>/entities.parquet     one row per athlete with a planned distance (batch)
//   gbdt-<rows>/                                a synthetic regression matrix (train suite)
//
// A dataset directory is complete when its meta.json exists; an interrupted
// run leaves no meta.json, and the next run starts that directory over.

import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { writeAthleteParquet } from "../../specs/athlete.data.ts";
import { DATA, fmtInt, fmtMs } from "./harness.ts";
import { mulberry32 as rng } from "../../runtime/random.ts";

export interface ActivitiesSpec {
  athletes: number;
  /** Activities per athlete. */
  runs: number;
  seed?: number;
}

export interface ActivitiesData {
  dir: string;
  athletes: number;
  runs: number;
  rows: number;
  parquet: string;
  csv: string;
  plannedParquet: string;
  plannedCsv: string;
  plannedRows: number;
  entitiesParquet: string;
}

const log = (s: string) => process.stderr.write(`  · ${s}\n`);

export function sqlStr(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** Runs statements on a throwaway in-memory DuckDB. */
export async function duck<T = Record<string, unknown>>(statements: string[], opts: { memoryLimit?: string } = {}): Promise<T[]> {
  const db = await DuckDBInstance.create(":memory:", opts.memoryLimit ? { memory_limit: opts.memoryLimit } : {});
  const conn = await db.connect();
  try {
    await conn.run("SET TimeZone = 'UTC'");
    let rows: T[] = [];
    for (const s of statements) rows = (await conn.runAndReadAll(s)).getRowObjectsJS() as T[];
    return rows;
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

function dirOf(spec: ActivitiesSpec): string {
  return join(DATA, `acts-${spec.athletes}x${spec.runs}${spec.seed !== undefined && spec.seed !== 42 ? `-s${spec.seed}` : ""}`);
}

/** The layout of a dataset directory: 2 added route_id (activities and planned runs). */
const DATA_FORMAT = 2;

/**
 * The activities of `athletes × runs`, as Parquet (the fti source and the
 * DuckDB reference read it), plus the planned-runs spine and the entities.
 * With `csv`, the CSV copies for pandas too.
 */
export async function ensureActivities(spec: ActivitiesSpec, opts: { csv: boolean }): Promise<ActivitiesData> {
  const dir = dirOf(spec);
  const d = {
    dir,
    athletes: spec.athletes,
    runs: spec.runs,
    rows: 0,
    parquet: join(dir, "activities.parquet"),
    csv: join(dir, "activities.csv"),
    plannedParquet: join(dir, "planned_runs.parquet"),
    plannedCsv: join(dir, "planned_runs.csv"),
    plannedRows: 0,
    entitiesParquet: join(dir, "entities.parquet"),
  };
  const metaFile = join(dir, "meta.json");
  // A dataset of an older layout (before route_id) is made again.
  const stale = existsSync(metaFile) && (JSON.parse(readFileSync(metaFile, "utf8")) as { format?: number }).format !== DATA_FORMAT;
  if (!existsSync(metaFile) || stale) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const t0 = performance.now();
    log(`generating ${fmtInt(spec.athletes)} athletes × ${fmtInt(spec.runs)} activities → ${d.parquet}`);
    const res = await writeAthleteParquet({ athletes: spec.athletes, activitiesPerAthlete: spec.runs, seed: spec.seed ?? 42, path: d.parquet });
    // The spine: about one activity in ten, as a planned run whose finish time is the label.
    // Entities: every athlete, with a planned distance (5, 10, 21.1 or 42.2 km).
    const [counts] = await duck<{ planned: number }>(
      [
        `COPY (SELECT activity_id AS plan_id, athlete_id, route_id, started_at AS planned_at, distance_km, elapsed_time_s AS finish_time_s
                 FROM read_parquet(${sqlStr(d.parquet)}) WHERE hash(activity_id) % 10 = 0 ORDER BY athlete_id, planned_at)
           TO ${sqlStr(d.plannedParquet)} (FORMAT parquet, COMPRESSION zstd)`,
        `COPY (SELECT athlete_id, list_extract([5.0, 10.0, 21.1, 42.2]::DOUBLE[], (1 + hash(athlete_id) % 4)::BIGINT) AS distance_km
                 FROM (SELECT DISTINCT athlete_id FROM read_parquet(${sqlStr(d.parquet)})) ORDER BY athlete_id)
           TO ${sqlStr(d.entitiesParquet)} (FORMAT parquet)`,
        `SELECT count(*)::BIGINT AS planned FROM read_parquet(${sqlStr(d.plannedParquet)})`,
      ],
      { memoryLimit: "2GB" },
    );
    writeFileSync(metaFile, JSON.stringify({ format: DATA_FORMAT, rows: res.rows, athletes: res.athletes, planned: Number(counts.planned) }, null, 2));
    log(`${fmtInt(res.rows)} activities, ${fmtInt(Number(counts.planned))} planned runs in ${fmtMs(performance.now() - t0)}`);
  }
  const meta = JSON.parse(readFileSync(metaFile, "utf8")) as { rows: number; planned: number };
  d.rows = meta.rows;
  d.plannedRows = meta.planned;
  if (opts.csv) await ensureCsv(d);
  return d;
}

/** CSV copies of the activities and the spine, for pandas (written once, from the Parquet files). */
async function ensureCsv(d: ActivitiesData): Promise<void> {
  const marker = join(d.dir, "csv.done");
  if (existsSync(marker)) return;
  const t0 = performance.now();
  log(`writing CSV copies for pandas → ${d.csv}`);
  await duck(
    [
      `COPY (SELECT * FROM read_parquet(${sqlStr(d.parquet)})) TO ${sqlStr(d.csv)} (FORMAT csv, HEADER, TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S')`,
      `COPY (SELECT * FROM read_parquet(${sqlStr(d.plannedParquet)})) TO ${sqlStr(d.plannedCsv)} (FORMAT csv, HEADER, TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S')`,
    ],
    { memoryLimit: "2GB" },
  );
  writeFileSync(marker, "");
  log(`CSV: ${(statSync(d.csv).size / 1e6).toFixed(0)} MB in ${fmtMs(performance.now() - t0)}`);
}

// ------------------------------------------------------------------ the GBDT matrix

export interface GbdtData {
  dir: string;
  nTrain: number;
  nTest: number;
  d: number;
  /** Row-major float32 [n × d] and float64 labels, raw little-endian files (numpy.fromfile reads them as is). */
  xTrain: string;
  yTrain: string;
  xTest: string;
  yTest: string;
}

/**
 * A synthetic regression problem with 12 features: smooth and step effects,
 * two interactions, a small-integer feature, 8% missing values in two
 * columns (whose missingness carries signal), correlated columns and
 * Gaussian-ish noise. The same files feed fti's trainer and scikit-learn's.
 * With `features` < 12 the matrix keeps the first ones only (x0–x3: a sine,
 * a square, an interaction; the label still has every term, the rest is noise).
 */
export function ensureGbdtData(nTrain: number, nTest: number, features = 12): GbdtData {
  if (!(Number.isInteger(features) && features >= 1 && features <= 12)) throw new Error(`train features must be 1 to 12, got ${features}`);
  const d = features;
  const dir = join(DATA, `gbdt-${nTrain}-${nTest}${d === 12 ? "" : `-f${d}`}`);
  const data: GbdtData = {
    dir,
    nTrain,
    nTest,
    d,
    xTrain: join(dir, "x_train.f32"),
    yTrain: join(dir, "y_train.f64"),
    xTest: join(dir, "x_test.f32"),
    yTest: join(dir, "y_test.f64"),
  };
  if (existsSync(join(dir, "meta.json"))) return data;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rnd = rng(20_251_126);
  const normal = () => {
    let u = rnd();
    while (u < 1e-12) u = rnd();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
  };
  const make = (n: number) => {
    const X = new Float32Array(n * d);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const o = i * d;
      const x0 = rnd() * 4 - 2;
      const x1 = rnd() * 4 - 2;
      const x2 = normal();
      const x3 = normal();
      const x4 = x2 * 0.8 + normal() * 0.6; // correlated with x2
      const x5 = rnd();
      const x6 = Math.exp(normal() * 0.5); // skewed
      const x7 = Math.floor(rnd() * 6); // small integer
      const x8 = rnd() * 10;
      const x9 = normal();
      const x10 = rnd() < 0.08 ? NaN : normal();
      const x11 = rnd() < 0.08 ? NaN : rnd() * 3;
      const row = [x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11].slice(0, d);
      for (let j = 0; j < d; j++) X[o + j] = row[j];
      const f =
        3 * Math.sin(2 * x0) +
        x1 * x1 +
        1.5 * x2 * (x3 > 0 ? 1 : -0.5) +
        (x5 > 0.7 ? 2 : 0) +
        Math.log(x6) +
        [0, 0.5, -0.5, 1, 0, 2][x7] +
        0.3 * Math.floor(x8) +
        (Number.isNaN(x10) ? 1.2 : 0.8 * x10) +
        (Number.isNaN(x11) ? -1 : Math.sqrt(x11)) +
        0.5 * x4 * x9;
      y[i] = f + 0.5 * normal();
    }
    return { X, y };
  };
  const train = make(nTrain);
  const test = make(nTest);
  const bytes = (a: Float32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  writeFileSync(data.xTrain, bytes(train.X));
  writeFileSync(data.yTrain, bytes(train.y));
  writeFileSync(data.xTest, bytes(test.X));
  writeFileSync(data.yTest, bytes(test.y));
  writeFileSync(join(dir, "meta.json"), JSON.stringify({ nTrain, nTest, d }));
  return data;
}

export function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function readF64(path: string): Float64Array {
  const b = readFileSync(path);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
