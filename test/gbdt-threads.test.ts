// GBDT on several threads: the model must not depend on the thread count.
// Histograms are split by feature, gradients by fixed row blocks, a partition in two halves,
// across worker threads (gbdt-threads.ts);
// these tests train the same data with 1, 2 and 3 threads (and the
// TypeScript reference kernels) and compare the ONNX bytes and the
// predictions bit for bit.

import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { UserError } from "../runtime/errors.ts";
import { predictGbdt } from "../runtime/learners/gbdt.ts";
import { createWorkspace } from "../runtime/learners/gbdt-kernels.ts";
import { defaultThreads, featureBlocks, GRAD_BLOCK, parseThreads } from "../runtime/learners/gbdt-threads.ts";
import { predict, trainModel, type Task } from "../runtime/learners/index.ts";
import { exportOnnx } from "../runtime/onnx/export.ts";
import { softmax } from "../runtime/learners/softmax.ts";
import { mulberry32 } from "../runtime/random.ts";

// 40 000 × 7 = 280 000 cells: above the size where a fit starts workers
const N = 40_000;
const D = 7;

function data(seed: number): { X: Float32Array; yReg: Float64Array; yCls: Float64Array; yMulti: Float64Array } {
  const r = mulberry32(seed);
  const X = new Float32Array(N * D);
  const yReg = new Float64Array(N);
  const yCls = new Float64Array(N);
  // three classes (indices 0..2) from the same score: multiclass trees, one per class per round
  const yMulti = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let f = 0; f < D; f++) {
      const v = r() * 4 - 2;
      // missing values in two features: the missing bin and its learned direction
      X[i * D + f] = (f === 2 || f === 5) && r() < 0.1 ? NaN : v;
      s += (f % 3 === 0 ? v * v : Math.sin(v)) * (f + 1);
    }
    yReg[i] = s + r();
    yCls[i] = r() < 1 / (1 + Math.exp(-(s - 5) / 3)) ? 1 : 0;
    const noisy = s + (r() - 0.5) * 4;
    yMulti[i] = noisy < 2 ? 0 : noisy < 8 ? 1 : 2;
  }
  return { X, yReg, yCls, yMulti };
}

const bytesOf = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe("gbdt on several threads", () => {
  const { X, yReg, yCls, yMulti } = data(16);
  const params = { trees: 12, depth: 6, learning_rate: 0.2, min_leaf: 10, bins: 255, l2: 0.5 };

  // first: before the other tests leave wasm memories waiting for the GC
  it("the threaded gradients (fixed row blocks) equal the TypeScript reference's bit for bit, sums included", async () => {
    const n = 3 * GRAD_BLOCK + 1234; // several blocks, the last one short
    for (const cls of [false, true]) {
      const histOff = new Int32Array(D + 1);
      for (let f = 0; f < D; f++) histOff[f + 1] = histOff[f] + 40;
      const histLen = histOff[D] * (cls ? 3 : 2);
      const ref = createWorkspace({ n, d: D, cls, histLen, histOff, pool: 1, leaves: 64, engine: "js" });
      const three = createWorkspace({ n, d: D, cls, histLen, histOff, pool: 1, leaves: 64, threads: 3 });
      try {
        expect(three.engine).toBe("wasm");
        expect(three.threads).toBe(3);
        await new Promise((r) => setTimeout(r, 200)); // the workers running, so they claim blocks
        const r = mulberry32(3);
        for (let round = 0; round < 4; round++) {
          for (let i = 0; i < n; i++) {
            const z = (r() - 0.5) * (round === 3 ? 2000 : 8); // round 3: sigmoids saturated at 0 and 1
            const y = cls ? (r() < 0.5 ? 1 : 0) : r() * 10;
            ref.raw[i] = three.raw[i] = z;
            ref.y[i] = three.y[i] = y;
            // the last tree's leaves: raw += their values first
            ref.leafOf[i] = three.leafOf[i] = Math.floor(r() * 64);
            three.idx[i] = ref.idx[i] = (i * 7919) % n; // overwritten: the identity
          }
          for (let k = 0; k < 64; k++) ref.leafValue[k] = three.leafValue[k] = round === 0 ? 0 : r() - 0.5;
          const [a, b] = [new Float64Array(2), new Float64Array(2)];
          const raw0 = Float64Array.from(ref.raw);
          ref.gradients(a);
          three.gradients(b);
          expect(bytesOf(b).equals(bytesOf(a))).toBe(true);
          expect(bytesOf(three.raw).equals(bytesOf(ref.raw))).toBe(true);
          for (const i of [0, 1, n - 1]) expect(ref.raw[i]).toBe(raw0[i] + ref.leafValue[ref.leafOf[i]]);
          expect(bytesOf(three.og).equals(bytesOf(ref.og))).toBe(true);
          if (cls) expect(bytesOf(three.oh).equals(bytesOf(ref.oh))).toBe(true);
          else expect(b[1]).toBe(n);
          expect(Array.from(three.idx.subarray(0, 5))).toEqual([0, 1, 2, 3, 4]);
          expect(three.idx[n - 1]).toBe(n - 1);
          expect(Number.isFinite(a[0]) && Number.isFinite(a[1])).toBe(true);
        }
      } finally {
        ref.close();
        three.close();
      }
    }
  });

  it("softmax fits: the threaded class gradients equal the TypeScript reference's bit for bit, and softmax(scores) − [y = c]", async () => {
    const n = 3 * GRAD_BLOCK + 777;
    const K = 4;
    const histOff = new Int32Array(D + 1);
    for (let f = 0; f < D; f++) histOff[f + 1] = histOff[f] + 40;
    const histLen = histOff[D] * 3;
    const opts = { n, d: D, cls: true, histLen, histOff, pool: 1, leaves: 64, classes: K };
    const ref = createWorkspace({ ...opts, engine: "js" });
    const three = createWorkspace({ ...opts, threads: 3 });
    try {
      expect(three.engine).toBe("wasm");
      await new Promise((r) => setTimeout(r, 200));
      const r = mulberry32(5);
      for (let i = 0; i < n; i++) {
        ref.y[i] = three.y[i] = Math.floor(r() * K);
        // class-major: row i's class c at c·n + i; some rows saturated
        for (let c = 0; c < K; c++) ref.scores[c * n + i] = three.scores[c * n + i] = (r() - 0.5) * (i % 5 === 0 ? 2000 : 6);
      }
      const expected = Float64Array.from(ref.scores); // the scores as the gradient passes should leave them
      const p = new Float64Array(K);
      const row = new Float64Array(K);
      const big2 = new Float64Array(64);
      for (let tree = 0; tree < 3 * K; tree++) {
        const c = tree % K;
        const last = (c + K - 1) % K;
        // tree 2: leaf values of ±800 for half the leaves, so exp(value) overflows or underflows
        // and the next round must take the exact softmax for those rows; tree 2 + K takes the
        // same rows back by 700 (a probability that underflowed to 0 must come back to ~e^-100)
        if (tree !== 2 + K) for (let i = 0; i < n; i++) ref.leafOf[i] = three.leafOf[i] = Math.floor(r() * 64);
        for (let k = 0; k < 64; k++) {
          const big = k % 2 === 0 && (tree === 2 || tree === 2 + K);
          const v = tree === 0 ? 0 : big && tree === 2 ? (r() < 0.5 ? -800 : 800) : big ? -Math.sign(big2[k]) * 700 : r() - 0.5;
          ref.leafValue[k] = three.leafValue[k] = v;
        }
        if (tree === 2) big2.set(ref.leafValue);
        const [a, b] = [new Float64Array(2), new Float64Array(2)];
        for (let i = 0; i < n; i++) expected[last * n + i] += ref.leafValue[ref.leafOf[i]];
        // class c's probabilities: those of the round's start scores (before class 0's tree of this round added anything)
        const roundStart = c === 0 ? Float64Array.from(expected) : null;
        ref.gradients(a, c);
        three.gradients(b, c);
        expect(bytesOf(b).equals(bytesOf(a))).toBe(true);
        expect(bytesOf(three.scores).equals(bytesOf(ref.scores))).toBe(true);
        expect(bytesOf(ref.scores).equals(bytesOf(expected))).toBe(true);
        expect(bytesOf(three.og).equals(bytesOf(ref.og))).toBe(true);
        expect(bytesOf(three.oh).equals(bytesOf(ref.oh))).toBe(true);
        if (roundStart) {
          // the first round computes softmax(scores) itself; later ones scale the probabilities by
          // exp(leaf value) and normalise: the same up to rounding
          let worst = 0;
          let relative = 0;
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < K; j++) row[j] = roundStart[j * n + i];
            softmax(row, 0, p, 0, K);
            const g = p[0] - (ref.y[i] === 0 ? 1 : 0);
            worst = Math.max(worst, Math.abs(ref.og[i] - g), Math.abs(ref.oh[i] - Math.max(p[0] * (1 - p[0]), 1e-16)));
            // below 1e-200 a probability is stored as 0 (gbdt-threads.ts, MIN_SCALED_PROB)
            for (let j = 0; j < K; j++) relative = Math.max(relative, p[j] < 1e-200 ? ref.probs[j * n + i] : Math.abs(ref.probs[j * n + i] - p[j]) / p[j]);
          }
          expect(worst).toBeLessThan(1e-14);
          expect(relative).toBeLessThan(1e-12);
        }
        expect(Number.isFinite(a[0]) && a[1] > 0).toBe(true);
        expect(three.idx[n - 1]).toBe(n - 1);
      }
    } finally {
      ref.close();
      three.close();
    }
  });

  for (const [task, y] of [["regression", yReg], ["binary_classification", yCls], ["multiclass_classification", yMulti]] as [Task, Float64Array][]) {
    it(`${task}: 1, 2 and 3 threads give the same ONNX bytes and the same predictions bit for bit`, () => {
      const fits = [1, 2, 3].map((threads) => trainModel("gbdt", task, X, N, D, y, params, { threads }));
      const onnx = fits.map((m) => Buffer.from(exportOnnx(m, { width: D })));
      const preds = fits.map((m) => bytesOf(predict(m, X, N, D)));
      expect(fits[0].kind === "gbdt" && fits[0].trees[0].feature.length).toBeGreaterThan(40);
      for (let k = 1; k < fits.length; k++) {
        expect(onnx[k].equals(onnx[0])).toBe(true);
        expect(preds[k].equals(preds[0])).toBe(true);
      }
    });
  }

  it("predictions on 1, 2 and 3 threads are bit-identical (a large input: rows in chunks any thread may take)", () => {
    const m = trainModel("gbdt", "binary_classification", X, N, D, yCls, params, { threads: 1 });
    if (m.kind !== "gbdt") throw new Error("kind");
    // 700 k rows × 12 trees: above the size where prediction starts workers; the last chunk short
    const n = 700_003;
    const Xb = new Float32Array(n * D);
    for (let i = 0; i < n; i++) Xb.set(X.subarray((i % N) * D, (i % N) * D + D), i * D);
    for (let i = 0; i < n; i += 997) Xb[i * D + 3] = NaN;
    const fit = { task: m.task, baseScore: m.baseScore, trees: m.trees };
    const [one, two, three] = [1, 2, 3].map((threads) => bytesOf(predictGbdt(fit, Xb, n, D, threads)));
    expect(two.equals(one)).toBe(true);
    expect(three.equals(one)).toBe(true);
    // a small prediction stays on the caller and never reads the thread setting
    const saved = process.env.FTI_THREADS;
    process.env.FTI_THREADS = "many";
    try {
      expect(predictGbdt(fit, Xb, 1000, D)[0]).toBe(new Float64Array(one.buffer, one.byteOffset, n)[0]);
      expect(() => predictGbdt(fit, Xb, n, D)).toThrow(/FTI_THREADS/);
    } finally {
      if (saved === undefined) delete process.env.FTI_THREADS;
      else process.env.FTI_THREADS = saved;
    }
    // and the same as predicting a row alone
    for (const i of [0, 1, 8191, 8192, 500_000, n - 1]) {
      expect(predictGbdt(fit, Xb.subarray(i * D, i * D + D), 1, D, 1)[0]).toBe(new Float64Array(one.buffer, one.byteOffset, n)[i]);
    }
  });

  it("the threaded histograms equal the single-threaded ones on any row segment", () => {
    for (const cls of [false, true]) {
      const histOff = new Int32Array(D + 1);
      for (let f = 0; f < D; f++) histOff[f + 1] = histOff[f] + 40;
      const S = cls ? 3 : 2;
      const histLen = histOff[D] * S;
      const one = createWorkspace({ n: N, d: D, cls, histLen, histOff, pool: 1, leaves: 64, threads: 1 });
      const two = createWorkspace({ n: N, d: D, cls, histLen, histOff, pool: 1, leaves: 64, threads: 2 });
      try {
        expect(one.engine).toBe("wasm");
        expect(two.threads).toBe(2);
        const r = mulberry32(5);
        for (const ws of [one, two]) {
          const r2 = mulberry32(9);
          for (let k = 0; k < N * D; k++) ws.codes[k] = Math.floor(r2() * 39);
          for (const b of ws.bufs) {
            for (let i = 0; i < N; i++) {
              b.idx[i] = (i * 7919) % N;
              b.og[i] = r2() - 0.5;
              if (cls) b.oh[i] = r2();
            }
          }
        }
        for (let round = 0; round < 6; round++) {
          const start = Math.floor(r() * N * 0.3);
          const end = start + Math.floor(r() * N * 0.7);
          one.hist(0, start, end, round & 1);
          two.hist(0, start, end, round & 1);
          expect(bytesOf(two.hists[0]).equals(bytesOf(one.hists[0]))).toBe(true);
        }
      } finally {
        one.close();
        two.close();
      }
    }
  });

  it("the partition and the leaf marking in two halves (on two threads, WebAssembly) equal a stable partition, both buffers, any segment", async () => {
    for (const cls of [false, true]) {
      const histOff = Int32Array.from({ length: D + 1 }, (_, f) => f * 40);
      const histLen = histOff[D] * (cls ? 3 : 2);
      const ref = createWorkspace({ n: N, d: D, cls, histLen, histOff, pool: 1, leaves: 64, engine: "js" });
      const two = createWorkspace({ n: N, d: D, cls, histLen, histOff, pool: 1, leaves: 64, threads: 2 });
      try {
        expect(two.engine).toBe("wasm");
        await new Promise((res) => setTimeout(res, 200)); // the worker running, so it takes halves
        const r = mulberry32(cls ? 11 : 12);
        for (let k = 0; k < N * D; k++) ref.codes[k] = two.codes[k] = Math.floor(r() * 40);
        for (let round = 0; round < 8; round++) {
          const buf = round & 1;
          // positions of the source buffer: rows in a shuffled order, values that say where they came from
          for (const ws of [ref, two]) {
            const b = ws.bufs[buf];
            for (let j = 0; j < N; j++) {
              b.idx[j] = (j * 7919 + round) % N;
              b.og[j] = j + 0.25;
              if (cls) b.oh[j] = -j;
            }
          }
          // round 6: one row; round 7: every row left
          const start = round === 6 ? 77 : Math.floor(r() * N * 0.3);
          const end = round === 6 ? 78 : start + 1 + Math.floor(r() * N * 0.7);
          const f = Math.floor(r() * D);
          const [t, miss, ml] = round === 7 ? [39, 39, true] : [Math.floor(r() * 39), 39, r() < 0.5];
          const src = ref.bufs[buf];
          // the expected stable partition, computed here
          const goesLeft = (j: number) => {
            const c = ref.codes[f * N + src.idx[j]];
            return c <= t || (c === miss && ml);
          };
          const order: number[] = [];
          for (let j = start; j < end; j++) if (goesLeft(j)) order.push(j);
          const cl = order.length;
          for (let j = start; j < end; j++) if (!goesLeft(j)) order.push(j);
          const expIdx = order.map((j) => src.idx[j]);
          const mid = start + cl;
          expect(ref.partition(f, miss, t, ml, start, end, mid, buf)).toBe(cl);
          expect(two.partition(f, miss, t, ml, start, end, mid, buf)).toBe(cl);
          for (const ws of [ref, two]) {
            const dst = ws.bufs[1 - buf];
            expect(Array.from(dst.idx.subarray(start, end))).toEqual(expIdx);
            expect(Array.from(dst.og.subarray(start, end))).toEqual(order.map((j) => j + 0.25));
            if (cls) expect(Array.from(dst.oh.subarray(start, end))).toEqual(order.map((j) => -j));
          }
          // the same split as leaf marks (both children leaves): leaf 7 left, 8 right, other rows untouched
          const leaf = 7;
          for (const ws of [ref, two]) {
            ws.leafOf.fill(63);
            expect(ws.markSplit(f, miss, t, ml, start, end, leaf, buf)).toBe(cl);
            let wrong = 0;
            for (let j = start; j < end; j++) wrong += +(ws.leafOf[src.idx[j]] !== (goesLeft(j) ? leaf : leaf + 1));
            expect(wrong).toBe(0);
            let untouched = 0;
            for (let i = 0; i < N; i++) untouched += +(ws.leafOf[i] === 63);
            expect(untouched).toBe(N - (end - start));
          }
        }
      } finally {
        ref.close();
        two.close();
      }
    }
  });

  it("feature blocks cover every feature once, in order", () => {
    expect(featureBlocks(7, 2)).toEqual([0, 3, 3, 7]);
    expect(featureBlocks(7, 3)).toEqual([0, 2, 2, 4, 4, 7]);
    expect(featureBlocks(2, 8)).toEqual([0, 1, 1, 2]);
    expect(featureBlocks(1, 1)).toEqual([0, 1]);
    expect(featureBlocks(0, 2)).toEqual([]);
  });

  it("the thread count: --threads / $FTI_THREADS are checked, the default is the cores", () => {
    expect(parseThreads("3", "--threads")).toBe(3);
    for (const bad of ["0", "-1", "1.5", "two", "", "100000"]) {
      expect(() => parseThreads(bad, "--threads")).toThrow(UserError);
    }
    expect(() => parseThreads("x", "--threads")).toThrow(/--threads "x": expected a whole number from 1 to 256/);
    expect(defaultThreads({})).toBe(availableParallelism());
    expect(defaultThreads({ FTI_THREADS: "5" })).toBe(5);
    expect(() => defaultThreads({ FTI_THREADS: "many" })).toThrow(/\$FTI_THREADS/);
    expect(() => trainModel("gbdt", "regression", new Float32Array(4), 4, 1, new Float64Array(4), {}, { threads: 0 })).toThrow(/threads/);
  });
});
