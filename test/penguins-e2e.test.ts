// Static tables end to end on real data (vega-datasets): rows without time.
// specs/penguins.fti (no id, no time column) through every pipeline —
// features, training-data, train, batch predict, serve, verify — with the
// inputs taken from the row's own columns as request fields; and cars.json
// (a Year column that is a date, but a static table) keyed by (name, year),
// with a reference group of the car joined by key, served by key.

import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompiledSpec } from "../compiler/cli/load.ts";
import type { SpecBundle } from "../runtime/api.ts";
import { findModel } from "../runtime/bundle.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { predictBatch } from "../runtime/inference/batch.ts";
import { startServer } from "../runtime/online/http.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { verifyModel } from "../runtime/online/verify.ts";
import type { ApiErrorBody } from "../runtime/online/types.ts";
import { columnValues } from "../runtime/retrieval/columns.ts";
import { exportTrainingData } from "../runtime/retrieval/export.ts";
import { buildTrainingFrame, type TrainingFrame } from "../runtime/retrieval/pit.ts";
import { splitFrame, trainModelFromSpec, type TrainReport } from "../runtime/training/train.ts";
import { REPO } from "./helpers/online-athlete.ts";
import { storeUser } from "./helpers/store-user.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const DATA = join(REPO, "node_modules/vega-datasets/data");
const REQUEST_FIELDS = ["species", "island", "sex", "beak_length_mm", "beak_depth_mm", "flipper_length_mm"];

interface Penguin {
  Species: string;
  Island: string;
  "Beak Length (mm)": number | null;
  "Beak Depth (mm)": number | null;
  "Flipper Length (mm)": number | null;
  "Body Mass (g)": number | null;
  Sex: string | null;
}

const penguins = JSON.parse(readFileSync(join(DATA, "penguins.json"), "utf8")) as Penguin[];

let root: string;
let bundle: SpecBundle;
let storePath: string;
let mass: TrainReport;
let adelie: TrainReport;
const withStore = storeUser(() => storePath);

beforeAll(async () => {
  root = join(REPO, ".fti", `penguins-e2e-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(root, { recursive: true });
  bundle = await loadCompiledSpec(join(REPO, "specs/penguins.fti"), { outDir: join(root, "generated"), quiet: true });
  storePath = join(root, "store.duckdb");
  await withStore(async (store) => {
    await runFeaturePipeline(store, bundle);
    mass = await trainModelFromSpec(store, bundle, "penguin_mass");
    adelie = await trainModelFromSpec(store, bundle, "penguin_adelie");
    // served beside penguin_mass (`fti serve` loads every served model; its own test: penguins-species-e2e)
    await trainModelFromSpec(store, bundle, "penguin_species");
  });
}, 120_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Each training row as `label|request fields`, sorted: an order-free fingerprint of a frame's rows. */
function rowPrints(frame: TrainingFrame, rows: ArrayLike<number> = Int32Array.from({ length: frame.n }, (_, i) => i)): string[] {
  const cols = REQUEST_FIELDS.map((f) => columnValues(frame.columns[f]));
  return Array.from(rows, (i) => [frame.label[i], ...cols.map((c) => c[i])].join("|")).sort();
}

describe("specs/penguins.fti: a static table without id or time", () => {
  it("has one training row per penguin with a body mass: the row's own columns, no key, one time for all", async () => {
    const frame = await withStore((store) => buildTrainingFrame(store, bundle, "mass_data"));
    // 344 penguins: one quarantined (sex "."), two without a body mass (no label).
    const labelled = penguins.filter((p) => p.Sex !== "." && p["Body Mass (g)"] !== null);
    expect(frame.n).toBe(labelled.length);
    expect(frame.n).toBe(341);
    expect(Object.keys(frame.keys)).toEqual([]);
    const want = labelled
      .map((p) => [p["Body Mass (g)"], p.Species, p.Island, p.Sex, p["Beak Length (mm)"], p["Beak Depth (mm)"], p["Flipper Length (mm)"]].join("|"))
      .sort();
    expect(rowPrints(frame)).toEqual(want);
    // The rows' time: when the feature pipeline read the table (every row of a run at the same instant).
    expect(new Set(frame.time).size).toBe(1);
    const ingested = await withStore((store) => store.all<{ t: Date }>(`SELECT DISTINCT ingested_at AS t FROM src_penguins`));
    expect(ingested.map((r) => r.t.getTime())).toEqual([frame.time[0]]);
  });

  it("exports the training data: the row's columns, no key column", async () => {
    const out = join(root, "mass.parquet");
    const n = await withStore((store) => exportTrainingData(store, bundle, "mass_data", out));
    expect(n).toBe(341);
    const rows = await withStore((store) => store.all<Record<string, unknown>>(`SELECT * FROM read_parquet('${out}')`));
    // `features penguins.*`: each column of the row but the label's is an input under its own name.
    expect(Object.keys(rows[0]).sort()).toEqual(["event_time", "body_mass", ...REQUEST_FIELDS].sort());
  });

  it("trains both models well past their baselines, on a split that is the same on every run", async () => {
    expect(mass.stage).toBe("production");
    expect(mass.rows).toMatchObject({ train: 270, test: 71 });
    expect(mass.metrics.mae).toBeLessThan(mass.baseline.mae / 2);
    expect(adelie.stage).toBe("production");
    expect(adelie.metrics.accuracy).toBeGreaterThan(0.9);
    // A row feature over two of the row's columns, computed on each training row.
    const frame = await withStore((store) => buildTrainingFrame(store, bundle, "adelie_data"));
    const [len, depth, ratio] = ["beak_length_mm", "beak_depth_mm", "beak_ratio"].map((c) => columnValues(frame.columns[c]) as Array<number | null>);
    expect(ratio.map((r) => (r === null ? null : r.toFixed(9)))).toEqual(len.map((l, i) => (l === null ? null : (l / depth[i]!).toFixed(9))));
    const again = await withStore((store) => trainModelFromSpec(store, bundle, "penguin_mass"));
    expect(again.metrics).toEqual(mass.metrics);
  });

  it("draws the same test rows whatever the order of the file", async () => {
    const spec = readFileSync(join(REPO, "specs/penguins.fti"), "utf8").replace('"../node_modules/vega-datasets/data/penguins.json"', '"penguins.json"');
    const reversed = JSON.stringify([...penguins].reverse());
    const temp = await compileTempSpec({ "spec.fti": spec, "penguins.json": reversed });
    const tempStore = storeUser(() => join(temp.dir, "store.duckdb"));
    try {
      const plan = findModel(bundle, "penguin_mass").plan;
      const split = async (b: SpecBundle, use: typeof withStore) => {
        const frame = await use((store) => buildTrainingFrame(store, b, "mass_data"));
        return rowPrints(frame, splitFrame(plan, frame).test);
      };
      await tempStore((store) => runFeaturePipeline(store, temp.bundle));
      const mine = await split(bundle, withStore);
      expect(mine).toHaveLength(71);
      expect(await split(temp.bundle, tempStore)).toEqual(mine);
    } finally {
      temp.cleanup();
    }
  }, 60_000);

  it("batch-scores rows of request fields; a bad row is a 400 reject; needs a file", async () => {
    const entities = join(root, "birds.csv");
    writeFileSync(
      entities,
      [
        "note,species,island,sex,beak_length_mm,beak_depth_mm,flipper_length_mm",
        "a,Adelie,Torgersen,MALE,39.1,18.7,181",
        "b,Gentoo,Biscoe,FEMALE,46.1,13.2,211",
        "c,Gentoo,Biscoe,FEMALE,-46.1,13.2,211",
        "d,Emperor,Biscoe,FEMALE,46.1,13.2,211",
        // A type error and two check failures in one row: one reject lists all three (as one 400 online).
        "e,Emperor,Biscoe,FEMALE,long,-13.2,211",
      ].join("\n") + "\n",
    );
    const res = await withStore(async (store) => {
      const report = await predictBatch(store, bundle, "penguin_mass", { entitiesFile: entities, out: "bird_scores" });
      const noFile = await predictBatch(store, bundle, "penguin_mass").catch((e: Error) => e.message);
      return {
        report,
        noFile,
        scores: await store.all<{ note: string; prediction: number }>(`SELECT note, prediction FROM bird_scores ORDER BY row_number`),
        rejects: await store.all<{ status: number; fields: string[]; reason: string }>(`SELECT status, fields, reason FROM bird_scores_rejects ORDER BY row_number`),
      };
    });
    expect(res.scores.map((s) => s.note)).toEqual(["a", "b"]);
    // An Adelie male weighs ~3.7-4 kg, a Gentoo female ~4.7 kg (the data's means: 4043 and 4680 g).
    expect(res.scores[0].prediction).toBeGreaterThan(3300);
    expect(res.scores[0].prediction).toBeLessThan(4500);
    expect(res.scores[1].prediction).toBeGreaterThan(res.scores[0].prediction);
    // A value its source's checks (`check`, `in`) would have quarantined: never scored.
    expect(res.rejects.map((r) => [r.status, [...r.fields]])).toEqual([
      [400, ["beak_length_mm"]],
      [400, ["species"]],
      [400, ["beak_length_mm", "species", "beak_depth_mm"]],
    ]);
    // The check of the field whose type failed is not run: one reason for it, the conversion's.
    expect(res.rejects[2].reason.split("; ")).toEqual([
      "`beak_length_mm` = 'long' is not a float",
      expect.stringMatching(/^`species`: in \("Adelie", "Chinstrap", "Gentoo"\) failed/),
      expect.stringMatching(/^`beak_depth_mm`: check \(> 0\) failed/),
    ]);
    expect(res.noFile).toMatch(/needs request fields .*species/);
  });

  it("serves from the request alone: 400 with the field path; the answer equals batch; verify agrees", async () => {
    const logs = join(root, "logs");
    await withStore((store) => materialize(store, bundle, {}));
    const server = await startServer(bundle, { port: 0, store: storePath, logs });
    let served: number[];
    try {
      const post = (body: unknown) =>
        fetch(`${server.url}/v1/models/penguin_mass/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { models: Array<{ model: string; request: Array<{ name: string; kind: string }> }> };
      // penguin_species is served too (test/penguins-species-e2e.test.ts)
      expect(models.models.map((m) => m.model).sort()).toEqual(["penguin_mass", "penguin_species"]);
      const served0 = models.models.find((m) => m.model === "penguin_mass")!;
      expect(served0.request.map((f) => `${f.name}:${f.kind}`).sort()).toEqual(REQUEST_FIELDS.map((f) => `${f}:request`).sort());
      const ok = await post({
        instances: [
          { species: "Adelie", island: "Torgersen", sex: "MALE", beak_length_mm: 39.1, beak_depth_mm: 18.7, flipper_length_mm: 181 },
          { species: "Gentoo", island: "Biscoe", sex: "FEMALE", beak_length_mm: 46.1, beak_depth_mm: 13.2, flipper_length_mm: 211 },
        ],
      });
      expect(ok.status).toBe(200);
      const body = (await ok.json()) as { predictions: Array<{ prediction: number; features: object }> };
      served = body.predictions.map((p) => p.prediction);
      expect(body.predictions[0].features).toEqual({});
      const bad = await post({ species: "Adelie", island: "Torgersen", sex: "MALE", beak_length_mm: "long", beak_depth_mm: 18.7 });
      expect(bad.status).toBe(400);
      const issues = ((await bad.json()) as { error: { issues: Array<{ path: unknown[] }> } }).error.issues.map((i) => i.path);
      expect(issues).toEqual(expect.arrayContaining([["beak_length_mm"], ["flipper_length_mm"]]));
      const checked = await post({ species: "Adelie", island: "Torgersen", sex: "MALE", beak_length_mm: -1, beak_depth_mm: 18.7, flipper_length_mm: 181 });
      expect(checked.status).toBe(400);
      expect(JSON.stringify(await checked.json())).toMatch(/beak_length_mm/);
      const unseen = await post({ species: "Emperor", island: "Torgersen", sex: "MALE", beak_length_mm: 39.1, beak_depth_mm: 18.7, flipper_length_mm: 181 });
      expect(unseen.status).toBe(400);
      const issue = ((await unseen.json()) as { error: { issues: Array<{ path: unknown[]; message: string }> } }).error.issues[0];
      expect(issue.path).toEqual(["species"]);
      expect(issue.message).toMatch(/^in \("Adelie", "Chinstrap", "Gentoo"\) failed/);
      // Every failure of a request in one 400: type errors, a missing and an unknown field, and the
      // `check`/`in` failures of the fields that parsed; none for the field whose type failed.
      const all = await post({ species: "Emperor", island: "Torgersen", sex: "MALE", beak_length_mm: "long", beak_depth_mm: -1, extra: true });
      expect(all.status).toBe(400);
      const allBody = (await all.json()) as ApiErrorBody;
      expect(allBody.error).toMatchObject({ status: 400, code: "invalid_request", message: "invalid request for model `penguin_mass`: 5 issues" });
      expect(allBody.error.issues!.map((i) => [i.path, i.message.replace(/ failed: .*/, " failed")])).toEqual([
        [["beak_length_mm"], "Invalid input: expected number, received string"],
        [["flipper_length_mm"], "missing field: expected number or null (send null for no value)"],
        [["extra"], 'unknown field "extra"'],
        [["species"], 'in ("Adelie", "Chinstrap", "Gentoo") failed'],
        [["beak_depth_mm"], "check (> 0) failed"],
      ]);
      // The same per instance of a batch, each at its path.
      const good = { species: "Adelie", island: "Torgersen", sex: "MALE", beak_length_mm: 39.1, beak_depth_mm: 18.7, flipper_length_mm: 181 };
      const batchBad = await post({ instances: [good, { ...good, island: 3, beak_depth_mm: 0 }, good, { ...good, sex: "x", flipper_length_mm: null, beak_length_mm: -2 }] });
      expect(batchBad.status).toBe(400);
      expect(((await batchBad.json()) as ApiErrorBody).error.issues!.map((i) => i.path)).toEqual([
        ["instances", 1, "island"],
        ["instances", 1, "beak_depth_mm"],
        ["instances", 3, "beak_length_mm"],
        ["instances", 3, "sex"],
      ]);
    } finally {
      await server.close();
    }
    const batch = await withStore((store) => store.all<{ prediction: number }>(`SELECT prediction FROM bird_scores ORDER BY row_number`));
    expect(served).toEqual(batch.map((b) => b.prediction));
    const verified = await withStore((store) => verifyModel(store, bundle, "penguin_mass", { logsDir: logs }));
    expect(verified.requests).toBe(2);
    expect(verified.mismatches).toBe(0);
  });
});

// cars.json: a `Year` column that is a date, yet the table is static (no event_time). Each car
// (name, year) has a reference group of its specifications, joined by key; the model is served by key.
const CARS_SPEC = `
source cars {
  path "cars.json"
  unique (name, year)
  fields {
    name: string
    miles_per_gallon: float? check (> 0)
    cylinders: int
    displacement: float
    horsepower: float?
    weight_in_lbs: float
    acceleration: float
    year: timestamp
    origin: string in ("USA", "Europe", "Japan")
  }
}
entity car {
  key name: string, year: timestamp
}
feature_group specs for car from cars {
  cylinder_count = cylinders
  engine_l = displacement * 0.016387
  power_hp = horsepower
  weight_kg = weight_in_lbs * 0.4536
  zero_to_60_s = acceleration
}
on_demand made_in(request origin: string): string = origin
on_demand model_year(request year: timestamp): int = year(year)
view mpg_data for car from cars {
  label mpg = miles_per_gallon
  features specs.*, made_in, model_year
}
model car_mpg {
  view mpg_data
  task regression
  algorithm gbdt(trees: 100, depth: 3, min_leaf: 5)
  transform made_in: one_hot
  metric mae, rmse, r2
}
serve car_mpg {
  online
}
`;

describe("cars.json: a static table keyed by (name, year), its reference group joined by key", () => {
  let cars: TempSpec;
  let report: TrainReport;
  const carStore = storeUser(() => join(cars.dir, "store.duckdb"));

  beforeAll(async () => {
    cars = await compileTempSpec({ "spec.fti": CARS_SPEC, "cars.json": readFileSync(join(DATA, "cars.json")) });
    report = await carStore(async (store) => {
      await runFeaturePipeline(store, cars.bundle);
      return trainModelFromSpec(store, cars.bundle, "car_mpg");
    });
  }, 120_000);

  afterAll(() => cars?.cleanup());

  it("trains on every car with a mileage, each row joined with its own specifications", async () => {
    const raw = JSON.parse(readFileSync(join(DATA, "cars.json"), "utf8")) as Array<{ Name: string; Year: string; Miles_per_Gallon: number | null; Weight_in_lbs: number }>;
    const seen = new Set<string>();
    const kept = raw.filter((r) => {
      const k = `${r.Name}|${r.Year}`;
      return seen.has(k) ? false : (seen.add(k), true); // repeats of (name, year) are quarantined
    });
    const frame = await carStore((store) => buildTrainingFrame(store, cars.bundle, "mpg_data"));
    const labelled = kept.filter((r) => r.Miles_per_Gallon !== null);
    expect(frame.n).toBe(labelled.length);
    const weights = columnValues(frame.columns.weight_kg);
    const got = Array.from({ length: frame.n }, (_, i) => `${frame.keys.name[i]}|${frame.label[i]}|${(weights[i] as number).toFixed(3)}`).sort();
    expect(got).toEqual(labelled.map((r) => `${r.Name}|${r.Miles_per_Gallon}|${(r.Weight_in_lbs * 0.4536).toFixed(3)}`).sort());
    expect(report.metrics.mae).toBeLessThan(report.baseline.mae / 2);
  });

  it("serves by key: the answer equals batch for the same car; an unknown car is a 422 naming the group", async () => {
    const entities = join(cars.dir, "ask.csv");
    writeFileSync(entities, "name,year,origin\nford pinto,1971-01-01,USA\ntoyota corolla,1982-01-01,Japan\n");
    const batch = await carStore(async (store) => {
      await materialize(store, cars.bundle, {});
      await predictBatch(store, cars.bundle, "car_mpg", { entitiesFile: entities, out: "car_scores" });
      return store.all<{ prediction: number }>(`SELECT prediction FROM car_scores ORDER BY row_number`);
    });
    const server = await startServer(cars.bundle, { port: 0, store: join(cars.dir, "store.duckdb"), logs: false });
    try {
      const post = (body: unknown) =>
        fetch(`${server.url}/v1/models/car_mpg/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const ok = await post({
        instances: [
          { name: "ford pinto", year: "1971-01-01", origin: "USA" },
          { name: "toyota corolla", year: "1982-01-01", origin: "Japan" },
        ],
      });
      expect(ok.status).toBe(200);
      const body = (await ok.json()) as { predictions: Array<{ prediction: number; features: Record<string, { status: string }> }> };
      expect(body.predictions.map((p) => p.prediction)).toEqual(batch.map((b) => b.prediction));
      // Found by key (the pinto of 1971 has no horsepower in the data: null, as in training).
      expect(body.predictions.map((p) => Object.values(p.features).map((f) => f.status))).toEqual([
        ["present", "present", "null", "present", "present"],
        ["present", "present", "present", "present", "present"],
      ]);
      const unknown = await post({ name: "flying car", year: "2030-01-01", origin: "USA" });
      expect(unknown.status).toBe(422);
      expect(JSON.stringify(await unknown.json())).toMatch(/specs/);
    } finally {
      await server.close();
    }
  });
});
