// Training statistics are stored with each model version: recomputed here by
// brute force from the same training frame and split.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getModel, registerModel } from "../runtime/registry/registry.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { buildTrainingFrame } from "../runtime/retrieval/pit.ts";
import { splitFrame, trainModelFromSpec } from "../runtime/training/train.ts";
import { formatStatistics } from "../runtime/monitor/format.ts";
import { loadSyntheticTables, makeBundle } from "./helpers/model-bundles.ts";
import { valueAt } from "../runtime/retrieval/columns.ts";

let store: Store;
const bundle = makeBundle();
beforeAll(async () => {
  store = await openStore({ path: ":memory:" });
  await loadSyntheticTables(store);
});
afterAll(async () => {
  await store.close();
});

describe("training statistics", () => {
  it("are stored with the version: each input and the label over train, predictions over test", async () => {
    const report = await trainModelFromSpec(store, bundle, "toy_gbdt");
    const rec = await getModel(store, "toy_gbdt", report.version);
    const stats = rec.statistics!;
    const plan = bundle.models.find((m) => m.name === "toy_gbdt")!;
    expect(stats.features.map((f) => f.name)).toEqual(plan.inputs.map((i) => i.name));

    const frame = await buildTrainingFrame(store, bundle, plan.view);
    const split = splitFrame(plan, frame);
    const train = Array.from(split.train);
    for (const f of stats.features) {
      const values = train.map((i) => valueAt(frame.columns[f.name], i));
      const present = values.filter((v) => v !== null);
      expect(f.count).toBe(train.length);
      expect(f.nulls).toBe(values.length - present.length);
      if (f.type === "string") {
        const share = present.filter((v) => v === f.categorical!.top[0].value).length / present.length;
        expect(f.categorical!.top[0].fraction).toBeCloseTo(share, 12);
        expect(f.categorical!.distinct).toBe(new Set(present).size);
      } else {
        const nums = present as number[];
        expect(f.numeric!.mean).toBeCloseTo(nums.reduce((s, x) => s + x, 0) / nums.length, 9);
        expect(f.numeric!.min).toBe(Math.min(...nums));
        expect(f.numeric!.max).toBe(Math.max(...nums));
        // Each bin's stored fraction is the share of train values in it.
        const edges = f.numeric!.bins.edges;
        const inFirst = nums.filter((x) => x <= edges[0]).length / nums.length;
        expect(f.numeric!.bins.fractions[0]).toBeCloseTo(inFirst, 12);
        expect(f.numeric!.bins.fractions.reduce((s, x) => s + x, 0)).toBeCloseTo(1, 12);
      }
    }
    const labels = train.map((i) => frame.label[i]);
    expect(stats.label.count).toBe(train.length);
    expect(stats.label.numeric!.mean).toBeCloseTo(labels.reduce((s, x) => s + x, 0) / labels.length, 9);
    expect(stats.predictions.count).toBe(split.test.length);

    const text = formatStatistics(stats).join("\n");
    for (const f of stats.features) expect(text).toMatch(new RegExp(`^${f.name}\\s`, "m"));
    expect(text).toMatch(/^prediction \(test\)\s+float\s+\d+/m);
  });

  it("a version registered without statistics reads as null", async () => {
    const { statistics: _s, onnx_sha256: _h, version: _v, created_at: _c, ...rec } = await getModel(store, "toy_gbdt");
    const v = await registerModel(store, { ...rec, model: "bare", stage: "staging" });
    expect((await getModel(store, "bare", v)).statistics).toBeNull();
  });
});

describe("a training statistics row edited by hand", () => {
  it("is refused naming the model, version and what differs (a TypeError in fti monitor and models show, exit 3, before)", async () => {
    const { readStatistics, writeStatistics } = await import("../runtime/registry/statistics.ts");
    const { UserError } = await import("../runtime/errors.ts");
    const store = await openStore({ path: ":memory:" });
    try {
      const column = { name: "x", type: "float", count: 3, nulls: 0, null_rate: 0, numeric: { mean: 1, std: 0, min: 1, max: 1, bins: { edges: [], fractions: [1] }, quantiles: [1] } };
      const good = { features: [column], label: column, predictions: column };
      await writeStatistics(store, "m", 1, JSON.stringify(good));
      expect(await readStatistics(store, "m", 1)).toEqual(good);
      for (const [text, said] of [
        ["[1]", "statistics: Invalid input: expected object, received array"],
        ['{"inputs": 5}', "statistics.features: Invalid input: expected array, received undefined"],
        [JSON.stringify({ ...good, features: [{ ...column, numeric: { ...column.numeric, bins: 5 } }] }), "statistics.features[0].numeric.bins: Invalid input: expected object, received number"],
      ] as const) {
        await store.run("UPDATE fti_model_statistics SET statistics = ? WHERE model = 'm'", [text]);
        const err = await readStatistics(store, "m", 1).catch((e: unknown) => e);
        expect(err, text).toBeInstanceOf(UserError);
        expect((err as Error).message).toBe(`model \`m\` version 1: its training statistics are not what fti writes: ${said} (was the table fti_model_statistics edited?)`);
      }
    } finally {
      await store.close();
    }
  });
});
