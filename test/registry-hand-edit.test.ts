// A registry row edited by hand (the registry is a table in the store): a
// fitted MDT state that is not what training writes is refused with a user
// error naming the version and the first bad place, before the generated
// encode reads it (which threw a TypeError: an internal error, exit 3); ONNX
// bytes that are no model (the checksum edited too) are refused the same way.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelPlan, SpecBundle } from "../runtime/api.ts";
import { UserError } from "../runtime/errors.ts";
import { fittedStateProblem } from "../runtime/inference/fitted-state.ts";
import { createPredictor } from "../runtime/inference/predictor.ts";
import { getModel, listModels, type ModelRecord } from "../runtime/registry/registry.ts";
import { buildToyStore, toyBundle, type ToyStore } from "./helpers/online-toy.ts";

let toy: ToyStore;
let bundle: SpecBundle;
let record: ModelRecord;

beforeAll(async () => {
  bundle = toyBundle();
  toy = await buildToyStore({ bundle, train: ["toy_impute"] });
  record = await toy.withStore((s) => getModel(s, "toy_impute"));
}, 60_000);

afterAll(() => toy?.cleanup());

const edited = (state: unknown): ModelRecord => ({ ...record, mdt_state: state as ModelRecord["mdt_state"] });

describe("a hand-edited fitted state", () => {
  it("the state training wrote passes", async () => {
    expect(fittedStateProblem(bundle.models.find((m) => m.name === "toy_impute")!, record.mdt_state)).toBeNull();
    const p = await createPredictor(bundle, "toy_impute", record);
    expect(p.width).toBe(record.mdt_state.width);
  });

  const good = () => JSON.parse(JSON.stringify(record.mdt_state));
  const cases: Array<[string, () => unknown, RegExp]> = [
    ["null", () => null, /the state is not an object/],
    ["no inputs", () => ({ width: good().width }), /inputs is missing/],
    ["an input dropped", () => ({ ...good(), inputs: { x2: good().inputs.x2 } }), /inputs\.x1 is missing; the model has 2/],
    ["a step dropped", () => ({ ...good(), inputs: { ...good().inputs, x1: [good().inputs.x1[0]] } }), /inputs\.x1 is 1 step\(s\); the model has 2/],
    ["a mean as text", () => ({ ...good(), inputs: { ...good().inputs, x2: [good().inputs.x2[0], { mean: "a", std: 1 }] } }), /inputs\.x2\[1\]\.mean \(standard_scale\) is "a"/],
    ["an impute value null", () => ({ ...good(), inputs: { ...good().inputs, x1: [{ value: null }, good().inputs.x1[1]] } }), /inputs\.x1\[0\]\.value \(impute\) is null/],
    ["width as text", () => ({ ...good(), width: String(good().width) }), /width is "2", not a positive whole number/],
    ["width 0", () => ({ ...good(), width: 0 }), /width is 0, not a positive whole number/],
    ["a step null", () => ({ ...good(), inputs: { ...good().inputs, x1: [null, good().inputs.x1[1]] } }), /inputs\.x1\[0\] \(impute\) is null, not an object/],
    ["inputs a list", () => ({ ...good(), inputs: [] }), /inputs is \[\], not an object/],
    ["classes with an object", () => ({ ...good(), classes: ["a", { b: 1 }] }), /classes\[1\] is \{"b":1\}, not a string or number/],
  ];
  it.each(cases)("%s: a user error naming the version and the place", async (_name, state, message) => {
    const err = await createPredictor(bundle, "toy_impute", edited(state())).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^model `toy_impute` version 1: its stored MDT state is not what training writes: /);
    expect((err as Error).message).toMatch(message);
  });
});

describe("hand-edited ONNX bytes (their checksum edited with them)", () => {
  // Not an ONNX model, a cut-off one, and a protobuf that is no ModelProto: onnx's own error was an internal error (exit 3).
  const cases: Array<[string, () => Uint8Array]> = [
    ["text", () => new TextEncoder().encode("garbage")],
    ["cut off", () => record.onnx.subarray(0, Math.floor(record.onnx.length / 2))],
    ["one byte", () => new Uint8Array([8])],
  ];
  it.each(cases)("%s: a user error naming the version and what to do", async (_name, bytes) => {
    const err = await createPredictor(bundle, "toy_impute", { ...record, onnx: bytes() }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/^model `toy_impute` version 1: its stored ONNX model cannot be loaded \(.+\)$/);
    expect((err as UserError).hint).toMatch(/train the model again \(fti train\) or register its ONNX file again/);
  });
});

describe("the fitted state of each kind of step", () => {
  const plan = { inputs: [{ name: "c", steps: [{ kind: "one_hot" }] }, { name: "m", steps: [{ kind: "min_max_scale" }, { kind: "clip" }] }] } as unknown as ModelPlan;
  const good = () => ({ width: 3, inputs: { c: [{ categories: ["a", "b"] }], m: [{ min: 0, max: 2 }, {}] } });
  it("the state training writes passes; a kind without state takes anything", () => {
    expect(fittedStateProblem(plan, good())).toBeNull();
    expect(fittedStateProblem(plan, { ...good(), inputs: { ...good().inputs, m: [{ min: 0, max: 2 }, "anything"] } })).toBeNull();
    expect(fittedStateProblem(plan, { ...good(), extra: 1, classes: null })).toBeNull();
  });
  it.each([
    ["a category a number", { c: [{ categories: ["a", 3] }] }, "inputs.c[0].categories[1] (one_hot) is 3"],
    ["categories missing", { c: [{}] }, "inputs.c[0].categories (one_hot) is missing"],
    ["max missing", { m: [{ min: 0 }, {}] }, "inputs.m[0].max (min_max_scale) is missing"],
    ["a step too many", { m: [{ min: 0, max: 2 }, {}, {}] }, "inputs.m is 3 step(s); the model has 2"],
    ["an input not a list", { m: "x" }, "inputs.m is missing; the model has 2"],
  ])("%s: the path and what is wrong", (_name, inputs, problem) => {
    expect(fittedStateProblem(plan, { ...good(), inputs: { ...good().inputs, ...inputs } })).toBe(problem);
  });
  it.each([null, [], "s", 3])("%j is not an object", (state) => {
    expect(fittedStateProblem(plan, state)).toBe("the state is not an object");
  });
});

describe("a hand-edited JSON column of the registry row", () => {
  it.each([
    ["lineage", `'"x"'`, /lineage: Invalid input: expected object, received string/],
    ["lineage", `'{"specFile": "s.fti", "view": "v", "featureTables": 3, "trainingRange": {"from": null, "to": null}, "rows": {"train": 1, "test": 1}}'`, /lineage\.featureTables: Invalid input: expected array/],
    ["lineage", `'{"specFile": "s.fti", "view": "v", "featureTables": [{"group": "g"}], "trainingRange": {"from": null, "to": null}, "rows": {"train": 1, "test": 1}}'`, /lineage\.featureTables\[0\]\.table: Invalid input: expected string, received undefined/],
    ["metrics", `'[1, 2]'`, /metrics: Invalid input: expected record, received array/],
    ["gates", `'{"a": 1}'`, /gates: Invalid input: expected array/],
  ])("%s = %s: reading the version is a user error naming the column (it was a TypeError in `fti models show`)", async (column, value, message) => {
    const before = await toy.withStore((s) => s.all<{ v: string }>(`SELECT CAST(${column} AS VARCHAR) AS v FROM fti_models WHERE model = 'toy_impute'`));
    try {
      await toy.withStore((s) => s.run(`UPDATE fti_models SET ${column} = ${value} WHERE model = 'toy_impute'`));
      const err = await toy.withStore((s) => getModel(s, "toy_impute")).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(/^model `toy_impute` version 1: its registry row is not what fti writes: /);
      expect((err as Error).message).toMatch(message);
    } finally {
      await toy.withStore((s) => s.run(`UPDATE fti_models SET ${column} = ? WHERE model = 'toy_impute'`, [before[0].v]));
    }
  });
});

describe("a hand-edited version number", () => {
  it.each([0, -3])("version %i: listing and reading the model are user errors naming it (it was listed and served)", async (bad) => {
    try {
      await toy.withStore((s) => s.run(`UPDATE fti_models SET version = ? WHERE model = 'toy_impute' AND version = 1`, [bad]));
      const reads: Array<(s: Parameters<typeof listModels>[0]) => Promise<unknown>> = [listModels, (s) => getModel(s, "toy_impute")];
      for (const read of reads) {
        const err = await toy.withStore(read).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(UserError);
        expect((err as Error).message).toBe(
          `model \`toy_impute\` version ${bad}: its registry row is not what fti writes: version: Too small: expected number to be >0 (was the table fti_models edited?)`,
        );
      }
    } finally {
      await toy.withStore((s) => s.run(`UPDATE fti_models SET version = 1 WHERE model = 'toy_impute' AND version = ?`, [bad]));
    }
    expect((await toy.withStore(listModels)).map((m) => [m.model, m.version])).toContainEqual(["toy_impute", 1]);
  });
});
