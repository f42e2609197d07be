// End to end on a small hand-built bundle: train (gbdt, linear) → ONNX check →
// gates → registry → predictor (hash refusal) → batch predictions that equal
// one-row-at-a-time predictions → external ONNX registration.
//
// The PIT join is replaced by a stand-in with a synthetic, known truth
// (test/helpers/model-bundles.ts): these tests are about what happens after
// the training frame; pit.ts has its own tests.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Scalar } from "../runtime/api.ts";
import { UserError } from "../runtime/errors.ts";
import { predictBatch } from "../runtime/inference/batch.ts";
import { createPredictor } from "../runtime/inference/predictor.ts";
import { exportOnnx } from "../runtime/onnx/export.ts";
import { getModel, listModels } from "../runtime/registry/registry.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { trainModel } from "../runtime/learners/index.ts";
import { registerExternal } from "../runtime/training/register-external.ts";
import { trainModelFromSpec } from "../runtime/training/train.ts";
import { featuresAsOf } from "../runtime/retrieval/pit.ts";
import { FEATURE_TABLE, loadSyntheticTables, makeBundle, standInFeaturesAsOf, USERS } from "./helpers/model-bundles.ts";

// Stand-in PIT join (featuresAsOf, and the pitJoin batch inference uses) by default; the last describe switches to the real one.
// `fail`: the batch run's pitJoin throws (a run that fails after its ONNX worker started).
const pit = vi.hoisted(() => ({ real: false, fail: false }));
vi.mock("../runtime/retrieval/pit.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../runtime/retrieval/pit.ts")>();
  const h = await import("./helpers/model-bundles.ts");
  const joins = await import("./helpers/stand-in-pit.ts");
  const { UserError: UserErrorOf } = await import("../runtime/errors.ts");
  return {
    ...real,
    pitJoin: (...args: Parameters<typeof real.pitJoin>) =>
      pit.fail
        ? Promise.reject(new UserErrorOf("the point-in-time join failed (test)"))
        : pit.real
          ? real.pitJoin(...args)
          : joins.standInPitJoin(args[0], args[1], args[2], args[3]),
    buildTrainingFrame: (...args: Parameters<typeof real.buildTrainingFrame>) =>
      pit.real ? real.buildTrainingFrame(...args) : Promise.resolve(h.standInTrainingFrame(args[1], args[2])),
    featuresAsOf: (...args: Parameters<typeof real.featuresAsOf>) =>
      pit.real ? real.featuresAsOf(...args) : Promise.resolve(h.standInFeaturesAsOf(args[1], args[2], args[3])),
  };
});

// Every ONNX worker batch scoring starts, counted with its releases (the real worker, wrapped).
const workers = vi.hoisted(() => ({ started: 0, released: 0 }));
vi.mock("../runtime/inference/onnx-worker.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../runtime/inference/onnx-worker.ts")>();
  return {
    ...real,
    startOnnxWorker: async (...args: Parameters<typeof real.startOnnxWorker>) => {
      const w = await real.startOnnxWorker(...args);
      if (!w) return w;
      workers.started++;
      return { ...w, release: () => (workers.released++, w.release()) };
    },
  };
});

const bundle = makeBundle();
const AS_OF = new Date("2025-12-15T00:00:00Z");
let store: Store;
let dir: string;

beforeAll(async () => {
  store = await openStore({ path: ":memory:" });
  dir = mkdtempSync(join(tmpdir(), "fti-train-"));
  // The feature table batch inference enumerates entities from.
  await store.run(`CREATE TABLE ${FEATURE_TABLE} (user_id VARCHAR, event_time TIMESTAMP, x1 DOUBLE)`);
  for (const u of USERS) await store.run(`INSERT INTO ${FEATURE_TABLE} VALUES (?, TIMESTAMP '2025-06-01', 1.0)`, [u]);
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function caught(p: Promise<unknown>): Promise<UserError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(UserError);
  return e as UserError;
}

describe("training", () => {
  it("trains gbdt: ONNX check passes, the passing gate promotes it to production", async () => {
    const steps: string[] = [];
    const report = await trainModelFromSpec(store, bundle, "toy_gbdt", { onProgress: (p) => steps.push(p.step) });
    expect(report.version).toBe(1);
    expect(report.algorithm).toBe("gbdt");
    expect(report.width).toBe(5); // x1, x2, cat → a, b, c
    expect(report.rows.train + report.rows.test).toBe(300);
    expect(report.rows.test).toBeGreaterThan(0);
    expect(report.onnx.maxAbsDiff).toBeLessThan(1e-2);
    expect(Object.keys(report.metrics).sort()).toEqual(["mae", "r2", "rmse"]);
    expect(report.metrics.mae).toBeLessThan(report.baseline.mae);
    expect(report.gates).toEqual([{ metric: "r2", op: ">", value: 0.5, actual: report.metrics.r2, pass: true }]);
    expect(report.stage).toBe("production");
    expect(steps).toEqual(expect.arrayContaining(["frame", "split", "fit", "encode", "train", "export", "verify", "register"]));

    const rec = await getModel(store, "toy_gbdt");
    expect(rec.version).toBe(1);
    expect(rec.stage).toBe("production");
    expect(rec.transforms_hash).toBe(bundle.transformsHash);
    expect(rec.lineage.rows).toEqual({ train: report.rows.train, test: report.rows.test });
    expect(rec.lineage.featureTables).toEqual([{ group: "user_stats", version: 1, table: FEATURE_TABLE }]);
    expect(rec.mdt_state.width).toBe(5);
  });

  it("trains linear: a failing gate keeps it in staging and lists the gate", async () => {
    const report = await trainModelFromSpec(store, bundle, "toy_linear");
    expect(report.algorithm).toBe("linear");
    expect(report.onnx.maxAbsDiff).toBeLessThan(1e-2);
    expect(report.metrics.r2).toBeGreaterThan(0.9);
    expect(report.stage).toBe("staging");
    expect(report.failingGates).toHaveLength(1);
    expect(report.failingGates[0]).toMatch(/^mae < 0\.01 \(measured [\d.]+\)$/);
    expect((await getModel(store, "toy_linear")).stage).toBe("staging");
    // A second run is version 2.
    expect((await trainModelFromSpec(store, bundle, "toy_linear")).version).toBe(2);
  });

  it("random split is seeded: two runs split the same way", async () => {
    const a = await trainModelFromSpec(store, bundle, "toy_random");
    const b = await trainModelFromSpec(store, bundle, "toy_random");
    expect(a.rows).toEqual(b.rows);
    expect(a.rows.test).toBeGreaterThan(40);
    expect(a.rows.test).toBeLessThan(110);
    expect(a.metrics).toEqual(b.metrics);
  });

  it("refuses an onnx-algorithm model with a hint to register it, and an empty split with the range", async () => {
    const e = await caught(trainModelFromSpec(store, bundle, "toy_external"));
    expect(e.message).toMatch(/trained outside fti/);
    expect(e.hint).toContain("fti register specs/toy.fti toy_external toy.onnx");

    const late = makeBundle();
    late.models = late.models.map((m) => (m.name === "toy_linear" ? { ...m, split: { kind: "time", testFrom: "2030-01-01" } } : m));
    const e2 = await caught(trainModelFromSpec(store, late, "toy_linear"));
    expect(e2.message).toMatch(/the test split is empty \(300 train \/ 0 test rows of 300; time split at 2030-01-01; label times run 2025-01-01/);

    const e3 = await caught(trainModelFromSpec(store, bundle, "nope"));
    expect(e3.message).toContain("its models: toy_gbdt, toy_linear");
  });
});

describe("inference", () => {
  it("refuses a model trained with other transformation code, naming both hashes and the fix", async () => {
    const rec = await getModel(store, "toy_gbdt");
    const changed = makeBundle({ transformsHash: "transforms-hash-2" });
    const e = await caught(createPredictor(changed, "toy_gbdt", rec));
    expect(e.message).toContain("transforms-hash-1");
    expect(e.message).toContain("transforms-hash-2");
    expect(e.hint).toBe("retrain it with `fti train specs/toy.fti toy_gbdt`");
    const e2 = await caught(predictBatch(store, changed, "toy_gbdt", { asOf: AS_OF }));
    expect(e2.message).toContain("transforms-hash-2");
  });

  it("batch predictions equal predictRows called one row at a time (no skew), and re-runs replace", async () => {
    const out = join(dir, "preds.parquet");
    const report = await predictBatch(store, bundle, "toy_gbdt", { asOf: AS_OF, batchSize: 7, out });
    expect(report).toMatchObject({ model: "toy_gbdt", version: 1, rows: USERS.length, batches: 5, table: "predictions.toy_gbdt" });
    expect(report.asOf).toBe(AS_OF.toISOString());

    const rows = await store.all<{ user_id: string; as_of: Date; model: string; version: number; prediction: number }>(
      `SELECT * FROM predictions.toy_gbdt ORDER BY user_id`,
    );
    expect(rows.map((r) => r.user_id)).toEqual(USERS);
    expect(rows[0].as_of.getTime()).toBe(AS_OF.getTime());

    const predictor = await createPredictor(bundle, "toy_gbdt", await getModel(store, "toy_gbdt"));
    expect(predictor.width).toBe(5);
    for (const r of rows) {
      const f = standInFeaturesAsOf(bundle, "v_user", { keys: { user_id: [r.user_id] }, time: AS_OF });
      const row: Record<string, Scalar> = {};
      for (const [name, col] of Object.entries(f.columns)) row[name] = col[0];
      const [one] = await predictor.predictRows([row]);
      expect(r.prediction).toBe(one);
      expect(r.version).toBe(1);
    }

    // Same as_of again: replaced, not duplicated; the Parquet file has the same rows.
    await predictBatch(store, bundle, "toy_gbdt", { asOf: AS_OF });
    const [{ n }] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM predictions.toy_gbdt`);
    expect(n).toBe(USERS.length);
    const pq = await store.all<{ user_id: string; prediction: number }>(
      `SELECT user_id, prediction FROM read_parquet('${out}') ORDER BY user_id`,
    );
    expect(pq).toEqual(rows.map((r) => ({ user_id: r.user_id, prediction: r.prediction })));
  });

  it("a run that fails after its ONNX worker started reports its own error, releases the worker, keeps the earlier predictions", async () => {
    await predictBatch(store, bundle, "toy_gbdt", { asOf: AS_OF, batchSize: 7 });
    expect(workers.started).toBeGreaterThan(0);
    expect(workers.released).toBe(workers.started);
    const read = () => store.all(`SELECT user_id, as_of, prediction FROM predictions.toy_gbdt ORDER BY user_id, as_of`);
    const before = await read();
    const started = workers.started;
    pit.fail = true;
    try {
      // More entities than one batch: the worker is started before the join fails.
      const e = await caught(predictBatch(store, bundle, "toy_gbdt", { asOf: new Date(AS_OF.getTime() + 1000), batchSize: 7 }));
      expect(e.message).toBe("the point-in-time join failed (test)");
    } finally {
      pit.fail = false;
    }
    expect(workers.started).toBe(started + 1);
    expect(workers.released).toBe(workers.started);
    expect(await read()).toEqual(before);
  });

  /** A run with --out <new folder>/p.parquet: its files and the table's rows, for a failed run to keep. */
  async function parquetRun() {
    const sub = mkdtempSync(join(dir, "out-"));
    const out = join(sub, "p.parquet");
    await predictBatch(store, bundle, "toy_gbdt", { asOf: AS_OF, out });
    const before = { p: readFileSync(out), rejects: readFileSync(join(sub, "p.rejects.parquet")) };
    const rows = () => store.all(`SELECT user_id, as_of, prediction FROM predictions.toy_gbdt ORDER BY user_id, as_of`);
    return { sub, out, before, rows, tableBefore: await rows() };
  }

  it("--out x.parquet whose write fails leaves the earlier files and tables as they were, and nothing beside them", async () => {
    // The rejects file's write fails (a folder where its part file goes; a full disk did this by hand): the
    // predictions file was written in place first, so it was this run's beside the last run's rejects file.
    const { sub, out, before, rows, tableBefore } = await parquetRun();
    mkdirSync(join(sub, `p.rejects.parquet.${process.pid}.part`));
    await expect(predictBatch(store, bundle, "toy_gbdt", { asOf: new Date(AS_OF.getTime() + 1000), out })).rejects.toThrow(/p\.rejects\.parquet\.\d+\.part/);
    expect(readFileSync(out).equals(before.p)).toBe(true);
    expect(readFileSync(join(sub, "p.rejects.parquet")).equals(before.rejects)).toBe(true);
    expect(readdirSync(sub).sort()).toEqual(["p.parquet", `p.rejects.parquet`, `p.rejects.parquet.${process.pid}.part`]);
    expect(await rows()).toEqual(tableBefore);
  });

  it("--out x.parquet whose store commit fails leaves the earlier files with the earlier rows, and nothing beside them", async () => {
    // The files were renamed into place inside the transaction: a failed COMMIT kept the last run's rows beside this run's files.
    const { sub, out, before, rows, tableBefore } = await parquetRun();
    const inner = store as unknown as { connection(): { run(sql: string, ...rest: unknown[]): Promise<unknown> } };
    const real = inner.connection.bind(store);
    const spy = vi.spyOn(inner, "connection").mockImplementation(() => {
      const conn = real();
      return new Proxy(conn, {
        get: (target, key) =>
          key === "run"
            ? (sql: string, ...rest: unknown[]) => (sql === "COMMIT" ? Promise.reject(new Error("the commit failed (test)")) : target.run(sql, ...rest))
            : Reflect.get(target, key),
      });
    });
    try {
      await expect(predictBatch(store, bundle, "toy_gbdt", { asOf: new Date(AS_OF.getTime() + 1000), out })).rejects.toThrow("the commit failed (test)");
    } finally {
      spy.mockRestore();
    }
    expect(readFileSync(out).equals(before.p)).toBe(true);
    expect(readFileSync(join(sub, "p.rejects.parquet")).equals(before.rejects)).toBe(true);
    expect(readdirSync(sub).sort()).toEqual(["p.parquet", "p.rejects.parquet"]);
    expect(await rows()).toEqual(tableBefore);
    // The next run that commits replaces both.
    await predictBatch(store, bundle, "toy_gbdt", { asOf: new Date(AS_OF.getTime() + 2000), out });
    expect(readFileSync(out).equals(before.p)).toBe(false);
    expect(readdirSync(sub).sort()).toEqual(["p.parquet", "p.rejects.parquet"]);
  });

  it("a view with request fields needs an entities file that provides them", async () => {
    await trainModelFromSpec(store, bundle, "toy_request");
    const e = await caught(predictBatch(store, bundle, "toy_request", { asOf: AS_OF }));
    expect(e.message).toMatch(/needs request fields amount \(values each prediction is given, not read from the store: view `v_request`'s columns of the row and its ODTs' `request` parameters\)/);

    const bad = join(dir, "bad.csv");
    writeFileSync(bad, "user_id\nu01\n");
    const e2 = await caught(predictBatch(store, bundle, "toy_request", { asOf: AS_OF, entitiesFile: bad }));
    expect(e2.message).toContain("lacks `amount`");

    const file = join(dir, "entities.csv");
    writeFileSync(file, "user_id,amount\nu03,2\nu01,5\nu07,1\n");
    // A Parquet output that cannot be written is said before anything runs, naming --out.
    const e3 = await caught(predictBatch(store, bundle, "toy_request", { asOf: AS_OF, entitiesFile: file, out: join(file, "p.parquet") }));
    expect(e3).toBeInstanceOf(UserError);
    expect(e3.message).toMatch(/^--out .*entities\.csv\/p\.parquet: cannot create a file there \((ENOTDIR|EEXIST): /);
    const report = await predictBatch(store, bundle, "toy_request", { asOf: AS_OF, entitiesFile: file, out: "scores" });
    expect(report).toMatchObject({ rows: 3, table: "scores" });
    const rows = await store.all<{ user_id: string; prediction: number }>(`SELECT user_id, prediction FROM scores`);
    const predictor = await createPredictor(bundle, "toy_request", await getModel(store, "toy_request"));
    const spine = { keys: { user_id: ["u03", "u01", "u07"] }, time: AS_OF, request: { amount: [2, 5, 1] } };
    const f = standInFeaturesAsOf(bundle, "v_request", spine);
    for (let i = 0; i < 3; i++) {
      const row: Record<string, Scalar> = {};
      for (const [name, col] of Object.entries(f.columns)) row[name] = col[i];
      const [one] = await predictor.predictRows([row]);
      expect(rows.find((r) => r.user_id === spine.keys.user_id[i])!.prediction).toBe(one);
    }
  });
});

describe("external ONNX", () => {
  function linearOnnx(width: number): Uint8Array {
    const n = 20;
    const X = Float32Array.from({ length: n * width }, (_, i) => Math.sin(i));
    const y = Float64Array.from({ length: n }, (_, i) => i);
    return exportOnnx(trainModel("linear", "regression", X, n, width, y, { l2: 1 }), { width });
  }

  it("rejects a wrong input width with one line naming expected and found", async () => {
    const e = await caught(registerExternal(store, bundle, "toy_external", linearOnnx(3)));
    expect(e.message).not.toContain("\n");
    expect(e.message).toMatch(/input width must be 5 \(the MDT output width\), found \[\w+, 3\]/);
  });

  it("registers a matching file with test metrics", async () => {
    const before = (await listModels(store)).filter((m) => m.model === "toy_external").length;
    const report = await registerExternal(store, bundle, "toy_external", linearOnnx(5));
    expect(report.width).toBe(5);
    expect(report.version).toBe(before + 1);
    expect(report.metrics.mae).toBeGreaterThan(0);
    const rec = await getModel(store, "toy_external", report.version);
    expect(rec.algorithm).toBe("onnx");
    expect(rec.params).toEqual({ file: "toy.onnx" });
  });
});

describe("with the real PIT join", () => {
  let real: Store;
  beforeAll(async () => {
    pit.real = true;
    real = await openStore({ path: ":memory:" });
    await loadSyntheticTables(real);
  });
  afterAll(async () => {
    pit.real = false;
    await real.close();
  });

  it("trains on the as-of features, and batch equals one-row prediction on featuresAsOf", async () => {
    const report = await trainModelFromSpec(real, bundle, "toy_linear");
    expect(report.rows.train + report.rows.test).toBe(300);
    expect(report.metrics.r2).toBeGreaterThan(0.95);
    expect(report.range.from).toMatch(/^2025-01-13/);

    const batch = await predictBatch(real, bundle, "toy_linear", { asOf: AS_OF, batchSize: 8 });
    expect(batch.rows).toBe(USERS.length);
    const rows = await real.all<{ user_id: string; prediction: number }>(
      `SELECT user_id, prediction FROM predictions.toy_linear ORDER BY user_id`,
    );
    const predictor = await createPredictor(bundle, "toy_linear", await getModel(real, "toy_linear"));
    for (const r of rows.slice(0, 10)) {
      const f = await featuresAsOf(real, bundle, "v_user", { keys: { user_id: [r.user_id] }, time: AS_OF });
      const row: Record<string, Scalar> = {};
      for (const [name, col] of Object.entries(f.columns)) row[name] = col[0];
      const [one] = await predictor.predictRows([row]);
      expect(r.prediction).toBe(one);
    }
  });

  it("request fields come from the entities file and reach the ODT", async () => {
    await trainModelFromSpec(real, bundle, "toy_request");
    const file = join(dir, "real-entities.ndjson");
    writeFileSync(file, ['{"user_id":"u02","amount":3}', '{"user_id":"u02","amount":4}'].join("\n") + "\n");
    // The same entity twice with different request values: the ODT must tell them apart.
    const report = await predictBatch(real, bundle, "toy_request", { asOf: AS_OF, entitiesFile: file, out: "req_scores" });
    expect(report.rows).toBe(2);
    const rows = await real.all<{ prediction: number }>(`SELECT prediction FROM req_scores`);
    expect(rows[0].prediction).not.toBe(rows[1].prediction);
  });
});
