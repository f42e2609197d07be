// ONNX export → onnxruntime round trips for every trainer, proto encoding,
// and inspection of good and bad bytes.

import { describe, expect, it } from "vitest";
import { buildOnnxModel, exportOnnx } from "../runtime/onnx/export.ts";
import { decodeModel, encodeModel, attributeString } from "../runtime/onnx/proto.ts";
import { checkServingSignature, inspectOnnx, loadOnnx, ortSessionOptions } from "../runtime/onnx/session.ts";
import { predict, trainModel, type TrainedModel } from "../runtime/learners/index.ts";
import { mulberry32 as rng } from "../runtime/random.ts";

const r = rng(11);
const n = 3000;
const d = 5;
const X = new Float32Array(n * d);
for (let i = 0; i < X.length; i++) X[i] = r() * 6 - 3;
const y = new Float64Array(n);
const yc = new Float64Array(n);
for (let i = 0; i < n; i++) {
  const o = i * d;
  y[i] = Math.sin(X[o]) * 3 + X[o + 1] ** 2 - 2 * X[o + 2] + 10 + (r() - 0.5);
  yc[i] = r() < 1 / (1 + Math.exp(-(1.5 * X[o] - X[o + 1] + X[o + 3] * X[o + 4] * 0.5))) ? 1 : 0;
}
/** The same rows with ~15% NaN in columns 1 and 3. */
const Xnan = X.slice();
for (let i = 0; i < n; i++) {
  if (r() < 0.15) Xnan[i * d + 1] = NaN;
  if (r() < 0.15) Xnan[i * d + 3] = NaN;
}

/** |onnx - own| <= 1e-4 |own| + 1e-5 (float32 relative, with a floor for values near 0). */
function expectClose(onnx: Float32Array, own: Float64Array): number {
  expect(onnx.length).toBe(own.length);
  let worst = 0;
  for (let i = 0; i < own.length; i++) {
    if (Number.isNaN(own[i])) {
      expect(onnx[i]).toBeNaN();
      continue;
    }
    const err = Math.abs(onnx[i] - own[i]);
    const tol = 1e-4 * Math.abs(own[i]) + 1e-5;
    if (!(err <= tol)) throw new Error(`row ${i}: onnx ${onnx[i]} vs trainer ${own[i]}`);
    worst = Math.max(worst, err / tol);
  }
  return worst;
}

async function roundTrip(model: TrainedModel, Xe: Float32Array): Promise<void> {
  const bytes = exportOnnx(model, { width: d });
  const session = await loadOnnx(bytes);
  expect(session.width).toBe(d);
  const out = await session.predict(Xe, n);
  expectClose(out, predict(model, Xe, n, d));
  // a NaN row for the linear models: NaN in both
  await session.release();
}

describe("ONNX round trip through onnxruntime", () => {
  it("linear", async () => {
    const m = trainModel("linear", "regression", X, n, d, y, { l2: 0.1 });
    await roundTrip(m, X);
    await roundTrip(m, Xnan); // NaN rows: NaN from both
  });

  it("logistic", async () => {
    const m = trainModel("logistic", "binary_classification", X, n, d, yc, { l2: 1 });
    await roundTrip(m, X);
    await roundTrip(m, Xnan);
  });

  it("gbdt regression, with missing values", async () => {
    const m = trainModel("gbdt", "regression", Xnan, n, d, y, { trees: 60, depth: 6, min_leaf: 10, bins: 255 });
    await roundTrip(m, Xnan);
    await roundTrip(m, X);
  });

  it("gbdt classification, with missing values", async () => {
    const m = trainModel("gbdt", "binary_classification", Xnan, n, d, yc, { trees: 60, depth: 5, min_leaf: 10, bins: 32 });
    await roundTrip(m, Xnan);
  });

  it("gbdt edge cases: no trees, single-leaf trees, values at thresholds", async () => {
    const none = trainModel("gbdt", "regression", X, n, d, y, { trees: 0 });
    await roundTrip(none, X);
    const stumps = trainModel("gbdt", "regression", X, n, d, y, { trees: 3, min_leaf: n });
    await roundTrip(stumps, X);
    // rows exactly at the learned thresholds must take the same branch in both
    const m = trainModel("gbdt", "regression", Xnan, n, d, y, { trees: 20, depth: 4, bins: 16 });
    if (m.kind !== "gbdt") throw new Error("kind");
    const Xt = Xnan.slice();
    let k = 0;
    for (const t of m.trees) {
      for (let j = 0; j < t.feature.length && k < n; j++) {
        if (t.feature[j] >= 0 && t.threshold[j] < 1e30) Xt[k++ * d + t.feature[j]] = t.threshold[j];
      }
    }
    expect(k).toBeGreaterThan(50);
    await roundTrip(m, Xt);
  });
});

describe("ONNX layout and inspection", () => {
  const gbdt = trainModel("gbdt", "binary_classification", Xnan, n, d, yc, { trees: 5, depth: 3 });
  const bytes = exportOnnx(gbdt, { width: d });

  it("inspectOnnx reads the signature without onnxruntime", () => {
    const info = inspectOnnx(bytes);
    expect(info.width).toBe(d);
    expect(info.inputs).toEqual([{ name: "features", type: "float", elemType: 1, shape: ["N", d] }]);
    expect(info.outputs).toEqual([{ name: "prediction", type: "float", elemType: 1, shape: ["N", 1] }]);
    expect(info.irVersion).toBe(8);
    expect(info.opsets).toEqual([
      { domain: "", version: 17 },
      { domain: "ai.onnx.ml", version: 3 },
    ]);
    expect(info.operators).toEqual(["ai.onnx.ml.TreeEnsembleRegressor", "Sigmoid"]);
    expect(info.metadata["fti.kind"]).toBe("gbdt");
    expect(checkServingSignature(info)).toBeNull();
  });

  it("encodes the tree attributes faithfully (missing-value directions included)", () => {
    const model = decodeModel(bytes);
    const node = model.graph.node[0];
    const a = Object.fromEntries((node.attribute ?? []).map((x) => [x.name, x]));
    if (gbdt.kind !== "gbdt") throw new Error("kind");
    const nNodes = gbdt.trees.reduce((s, t) => s + t.feature.length, 0);
    expect(a.nodes_nodeids.ints).toHaveLength(nNodes);
    expect(a.nodes_missing_value_tracks_true.ints).toEqual(
      gbdt.trees.flatMap((t) => t.feature.map((f, k) => (f >= 0 && t.missingLeft[k] ? 1 : 0))),
    );
    expect(a.nodes_values.floats).toEqual(gbdt.trees.flatMap((t) => t.feature.map((f, k) => (f >= 0 ? t.threshold[k] : 0))));
    expect(attributeString(a.post_transform)).toBe("NONE");
    expect(a.base_values.floats?.[0]).toBeCloseTo(gbdt.baseScore, 5);
    // encode(decode(x)) is stable
    expect(Buffer.from(encodeModel(model)).equals(Buffer.from(bytes))).toBe(true);
  });

  it("describeIO and a dynamic width", async () => {
    const lin = trainModel("linear", "regression", X, n, d, y, {});
    const model = buildOnnxModel(lin, { width: d });
    model.graph.input[0].type!.tensor_type!.shape!.dim![1] = { dim_param: "W" };
    const dyn = encodeModel(model);
    expect(inspectOnnx(dyn).width).toBeNull();
    const s = await loadOnnx(dyn);
    expect(s.width).toBeNull();
    expect(s.describeIO().inputs[0].shape).toEqual(["N", "W"]);
    expect(s.describeIO().outputs[0].name).toBe("prediction");
    const out = await s.predict(X.subarray(0, 10 * d), 10);
    expectClose(out, predict(lin, X.subarray(0, 10 * d), 10, d));
    await expect(s.predict(X.subarray(0, 7), 2)).rejects.toThrow(/not a multiple/);
  });

  it("garbage bytes give clear errors, not crashes", async () => {
    expect(() => inspectOnnx(new Uint8Array(0))).toThrow(/not an ONNX model: the file is empty/);
    expect(() => inspectOnnx(new TextEncoder().encode("this is not a model at all"))).toThrow(/not an ONNX model/);
    const rr = rng(5);
    const junk = Uint8Array.from({ length: 4096 }, () => Math.floor(rr() * 256));
    expect(() => inspectOnnx(junk)).toThrow(/not an ONNX model/);
    await expect(loadOnnx(junk)).rejects.toThrow(/not an ONNX model/);
    // truncated real model
    expect(() => inspectOnnx(bytes.subarray(0, bytes.length - 7))).toThrow(/not an ONNX model/);
  });

  it("export checks the width", () => {
    expect(() => exportOnnx(gbdt, { width: d + 1 })).toThrow(/trained on 5 columns/);
  });

  it("predict checks the input size", async () => {
    const s = await loadOnnx(bytes);
    await expect(s.predict(X.subarray(0, 3), 1)).rejects.toThrow(/expected n × width/);
  });

  it("one thread: a row scores the same alone and in a batch", async () => {
    // 200 trees: with several threads onnxruntime sums the trees of a lone row in parallel
    const big = exportOnnx(trainModel("gbdt", "regression", Xnan, n, d, y, { trees: 200, depth: 6 }), { width: d });
    const s = await loadOnnx(big, { threads: 1 });
    const batch = await s.predict(Xnan, n);
    for (let i = 0; i < 200; i++) {
      const [alone] = await s.predict(Xnan.subarray(i * d, (i + 1) * d), 1);
      expect(alone).toBe(batch[i]);
    }
    await s.release();
    expect(ortSessionOptions({ threads: 1 })).toMatchObject({ intraOpNumThreads: 1 });
    expect(ortSessionOptions({})).not.toHaveProperty("intraOpNumThreads");
    await expect(loadOnnx(bytes, { threads: 0 })).rejects.toThrow(/threads must be a positive integer, got 0/);
  });
});
