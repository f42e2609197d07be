// The ONNX session of batch scoring in a worker thread (runtime/inference/
// onnx-worker.ts) gives exactly the predictions of the same session on the
// calling thread, for several matrices in flight at once, NaN inputs
// included; a matrix of the wrong size is refused. (Batch scoring through
// the worker equals one-row predictRows: test/train-predict.test.ts.)

import { describe, expect, it } from "vitest";
import { startOnnxWorker } from "../runtime/inference/onnx-worker.ts";
import { PREDICTOR_ONNX_OPTIONS } from "../runtime/inference/predictor.ts";
import { exportOnnx } from "../runtime/onnx/export.ts";
import { loadOnnx } from "../runtime/onnx/session.ts";
import { trainModel } from "../runtime/learners/index.ts";
import { mulberry32 as rng } from "../runtime/random.ts";

const d = 4;

function matrix(seed: number, n: number): Float32Array {
  const r = rng(seed);
  const X = new Float32Array(n * d);
  for (let i = 0; i < X.length; i++) X[i] = r() < 0.1 ? NaN : r() * 8 - 4;
  return X;
}

function model(): Uint8Array {
  const n = 2000;
  const X = matrix(1, n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = (X[i * d] || 0) * 2 - (X[i * d + 1] || 0) ** 2 + (X[i * d + 2] > 0 ? 3 : 0);
  return exportOnnx(trainModel("gbdt", "regression", X, n, d, y, { trees: 30, depth: 5 }), { width: d });
}

describe("the batch scoring ONNX worker", () => {
  it("predicts exactly what the same session does on this thread, with several matrices in flight", async () => {
    const bytes = model();
    const here = await loadOnnx(bytes, PREDICTOR_ONNX_OPTIONS);
    const worker = await startOnnxWorker(bytes, PREDICTOR_ONNX_OPTIONS);
    expect(worker).not.toBeNull();
    try {
      const sizes = [5000, 1, 777, 4096];
      const Xs = sizes.map((n, k) => matrix(10 + k, n));
      const expected = await Promise.all(Xs.map((X, k) => here.predict(X.slice(), sizes[k])));
      const got = await Promise.all(Xs.map((X, k) => worker!.predict(X, sizes[k])));
      for (let k = 0; k < sizes.length; k++) {
        expect(got[k].length).toBe(sizes[k]);
        expect(Array.from(got[k])).toEqual(Array.from(expected[k]));
      }
      // The matrices were moved to the worker, not copied.
      expect(Xs.every((X) => X.length === 0)).toBe(true);
      await expect(worker!.predict(new Float32Array(7), 2)).rejects.toThrow(/expected n × width = 2 × 4/);
      expect(Array.from(await worker!.predict(new Float32Array(0), 0))).toEqual([]);
    } finally {
      await worker?.release();
      await here.release();
    }
  });
});
