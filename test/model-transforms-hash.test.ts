// A model version is tied to the transformation code *it* runs (its MDTs, its
// view's ODTs, the fns and extern modules they reach), not to the whole
// transforms.ts: a spec trains two models, then grows a third with its own
// `transform` and ODT, and the first two still serve, predicting the same;
// changing one model's transform, or an ODT or extern module only one model
// uses, refuses that model alone, saying what changed. A version registered
// before per-model hashes (the whole file's hash) serves while that file is
// unchanged.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Scalar, SpecBundle } from "../runtime/api.ts";
import { UserError } from "../runtime/errors.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { createPredictor } from "../runtime/inference/predictor.ts";
import { getModel, REGISTRY_TABLE } from "../runtime/registry/registry.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { trainModelFromSpec } from "../runtime/training/train.ts";
import { transformsIdentity } from "../runtime/transforms-hash.ts";
import { ridesSpec, ridesWithClimbCsv } from "./helpers/rides-spec.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

/** A small gbdt model over `view`, with its `transform` lines. */
const model = (name: string, view: string, transforms: string[]) => `
model ${name} {
  view ${view}
  task regression
  algorithm gbdt(trees: 5, depth: 2)
${transforms.map((t) => `  transform ${t}\n`).join("")}  split random(test_fraction: 0.25, seed: 1)
}
`;

const FIELDS = ["ride_id: string", "rider: string", "at: timestamp", "km: float check (> 0)", "climb: float"];

/** m1 reads no ODT; m2's view computes `planned`, which calls an extern fn. */
const TWO_MODELS =
  ridesSpec("rides.csv", FIELDS) +
  `
extern fn bonus(x: float?): float? from "./bonus.ts"
on_demand planned(request climb: float): float? = bonus(climb) / 100

view plain for rider from rides {
  label km = km
  features riding.km_7d
}
view planned_view for rider from rides {
  label km = km
  features riding.km_7d, planned
}
` +
  model("m1", "plain", ["km_7d: standard_scale"]) +
  model("m2", "planned_view", ["planned: clip(min: 0, max: 5)"]);

/** A third model, with its own ODT and `transform` lines. */
const THIRD = `
on_demand steep(request climb: float): float = climb * 3
view steep_view for rider from rides {
  label km = km
  features riding.km_7d, steep
}
` + model("m3", "steep_view", ["steep: log1p", "km_7d: min_max_scale"]);

const BONUS = "export function bonus(x: number | null) { return x === null ? null : x + 1; }\n";


const temps: TempSpec[] = [];
const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-model-hash-"));
const storePath = path.join(storeDir, "store.duckdb");
afterAll(() => {
  temps.forEach((t) => t.cleanup());
  fs.rmSync(storeDir, { recursive: true, force: true });
});

async function compiled(spec: string, bonus = BONUS): Promise<SpecBundle> {
  const t = await compileTempSpec({ "spec.fti": spec, "bonus.ts": bonus, "rides.csv": ridesWithClimbCsv(120, 6) });
  temps.push(t);
  return t.bundle;
}

const withStore = <T>(fn: (s: Store) => Promise<T>): Promise<T> => withStoreAt(storePath, fn);

async function withStoreAt<T>(at: string, fn: (s: Store) => Promise<T>): Promise<T> {
  const s = await openStore({ path: at });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const ROWS: Array<Record<string, Scalar>> = [
  { km_7d: 10, planned: 1.5 },
  { km_7d: 42, planned: 0.2 },
  { km_7d: null, planned: null },
];

/** The model's predictions of ROWS with `bundle`'s code and its latest registered version. */
async function predictions(bundle: SpecBundle, model: string): Promise<number[]> {
  const record = await withStore((s) => getModel(s, model));
  const predictor = await createPredictor(bundle, model, record);
  return [...(await predictor.predictRows(ROWS))];
}

/** The UserError createPredictor throws for `model` with `bundle`'s code. */
async function refusal(bundle: SpecBundle, model: string): Promise<UserError> {
  const record = await withStore((s) => getModel(s, model));
  const err = await createPredictor(bundle, model, record).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  return err as UserError;
}

let before: SpecBundle;
const trained: Record<string, number[]> = {};

beforeAll(async () => {
  before = await compiled(TWO_MODELS);
  await withStore(async (s) => {
    await runFeaturePipeline(s, before);
    for (const m of ["m1", "m2"]) await trainModelFromSpec(s, before, m);
  });
  for (const m of ["m1", "m2"]) trained[m] = await predictions(before, m);
}, 240_000);

describe("per-model transforms hashes", () => {
  it("a version records its own model's hash, not the whole file's", async () => {
    const [r1, r2] = await withStore((s) => Promise.all([getModel(s, "m1"), getModel(s, "m2")]));
    expect(r1.transforms_hash).toBe(before.modelTransformsHashes!.m1);
    expect(r2.transforms_hash.startsWith(`${before.modelTransformsHashes!.m2}+externs:sha256:`)).toBe(true);
    expect(r1.transforms_hash).not.toBe(r2.transforms_hash.split("+")[0]);
    expect(r1.transforms_hash).not.toContain(before.transformsHash);
    expect(trained.m1.slice(0, 2).every(Number.isFinite)).toBe(true);
  });

  it("adding a model with its own transform and ODT leaves the others servable, predicting the same", async () => {
    const grown = await compiled(TWO_MODELS + THIRD);
    expect(grown.transformsHash).not.toBe(before.transformsHash); // the whole file changed: one hash would refuse both
    expect(grown.modelTransformsHashes).toMatchObject({ m1: before.modelTransformsHashes!.m1, m2: before.modelTransformsHashes!.m2 });
    for (const m of ["m1", "m2"]) expect(await predictions(grown, m)).toEqual(trained[m]);
    // Changing the third model's transform afterwards changes nothing for them either.
    const changed = await compiled(TWO_MODELS + THIRD.replace("transform steep: log1p", "transform steep: clip(min: 0, max: 9)"));
    for (const m of ["m1", "m2"]) expect(await predictions(changed, m)).toEqual(trained[m]);
  }, 120_000);

  it("changing a model's own transform refuses that model, saying what changed; the other still serves", async () => {
    const edited = await compiled(TWO_MODELS.replace("transform km_7d: standard_scale", "transform km_7d: min_max_scale"));
    const err = await refusal(edited, "m1");
    expect(err.message).toContain("model `m1` version 1 was trained with transforms model:sha256:");
    expect(err.message).toContain("its MDTs (`transform` lines) changed");
    expect(err.hint).toContain("retrain it with `fti train");
    expect(err.hint).toContain(" m1`");
    expect(await predictions(edited, "m2")).toEqual(trained.m2);
  }, 120_000);

  it("changing an ODT, or the extern module it calls, refuses the model whose view computes it, and only that one", async () => {
    const odt = await compiled(TWO_MODELS.replace("bonus(climb) / 100", "bonus(climb) / 10"));
    expect((await refusal(odt, "m2")).message).toContain("the on_demand features its view `planned_view` computes (planned) or the fns they call changed");
    expect(await predictions(odt, "m1")).toEqual(trained.m1);
    const module = await compiled(TWO_MODELS, BONUS.replace("x + 1", "x + 2"));
    expect((await refusal(module, "m2")).message).toContain("an extern fn module its on_demand features call changed: bonus.ts");
    expect(await predictions(module, "m1")).toEqual(trained.m1);
  }, 120_000);

  it("a version registered with the whole file's hash (before per-model hashes) serves while that file is unchanged", async () => {
    const whole = transformsIdentity(before);
    await withStore((s) => s.run(`UPDATE ${REGISTRY_TABLE} SET transforms_hash = ? WHERE model = 'm2'`, [whole]));
    expect((await withStore((s) => getModel(s, "m2"))).transforms_hash).toBe(whole);
    const same = await compiled(TWO_MODELS);
    expect(same.transformsHash).toBe(before.transformsHash);
    expect(await predictions(same, "m2")).toEqual(trained.m2);
    // Once the file changes (here: a third model), the whole-file hash no longer says whether m2's code did.
    const grown = await compiled(TWO_MODELS + THIRD);
    const err = await refusal(grown, "m2");
    expect(err.message).toContain(`was trained with transforms ${whole}`);
    expect(err.message).toContain("it was trained before per-model hashes, with the hash of the whole transforms.ts of the spec, and that file has changed since");
    expect(err.hint).toContain("retrain it with `fti train");
  }, 120_000);
});

describe("per-model transforms hashes through the CLI", () => {
  const BIN = path.resolve("compiler/cli/bin.mjs");
  // Under the project (its package.json resolves fti/runtime for the generated code).
  fs.mkdirSync(path.resolve(".fti/test-gen"), { recursive: true });
  const dir = fs.mkdtempSync(path.resolve(".fti/test-gen", "cli-model-hash-"));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fti = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args, "--store", "store.duckdb"], { cwd: dir, encoding: "utf8", env: { ...process.env, FTI_DEBUG: "" } });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const ok = (...args: string[]) => {
    const r = fti(...args);
    expect({ args, code: r.code, stderr: r.stderr }).toEqual({ args, code: 0, stderr: expect.any(String) });
    return r;
  };
  const predict = (model: string, table: string) => ok("predict", "spec.fti", model, "--as-of", "2026-06-01", "--entities", "entities.csv", "--out", table);
  /** A predictions table's rows, in a fixed order. */
  const rows = (table: string) => withStoreAt(path.join(dir, "store.duckdb"), (s) => s.all(`SELECT rider, prediction FROM ${table} ORDER BY rider`));

  it("fti predict: the first two models predict the same after a third is added; an edit of m1's transform refuses m1 alone, with the hint to retrain", async () => {
    fs.writeFileSync(path.join(dir, "spec.fti"), TWO_MODELS);
    fs.writeFileSync(path.join(dir, "bonus.ts"), BONUS);
    fs.writeFileSync(path.join(dir, "rides.csv"), ridesWithClimbCsv(120, 6));
    fs.writeFileSync(path.join(dir, "entities.csv"), ["rider,climb", ...[0, 1, 2, 3, 4, 5].map((i) => `u${i},${i * 90}`)].join("\n") + "\n");
    ok("features", "spec.fti");
    ok("train", "spec.fti", "m1");
    ok("train", "spec.fti", "m2");
    predict("m1", "m1_before");
    predict("m2", "m2_before");
    // A third model with its own transform and ODT: runtime commands compile the spec again first.
    fs.appendFileSync(path.join(dir, "spec.fti"), THIRD);
    predict("m1", "m1_after");
    predict("m2", "m2_after");
    expect(await rows("m1_after")).toEqual(await rows("m1_before"));
    expect(await rows("m2_after")).toEqual(await rows("m2_before"));
    expect((await rows("m1_before")).length).toBe(6);
    // m1's own transform changes: m1 is refused, saying what changed and what to do; m2 serves.
    fs.writeFileSync(path.join(dir, "spec.fti"), fs.readFileSync(path.join(dir, "spec.fti"), "utf8").replace("transform km_7d: standard_scale", "transform km_7d: min_max_scale"));
    const refused = fti("predict", "spec.fti", "m1", "--as-of", "2026-06-01", "--entities", "entities.csv");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: model `m1` version 1 was trained with transforms model:sha256:[0-9a-f]{64}, but the code it runs in the loaded spec `spec` has transforms model:sha256:[0-9a-f]{64} \(its MDTs \(`transform` lines\) changed\); refusing to predict with mismatched transformation code$/m);
    expect(refused.stderr).toContain("hint: retrain it with `fti train spec.fti m1`");
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    predict("m2", "m2_edited");
    expect(await rows("m2_edited")).toEqual(await rows("m2_before"));
  }, 300_000);
});
