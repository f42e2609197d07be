import { describe, expect, it } from "vitest";
import type { Scalar } from "../runtime/api.ts";
import { encodeMatrix, fitTransforms } from "../runtime/training/mdt-fit.ts";
import { input, model, step } from "./helpers/model-bundles.ts";

describe("fitTransforms", () => {
  it("fits on the train rows only: a value only in the test rows does not move the statistics", () => {
    const plan = model("m", [input("x", [step("standard_scale")]), input("y", [step("min_max_scale")])]);
    const columns = { x: [1, 2, 3, 1000] as Scalar[], y: [5, -1, 2, 99] as Scalar[] };
    const state = fitTransforms(plan, columns, [0, 1, 2]);
    const mean = 2;
    const std = Math.sqrt(((1 - 2) ** 2 + 0 + (3 - 2) ** 2) / 3); // population
    expect(state.inputs.x).toEqual([{ mean, std }]);
    expect(state.inputs.y).toEqual([{ min: -1, max: 5 }]);
    expect(state.width).toBe(2);
    // Same fit whatever the test rows hold.
    const other = fitTransforms(plan, { x: [1, 2, 3, -5e6], y: [5, -1, 2, 1e9] }, Int32Array.from([0, 1, 2]));
    expect(other).toEqual(state);
  });

  it("uses std 1 for a constant column and ignores nulls", () => {
    const plan = model("m", [input("x", [step("standard_scale")])]);
    const state = fitTransforms(plan, { x: [4, null, 4, 4] }, [0, 1, 2, 3]);
    expect(state.inputs.x).toEqual([{ mean: 4, std: 1 }]);
  });

  it("chains steps: impute(median) then standard_scale scales the imputed values", () => {
    const plan = model("m", [input("x", [step("impute", { strategy: "median" }), step("standard_scale")])]);
    const columns = { x: [1, null, 3, 10, null] as Scalar[] };
    const train = [0, 1, 2, 3];
    const state = fitTransforms(plan, columns, train);
    // median of train non-null {1, 3, 10} = 3; imputed train = [1, 3, 3, 10]
    expect(state.inputs.x[0]).toEqual({ value: 3 });
    const imputed = [1, 3, 3, 10];
    const mean = imputed.reduce((a, b) => a + b) / 4;
    const std = Math.sqrt(imputed.reduce((a, b) => a + (b - mean) ** 2, 0) / 4);
    expect((state.inputs.x[1] as { mean: number }).mean).toBeCloseTo(mean, 12);
    expect((state.inputs.x[1] as { std: number }).std).toBeCloseTo(std, 12);

    // Encoding the test row (null) gives the imputed, scaled value.
    const X = encodeMatrix(plan, state, columns, [4]);
    expect(X[0]).toBeCloseTo((3 - mean) / std, 5);
  });

  it("imputes mean, median of an even count, and constants", () => {
    const plan = model("m", [
      input("a", [step("impute", { strategy: "mean" })]),
      input("b", [step("impute", { strategy: "median" })]),
      input("c", [step("impute", { strategy: "constant", value: -1 })]),
    ]);
    const state = fitTransforms(plan, { a: [1, 2, null, 6], b: [4, 1, 3, 2], c: [null, null, null, null] }, [0, 1, 2, 3]);
    expect(state.inputs).toEqual({ a: [{ value: 3 }], b: [{ value: 2.5 }], c: [{ value: -1 }] });
  });

  it("one_hot: categories sorted from train, width expands, unknown and null encode as zeros", () => {
    const plan = model("m", [input("x", [step("log1p")]), input("cat", [step("one_hot")])]);
    const columns = { x: [0, 1, 2, 3, 4], cat: ["b", "a", "b", "c", "zzz"] as Scalar[] };
    const state = fitTransforms(plan, columns, [0, 1, 2, 3]);
    expect(state.inputs.cat).toEqual([{ categories: ["a", "b", "c"] }]);
    expect(state.inputs.x).toEqual([{}]);
    expect(state.width).toBe(4);

    const X = encodeMatrix(plan, state, { ...columns, cat: ["b", "a", "b", "c", "zzz"] }, [1, 4]);
    expect(Array.from(X.subarray(0, 4))).toEqual([Math.fround(Math.log1p(1)), 1, 0, 0]);
    expect(Array.from(X.subarray(4, 8))).toEqual([Math.fround(Math.log1p(4)), 0, 0, 0]); // unknown category
    const Xnull = encodeMatrix(plan, state, { x: [null], cat: [null] }, [0]);
    expect(Number.isNaN(Xnull[0])).toBe(true);
    expect(Array.from(Xnull.subarray(1))).toEqual([0, 0, 0]);
  });

  it("one_hot with declared categories keeps them (and their width) even when train lacks some", () => {
    const plan = model("m", [input("sport", [step("one_hot", { categories: ["run", "trail", "treadmill"] })])]);
    const state = fitTransforms(plan, { sport: ["run", "run"] }, [0, 1]);
    expect(state.inputs.sport).toEqual([{ categories: ["run", "trail", "treadmill"] }]);
    expect(state.width).toBe(3);
  });

  it("static steps (clip, bucketize) have empty state and feed the next step", () => {
    const plan = model("m", [input("x", [step("clip", { min: 0, max: 10 }), step("min_max_scale")])]);
    const state = fitTransforms(plan, { x: [-5, 5, 50] }, [0, 1, 2]);
    expect(state.inputs.x).toEqual([{}, { min: 0, max: 10 }]);
    const b = model("b", [input("x", [step("bucketize", { boundaries: [0, 10] }), step("standard_scale")])]);
    const sb = fitTransforms(b, { x: [-1, 5, 20, 30] }, [0, 1, 2, 3]);
    expect((sb.inputs.x[1] as { mean: number }).mean).toBe((0 + 1 + 2 + 2) / 4);
  });

  it("a column with no train values cannot be scaled: a UserError names the input", () => {
    const plan = model("m", [input("x", [step("standard_scale")])]);
    expect(() => fitTransforms(plan, { x: [null, null, 3] }, [0, 1])).toThrow(/input `x`.*no non-null values/);
  });
});

describe("encodeMatrix", () => {
  it("is row-major in the given row order", () => {
    const plan = model("m", [input("a"), input("b")]);
    const state = fitTransforms(plan, { a: [1, 2, 3], b: [10, 20, 30] }, [0, 1, 2]);
    const X = encodeMatrix(plan, state, { a: [1, 2, 3], b: [10, 20, 30] }, Int32Array.from([2, 0]));
    expect(Array.from(X)).toEqual([3, 30, 1, 10]);
  });
});
