// runtime/onnx/tree-js.ts: a plain TreeEnsembleRegressor scored in JavaScript
// gives onnxruntime's float32 predictions bit for bit (single-threaded
// session), on trained forests and on rows built to sit exactly on the
// thresholds, on NaN (both missing directions) and on ±Infinity; any other
// graph is left to onnxruntime.

import { describe, expect, it } from "vitest";
import { predict, trainModel } from "../runtime/learners/index.ts";
import { buildOnnxModel, exportOnnx } from "../runtime/onnx/export.ts";
import { attr, decodeModel, encodeModel } from "../runtime/onnx/proto.ts";
import { JS_TREE_MAX_PAIRS, loadOnnx } from "../runtime/onnx/session.ts";
import { jsTreeRegressor } from "../runtime/onnx/tree-js.ts";
import { mulberry32 as rng } from "../runtime/random.ts";

const d = 6;

/** Training rows: smooth signal, noise, ~10 % NaN in two columns (so both missing directions are learned). */
function data(seed: number, n: number) {
  const r = rng(seed);
  const X = new Float32Array(n * d);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let j = 0; j < d; j++) X[o + j] = (r() * 8 - 4) * (j === 5 ? 1000 : 1);
    y[i] = Math.sin(X[o]) * 30 + X[o + 1] ** 2 - 2 * X[o + 2] + 100 + X[o + 5] / 50 + (r() - 0.5) * 3;
    if (r() < 0.1) X[o + 1] = NaN;
    if (r() < 0.1) X[o + 3] = NaN;
  }
  return { X, y };
}

/** Rows to score: random ones, and rows whose values are the forest's own thresholds (and their float32 neighbours), NaN, ±Infinity, -0. */
function probeRows(bytes: Uint8Array, seed: number, count: number): Float32Array {
  const node = decodeModel(bytes).graph.node[0];
  const thresholds = node.attribute!.find((a) => a.name === "nodes_values")!.floats!;
  const r = rng(seed);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const neighbour = (v: number, step: number) => {
    f32[0] = v;
    u32[0] += step;
    return f32[0];
  };
  const special = [NaN, Infinity, -Infinity, -0, 0];
  const X = new Float32Array(count * d);
  for (let i = 0; i < X.length; i++) {
    const pick = r();
    if (pick < 0.35) X[i] = thresholds[Math.floor(r() * thresholds.length)];
    else if (pick < 0.5) X[i] = neighbour(thresholds[Math.floor(r() * thresholds.length)], r() < 0.5 ? 1 : -1);
    else if (pick < 0.6) X[i] = special[Math.floor(r() * special.length)];
    else X[i] = (r() * 10 - 5) * ((i % d) === 5 ? 1000 : 1);
  }
  return X;
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

describe("a tree ensemble scored in JavaScript", () => {
  it.each([
    { seed: 1, trees: 40, depth: 6, bins: 255 },
    { seed: 2, trees: 120, depth: 4, bins: 32 },
    { seed: 3, trees: 7, depth: 8, bins: 255 },
  ])("equals onnxruntime bit for bit, one row at a time and in small runs (%o)", async ({ seed, trees, depth, bins }) => {
    const { X, y } = data(seed, 4000);
    const model = trainModel("gbdt", "regression", X, 4000, d, y, { trees, depth, min_leaf: 5, bins });
    const bytes = exportOnnx(model, { width: d });
    expect(jsTreeRegressor(bytes)).not.toBeNull();
    const ort = await loadOnnx(bytes, { threads: 1, jsTrees: false });
    const js = await loadOnnx(bytes, { threads: 1 });
    const n = 3000;
    const rows = probeRows(bytes, seed + 100, n);
    const expected = await ort.predict(rows, n); // one onnxruntime run of every row (one thread: each row as alone)
    const single = new Float32Array(n);
    for (let i = 0; i < n; i++) single.set(await js.predict(rows.subarray(i * d, (i + 1) * d), 1), i);
    expect(bits(single)).toEqual(bits(expected));
    const runRows = Math.floor(JS_TREE_MAX_PAIRS / trees);
    const runs = new Float32Array(n);
    for (let at = 0; at < n; at += runRows) {
      const k = Math.min(runRows, n - at);
      runs.set(await js.predict(rows.subarray(at * d, (at + k) * d), k), at);
    }
    expect(bits(runs)).toEqual(bits(expected));
    // and close to the trainer's own float64 sums (a sanity check of the forest read)
    const own = predict(model, rows, n, d);
    for (let i = 0; i < n; i++) if (Number.isFinite(own[i])) expect(Math.abs(expected[i] - own[i])).toBeLessThanOrEqual(1e-4 * Math.abs(own[i]) + 1e-3);
    await ort.release();
    await js.release();
  });

  it("is not used for other graphs: a classifier (Sigmoid after the trees), a linear model, another aggregate", () => {
    const { X, y } = data(9, 1500);
    const yc = Float64Array.from(y, (v) => (v > 100 ? 1 : 0));
    expect(jsTreeRegressor(exportOnnx(trainModel("gbdt", "binary_classification", X, 1500, d, yc, { trees: 5, depth: 3 }), { width: d }))).toBeNull();
    const Xf = X.map((v) => (Number.isNaN(v) ? 0 : v));
    expect(jsTreeRegressor(exportOnnx(trainModel("linear", "regression", Xf, 1500, d, y, { l2: 0.1 }), { width: d }))).toBeNull();
    const model = trainModel("gbdt", "regression", X, 1500, d, y, { trees: 5, depth: 3 });
    const m = buildOnnxModel(model, { width: d });
    const node = m.graph.node[0];
    node.attribute = node.attribute!.map((a) => (a.name === "aggregate_function" ? attr.string("aggregate_function", "AVERAGE") : a));
    expect(jsTreeRegressor(encodeModel(m))).toBeNull();
    const plain = buildOnnxModel(model, { width: d });
    expect(jsTreeRegressor(encodeModel(plain))).not.toBeNull();
    plain.graph.node[0].attribute!.push(attr.floats("nodes_hitrates", [1]));
    expect(jsTreeRegressor(encodeModel(plain))).toBeNull();
    expect(jsTreeRegressor(new Uint8Array([1, 2, 3]))).toBeNull();
  });
});
