// Micro-batching of concurrent requests into one ONNX run.
//
// One onnxruntime run costs tens of microseconds whatever its size (the
// call, the tensors, a setImmediate hop inside onnxruntime-node), and a row
// of a small model a few. Under load many requests wait for the model at
// the same time, so a model version gets one run in flight at a time: a
// request that finds the model idle runs at once (no added latency when the
// server is quiet); requests that arrive while a run is in flight are queued
// and go together in the next run.
//
// A failed batch is retried request by request, so one bad request fails
// alone and the others still get their predictions.
//
// A request larger than one run (MAX_BATCH_ROWS) is scored a run at a time,
// each slice queued only when the previous one is scored: requests that
// arrive meanwhile go between its slices, so a 10 000-instance request
// delays a small one by one run, not by all of its own.

import type { Scalar } from "../api.ts";
import type { Predictor } from "../inference/predictor.ts";

type Rows = ReadonlyArray<Record<string, Scalar>>;

interface Waiting {
  rows: Rows;
  done: (out: Float32Array) => void;
  fail: (e: unknown) => void;
}

/** Most rows of one run (a larger request is scored in slices of this size, taking turns with the others). */
export const MAX_BATCH_ROWS = 1024;

/** ONNX runs made and rows scored; rows / runs is the mean batch size. */
export interface BatchStats {
  runs: number;
  rows: number;
}

export class PredictBatcher {
  private queue: Waiting[] = [];
  private running = false;

  /** `stats` is counted into (shared by the batchers of a model's successive versions). */
  constructor(
    private readonly predictor: Pick<Predictor, "predictRows"> & { outputs?: number },
    readonly stats: BatchStats = { runs: 0, rows: 0 },
  ) {}

  /** Values per row of a prediction (a multiclass model's K probabilities). */
  private get k(): number {
    return this.predictor.outputs ?? 1;
  }

  /** One prediction per row of `rows`, in order (`outputs` values each, row-major). */
  predict(rows: Rows): Promise<Float32Array> {
    return rows.length <= MAX_BATCH_ROWS ? this.enqueue(rows) : this.predictInTurns(rows);
  }

  /** A request larger than one run: one slice queued at a time, behind whatever arrived meanwhile. */
  private async predictInTurns(rows: Rows): Promise<Float32Array> {
    const out = new Float32Array(rows.length * this.k);
    for (let at = 0; at < rows.length; at += MAX_BATCH_ROWS) out.set(await this.enqueue(rows.slice(at, at + MAX_BATCH_ROWS)), at * this.k);
    return out;
  }

  private enqueue(rows: Rows): Promise<Float32Array> {
    return new Promise((done, fail) => {
      this.queue.push({ rows, done, fail });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        const batch = this.take();
        await this.run(batch);
      }
    } finally {
      this.running = false;
    }
  }

  /** The oldest requests, up to MAX_BATCH_ROWS rows (at least one request). */
  private take(): Waiting[] {
    let n = 0;
    let k = 0;
    while (k < this.queue.length && (k === 0 || n + this.queue[k].rows.length <= MAX_BATCH_ROWS)) n += this.queue[k++].rows.length;
    return this.queue.splice(0, k);
  }

  private async run(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) {
      await this.runOne(batch[0]);
      return;
    }
    const all: Array<Record<string, Scalar>> = [];
    for (const w of batch) for (const r of w.rows) all.push(r);
    let out: Float32Array;
    try {
      out = await this.score(all);
    } catch {
      // Find the culprit: each request on its own.
      for (const w of batch) await this.runOne(w);
      return;
    }
    let at = 0;
    const k = this.k;
    for (const w of batch) {
      w.done(out.subarray(at * k, (at + w.rows.length) * k));
      at += w.rows.length;
    }
  }

  private async runOne(w: Waiting): Promise<void> {
    try {
      w.done(await this.score(w.rows));
    } catch (e) {
      w.fail(e);
    }
  }

  private async score(rows: Rows): Promise<Float32Array> {
    this.stats.runs++;
    this.stats.rows += rows.length;
    const out = await this.predictor.predictRows(rows);
    if (out.length !== rows.length * this.k) throw new Error(`the model returned ${out.length} predictions for ${rows.length} rows`);
    return out;
  }
}
