// Several `production` rows for one model (a registry edited by hand: promote
// and registerModel keep one, inside their transaction): `fti models list` and
// `fti serve` warn naming the model and its versions, serve the latest of them
// (as `getModel` picks it), and a promotion leaves one production row again.

import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { predictBatch } from "../runtime/inference/batch.ts";
import { OnlineService } from "../runtime/online/service.ts";
import { getModel, listModels, productionWarnings, promote, registerModel, servedVersion, type NewModelRecord } from "../runtime/registry/registry.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { buildToyStore, toyBundle, type ToyStore } from "./helpers/online-toy.ts";

const REPO = join(import.meta.dirname, "..");

function record(model: string, stage: NewModelRecord["stage"] = "staging"): NewModelRecord {
  return {
    model,
    stage,
    spec_hash: "s",
    transforms_hash: "t",
    view: "v",
    task: "regression",
    algorithm: "linear",
    params: {},
    metrics: {},
    baseline: {},
    lineage: { specHash: "s", specFile: "s.fti", view: "v", featureTables: [], trainingRange: { from: "", to: "" }, rows: { train: 1, test: 1 }, split: null },
    mdt_state: { inputs: {}, width: 0 },
    onnx: new Uint8Array([1]),
    promoted: false,
    gates: [],
  };
}

const stages = async (store: Store, model: string) => (await listModels(store)).filter((m) => m.model === model).map((m) => `${m.version}:${m.stage}`);

describe("several production versions of one model", () => {
  let store: Store;
  beforeEach(async () => {
    store = await openStore({ path: ":memory:" });
    for (let i = 0; i < 3; i++) await registerModel(store, record("a"));
    await registerModel(store, record("b", "production"));
    // The hand edit: versions 1 and 3 of `a` both production.
    await store.run(`UPDATE fti_models SET stage = 'production' WHERE model = 'a' AND version IN (1, 3)`);
  });
  afterEach(async () => {
    await store.close();
  });

  it("a warning names the model and its versions; one production version is no warning", async () => {
    expect(productionWarnings(await listModels(store))).toEqual([
      "model `a` has 2 production versions (@1, @3); @3, the latest, is the one used; `fti models promote a@<version>` keeps one",
    ]);
    await promote(store, "a", 3);
    expect(productionWarnings(await listModels(store))).toEqual([]);
  });

  it("the served version is the latest production one, as getModel picks it", async () => {
    const versions = (await listModels(store)).filter((m) => m.model === "a");
    expect(servedVersion(versions)?.version).toBe(3);
    expect((await getModel(store, "a")).version).toBe(3);
    // Listed in another order, the same choice.
    expect(servedVersion([...versions].reverse())?.version).toBe(3);
    expect(servedVersion(versions.map((v) => ({ ...v, stage: "staging" as const })))?.version).toBe(3);
    expect(servedVersion([])).toBeUndefined();
  });

  it("promoting one of them archives the other (it returned early, leaving both)", async () => {
    expect(await promote(store, "a", 1)).toEqual({ model: "a", version: 1, previous: 3 });
    expect(await stages(store, "a")).toEqual(["1:production", "2:staging", "3:archived"]);
    expect(await promote(store, "a", 1)).toEqual({ model: "a", version: 1, previous: 1 });
  });

  it("promoting a third archives both", async () => {
    expect(await promote(store, "a", 2)).toEqual({ model: "a", version: 2, previous: 3 });
    expect(await stages(store, "a")).toEqual(["1:archived", "2:production", "3:archived"]);
    expect(await stages(store, "b")).toEqual(["1:production"]);
  });

  it("concurrent promotions and registrations in one process leave one production version", async () => {
    await promote(store, "a", 3);
    await Promise.all([promote(store, "a", 1), promote(store, "a", 2), registerModel(store, record("a", "production")), promote(store, "a", 3)]);
    expect((await listModels(store)).filter((m) => m.model === "a" && m.stage === "production")).toHaveLength(1);
  });
});

describe("fti serve and fti models list on such a registry", () => {
  let toy: ToyStore;
  beforeAll(async () => {
    toy = await buildToyStore({ bundle: toyBundle({ serves: [{ model: "toy_impute", online: true }] }), train: ["toy_impute", "toy_impute", "toy_impute"] });
    await toy.withStore((s) => s.run(`UPDATE fti_models SET stage = CASE WHEN version IN (1, 2) THEN 'production' ELSE 'archived' END WHERE model = 'toy_impute'`));
  }, 120_000);
  afterAll(() => toy?.cleanup());

  it("serve warns once and serves the latest production version", async () => {
    const warnings: string[] = [];
    const logger = { info: () => {}, warn: (m: string) => void warnings.push(m), error: () => {} };
    const svc = await OnlineService.open(toy.bundle, { store: toy.storePath, logs: false, logger });
    try {
      const info = svc.models().find((m) => m.model === "toy_impute")!;
      expect(info.version).toBe(2);
      expect(warnings.filter((w) => w.includes("production versions"))).toEqual([
        "model `toy_impute` has 2 production versions (@1, @2); @2, the latest, is the one used; `fti models promote toy_impute@<version>` keeps one",
      ]);
      await svc.reload("test");
      expect(warnings.filter((w) => w.includes("production versions"))).toHaveLength(1);
    } finally {
      await svc.close();
    }
  }, 60_000);

  it("models list warns on stderr and still lists every row", () => {
    const r = spawnSync(process.execPath, [join(REPO, "compiler/cli/bin.mjs"), "models", "list", "--store", toy.storePath], { encoding: "utf8", env: { ...process.env, FTI_STORE: "" } });
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("warning: model `toy_impute` has 2 production versions (@1, @2); @2, the latest, is the one used");
    expect(r.stdout.split("\n").filter((l) => l.startsWith("toy_impute\t")).map((l) => l.split("\t").slice(1, 3).join(":"))).toEqual(["1:production", "2:production", "3:archived"]);
  }, 60_000);

  it("batch predict without a version scores with the latest production version and reports the warning; with a version, none", async () => {
    const r = await toy.withStore((s) => predictBatch(s, toy.bundle, "toy_impute", { asOf: new Date(Date.UTC(2025, 0, 1)) }));
    expect(r.version).toBe(2);
    expect(r.warnings).toEqual([
      "model `toy_impute` has 2 production versions (@1, @2); @2, the latest, is the one used; `fti models promote toy_impute@<version>` keeps one",
    ]);
    const one = await toy.withStore((s) => predictBatch(s, toy.bundle, "toy_impute", { asOf: new Date(Date.UTC(2025, 0, 1)), version: 1 }));
    expect(one.version).toBe(1);
    expect(one.warnings).toEqual([]);
  }, 60_000);

  it("models show without a version warns and shows the latest production version; with one, no warning", () => {
    const show = (ref: string) => spawnSync(process.execPath, [join(REPO, "compiler/cli/bin.mjs"), "models", "show", ref, "--store", toy.storePath], { encoding: "utf8", env: { ...process.env, FTI_STORE: "" } });
    const r = show("toy_impute");
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("warning: model `toy_impute` has 2 production versions (@1, @2); @2, the latest, is the one used");
    expect(r.stdout).toMatch(/^toy_impute@2 {2}production/);
    const one = show("toy_impute@1");
    expect(one.status).toBe(0);
    expect(one.stderr).not.toContain("warning");
    expect(one.stdout).toMatch(/^toy_impute@1 {2}production/);
  }, 60_000);
});
