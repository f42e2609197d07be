// Multi-class classification in the learners: multinomial logistic and
// softmax gbdt fit K classes, their exported ONNX graphs (Softmax over K
// outputs) reproduce the trainer's probabilities, and the multiclass metrics.

import { describe, expect, it } from "vitest";
import { predict, trainModel } from "../runtime/learners/index.ts";
import { baselinePredictions, computeMetrics, macroF1, multiclassAccuracy, multiclassLogloss } from "../runtime/learners/metrics.ts";
import { fitMultinomial, predictMultinomial } from "../runtime/learners/multinomial.ts";
import { exportOnnx } from "../runtime/onnx/export.ts";
import { loadOnnx } from "../runtime/onnx/session.ts";
import { mulberry32 } from "../runtime/random.ts";
import type { ModelPlan } from "../runtime/api.ts";
import type { TrainingFrame } from "../runtime/retrieval/pit.ts";
import { classLabels } from "../runtime/training/classes.ts";

const K = 3;
const D = 4;

/** Three classes around three centres in the first two inputs; the other inputs are noise. */
function blobs(n: number, seed: number): { X: Float32Array; y: Float64Array } {
  const r = mulberry32(seed);
  const centres = [[0, 0], [3, 0], [0, 3]];
  const X = new Float32Array(n * D);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * K);
    y[i] = c;
    for (let j = 0; j < D; j++) X[i * D + j] = (j < 2 ? centres[c][j] : 0) + (r() - 0.5) * 3;
  }
  return { X, y };
}

describe("multiclass learners", () => {
  const train = blobs(3000, 1);
  const test = blobs(1000, 2);

  for (const kind of ["logistic", "gbdt"] as const) {
    it(`${kind}: K probabilities per row summing to 1, well above the class-share baseline, and ONNX gives the same`, async () => {
      const params = kind === "gbdt" ? { trees: 30, depth: 3, min_leaf: 10 } : {};
      const model = trainModel(kind, "multiclass_classification", train.X, 3000, D, train.y, params, { threads: 1 });
      const p = predict(model, test.X, 1000, D);
      expect(p.length).toBe(1000 * K);
      for (let i = 0; i < 1000; i++) expect(p[i * K] + p[i * K + 1] + p[i * K + 2]).toBeCloseTo(1, 12);
      const metrics = computeMetrics("multiclass_classification", test.y, p);
      const base = computeMetrics("multiclass_classification", test.y, baselinePredictions("multiclass_classification", train.y, 1000));
      expect(Object.keys(metrics)).toEqual(["logloss", "accuracy", "macro_f1"]);
      expect(metrics.accuracy).toBeGreaterThan(0.8);
      expect(base.accuracy).toBeLessThan(0.4);
      expect(metrics.logloss).toBeLessThan(base.logloss / 2);
      const session = await loadOnnx(exportOnnx(model, { width: D }));
      expect(session.outputs).toBe(K);
      const q = await session.predict(test.X, 1000);
      expect(q.length).toBe(1000 * K);
      let diff = 0;
      for (let i = 0; i < q.length; i++) diff = Math.max(diff, Math.abs(q[i] - p[i]));
      expect(diff).toBeLessThan(1e-5);
      await session.release();
    });
  }

  it("logistic: the same fit twice is the same model; the weights are centred over the classes", () => {
    const a = trainModel("logistic", "multiclass_classification", train.X, 3000, D, train.y, { l2: 1 });
    const b = trainModel("logistic", "multiclass_classification", train.X, 3000, D, train.y, { l2: 1 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    if (a.kind !== "logistic" || a.task !== "multiclass_classification") throw new Error("not multinomial");
    expect(a.converged).toBe(true);
    for (let j = 0; j < D; j++) expect(Math.abs(a.weights[j] + a.weights[D + j] + a.weights[2 * D + j])).toBeLessThan(1e-6);
    expect(Math.abs(a.intercepts[0] + a.intercepts[1] + a.intercepts[2])).toBeLessThan(1e-6);
  });

  it("logistic: L-BFGS (for many classes × inputs) reaches Newton's optimum", () => {
    for (const l2 of [1, 0.01]) {
      const params = { l2, iterations: 100 };
      const newton = fitMultinomial(train.X, 3000, D, train.y, K, params, "newton");
      const lbfgs = fitMultinomial(train.X, 3000, D, train.y, K, params, "lbfgs");
      expect(newton.converged && lbfgs.converged).toBe(true);
      const a = predictMultinomial(newton, test.X, 1000, D);
      const b = predictMultinomial(lbfgs, test.X, 1000, D);
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
      expect(diff).toBeLessThan(1e-6);
    }
  });

  it("metrics: accuracy and macro F1 by the most probable class, logloss of the true class; an unseen class (-1) is a miss", () => {
    const y = [0, 1, 2, -1];
    const p = [0.7, 0.2, 0.1, 0.1, 0.3, 0.6, 0.2, 0.2, 0.6, 0.5, 0.25, 0.25];
    expect(multiclassAccuracy(y, p)).toBe(0.5);
    // class 0: TP 1, FP 1 → 2/3; class 1: FN 1 → 0; class 2: TP 1, FP 1 → 2/3
    expect(macroF1(y, p)).toBeCloseTo((2 / 3 + 0 + 2 / 3) / 3, 12);
    expect(multiclassLogloss(y, p)).toBeCloseTo(-(Math.log(0.7) + Math.log(0.3) + Math.log(0.6) + Math.log(1e-15)) / 4, 10);
  });

  it("classes: the train split's label values sorted; more than 100 (an id as the label) is an error naming a few", () => {
    const plan = { name: "m" } as ModelPlan;
    const rows = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
    // an int label: classes sorted as numbers; a test label no train row has is -1
    const ints = { label: Float64Array.from([10, 2, 10, 2, 3]) } as TrainingFrame;
    const c = classLabels(plan, ints, Int32Array.from([0, 1, 2, 3]), Int32Array.from([4, 0]));
    expect([c.classes, Array.from(c.yTrain), Array.from(c.yTest), c.unseen]).toEqual([[2, 10], [1, 0, 1, 0], [-1, 1], { "3": 1 }]);
    const ids = { label: Float64Array.from(rows(150)), labelClasses: Array.from(rows(150), (i) => `id${String(i).padStart(3, "0")}`) } as TrainingFrame;
    expect(() => classLabels(plan, ids, rows(150), new Int32Array(0))).toThrow(/150 classes \("id000", "id001", "id002", "id003", "id004", …\); multiclass classification takes at most 100/);
    expect(() => classLabels(plan, ids, Int32Array.from([7, 7]), rows(3))).toThrow(/one class \("id007"\) in 2 rows/);
  });
});
