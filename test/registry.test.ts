import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UserError } from "../runtime/errors.ts";
import { getModel, listModels, promote, registerModel, type NewModelRecord } from "../runtime/registry/registry.ts";
import { openStore, type Store } from "../runtime/store/store.ts";

function record(model: string, over: Partial<NewModelRecord> = {}): NewModelRecord {
  return {
    model,
    stage: "staging",
    spec_hash: "spec-1",
    transforms_hash: "tx-1",
    view: "v_user",
    task: "regression",
    algorithm: "linear",
    params: { l2: 0.01 },
    metrics: { mae: 1.5, rmse: 2, r2: NaN },
    baseline: { mae: 3, rmse: 4, r2: 0 },
    lineage: {
      specHash: "spec-1",
      specFile: "specs/toy.fti",
      view: "v_user",
      featureTables: [{ group: "user_stats", version: 1, table: "fg_user_stats_v1" }],
      trainingRange: { from: "2025-01-01T00:00:00.000Z", to: "2025-12-01T00:00:00.000Z" },
      rows: { train: 80, test: 20 },
      split: { kind: "time", testFrom: "2025-10-01" },
    },
    mdt_state: { inputs: { x1: [{ mean: 1, std: 2 }] }, width: 1 },
    onnx: new Uint8Array([8, 7, 0, 255, 1, 2, 3]),
    promoted: false,
    gates: [{ metric: "mae", op: "<", value: 2, actual: 1.5, pass: true }],
    ...over,
  };
}

let store: Store;
beforeEach(async () => {
  store = await openStore({ path: ":memory:" });
});
afterEach(async () => {
  await store.close();
});

describe("registry", () => {
  it("auto-increments versions per model and round-trips a record", async () => {
    expect(await registerModel(store, record("a"))).toBe(1);
    expect(await registerModel(store, record("a"))).toBe(2);
    expect(await registerModel(store, record("b"))).toBe(1);
    expect(await registerModel(store, record("a"))).toBe(3);

    const got = await getModel(store, "a", 2);
    expect(got.version).toBe(2);
    expect(Array.from(got.onnx)).toEqual([8, 7, 0, 255, 1, 2, 3]);
    expect(got.onnx_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(got.mdt_state).toEqual({ inputs: { x1: [{ mean: 1, std: 2 }] }, width: 1 });
    expect(got.metrics).toEqual({ mae: 1.5, rmse: 2, r2: null }); // NaN is stored as null
    expect(got.lineage.featureTables[0].table).toBe("fg_user_stats_v1");
    expect(got.gates[0].pass).toBe(true);
    expect(got.created_at).toBeInstanceOf(Date);

    const all = await listModels(store);
    expect(all.map((m) => `${m.model}@${m.version}`)).toEqual(["a@1", "a@2", "a@3", "b@1"]);
    expect("onnx" in all[0]).toBe(false);
  });

  it("getModel defaults to the production version, else the latest", async () => {
    await registerModel(store, record("a"));
    await registerModel(store, record("a", { stage: "production" }));
    await registerModel(store, record("a"));
    expect((await getModel(store, "a")).version).toBe(2);
    await registerModel(store, record("b"));
    await registerModel(store, record("b"));
    expect((await getModel(store, "b")).version).toBe(2);
  });

  it("promote makes a version production and archives the previous production version", async () => {
    await registerModel(store, record("a", { stage: "production" }));
    await registerModel(store, record("a"));
    await registerModel(store, record("a"));
    const res = await promote(store, "a", 3);
    expect(res).toEqual({ model: "a", version: 3, previous: 1 });
    const stages = (await listModels(store)).map((m) => [m.version, m.stage, m.promoted]);
    expect(stages).toEqual([
      [1, "archived", true],
      [2, "staging", false],
      [3, "production", true],
    ]);
    // Registering a new production version archives the current one too.
    await registerModel(store, record("a", { stage: "production" }));
    expect((await listModels(store)).filter((m) => m.stage === "production").map((m) => m.version)).toEqual([4]);
  });

  it("unknown models and versions are UserErrors that name what exists", async () => {
    await expect(getModel(store, "nope")).rejects.toThrow("model `nope` not found; no models are registered");
    await registerModel(store, record("alpha"));
    await registerModel(store, record("beta"));
    await registerModel(store, record("beta"));
    const e1 = await getModel(store, "gamma").catch((e) => e);
    expect(e1).toBeInstanceOf(UserError);
    expect(e1.message).toBe("model `gamma` not found; registered models: alpha, beta");
    const e2 = await getModel(store, "beta", 9).catch((e) => e);
    expect(e2).toBeInstanceOf(UserError);
    expect(e2.message).toBe("model `beta` has no version 9; versions: 1, 2");
    await expect(promote(store, "gamma", 1)).rejects.toThrow("registered models: alpha, beta");
    await expect(promote(store, "beta", 3)).rejects.toThrow("model `beta` has no version 3; versions: 1, 2");
    expect(await listModels(store)).toHaveLength(3);
  });
});
