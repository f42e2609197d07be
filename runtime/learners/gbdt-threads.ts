// The GBDT histogram kernels on several threads (worker_threads sharing the
// WebAssembly memory of gbdt-kernels.ts).
//
// Why the model cannot depend on the thread count: the work is split by
// FEATURE, never by row. A feature's histogram is accumulated by one thread,
// over the node's rows in position order, with the same kernel arithmetic
// whoever runs it; the features' histograms are disjoint ranges of one
// buffer, so there is nothing to reduce. 1, 2 or 16 threads give the same
// histograms bit for bit, hence the same trees.
//
// The gradients (and hessians: a sigmoid per row for log loss) are split by
// ROW into blocks of GRAD_BLOCK rows, a fixed size that does not depend on
// the thread count: each block's sums are added in row order by whoever runs
// it, and the caller adds the blocks' sums in block order. So G and H are the
// same numbers for every thread count too. Before its gradient, a row's raw
// score takes the previous tree's value of its leaf (leafValue[leafOf[i]],
// 0 before the first tree): the same addition the grower made row by row.
// Softmax (multi-class) fits do the same per class, in the same row blocks:
// the last tree's values go to its class's scores, the first class of a round
// computes the row's K probabilities, and class c's gradients come from
// probability c (gbdt-multiclass.ts); nothing of it runs serially.
//
// The partition of a node's rows is split in two halves (JOB_PART): the
// first half's rows are scattered forward from the left and right starts,
// the second half's backward from the left and right ends, into the other
// row buffer. A stable partition has exactly one result, so who runs which
// half changes nothing; each row is written once, to its own position.
// (Two halves, so at most two threads share a partition; more would need a
// counting pass first.) A node whose children are both leaves is not
// partitioned: its rows are marked with their leaf (JOB_MARK), in two halves
// too, each row written once. Split search stays on the calling thread.
//
// Scheduling: a job (one node's histogram) is cut into feature blocks; the
// calling thread and the workers claim blocks from a shared counter until
// none is left, then the caller waits until every claimed block is done. A
// worker that is not running yet (starting, or not scheduled on a loaded
// machine) simply claims nothing: the caller does its blocks. Small nodes
// are done by the caller alone (waking a thread costs more than they do).
//
// The block runner is JavaScript source, compiled with `new Function` both
// here and in the workers (which are `eval` workers: no file to resolve, no
// TypeScript loader needed in the worker), so both run the one same code.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { UserError } from "../errors.ts";

/** Byte offsets of the regions in the shared memory, and the feature blocks. */
export interface KernelLayout {
  n: number;
  d: number;
  cls: boolean;
  codesAt: number;
  /** The two row buffers' (idx, og, oh) offsets: a node at depth k has its rows in bufs[k & 1]. */
  bufs: [number, number, number][];
  histAt: number[];
  /** histOff[f]: feature f's first bin in a histogram (d + 1 entries). */
  histOff: number[];
  /** Bytes per bin: 16 (g, count) or 24 (g, h, count). */
  stride: number;
  /** Feature blocks as [f0, f1) pairs, flattened. */
  blocks: number[];
  /** The raw scores, labels (Float64 [n] each) and the gradient blocks' sums (Float64 [2 × gradBlocks(n)]). */
  rawAt: number;
  /** Softmax fits: the classes K (0 otherwise), each row's K scores and K probabilities (Float64 [K × n] each, class-major). */
  classes: number;
  scoresAt: number;
  probsAt: number;
  yAt: number;
  sumsAt: number;
  /** Each row's leaf in the last tree (n unsigned ints of leafBytes bytes) and the leaves' values (Float64 [leaves]). */
  leafOfAt: number;
  leafBytes: 1 | 2 | 4;
  leafValueAt: number;
  leaves: number;
}

export const JOB_HIST = 1;
export const JOB_ROOT = 2;
export const JOB_GRAD = 3;
export const JOB_PART = 4;
export const JOB_MARK = 5;

/** A softmax fit's probabilities below this are recomputed from the scores (see GRAD_BLOCK_SOURCE). */
const MIN_SCALED_PROB = 1e-200;

/** Rows per gradient block (fixed: the sums must not depend on the thread count). */
export const GRAD_BLOCK = 16_384;

export const gradBlocks = (n: number) => Math.ceil(n / GRAD_BLOCK);

/** Row i's log-loss hessian from p, and its g and h stored and summed (both log-loss passes below). */
const LOG_LOSS_ROW = `const h = Math.max(p * (1 - p), 1e-16);
      og[i] = g;
      oh[i] = h;
      idx[i] = i;
      G += g;
      H += h;`;

/**
 * gradBlock(V, cls, n, t, c): block t of the gradients. V holds Float64Array
 * views raw, y, og, oh, sums, leafValue and the Uint32Array idx (set to the
 * identity: position i is row i at the start of a tree) and leafOf. First
 * raw += the value of the row's leaf in the last tree (leafValue and leafOf
 * are zeros before the first). Log loss: p = sigmoid(raw),
 * g = p − y, h = max(p(1 − p), 1e-16); squared error: g = raw − y (h is the
 * count). The block's sums go to sums[2t], sums[2t + 1].
 * Softmax (V.classes = K > 0; y holds class indices; c is the tree's class):
 * the last tree's values go to the scores of its class (c − 1, or K − 1 when
 * c = 0), and its probabilities are multiplied by exp(value) (one exp per
 * leaf, not per row); class 0 (a new round) then normalises the row's
 * probabilities: softmax(scores) up to rounding, without an exp per row. Any
 * value below MIN_SCALED_PROB before or after that (near underflow, where a
 * product loses digits or sticks at 0), an overflow (NaN), or P = 0 (the
 * first round) takes the exact softmax of the row's scores instead — a
 * decision of the row's own numbers, so the same for every thread count. The
 * exact softmax stores its probabilities below MIN_SCALED_PROB as 0 (their
 * gradients are 0 to 200 digits): so every stored probability is 0 or a
 * normal number with all its digits, and a 0 makes the next round exact too.
 * p is probability c (the round's start probabilities: class c's are not
 * updated before its own tree), g = p − [y = c], h as for log loss.
 */
const GRAD_BLOCK_SOURCE = `
  const a = t * ${GRAD_BLOCK};
  const b = Math.min(n, a + ${GRAD_BLOCK});
  const { raw, y, og, oh, idx, sums, leafOf, leafValue } = V;
  let G = 0;
  let H = 0;
  const K = V.classes;
  if (K > 0) {
    const { scores: F, probs: P } = V;
    // class-major: row i's score of class j is F[j * n + i] (a class's pass reads its own column)
    const lo = (c === 0 ? K - 1 : c - 1) * n;
    const co = c * n;
    // exp of the last tree's leaf values: its class's probabilities scale by them (no exp per row)
    const ex = new Float64Array(leafValue.length);
    for (let k = 0; k < ex.length; k++) ex[k] = Math.exp(leafValue[k]);
    for (let i = a; i < b; i++) {
      const leaf = leafOf[i];
      F[lo + i] += leafValue[leaf];
      P[lo + i] *= ex[leaf];
      if (c === 0) {
        // a new round: P (proportional to exp F since the last round) normalised
        let s = 0;
        for (let j = 0; j < K; j++) s += P[j * n + i];
        const inv = 1 / s;
        let exact = false;
        for (let j = 0; j < K; j++) {
          const e = P[j * n + i];
          const q = e * inv;
          P[j * n + i] = q;
          // e too: a product near underflow has lost digits even when its share q looks normal
          if (!(e >= ${MIN_SCALED_PROB} && q >= ${MIN_SCALED_PROB})) exact = true;
        }
        if (exact) {
          // a probability near underflow, an overflow, or the first round (P = 0):
          // softmax of the scores, the row's maximum subtracted first
          let m = F[i];
          for (let j = 1; j < K; j++) if (F[j * n + i] > m) m = F[j * n + i];
          s = 0;
          for (let j = 0; j < K; j++) {
            const e = Math.exp(F[j * n + i] - m);
            P[j * n + i] = e;
            s += e;
          }
          // below MIN_SCALED_PROB stored as 0: its products stay 0, so the next round is exact again
          for (let j = 0; j < K; j++) {
            const q = P[j * n + i] / s;
            P[j * n + i] = q >= ${MIN_SCALED_PROB} ? q : 0;
          }
        }
      }
      const p = P[co + i];
      const g = p - (y[i] === c ? 1 : 0);
      ${LOG_LOSS_ROW}
    }
  } else if (cls) {
    for (let i = a; i < b; i++) {
      const z = raw[i] + leafValue[leafOf[i]];
      raw[i] = z;
      // branch-free sigmoid: exp(-z) = Infinity for z << 0 gives p = 0, no NaN
      const p = 1 / (1 + Math.exp(-z));
      const g = p - y[i];
      ${LOG_LOSS_ROW}
    }
  } else {
    for (let i = a; i < b; i++) {
      const z = raw[i] + leafValue[leafOf[i]];
      raw[i] = z;
      const g = z - y[i];
      og[i] = g;
      idx[i] = i;
      G += g;
    }
    H = b - a;
  }
  sums[2 * t] = G;
  sums[2 * t + 1] = H;
`;

/** The per-row arrays the JavaScript blocks (gradients, leaf marking) read and write. */
export interface RowViews {
  raw: Float64Array;
  y: Float64Array;
  og: Float64Array;
  oh: Float64Array;
  idx: Uint32Array;
  sums: Float64Array;
  leafOf: Uint8Array | Uint16Array | Uint32Array;
  leafValue: Float64Array;
  /** Softmax fits: K (0 otherwise), the scores and probabilities [K × n], class-major (empty otherwise). */
  classes: number;
  scores: Float64Array;
  probs: Float64Array;
  /** Both row buffers' idx, and the column-major bin codes. */
  idxs: Uint32Array[];
  codes: Uint8Array;
}

export type GradBlock = (V: RowViews, cls: boolean, n: number, t: number, c: number) => void;

/** The one gradient block code, compiled here and in each worker. */
export function compileGradBlock(): GradBlock {
  return new Function("V", "cls", "n", "t", "c", GRAD_BLOCK_SOURCE) as GradBlock;
}

/** G and H of a tree's root: the blocks' sums added in block order. */
export function addBlockSums(sums: Float64Array, n: number, out: Float64Array): void {
  let G = 0;
  let H = 0;
  for (let t = 0, m = gradBlocks(n); t < m; t++) {
    G += sums[2 * t];
    H += sums[2 * t + 1];
  }
  out[0] = G;
  out[1] = H;
}

/**
 * runBlock(k, L, kind, slot, start, end, f0, f1, buf): the histograms of features
 * [f0, f1) into pool slot `slot`, 4, then 2, then 1 feature per kernel call.
 * kind 1: rows idx[start..end) with og/oh in position order, of row buffer
 * `buf`; kind 2 (root): every row in natural order, buffer 0 (counts are
 * filled by the caller).
 */
const RUN_BLOCK_SOURCE = `
  const hAt = L.histAt[slot];
  const [idxAt, ogAt, ohAt] = L.bufs[buf];
  let f = f0;
  while (f < f1) {
    const w = f1 - f >= 4 ? 4 : f1 - f >= 2 ? 2 : 1;
    const a = [];
    for (let q = 0; q < w; q++) a.push(L.codesAt + (f + q) * L.n);
    for (let q = 0; q < w; q++) a.push(hAt + L.histOff[f + q] * L.stride);
    if (kind === 1) {
      if (L.cls) k["hist_cls" + w](...a, idxAt, ogAt, ohAt, start, end);
      else k["hist_reg" + w](...a, idxAt, ogAt, start, end);
    } else {
      if (L.cls) k["root_cls" + w](...a, L.bufs[0][1], L.bufs[0][2], L.n);
      else k["root_reg" + w](...a, L.bufs[0][1], L.n);
    }
    f += w;
  }
`;

type Kernels = Record<string, (...args: number[]) => number>;
type RunBlock = (k: Kernels, L: KernelLayout, kind: number, slot: number, start: number, end: number, f0: number, f1: number, buf: number) => void;

function compileRunBlock(): RunBlock {
  return new Function("k", "L", "kind", "slot", "start", "end", "f0", "f1", "buf", RUN_BLOCK_SOURCE) as RunBlock;
}

/**
 * The two halves of a stable partition of positions [start, end) whose
 * first `mid - start` rows go left, as the kernels' (j, m, step, lp, rp):
 * half 0 scans [start, h) forward, lefts from start and rights from mid;
 * half 1 scans [h, end) backward, lefts from mid − 1 and rights from end − 1.
 */
export function partitionHalves(start: number, end: number, mid: number): number[] {
  const h = start + ((end - start) >> 1);
  return [start, h - start, 1, start, mid, end - 1, end - h, -1, mid - 1, end - 1];
}

// The control block (Int32Array over a SharedArrayBuffer)
const SEQ = 0; // bumped to wake the workers
const NEXT = 1; // (job << 16) | the next block to claim
const DONE = 2; // blocks finished in the current job
const JOB = 3; // the current job's number (15 bits, wrapping)
const QUIT = 4;
const KIND = 5;
const SLOT = 6;
const START = 7;
const END = 8;
const NTASKS = 9; // blocks in the current job
const BUF = 10; // the job's row buffer (JOB_HIST: the node's; JOB_PART: the source)
const COL = 11; // JOB_PART: byte offset of the feature's codes, the missing code, the bin, missing-left
const MISS = 12;
const BIN = 13;
const MLEFT = 14;
const HALVES = 15; // JOB_PART: the halves' (j, m, step, lp, rp), 10 ints
const RES = 25; // JOB_PART: each half's left count, 2 ints
const CTRL_INTS = 27;
/** Blocks a job may have: its claims count in the low 16 bits of NEXT. */
const MAX_TASKS = 60_000;

/**
 * partBlock(k, L, ctrl, t): half t of the partition described in ctrl, from
 * row buffer ctrl[BUF] into the other one; returns its left count.
 */
const PART_BLOCK_SOURCE = `
  const s = L.bufs[ctrl[${BUF}]];
  const o = L.bufs[1 - ctrl[${BUF}]];
  const h = ${HALVES} + 5 * t;
  const args = [ctrl[${COL}], ctrl[${MISS}], ctrl[${BIN}], ctrl[${MLEFT}], ctrl[h], ctrl[h + 1], ctrl[h + 2], ctrl[h + 3], ctrl[h + 4]];
  return L.cls ? k.part_cls(s[0], s[1], s[2], o[0], o[1], o[2], ...args) : k.part_reg(s[0], s[1], o[0], o[1], ...args);
`;

type PartBlock = (k: Kernels, L: KernelLayout, ctrl: Int32Array, t: number) => number;

/**
 * markBlock(V, ctrl, t): half t of positions [START, END) of row buffer BUF:
 * leafOf[row] = SLOT (the left leaf) when the row goes left by the code at
 * COL + row (an index into V.codes), else SLOT + 1. Returns the half's left count.
 */
const MARK_BLOCK_SOURCE = `
  const start = ctrl[${START}];
  const end = ctrl[${END}];
  const h = start + ((end - start) >> 1);
  const a = t === 0 ? start : h;
  const b = t === 0 ? h : end;
  const idx = V.idxs[ctrl[${BUF}]];
  const { codes, leafOf } = V;
  const col = ctrl[${COL}];
  const miss = ctrl[${MISS}];
  const bin = ctrl[${BIN}];
  const ml = ctrl[${MLEFT}];
  const right = ctrl[${SLOT}] + 1;
  let lefts = 0;
  for (let j = a; j < b; j++) {
    const i = idx[j];
    const c = codes[col + i];
    const left = +(c <= bin) | (+(c === miss) & ml);
    leafOf[i] = right - left;
    lefts += left;
  }
  return lefts;
`;

export type MarkBlock = (V: RowViews, ctrl: Int32Array, t: number) => number;

/** The one leaf-marking code, compiled here and in each worker. */
export function compileMarkBlock(): MarkBlock {
  return new Function("V", "ctrl", "t", MARK_BLOCK_SOURCE) as MarkBlock;
}

/** A control block (shared, so workers can read it). */
export function newControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * CTRL_INTS));
}

/**
 * A JOB_MARK job's fields: positions [start, end) of row buffer `buf`, feature
 * codes at index `col` of V.codes, the split (miss, bin, missingLeft), the left leaf.
 */
export function setMarkJob(ctrl: Int32Array, buf: number, col: number, miss: number, bin: number, missingLeft: number, start: number, end: number, leaf: number): void {
  ctrl[BUF] = buf;
  ctrl[COL] = col;
  ctrl[MISS] = miss;
  ctrl[BIN] = bin;
  ctrl[MLEFT] = missingLeft;
  ctrl[START] = start;
  ctrl[END] = end;
  ctrl[SLOT] = leaf;
}

const WORKER_SOURCE = `
const { workerData } = require("node:worker_threads");
const { module, memory, ctrlBuf, L, runBlockSource, gradBlockSource, partBlockSource, markBlockSource } = workerData;
const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctrl = new Int32Array(ctrlBuf);
const runBlock = new Function("k", "L", "kind", "slot", "start", "end", "f0", "f1", "buf", runBlockSource);
const gradBlock = new Function("V", "cls", "n", "t", "c", gradBlockSource);
const partBlock = new Function("k", "L", "ctrl", "t", partBlockSource);
const markBlock = new Function("V", "ctrl", "t", markBlockSource);
const buf = memory.buffer;
const V = {
  raw: new Float64Array(buf, L.rawAt, L.n),
  y: new Float64Array(buf, L.yAt, L.n),
  og: new Float64Array(buf, L.bufs[0][1], L.n),
  oh: new Float64Array(buf, L.bufs[0][2], L.n),
  idx: new Uint32Array(buf, L.bufs[0][0], L.n),
  sums: new Float64Array(buf, L.sumsAt, 2 * Math.ceil(L.n / ${GRAD_BLOCK})),
  leafOf: new ({ 1: Uint8Array, 2: Uint16Array, 4: Uint32Array })[L.leafBytes](buf, L.leafOfAt, L.n),
  leafValue: new Float64Array(buf, L.leafValueAt, L.leaves),
  classes: L.classes,
  scores: new Float64Array(buf, L.scoresAt, L.n * L.classes),
  probs: new Float64Array(buf, L.probsAt, L.n * L.classes),
  idxs: L.bufs.map((b) => new Uint32Array(buf, b[0], L.n)),
  codes: new Uint8Array(buf, L.codesAt, L.n * L.d),
};
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, ${SEQ}, seen);
  seen = Atomics.load(ctrl, ${SEQ});
  if (Atomics.load(ctrl, ${QUIT}) === 1) break;
  for (;;) {
    // A claim is valid when it is of the current job and below its block count; NTASKS is
    // read before JOB (the caller writes JOB, then NTASKS, then NEXT), so a claim on an old
    // job's NEXT never takes a block of the next job. The job's fields are read after a
    // valid claim: a worker still claiming when the caller opens the next job runs that
    // job's kind of block (they were written before NEXT), and a job cannot end (and its
    // fields change) while a valid claim of it is running.
    const v = Atomics.add(ctrl, ${NEXT}, 1);
    const nTasks = Atomics.load(ctrl, ${NTASKS});
    if (v >>> 16 !== Atomics.load(ctrl, ${JOB}) || (v & 0xffff) >= nTasks) break;
    const t = v & 0xffff;
    const kind = ctrl[${KIND}];
    if (kind === ${JOB_GRAD}) gradBlock(V, L.cls, L.n, t, ctrl[${SLOT}]);
    else if (kind === ${JOB_PART}) ctrl[${RES} + t] = partBlock(k, L, ctrl, t);
    else if (kind === ${JOB_MARK}) ctrl[${RES} + t] = markBlock(V, ctrl, t);
    else runBlock(k, L, kind, ctrl[${SLOT}], ctrl[${START}], ctrl[${END}], L.blocks[2 * t], L.blocks[2 * t + 1], ctrl[${BUF}]);
    Atomics.add(ctrl, ${DONE}, 1);
    Atomics.notify(ctrl, ${DONE});
  }
}
`;

/** Below this many (row, feature) histogram updates a job runs on the caller alone. */
const MIN_PARALLEL_WORK = 65_536;
/** Partitions of fewer rows run on the caller alone. */
const MIN_PARALLEL_ROWS = 16_384;

/**
 * A thread count as given by a user: a whole number from 1 to MAX_THREADS,
 * else the error `Err` (a UserError for $FTI_THREADS, the CLI passes its
 * UsageError for `--threads`).
 */
export function parseThreads(text: string, what: string, Err: new (message: string) => Error = UserError): number {
  const v = Number(text.trim());
  if (!/^[0-9]+$/.test(text.trim()) || v < 1 || v > MAX_THREADS) {
    throw new Err(`${what} ${JSON.stringify(text)}: expected a whole number from 1 to ${MAX_THREADS}`);
  }
  return v;
}

export const MAX_THREADS = 256;

/** The thread count training uses when none is given: $FTI_THREADS, else the available cores. */
export function defaultThreads(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.FTI_THREADS;
  if (v !== undefined && v.trim() !== "") return parseThreads(v, "$FTI_THREADS");
  return Math.max(1, availableParallelism());
}

/** Contiguous feature blocks, one per thread (fewer when there are fewer features). */
export function featureBlocks(d: number, threads: number): number[] {
  const t = Math.max(1, Math.min(threads, d));
  const out: number[] = [];
  for (let b = 0; b < t; b++) {
    const f0 = Math.floor((b * d) / t);
    const f1 = Math.floor(((b + 1) * d) / t);
    if (f1 > f0) out.push(f0, f1);
  }
  return out;
}

/** Runs histogram jobs over feature blocks, and gradient jobs over row blocks, on the caller and `threads - 1` workers. */
export class HistTeam {
  private readonly runBlock = compileRunBlock();
  private readonly gradBlock = compileGradBlock();
  private readonly partBlock = new Function("k", "L", "ctrl", "t", PART_BLOCK_SOURCE) as PartBlock;
  private readonly markBlock = compileMarkBlock();
  private readonly ctrl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly nTasks: number;

  constructor(
    private readonly kernels: Kernels,
    private readonly L: KernelLayout,
    module: object,
    memory: object,
    threads: number,
    private readonly views: RowViews,
  ) {
    this.nTasks = L.blocks.length / 2;
    this.ctrl = newControl();
    const helpers = Math.min(threads, Math.max(this.nTasks, gradBlocks(L.n))) - 1;
    for (let w = 0; w < helpers; w++) {
      try {
        const worker = new Worker(WORKER_SOURCE, {
          eval: true,
          workerData: {
            module,
            memory,
            ctrlBuf: this.ctrl.buffer,
            L,
            runBlockSource: RUN_BLOCK_SOURCE,
            gradBlockSource: GRAD_BLOCK_SOURCE,
            partBlockSource: PART_BLOCK_SOURCE,
            markBlockSource: MARK_BLOCK_SOURCE,
          },
        });
        worker.unref();
        // a worker that fails (out of memory, …) only means fewer helpers: the caller claims its blocks
        worker.on("error", () => {});
        this.workers.push(worker);
      } catch {
        break;
      }
    }
  }

  get helpers(): number {
    return this.workers.length;
  }

  /** One node's histograms (kind JOB_HIST over positions [start, end) of row buffer `buf`, or JOB_ROOT) into pool slot `slot`. */
  run(kind: number, slot: number, start: number, end: number, buf: number): void {
    const { L, nTasks } = this;
    const rows = kind === JOB_ROOT ? L.n : end - start;
    const one = (t: number) => this.runBlock(this.kernels, L, kind, slot, start, end, L.blocks[2 * t], L.blocks[2 * t + 1], buf);
    if (this.workers.length === 0 || rows * L.d < MIN_PARALLEL_WORK || nTasks < 2) {
      for (let t = 0; t < nTasks; t++) one(t);
      return;
    }
    this.ctrl[BUF] = buf;
    this.share(kind, slot, start, end, nTasks, one);
  }

  /**
   * Stable partition of positions [start, end) of row buffer `buf` into the
   * other buffer, by the code at byte offset `col`: the first mid − start
   * positions get the rows that go left. Returns how many rows went left.
   */
  partition(buf: number, col: number, miss: number, bin: number, missingLeft: number, start: number, end: number, mid: number): number {
    const { ctrl } = this;
    ctrl[BUF] = buf;
    ctrl[COL] = col;
    ctrl[MISS] = miss;
    ctrl[BIN] = bin;
    ctrl[MLEFT] = missingLeft;
    ctrl.set(partitionHalves(start, end, mid), HALVES);
    const one = (t: number) => {
      ctrl[RES + t] = this.partBlock(this.kernels, this.L, ctrl, t);
    };
    if (this.workers.length === 0 || end - start < MIN_PARALLEL_ROWS) {
      one(0);
      one(1);
    } else this.share(JOB_PART, 0, start, end, 2, one);
    return ctrl[RES] + ctrl[RES + 1];
  }

  /**
   * Marks the rows of positions [start, end) of row buffer `buf` with leaf
   * `leaf` (going left by feature codes at `col`, an index into the codes) or
   * leaf + 1; returns how many went left.
   */
  mark(buf: number, col: number, miss: number, bin: number, missingLeft: number, start: number, end: number, leaf: number): number {
    const { ctrl } = this;
    setMarkJob(ctrl, buf, col, miss, bin, missingLeft, start, end, leaf);
    const one = (t: number) => {
      ctrl[RES + t] = this.markBlock(this.views, ctrl, t);
    };
    if (this.workers.length === 0 || end - start < MIN_PARALLEL_ROWS) {
      one(0);
      one(1);
    } else this.share(JOB_MARK, leaf, start, end, 2, one);
    return ctrl[RES] + ctrl[RES + 1];
  }

  /**
   * The gradients of every row from raw and y, or (softmax) of class c from the
   * scores and y (og, oh, idx = identity), each block's sums in `sums`.
   */
  gradients(c = 0): void {
    const { L } = this;
    const nTasks = gradBlocks(L.n);
    const one = (t: number) => this.gradBlock(this.views, L.cls, L.n, t, c);
    if (this.workers.length === 0 || nTasks < 2 || nTasks > MAX_TASKS) {
      for (let t = 0; t < nTasks; t++) one(t);
      return;
    }
    // the class travels in the job's SLOT
    this.share(JOB_GRAD, c, 0, 0, nTasks, one);
  }

  /** Runs a job's `nTasks` blocks on the caller and the workers; returns when all are done. */
  private share(kind: number, slot: number, start: number, end: number, nTasks: number, one: (t: number) => void): void {
    const { ctrl } = this;
    // order matters: JOB first (claims on the last job's NEXT become invalid), DONE
    // and the job's fields (a JOB_HIST or JOB_PART job's own are set before the call),
    // NTASKS, then NEXT (which opens the claims). Block 0 is the caller's before anyone
    // is woken: a woken worker often preempts the caller, and would otherwise take
    // every block of the job.
    const job = (ctrl[JOB] + 1) & 0x7fff;
    Atomics.store(ctrl, JOB, job);
    Atomics.store(ctrl, DONE, 0);
    ctrl[KIND] = kind;
    ctrl[SLOT] = slot;
    ctrl[START] = start;
    ctrl[END] = end;
    Atomics.store(ctrl, NTASKS, nTasks);
    Atomics.store(ctrl, NEXT, (job << 16) | 1);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    for (let t = 0; t < nTasks; t = Atomics.add(ctrl, NEXT, 1) & 0xffff) {
      one(t);
      Atomics.add(ctrl, DONE, 1);
    }
    for (let v = Atomics.load(ctrl, DONE); v < nTasks; v = Atomics.load(ctrl, DONE)) Atomics.wait(ctrl, DONE, v);
  }

  /** Tells the workers to exit (they are unref'd: they never keep the process alive). */
  close(): void {
    if (this.workers.length === 0) return;
    Atomics.store(this.ctrl, QUIT, 1);
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
    this.workers.length = 0;
  }
}
