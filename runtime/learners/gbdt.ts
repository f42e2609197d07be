// Histogram gradient-boosted decision trees (squared error regression and
// binary log loss), deterministic (no randomness except a fixed-seed sample
// for the bin edges); histograms are built on several threads, split by
// feature, so the model does not depend on the thread count (gbdt-threads.ts).
//
// Layout and algorithm:
// - Binning: per feature, up to `bins` (<= 255) quantile bins computed on a
//   fixed-seed stratified sample of at most 200 000 rows. Bin edges are
//   float32 values; value x falls in the first bin j with x <= edge[j]. NaN
//   gets its own bin (code = number of non-missing bins of the feature).
//   Codes are stored as a column-major Uint8Array: codes[f * n + i].
// - Trees grow depth-first to `depth`. Each node owns a contiguous segment
//   of a row-index array, stably partitioned at each split; the gradients
//   (and hessians) are kept in the same order and move with the indices, so
//   histogram building reads them sequentially. There are two such arrays
//   (row buffers): a split's children get the same positions in the other
//   one, so a node at depth k reads buffer k & 1. Histograms hold per bin
//   (sum gradient, count) for squared error (the hessian is 1) or
//   (sum gradient, sum hessian, count) for log loss. Only the smaller child's
//   histogram is built from rows; the larger one is parent − smaller, in the
//   parent's buffer (sibling subtraction). Children at the depth limit, or
//   too small to split, get no histogram at all. The root's per-bin counts
//   are computed once. Histograms come from a fixed pool (depth + 2 buffers).
// - Split search: for every feature and bin boundary, the gain
//   GL²/(HL+λ) + GR²/(HR+λ) − G²/(H+λ) is evaluated with the missing bin sent
//   left and sent right; "all non-missing left, missing right" is a candidate
//   too. When a node saw no missing values, missing values follow the child
//   with more rows. Each child needs >= min_leaf rows (and a hessian sum of
//   at least 1e-3). Ties keep the first candidate (lowest feature, then bin).
// - Leaf value: −learning_rate · G / (H + λ). Training scores are updated
//   from each row's leaf (no tree traversal while training), in the next
//   tree's gradient pass.
// - The histogram and partition loops run as WebAssembly (gbdt-kernels.ts),
//   with a TypeScript fallback that gives bit-identical models; the
//   histogram loops run on `threads` threads, one feature block each, the
//   gradients too, by fixed row blocks, and a partition in two halves
//   (gbdt-threads.ts).
//
// A split on feature f at bin t becomes `x <= edge[t]` on raw values, with
// the learned missing direction: prediction from raw float32 inputs is
// exactly the training-time partition, and it maps 1:1 onto ONNX
// TreeEnsembleRegressor's BRANCH_LEQ nodes with nodes_missing_value_tracks_true.

import type { AlgorithmParams, Task } from "../catalogue.ts";
import { mulberry32 } from "../random.ts";
import { binCounts, createWorkspace } from "./gbdt-kernels.ts";
import { predictForest, type FlatForest } from "./gbdt-predict.ts";
import { defaultThreads } from "./gbdt-threads.ts";

export type GbdtParams = AlgorithmParams<"gbdt">;

export type GbdtTask = Task;

/** How to run a fit; none of it changes the model. */
export interface GbdtOptions {
  /** Kernels: WebAssembly (default when available) or the TypeScript reference. */
  engine?: "wasm" | "js";
  /** Threads building histograms (default: defaultThreads(), $FTI_THREADS or the cores). Bit-identical models for every value. */
  threads?: number;
}

/**
 * One tree as parallel arrays indexed by node id (root = 0, ids in creation
 * order). Internal node: go to `left` when x[feature] <= threshold, or when
 * x[feature] is NaN and missingLeft; else `right`. Leaf: feature = -1,
 * value = its (learning-rate scaled) output.
 */
export interface GbdtTree {
  feature: number[];
  /** float32-exact thresholds. */
  threshold: number[];
  missingLeft: boolean[];
  left: number[];
  right: number[];
  value: number[];
}

export interface GbdtFit {
  task: GbdtTask;
  /** Raw score before the trees: mean of y, or log-odds of the positive rate (0 for multiclass). */
  baseScore: number;
  /**
   * Multiclass only (gbdt-multiclass.ts): each class's raw score before its
   * trees (the log of its train share); trees[r * K + c] is round r's tree of
   * class c (K = baseScores.length).
   */
  baseScores?: number[];
  trees: GbdtTree[];
}

/** Largest finite float32: the threshold of an "every non-missing value goes left" split. */
export const FLOAT32_MAX = 3.4028234663852886e38;

const BIN_SAMPLE = 200_000;
/** Fits with fewer (row, feature) cells than this train on one thread. */
const MIN_THREADED_WORK = 200_000;
/** Minimum hessian sum of a child (matters for log loss only: the squared-error hessian is the count). */
const MIN_HESSIAN = 1e-3;
/** A split must improve the objective by more than this (relative) to count. */
const MIN_GAIN_REL = 1e-12;

/** A float32 value m with a <= m < b (a < b both float32): the rounded midpoint, or a. */
function edgeBetween(a: number, b: number): number {
  const m = Math.fround(a / 2 + b / 2);
  return m >= b || m < a || Number.isNaN(m) ? a : m;
}

/** Quantile bin edges per feature (each strictly increasing, float32-exact, at most maxBins - 1). */
export function computeBinEdges(X: Float32Array, n: number, d: number, maxBins: number): Float64Array[] {
  let rows: Uint32Array;
  if (n <= BIN_SAMPLE) {
    rows = new Uint32Array(n);
    for (let i = 0; i < n; i++) rows[i] = i;
  } else {
    // stratified: one row drawn uniformly from each of BIN_SAMPLE equal strata
    const rnd = mulberry32(0x5eed);
    rows = new Uint32Array(BIN_SAMPLE);
    const step = n / BIN_SAMPLE;
    for (let k = 0; k < BIN_SAMPLE; k++) rows[k] = Math.min(n - 1, Math.floor((k + rnd()) * step));
  }
  const m0 = rows.length;
  // the sample, column-major, NaN dropped per feature
  const cols = new Float64Array(m0 * d);
  const counts = new Int32Array(d);
  for (let k = 0; k < m0; k++) {
    const o = rows[k] * d;
    for (let f = 0; f < d; f++) {
      const v = X[o + f];
      if (v === v) cols[f * m0 + counts[f]++] = v;
    }
  }
  const edges: Float64Array[] = [];
  const uniq = new Float64Array(m0);
  const cum = new Int32Array(m0);
  for (let f = 0; f < d; f++) {
    const m = counts[f];
    const sorted = cols.subarray(f * m0, f * m0 + m).sort();
    // distinct values with cumulative counts
    let U = 0;
    for (let k = 0; k < m; k++) {
      const v = sorted[k];
      if (U === 0 || v !== uniq[U - 1]) {
        uniq[U] = v;
        cum[U] = k + 1;
        U++;
      } else cum[U - 1] = k + 1;
    }
    const e: number[] = [];
    if (U <= maxBins) {
      for (let k = 0; k + 1 < U; k++) e.push(edgeBetween(uniq[k], uniq[k + 1]));
    } else {
      let k = 0;
      for (let q = 1; q < maxBins; q++) {
        const target = (q * m) / maxBins;
        while (k < U - 1 && cum[k] < target) k++;
        if (k >= U - 1) break;
        const edge = edgeBetween(uniq[k], uniq[k + 1]);
        if (e.length === 0 || edge > e[e.length - 1]) e.push(edge);
      }
    }
    edges.push(Float64Array.from(e));
  }
  return edges;
}

/**
 * Column-major bin codes: codes[f*n + i] = first j with X[i,f] <= edges[f][j]
 * (edges[f].length when none); NaN → edges[f].length + 1, the missing bin.
 */
export function binColumns(
  X: Float32Array,
  n: number,
  d: number,
  edges: Float64Array[],
  codes: Uint8Array = new Uint8Array(n * d),
): Uint8Array {
  // each feature's edges padded to 256 with +Infinity: a fixed 8-step branchless search
  const padded = new Float64Array(256 * d).fill(Infinity);
  const missing = new Uint8Array(d);
  for (let f = 0; f < d; f++) {
    if (edges[f].length > 254) throw new Error("gbdt: more than 255 bins");
    padded.set(edges[f], f * 256);
    missing[f] = edges[f].length + 1;
  }
  binRows(X, n, d, padded, missing, codes);
  return codes;
}

function binRows(X: Float32Array, n: number, d: number, ep: Float64Array, missing: Uint8Array, codes: Uint8Array): void {
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let f = 0; f < d; f++) {
      const v = X[o + f];
      const p = f << 8;
      let lo = p;
      lo += +(v > ep[lo + 127]) << 7;
      lo += +(v > ep[lo + 63]) << 6;
      lo += +(v > ep[lo + 31]) << 5;
      lo += +(v > ep[lo + 15]) << 4;
      lo += +(v > ep[lo + 7]) << 3;
      lo += +(v > ep[lo + 3]) << 2;
      lo += +(v > ep[lo + 1]) << 1;
      lo += +(v > ep[lo]);
      codes[f * n + i] = v === v ? lo - p : missing[f];
    }
  }
}

interface Split {
  gain: number;
  feature: number;
  bin: number;
  missingLeft: boolean;
  gl: number;
  hl: number;
  cl: number;
}

interface PendingNode {
  id: number;
  start: number;
  end: number;
  depth: number;
  /** Histogram pool slot, or -1 when the node cannot split. */
  hist: number;
  g: number;
  h: number;
  c: number;
}

export function validateParams(p: GbdtParams): void {
  const bad = (name: string, v: number, rule: string) => {
    throw new Error(`gbdt: ${name} must be ${rule}, got ${v}`);
  };
  if (!(Number.isInteger(p.trees) && p.trees >= 0)) bad("trees", p.trees, "an integer >= 0");
  if (!(Number.isInteger(p.depth) && p.depth >= 1 && p.depth <= 30)) bad("depth", p.depth, "an integer in [1, 30]");
  if (!(p.learning_rate > 0)) bad("learning_rate", p.learning_rate, "> 0");
  if (!(Number.isInteger(p.min_leaf) && p.min_leaf >= 1)) bad("min_leaf", p.min_leaf, "an integer >= 1");
  if (!(Number.isInteger(p.bins) && p.bins >= 2 && p.bins <= 255)) bad("bins", p.bins, "an integer in [2, 255]");
  if (!(p.l2 >= 0)) bad("l2", p.l2, ">= 0");
}

/** Everything split search needs about the binned matrix and the loss. */
interface SplitContext {
  d: number;
  /** 2 (g, count) for squared error, 3 (g, h, count) for log loss. */
  stride: number;
  nBins: Int32Array;
  histOff: Int32Array;
  minLeaf: number;
  lambda: number;
}

/** Best split of a node from its histogram into `best`; false when none qualifies. */
function findSplit(ctx: SplitContext, hist: Float64Array, G: number, H: number, C: number, best: Split): boolean {
  const { d, stride: S, nBins, histOff, minLeaf, lambda } = ctx;
  const HI = 1; // hessian slot (the count itself for squared error)
  const CI = S - 1; // count slot
  const parentScore = (G * G) / (H + lambda);
  best.gain = MIN_GAIN_REL * (1 + Math.abs(parentScore));
  best.feature = -1;
  for (let f = 0; f < d; f++) {
    const nb = nBins[f];
    const off = histOff[f] * S;
    const mo = off + nb * S;
    const gm = hist[mo];
    const hm = hist[mo + HI];
    const cm = hist[mo + CI];
    let gl = 0;
    let hl = 0;
    let cl = 0;
    // t = nb - 1 (every non-missing value left) only splits when there are missing values
    const last = cm > 0 ? nb - 1 : nb - 2;
    for (let t = 0; t <= last; t++) {
      const o = off + t * S;
      gl += hist[o];
      hl += hist[o + HI];
      cl += hist[o + CI];
      // missing values right
      let cr = C - cl;
      let hr = H - hl;
      if (cl >= minLeaf && cr >= minLeaf && hl >= MIN_HESSIAN && hr >= MIN_HESSIAN) {
        const gr = G - gl;
        const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parentScore;
        if (gain > best.gain) {
          best.gain = gain;
          best.feature = f;
          best.bin = t;
          best.missingLeft = false;
          best.gl = gl;
          best.hl = hl;
          best.cl = cl;
        }
      }
      // missing values left
      if (cm > 0 && t < nb - 1) {
        const gl2 = gl + gm;
        const hl2 = hl + hm;
        const cl2 = cl + cm;
        cr = C - cl2;
        hr = H - hl2;
        if (cl2 >= minLeaf && cr >= minLeaf && hl2 >= MIN_HESSIAN && hr >= MIN_HESSIAN) {
          const gr = G - gl2;
          const gain = (gl2 * gl2) / (hl2 + lambda) + (gr * gr) / (hr + lambda) - parentScore;
          if (gain > best.gain) {
            best.gain = gain;
            best.feature = f;
            best.bin = t;
            best.missingLeft = true;
            best.gl = gl2;
            best.hl = hl2;
            best.cl = cl2;
          }
        }
      }
    }
  }
  if (best.feature < 0) return false;
  // the node had no missing values for this feature: future ones follow the bigger child
  const mo = (histOff[best.feature] + nBins[best.feature]) * S;
  if (hist[mo + CI] === 0) best.missingLeft = best.cl >= C - best.cl;
  return true;
}

// ---- per-row loops, top-level so V8 optimises each on its own

/** leafOf[row] = leaf for the rows of one leaf's segment (a scatter into a small array). */
function markLeaf(leafOf: Uint8Array | Uint16Array | Uint32Array, idx: Uint32Array, start: number, end: number, leaf: number): void {
  for (let j = start; j < end; j++) leafOf[idx[j]] = leaf;
}

function subtractInto(a: Float64Array, b: Float64Array, len: number): void {
  for (let k = 0; k < len; k++) a[k] -= b[k];
}

/** Checks the matrix and the labels; the raw score before any tree: mean(y), or the log-odds of the positive rate. */
function baseScoreOf(X: Float32Array, n: number, d: number, y: Float64Array, cls: boolean): number {
  if (!Number.isInteger(n) || !Number.isInteger(d) || n < 1 || d < 0) throw new Error(`gbdt: bad matrix size n=${n}, d=${d}`);
  if (X.length < n * d) throw new Error(`gbdt: X has ${X.length} values, expected n*d = ${n * d}`);
  if (y.length !== n) throw new Error(`gbdt: y has ${y.length} values, expected ${n}`);
  let sumY = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (cls ? v !== 0 && v !== 1 : !Number.isFinite(v)) {
      throw new Error(`gbdt: label y[${i}] = ${v} is not ${cls ? "0 or 1" : "a finite number"}`);
    }
    sumY += v;
  }
  if (!cls) return sumY / n;
  const p = Math.min(Math.max(sumY / n, 1e-15), 1 - 1e-15);
  return Math.log(p / (1 - p));
}

export function fitGbdt(
  X: Float32Array,
  n: number,
  d: number,
  y: Float64Array,
  task: GbdtTask,
  params: GbdtParams,
  options: GbdtOptions = {},
): GbdtFit {
  validateParams(params);
  const threads = options.threads ?? defaultThreads();
  if (!(Number.isInteger(threads) && threads >= 1)) throw new Error(`gbdt: threads must be an integer >= 1, got ${threads}`);
  if (task === "multiclass_classification") throw new Error("gbdt: a multiclass fit is fitGbdtMulticlass's (gbdt-multiclass.ts)");
  const cls = task === "binary_classification";
  const baseScore = baseScoreOf(X, n, d, y, cls);
  const grower = new TreeGrower(X, n, d, cls, params, { ...options, threads });
  try {
    grower.ws.raw.fill(baseScore);
    grower.ws.y.set(y);
    const trees: GbdtTree[] = [];
    for (let t = 0; t < params.trees; t++) trees.push(grower.grow());
    return { task, baseScore, trees };
  } finally {
    grower.close();
  }
}

/**
 * Grows the trees of one fit, one at a time, over the binned matrix. The
 * working memory is allocated once: idx holds row ids grouped by node; og /
 * oh hold each position's gradient / hessian and move with idx in every
 * partition. Histograms live in a fixed pool: depth-first growth keeps at
 * most depth + 1 of them alive.
 */
export class TreeGrower {
  private readonly edges: Float64Array[];
  private readonly nBins: Int32Array; // non-missing bins; the missing code is nBins[f]
  private readonly histOff: Int32Array; // in bins
  private readonly histLen: number;
  private readonly ctx: SplitContext;
  /** The working memory; raw (the scores) and y (the labels) are filled by the caller. */
  readonly ws: ReturnType<typeof createWorkspace>;
  private readonly rootCounts: ReturnType<typeof binCounts>;
  private readonly free: number[] = [];
  private readonly sums = new Float64Array(2);
  private readonly best: Split = { gain: 0, feature: -1, bin: 0, missingLeft: false, gl: 0, hl: 0, cl: 0 };

  constructor(
    X: Float32Array,
    private readonly n: number,
    d: number,
    private readonly cls: boolean,
    private readonly params: GbdtParams,
    options: GbdtOptions,
    /** A softmax fit's classes (ws.scores, ws.y class indices, grow(c)); 0: regression or binary. */
    classes = 0,
  ) {
    this.edges = computeBinEdges(X, n, d, params.bins);
    const S = cls ? 3 : 2;
    this.nBins = new Int32Array(d);
    this.histOff = new Int32Array(d + 1);
    for (let f = 0; f < d; f++) {
      this.nBins[f] = this.edges[f].length + 1;
      this.histOff[f + 1] = this.histOff[f] + this.nBins[f] + 1;
    }
    this.histLen = this.histOff[d] * S;
    this.ctx = { d, stride: S, nBins: this.nBins, histOff: this.histOff, minLeaf: params.min_leaf, lambda: params.l2 };
    const pool = params.depth + 2;
    // small fits stay on one thread: starting a worker costs more than they do
    const threads = n * d >= MIN_THREADED_WORK ? options.threads : 1;
    // each row's leaf and the leaves' values: a tree's rows are marked with their leaves, the next
    // tree's gradient pass adds the values to the scores (ws.gradients)
    const leaves = Math.min(2 ** params.depth, n);
    this.ws = createWorkspace({ n, d, cls, histLen: this.histLen, histOff: this.histOff, pool, leaves, engine: options.engine, threads, classes });
    binColumns(X, n, d, this.edges, this.ws.codes);
    this.rootCounts = binCounts(this.ws.codes, n, d, this.histOff);
    for (let k = pool - 1; k >= 0; k--) this.free.push(k);
  }

  /** Ends the histogram worker threads. */
  close(): void {
    this.ws.close();
  }

  private takeHist(): number {
    const k = this.free.pop();
    if (k === undefined) throw new Error("gbdt: internal error (histogram pool exhausted)");
    return k;
  }

  private giveHist(k: number): void {
    if (k >= 0) this.free.push(k);
  }

  private canSplit(depth: number, c: number): boolean {
    return depth < this.params.depth && c >= 2 * this.params.min_leaf;
  }

  /**
   * One tree on the gradients of `ws.raw` (scores) and `ws.y`; its leaf values
   * reach `ws.raw` at the next tree's start (or never, after the last tree).
   * A softmax fit: class c's tree, on `ws.scores` (ws.gradients).
   */
  grow(c = 0): GbdtTree {
    const { n, ws } = this;
    // raw += the last tree's leaf values; og/oh from raw and y, rows in natural order (position i is row i), on every thread
    ws.gradients(this.sums, c);
    const G = this.sums[0];
    const H = this.sums[1];
    const tree: GbdtTree = { feature: [], threshold: [], missingLeft: [], left: [], right: [], value: [] };
    let leaves = 0;
    let rootHist = -1;
    if (this.canSplit(0, n)) {
      rootHist = this.takeHist();
      ws.histRoot(rootHist, this.rootCounts);
    }
    const stack: PendingNode[] = [{ id: addNode(tree), start: 0, end: n, depth: 0, hist: rootHist, g: G, h: H, c: n }];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.hist < 0 || !findSplit(this.ctx, ws.hists[node.hist], node.g, node.h, node.c, this.best)) {
        this.giveHist(node.hist);
        const v = (-this.params.learning_rate * node.g) / (node.h + this.params.l2);
        tree.value[node.id] = v;
        ws.leafValue[leaves] = v;
        markLeaf(ws.leafOf, ws.bufs[node.depth & 1].idx, node.start, node.end, leaves);
        leaves++;
        continue;
      }
      if (!this.canSplit(node.depth + 1, this.best.cl) && !this.canSplit(node.depth + 1, node.c - this.best.cl)) {
        // both children are leaves (the last level, or too small): mark their rows, no partition
        this.splitIntoLeaves(tree, node, leaves);
        leaves += 2;
        continue;
      }
      const [left, right] = this.split(tree, node);
      stack.push(right, left);
    }
    return tree;
  }

  /**
   * Splits `node` on `this.best` into two leaves, numbered `leaf` and `leaf + 1`
   * (the numbers and values they would get popped as leaves after a partition),
   * by marking each row's leaf: the rows need not move, since nothing below reads their order.
   */
  private splitIntoLeaves(tree: GbdtTree, node: PendingNode, leaf: number): void {
    const { feature: f, bin, missingLeft, gl, hl, cl } = this.best;
    this.giveHist(node.hist);
    const [leftId, rightId] = this.recordSplit(tree, node.id, f, bin, missingLeft);
    const { learning_rate: lr, l2 } = this.params;
    const vl = (-lr * gl) / (hl + l2);
    const vr = (-lr * (node.g - gl)) / (node.h - hl + l2);
    tree.value[leftId] = vl;
    tree.value[rightId] = vr;
    const { ws } = this;
    ws.leafValue[leaf] = vl;
    ws.leafValue[leaf + 1] = vr;
    const lefts = ws.markSplit(f, this.nBins[f], bin, missingLeft, node.start, node.end, leaf, node.depth & 1);
    if (lefts !== cl) throw new Error("gbdt: internal error (split does not match histogram)");
  }

  /** Records node `id`'s split on feature f at bin `bin`; returns its two new children's ids. */
  private recordSplit(tree: GbdtTree, id: number, f: number, bin: number, missingLeft: boolean): [number, number] {
    const edge = this.edges[f];
    tree.feature[id] = f;
    tree.threshold[id] = bin < edge.length ? edge[bin] : FLOAT32_MAX;
    tree.missingLeft[id] = missingLeft;
    const leftId = addNode(tree);
    const rightId = addNode(tree); // always leftId + 1
    tree.left[id] = leftId;
    tree.right[id] = rightId;
    return [leftId, rightId];
  }

  /** Splits `node` on `this.best`: partitions its rows, records the split, gives its children their histograms. */
  private split(tree: GbdtTree, node: PendingNode): [PendingNode, PendingNode] {
    const { id, start, end, depth, hist } = node;
    const { feature: f, bin, missingLeft, gl, hl, cl } = this.best;
    // into the other row buffer: the first cl positions take the rows going left
    const mid = start + cl;
    const lefts = this.ws.partition(f, this.nBins[f], bin, missingLeft, start, end, mid, depth & 1);
    if (lefts !== cl) throw new Error("gbdt: internal error (partition does not match histogram)");
    const [leftId, rightId] = this.recordSplit(tree, id, f, bin, missingLeft);
    const cr = node.c - cl;
    const children = { start, mid, end, buf: (depth + 1) & 1 };
    const [leftHist, rightHist] = this.childHistograms(hist, children, this.canSplit(depth + 1, cl), this.canSplit(depth + 1, cr));
    return [
      { id: leftId, start, end: mid, depth: depth + 1, hist: leftHist, g: gl, h: hl, c: cl },
      { id: rightId, start: mid, end, depth: depth + 1, hist: rightHist, g: node.g - gl, h: node.h - hl, c: cr },
    ];
  }

  /**
   * The histogram slots of the two children (-1 for a child that will not
   * split): the smaller child is built from its rows, the larger is the
   * parent's minus the smaller one, in the parent's slot.
   */
  private childHistograms(
    hist: number,
    { start, mid, end, buf }: { start: number; mid: number; end: number; buf: number },
    leftSplits: boolean,
    rightSplits: boolean,
  ): [number, number] {
    if (!leftSplits && !rightSplits) {
      this.giveHist(hist);
      return [-1, -1];
    }
    const leftSmaller = mid - start <= end - mid;
    const sStart = leftSmaller ? start : mid;
    const sEnd = leftSmaller ? mid : end;
    const largerSplits = leftSmaller ? rightSplits : leftSplits;
    const smallerSplits = leftSmaller ? leftSplits : rightSplits;
    const small = this.takeHist();
    this.ws.hist(small, sStart, sEnd, buf);
    let large = -1;
    if (largerSplits) {
      subtractInto(this.ws.hists[hist], this.ws.hists[small], this.histLen);
      large = hist;
    } else this.giveHist(hist);
    let smallKept = small;
    if (!smallerSplits) {
      this.giveHist(small);
      smallKept = -1;
    }
    return leftSmaller ? [smallKept, large] : [large, smallKept];
  }
}

function addNode(tree: GbdtTree): number {
  tree.feature.push(-1);
  tree.threshold.push(0);
  tree.missingLeft.push(false);
  tree.left.push(-1);
  tree.right.push(-1);
  tree.value.push(0);
  return tree.feature.length - 1;
}

function flatten(fit: GbdtFit, d: number): FlatForest {
  let total = 0;
  for (const t of fit.trees) total += t.feature.length;
  const feat = new Int32Array(total);
  const thr = new Float64Array(total);
  const mleft = new Int32Array(total);
  const left = new Int32Array(total);
  const value = new Float64Array(total);
  const roots = new Int32Array(fit.trees.length);
  const depths = new Int32Array(fit.trees.length);
  let o = 0;
  for (let t = 0; t < fit.trees.length; t++) {
    const tr = fit.trees[t];
    const m = tr.feature.length;
    roots[t] = o;
    const depth = new Int32Array(m); // children always have larger ids than their parent
    let maxDepth = 0;
    for (let k = 0; k < m; k++) {
      const f = tr.feature[k];
      if (f >= d) throw new Error(`gbdt predict: tree ${t} uses feature ${f} but X has ${d} columns`);
      if (f >= 0) {
        const l = tr.left[k];
        if (tr.right[k] !== l + 1 || l <= k || l + 1 >= m) {
          throw new Error(`gbdt predict: tree ${t} node ${k} has malformed children`);
        }
        feat[o + k] = f;
        thr[o + k] = tr.threshold[k];
        mleft[o + k] = tr.missingLeft[k] ? 1 : 0;
        left[o + k] = o + l;
        depth[l] = depth[l + 1] = depth[k] + 1;
        if (depth[k] + 1 > maxDepth) maxDepth = depth[k] + 1;
      } else {
        feat[o + k] = 0;
        thr[o + k] = Infinity;
        mleft[o + k] = 1;
        left[o + k] = o + k;
        value[o + k] = tr.value[k];
      }
    }
    depths[t] = maxDepth;
    o += m;
  }
  return { feat, thr, mleft, left, value, roots, depths };
}

/**
 * Raw scores (before the sigmoid) for row-major X [n × d]; large inputs on
 * `threads` threads (default: defaultThreads()), bit-identical for any number.
 */
export function predictGbdtRaw(fit: GbdtFit, X: Float32Array, n: number, d: number, threads?: number): Float64Array {
  if (X.length < n * d) throw new Error(`gbdt predict: X has ${X.length} values, expected ${n * d}`);
  const out = new Float64Array(n);
  predictForest(flatten(fit, d), fit.baseScore, X, n, d, out, threads);
  return out;
}

/** Predictions: regression values, or the probability of class 1 (multiclass: gbdt-multiclass.ts). */
export function predictGbdt(fit: GbdtFit, X: Float32Array, n: number, d: number, threads?: number): Float64Array {
  if (fit.baseScores) throw new Error("predictGbdt: a multiclass forest is predicted by predictGbdtMulticlass");
  const out = predictGbdtRaw(fit, X, n, d, threads);
  if (fit.task === "binary_classification") {
    for (let i = 0; i < n; i++) {
      const z = out[i];
      const e = Math.exp(-Math.abs(z));
      out[i] = z >= 0 ? 1 / (1 + e) : e / (1 + e);
    }
  }
  return out;
}
