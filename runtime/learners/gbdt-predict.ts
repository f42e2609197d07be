// GBDT prediction over a flattened forest, on one thread or several.
//
// A row's raw score is the base score plus each tree's leaf value, added in
// tree order; rows are independent. So the rows are cut into fixed chunks
// that the calling thread and worker threads claim from a shared counter:
// whoever computes a row, it gets the same additions in the same order, and
// the predictions are bit-identical for every thread count. The chunk code
// is JavaScript source compiled both here and in the workers (eval workers,
// as in gbdt-threads.ts), so there is one code. Workers are started per call
// and only for large predictions (starting one costs tens of milliseconds);
// a worker that starts late just finds no chunk left.

import { Worker } from "node:worker_threads";
import { defaultThreads } from "./gbdt-threads.ts";

/**
 * Flattened trees: all nodes of all trees in typed arrays with global ids;
 * the right child of node k is left[k] + 1. Leaves are absorbing (left[k] =
 * k, threshold +Infinity, NaN goes "left") so a row reaches its leaf after
 * exactly depths[t] branch-free steps.
 */
export interface FlatForest {
  feat: Int32Array;
  thr: Float64Array;
  mleft: Int32Array;
  left: Int32Array;
  value: Float64Array;
  roots: Int32Array;
  depths: Int32Array;
}

/** Rows per claimed chunk (a multiple of the inner block). */
const CHUNK = 8_192;
/** Below this many (row, tree) pairs a prediction stays on the calling thread. */
const MIN_THREADED_PAIRS = 8_000_000;
/** Larger inputs are not copied into shared memory for the workers. */
const MAX_SHARED_BYTES = 512 * 1024 * 1024;

/**
 * chunk(F, base, X, d, out, i0, i1): out[i] for rows [i0, i1), by blocks of
 * 256 rows (each block walks every tree), four rows at a time: four
 * independent chains of dependent loads.
 */
const CHUNK_SOURCE = `
  const { feat, thr, mleft, left, value, roots, depths } = F;
  const nt = roots.length;
  for (let b0 = i0; b0 < i1; b0 += 256) {
    const b1 = Math.min(i1, b0 + 256);
    for (let i = b0; i < b1; i++) out[i] = base;
    for (let t = 0; t < nt; t++) {
      const root = roots[t];
      const depth = depths[t];
      let i = b0;
      for (; i + 4 <= b1; i += 4) {
        const r0 = i * d;
        const r1 = r0 + d;
        const r2 = r1 + d;
        const r3 = r2 + d;
        let k0 = root;
        let k1 = root;
        let k2 = root;
        let k3 = root;
        for (let s = 0; s < depth; s++) {
          // left when v <= thr, or v is NaN and missing values go left; right = left + 1
          const v0 = X[r0 + feat[k0]];
          const v1 = X[r1 + feat[k1]];
          const v2 = X[r2 + feat[k2]];
          const v3 = X[r3 + feat[k3]];
          k0 = left[k0] + ((+(v0 <= thr[k0]) | (+(v0 !== v0) & mleft[k0])) ^ 1);
          k1 = left[k1] + ((+(v1 <= thr[k1]) | (+(v1 !== v1) & mleft[k1])) ^ 1);
          k2 = left[k2] + ((+(v2 <= thr[k2]) | (+(v2 !== v2) & mleft[k2])) ^ 1);
          k3 = left[k3] + ((+(v3 <= thr[k3]) | (+(v3 !== v3) & mleft[k3])) ^ 1);
        }
        out[i] += value[k0];
        out[i + 1] += value[k1];
        out[i + 2] += value[k2];
        out[i + 3] += value[k3];
      }
      for (; i < b1; i++) {
        const r0 = i * d;
        let k = root;
        for (let s = 0; s < depth; s++) {
          const v = X[r0 + feat[k]];
          k = left[k] + ((+(v <= thr[k]) | (+(v !== v) & mleft[k])) ^ 1);
        }
        out[i] += value[k];
      }
    }
  }
`;

type Chunk = (F: FlatForest, base: number, X: Float32Array, d: number, out: Float64Array, i0: number, i1: number) => void;

const chunk = new Function("F", "base", "X", "d", "out", "i0", "i1", CHUNK_SOURCE) as Chunk;

// control block: the next chunk to claim, chunks done
const NEXT = 0;
const DONE = 1;

const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { F, base, X, d, out, n, ctrl, source } = workerData;
const chunk = new Function("F", "base", "X", "d", "out", "i0", "i1", source);
const chunks = Math.ceil(n / ${CHUNK});
for (let c = Atomics.add(ctrl, ${NEXT}, 1); c < chunks; c = Atomics.add(ctrl, ${NEXT}, 1)) {
  chunk(F, base, X, d, out, c * ${CHUNK}, Math.min(n, (c + 1) * ${CHUNK}));
  Atomics.add(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
}
`;

/** A typed array's copy in shared memory (or itself when it already is shared). */
function shared<T extends Float32Array | Float64Array | Int32Array>(a: T, Ctor: new (b: SharedArrayBuffer, o: number, l: number) => T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const out = new Ctor(new SharedArrayBuffer(a.byteLength), 0, a.length);
  out.set(a);
  return out;
}

/**
 * Raw scores of rows [0, n) of row-major X [n × d] into `out`, on up to
 * `threads` threads (default, read only for a large prediction:
 * defaultThreads()); bit-identical for any number.
 */
export function predictForest(F: FlatForest, base: number, X: Float32Array, n: number, d: number, out: Float64Array, threads?: number): void {
  const chunks = Math.ceil(n / CHUNK);
  const large = n * F.roots.length >= MIN_THREADED_PAIRS && n * d * 4 <= MAX_SHARED_BYTES;
  const helpers = large ? Math.min(threads ?? defaultThreads(), chunks) - 1 : 0;
  if (helpers < 1) {
    chunk(F, base, X, d, out, 0, n);
    return;
  }
  const Fs: FlatForest = {
    feat: shared(F.feat, Int32Array),
    thr: shared(F.thr, Float64Array),
    mleft: shared(F.mleft, Int32Array),
    left: shared(F.left, Int32Array),
    value: shared(F.value, Float64Array),
    roots: shared(F.roots, Int32Array),
    depths: shared(F.depths, Int32Array),
  };
  const Xs = shared(X.subarray(0, n * d), Float32Array);
  const outS = new Float64Array(new SharedArrayBuffer(8 * n));
  const ctrl = new Int32Array(new SharedArrayBuffer(8));
  for (let w = 0; w < helpers; w++) {
    try {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { F: Fs, base, X: Xs, d, out: outS, n, ctrl, source: CHUNK_SOURCE } });
      worker.unref();
      // a worker that fails only means less help: the caller claims its chunks
      worker.on("error", () => {});
    } catch {
      break;
    }
  }
  for (let c = Atomics.add(ctrl, NEXT, 1); c < chunks; c = Atomics.add(ctrl, NEXT, 1)) {
    chunk(Fs, base, Xs, d, outS, c * CHUNK, Math.min(n, (c + 1) * CHUNK));
    Atomics.add(ctrl, DONE, 1);
  }
  for (let v = Atomics.load(ctrl, DONE); v < chunks; v = Atomics.load(ctrl, DONE)) Atomics.wait(ctrl, DONE, v);
  out.set(outS);
}
