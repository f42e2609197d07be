// The ONNX session of a batch run in a worker thread, so that scoring one
// batch overlaps reading, computing the ODTs of and encoding the next one on
// the main thread (onnxruntime-node runs a session synchronously on the
// thread that calls it). Same model bytes, same session options as the
// Predictor's own session (PREDICTOR_ONNX_OPTIONS: one thread), so the same
// predictions, bit for bit (tested against `predictRows`).
//
// The worker is an `eval` worker (no TypeScript loader needed in it): it
// requires onnxruntime-node by the path this module resolves, creates the
// session, and answers each matrix with the run's output tensor; the output
// is checked and converted here, by the same `predictionsOf` as in-thread.

import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { inspectOnnx, ortSessionOptions, outputsPerRow, predictionsOf, type OnnxSessionOptions } from "../onnx/session.ts";

export interface OnnxWorker {
  /** One prediction per row of the row-major X [n × width]; X is moved to the worker (detached here). */
  predict(X: Float32Array, n: number): Promise<Float32Array>;
  release(): Promise<void>;
}

const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const ort = require(workerData.ortPath);
ort.InferenceSession.create(workerData.bytes, workerData.options).then(
  (session) => {
    parentPort.postMessage({ ready: true });
    parentPort.on("message", async (m) => {
      try {
        const out = await session.run({ [workerData.input]: new ort.Tensor("float32", m.X, [m.n, m.width]) }, [workerData.output]);
        const t = out[workerData.output];
        parentPort.postMessage({ id: m.id, out: t ? { data: t.data, dims: t.dims } : undefined });
      } catch (e) {
        parentPort.postMessage({ id: m.id, error: String((e && e.message) || e) });
      }
    });
  },
  (e) => parentPort.postMessage({ ready: false, error: String((e && e.message) || e) }),
);`;

interface Reply {
  id: number;
  out?: { data: unknown; dims: number[] };
  error?: string;
}

/**
 * Starts a worker with a session of `bytes`; null when the model does not
 * have the one float input [N, width] a batch feeds, or the worker cannot
 * start (the caller then scores on its own thread).
 */
export async function startOnnxWorker(bytes: Uint8Array, opts: OnnxSessionOptions): Promise<OnnxWorker | null> {
  const info = inspectOnnx(bytes);
  const width = info.width;
  if (width === null || info.outputs.length < 1) return null;
  const output = info.outputs[0].name;
  const outputs = outputsPerRow(info);
  let worker: Worker;
  try {
    const ortPath = createRequire(import.meta.url).resolve("onnxruntime-node");
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [], // plain JS: none of the parent's loaders (tsx) to start
      workerData: { ortPath, bytes, options: ortSessionOptions(opts), input: info.inputs[0].name, output },
    });
  } catch {
    return null;
  }
  const pending = new Map<number, { resolve: (y: Float32Array) => void; reject: (e: Error) => void; n: number }>();
  let failure: Error | null = null;
  const failAll = (e: Error) => {
    failure ??= e;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  const ready = await new Promise<boolean>((resolve) => {
    worker.once("message", (m: { ready: boolean }) => resolve(m.ready));
    worker.once("error", () => resolve(false));
  });
  if (!ready) {
    await worker.terminate();
    return null;
  }
  worker.on("message", (m: Reply) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    try {
      if (m.error !== undefined) throw new Error(`onnxruntime failed to run the model: ${m.error}`);
      p.resolve(predictionsOf(m.out, p.n, output, outputs));
    } catch (e) {
      p.reject(e as Error);
    }
  });
  worker.on("error", (e) => failAll(new Error(`the ONNX worker failed: ${e.message}`)));
  worker.on("exit", (code) => failAll(new Error(`the ONNX worker exited (code ${code})`)));
  let nextId = 0;
  return {
    predict(X, n) {
      if (failure) return Promise.reject(failure);
      if (!Number.isInteger(n) || n < 0 || X.length !== n * width) {
        return Promise.reject(new Error(`predict: X has ${X.length} values, expected n × width = ${n} × ${width}`));
      }
      if (n === 0) return Promise.resolve(new Float32Array(0));
      const id = nextId++;
      return new Promise<Float32Array>((resolve, reject) => {
        pending.set(id, { resolve, reject, n });
        worker.postMessage({ id, X, n, width }, [X.buffer as ArrayBuffer]);
      });
    },
    async release() {
      worker.removeAllListeners("exit");
      await worker.terminate();
    },
  };
}
