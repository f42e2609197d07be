// The main job, in CI, at a small size: `npm start` end to end in its own
// store, then what a user checks afterwards — the registry, the predictions
// table, the skew guarantee with the real generated code, one-line errors for
// bad input, and a killed run that loses nothing already committed.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spec } from "../generated/athlete/index.ts";
import { inference } from "../generated/athlete/inference.ts";
import type { TimeEstimatorDataFeatures, TimeEstimatorRequest } from "../generated/athlete/schema.ts";
import { createPredictor } from "../runtime/inference/predictor.ts";
import { getModel } from "../runtime/registry/registry.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { featuresAsOf } from "../runtime/retrieval/pit.ts";
import { tableFingerprint } from "./helpers/fingerprint.ts";

const BIN = path.resolve("compiler/cli/bin.mjs");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-e2e-"));
const STORE = path.join(dir, "store.duckdb");
const env = { ...process.env, FTI_STORE: STORE, FTI_DEMO_ATHLETES: "10", FTI_DEBUG: "" };

function fti(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let startOutput = "";

beforeAll(() => {
  const r = spawnSync("npm", ["start", "--silent"], { encoding: "utf8", env });
  startOutput = r.stdout + r.stderr;
  if (r.status !== 0) throw new Error(`npm start failed (${r.status}):\n${startOutput}`);
}, 240_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("npm start at a small size", () => {
  it("prints the summary with a model that beats the baseline", () => {
    expect(startOutput).toContain("fti · athlete time estimator");
    const m = /test MAE\s+(\d+) s .*\(baseline (\d+) s/.exec(startOutput);
    expect(m, startOutput).not.toBeNull();
    expect(Number(m![1])).toBeLessThan(Number(m![2]) * 0.5);
  });

  it("fti models --json lists the model with its metrics and lineage", () => {
    const r = fti(["models", "--json"]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout);
    const m = rows.find((x: { model: string }) => x.model === "time_estimator");
    expect(m.stage).toBe("production");
    expect(m.metrics.mae).toBeGreaterThan(0);
    expect(m.lineage.view).toBe("time_estimator_data");
    expect(m.lineage.featureTables.map((t: { table: string }) => t.table)).toContain("fg_fitness_v1");
    expect(m.transforms_hash).toBe(spec.modelTransformsHashes!.time_estimator); // its own code's hash, not the whole transforms.ts's
    expect(m.lineage.rows.train).toBeGreaterThan(0);
  });

  it("fti models show prints the training statistics of every input, the label and the predictions", () => {
    const r = fti(["models", "show", "time_estimator"]);
    expect(r.code).toBe(0);
    const inputs = spec.models.find((x) => x.name === "time_estimator")!.inputs;
    for (const input of inputs) expect(r.stdout).toMatch(new RegExp(`^    ${input.name}\\s+(float|int|string|bool|timestamp)\\s+\\d+\\s+[\\d.]+%`, "m"));
    expect(r.stdout).toMatch(/^    label \(train\)\s+float\s+\d+/m);
    expect(r.stdout).toMatch(/^    prediction \(test\)\s+float\s+\d+/m);
    const json = JSON.parse(fti(["models", "show", "time_estimator", "--json"]).stdout);
    expect(json.statistics.features.map((f: { name: string }) => f.name)).toEqual(inputs.map((i) => i.name));
  });
});

describe("with the store npm start left", () => {
  let store: Store;
  beforeAll(async () => {
    store = await openStore({ path: STORE });
  });
  afterAll(async () => store?.close());

  it("predictions.time_estimator holds one row per planned run", async () => {
    const rows = await store.all<{ n: number }>("SELECT count(*) AS n FROM predictions.time_estimator");
    expect(rows[0].n).toBe(10);
  });

  it("skew: batch predictions equal the generated in-process path on the same rows", async () => {
    const record = await getModel(store, "time_estimator");
    const predictor = await createPredictor(spec, "time_estimator", record);
    const batch = await store.all<{ athlete_id: string; prediction: number; as_of: Date }>(
      "SELECT athlete_id, prediction, as_of FROM predictions.time_estimator ORDER BY athlete_id",
    );
    const asOf = batch[0].as_of;
    const planned = fs.readFileSync("specs/data/athlete/planned_runs.csv", "utf8").trim().split("\n").slice(1).map((l) => l.split(","));
    for (const [athlete_id, distance_km, elevation_gain_m, planned_pace_min_km] of planned.slice(0, 6)) {
      const request: TimeEstimatorRequest = {
        athlete_id,
        distance_km: Number(distance_km),
        elevation_gain_m: Number(elevation_gain_m),
        planned_pace_min_km: Number(planned_pace_min_km),
      };
      // Stored features as of the batch run's time, one entity at a time.
      const frame = await featuresAsOf(store, spec, "time_estimator_data", {
        keys: { athlete_id: [athlete_id] },
        time: asOf,
        request: { distance_km: [request.distance_km], elevation_gain_m: [request.elevation_gain_m], planned_pace_min_km: [request.planned_pace_min_km] },
      });
      const features = Object.fromEntries(spec.views[0].features.map((f) => [f.name, frame.columns[f.name][0]])) as unknown as TimeEstimatorDataFeatures;
      // The generated in-process function runs the ODTs; the predictor applies the MDTs and ONNX.
      const inputs = inference.time_estimator.inputs(request, features);
      const [one] = await predictor.predictRows([inputs as unknown as Record<string, number | null>]);
      const fromBatch = batch.find((b) => b.athlete_id === athlete_id)!.prediction;
      expect(one).toBeCloseTo(fromBatch, 3);
    }
  });
});

describe("bad input gives one line and a non-zero exit", () => {
  it.each([
    [["train", "specs/athlete.fti", "time_estimatr"], /^error: .*time_estimatr/, 1],
    [["models", "show", "time_estimator@99"], /^error: model `time_estimator` has no version 99/, 1],
    [["models", "promote", "nope@1"], /^error: model `nope` not found/, 1],
    [["predict", "specs/athlete.fti", "time_estimator", "--as-of", "yesterday"], /^error: --as-of yesterday: expected a date or timestamp/, 2], // usage
  ])("fti %j", (args, message, code) => {
    const r = fti(args as string[]);
    expect(r.code).toBe(code);
    expect(r.stderr.trim().split("\n")[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("an ONNX file of the wrong shape is refused with one line", () => {
    const bogus = path.join(dir, "bogus.onnx");
    fs.writeFileSync(bogus, Buffer.from("not an onnx model"));
    const r = fti(["register", "specs/athlete.fti", "time_estimator", "--onnx", bogus]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")[0]).toMatch(/^error: .*onnx/i);
  });
});

describe("fti training-data", () => {
  it("exports the same rows whatever its --memory-limit (the cap only decides what DuckDB spills)", () => {
    const files = ["64MB", "off"].map((limit) => {
      const file = path.join(dir, `train-${limit}.parquet`);
      const r = fti(["training-data", "specs/athlete.fti", "time_estimator_data", "--out", file, "--memory-limit", limit]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^\d+ rows → /);
      return { rows: r.stdout.split(" ")[0], bytes: fs.readFileSync(file) };
    });
    expect(Number(files[0].rows)).toBeGreaterThan(0);
    expect(files[1].rows).toBe(files[0].rows);
    expect(files[1].bytes.equals(files[0].bytes)).toBe(true);
  });

  it("--unordered exports the same rows (exact order-independent fingerprint), not necessarily in spine order", async () => {
    const files = [[], ["--unordered"]].map((flags, i) => {
      const file = path.join(dir, `train-order-${i}.parquet`);
      const r = fti(["training-data", "specs/athlete.fti", "time_estimator_data", "--out", file, ...flags]);
      expect(r.code, r.stderr).toBe(0);
      return file;
    });
    const mem = await openStore({ path: ":memory:" });
    try {
      const [ordered, loose] = await Promise.all(files.map((f) => tableFingerprint(mem, `read_parquet('${f}')`)));
      expect(Number(ordered.rows)).toBeGreaterThan(0);
      expect(loose).toEqual(ordered);
    } finally {
      await mem.close();
    }
  });
});

describe("a killed run", () => {
  it("loses nothing already committed", async () => {
    const before = fti(["models", "--json"]);
    const snapshot = async () => {
      const s = await openStore({ path: STORE, readOnly: true });
      try {
        // Exact and order-independent (a float sum is neither: #16).
        return await tableFingerprint(s, "fg_fitness_v1");
      } finally {
        await s.close();
      }
    };
    const committed = await snapshot();
    // Killed at its first progress line: well inside its one transaction. (A fixed
    // delay was not: on a quiet machine the small run committed within it.)
    const child = spawn(process.execPath, [BIN, "features", "specs/athlete.fti"], { env, stdio: ["ignore", "ignore", "pipe"] });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await new Promise<void>((r) => child.stderr!.once("data", () => r()));
    child.kill("SIGKILL");
    expect(await exited).toBeNull();
    expect(await snapshot()).toEqual(committed);
    expect(fti(["models", "--json"]).stdout).toBe(before.stdout);
  });
});
