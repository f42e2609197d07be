// A tree-ensemble regressor scored in JavaScript with onnxruntime's
// arithmetic, for the few rows of an online request.
//
// One onnxruntime run costs ~15–25 µs whatever its size (the N-API call, the
// tensors, the session's bookkeeping, a setImmediate hop in onnxruntime-node);
// the 40 trees of depth 6 of the bench model are ~240 comparisons. Online,
// at one row per run, that run was the largest single part of a prediction's
// CPU (38 % in process). So a model whose graph is exactly one
// TreeEnsembleRegressor of the form fti exports (runtime/onnx/export.ts; a
// model from elsewhere in that form too) is scored here for small batches,
// with what onnxruntime computes for a single-threaded session: per row, a
// float32 score starting at 0, each tree's leaf weight added in tree order
// (rounded to float32 after each addition), then the base value added;
// branches `x <= threshold` on float32 values, a NaN taking the true branch
// where `nodes_missing_value_tracks_true` says so.
// test/onnx-tree-js.test.ts compares it with onnxruntime bit for bit on
// trained models and rows built to sit on thresholds, NaN and ±Infinity.
//
// Anything else (other operators, several targets, other aggregates or post
// transforms, branch modes other than BRANCH_LEQ, several weights on a leaf,
// tensor-valued attributes) is not recognized: onnxruntime scores it.

import { attributeString, decodeModel, type Attribute, type Model } from "./proto.ts";

/** Trees flattened: per node its feature, threshold, children, missing direction; leaves carry their weight. */
export interface JsTreeRegressor {
  /** Input width the nodes read (the largest feature id + 1). */
  readonly minWidth: number;
  /** Trees in the ensemble. */
  readonly trees: number;
  /** One float32 prediction per row of the row-major X [n × width]. */
  predict(X: Float32Array, n: number, width: number): Float32Array;
}

const ALLOWED = new Set([
  "n_targets",
  "aggregate_function",
  "post_transform",
  "base_values",
  "nodes_treeids",
  "nodes_nodeids",
  "nodes_featureids",
  "nodes_modes",
  "nodes_values",
  "nodes_truenodeids",
  "nodes_falsenodeids",
  "nodes_missing_value_tracks_true",
  "target_treeids",
  "target_nodeids",
  "target_ids",
  "target_weights",
]);

/** The JS scorer of an ONNX model's bytes, or null when its graph is not a single plain TreeEnsembleRegressor. */
export function jsTreeRegressor(bytes: Uint8Array): JsTreeRegressor | null {
  let model: Model;
  try {
    model = decodeModel(bytes);
  } catch {
    return null;
  }
  const g = model.graph;
  if (g.node.length !== 1 || g.input.length !== 1 || g.output.length !== 1) return null;
  const node = g.node[0];
  if (node.op_type !== "TreeEnsembleRegressor" || node.domain !== "ai.onnx.ml") return null;
  if (node.input[0] !== g.input[0].name || node.output[0] !== g.output[0].name || (g.initializer?.length ?? 0) > 0) return null;
  const attrs = new Map<string, Attribute>();
  for (const a of node.attribute ?? []) {
    if (!ALLOWED.has(a.name)) return null;
    attrs.set(a.name, a);
  }
  return buildForest(attrs);
}

const ints = (attrs: Map<string, Attribute>, name: string) => attrs.get(name)?.ints ?? [];
const floats = (attrs: Map<string, Attribute>, name: string) => attrs.get(name)?.floats ?? [];
const str = (attrs: Map<string, Attribute>, name: string) => {
  const a = attrs.get(name);
  return a ? attributeString(a) : undefined;
};

function buildForest(attrs: Map<string, Attribute>): JsTreeRegressor | null {
  if ((attrs.get("n_targets")?.i ?? 1) !== 1) return null;
  if ((str(attrs, "aggregate_function") ?? "SUM") !== "SUM" || (str(attrs, "post_transform") ?? "NONE") !== "NONE") return null;
  const base = floats(attrs, "base_values");
  if (base.length > 1) return null;
  const treeIds = ints(attrs, "nodes_treeids");
  const nodeIds = ints(attrs, "nodes_nodeids");
  const featureIds = ints(attrs, "nodes_featureids");
  const modes = (attrs.get("nodes_modes")?.strings ?? []).map((s) => new TextDecoder().decode(s));
  const values = floats(attrs, "nodes_values");
  const trueIds = ints(attrs, "nodes_truenodeids");
  const falseIds = ints(attrs, "nodes_falsenodeids");
  const missing = ints(attrs, "nodes_missing_value_tracks_true");
  const n = treeIds.length;
  if (n === 0 || [nodeIds, featureIds, modes, values, trueIds, falseIds].some((a) => a.length !== n) || (missing.length !== 0 && missing.length !== n)) return null;
  // Trees in the order of their ids, each tree's nodes together (as fti writes them): that order is the sum's.
  const index = new Map<string, number>();
  const roots: number[] = [];
  for (let k = 0; k < n; k++) {
    if (k > 0 && treeIds[k] < treeIds[k - 1]) return null;
    if (k === 0 || treeIds[k] !== treeIds[k - 1]) roots.push(-1);
    const key = `${treeIds[k]}:${nodeIds[k]}`;
    if (index.has(key)) return null;
    index.set(key, k);
    if (modes[k] !== "BRANCH_LEQ" && modes[k] !== "LEAF") return null;
  }
  const feat = new Int32Array(n);
  const thr = new Float32Array(n);
  const next = new Int32Array(2 * n); // true child, false child (global ids); -1 for a leaf
  const nanTrue = new Uint8Array(n);
  const weight = new Float32Array(n);
  const hasWeight = new Uint8Array(n);
  let minWidth = 0;
  let t = -1;
  for (let k = 0; k < n; k++) {
    if (k === 0 || treeIds[k] !== treeIds[k - 1]) t++;
    if (nodeIds[k] === 0) roots[t] = k;
    if (modes[k] === "LEAF") {
      next[2 * k] = next[2 * k + 1] = -1;
      continue;
    }
    const yes = index.get(`${treeIds[k]}:${trueIds[k]}`);
    const no = index.get(`${treeIds[k]}:${falseIds[k]}`);
    if (yes === undefined || no === undefined || featureIds[k] < 0) return null;
    feat[k] = featureIds[k];
    thr[k] = values[k];
    next[2 * k] = yes;
    next[2 * k + 1] = no;
    nanTrue[k] = missing.length ? (missing[k] ? 1 : 0) : 0;
    minWidth = Math.max(minWidth, featureIds[k] + 1);
  }
  if (roots.some((r) => r < 0)) return null;
  const tTree = ints(attrs, "target_treeids");
  const tNode = ints(attrs, "target_nodeids");
  const tIds = ints(attrs, "target_ids");
  const tW = floats(attrs, "target_weights");
  if (tNode.length !== tTree.length || tW.length !== tTree.length || (tIds.length !== 0 && tIds.length !== tTree.length)) return null;
  for (let j = 0; j < tTree.length; j++) {
    const k = index.get(`${tTree[j]}:${tNode[j]}`);
    if (k === undefined || modes[k] !== "LEAF" || hasWeight[k] || (tIds.length && tIds[j] !== 0)) return null;
    weight[k] = tW[j];
    hasWeight[k] = 1;
  }
  for (let k = 0; k < n; k++) if (modes[k] === "LEAF" && !hasWeight[k]) return null;
  // A leaf reached with no weight, or a cycle, is not a forest this scorer knows: refuse rather than loop.
  if (!acyclic(roots, next, n)) return null;
  const baseValue = Math.fround(base[0] ?? 0);
  const rootIds = Int32Array.from(roots);
  const fround = Math.fround;
  return {
    minWidth,
    trees: rootIds.length,
    predict(X, rows, width) {
      const out = new Float32Array(rows);
      for (let i = 0; i < rows; i++) {
        const at = i * width;
        let score = 0;
        for (let r = 0; r < rootIds.length; r++) {
          let k = rootIds[r];
          while (next[2 * k] >= 0) {
            const x = X[at + feat[k]];
            k = x <= thr[k] || (nanTrue[k] === 1 && x !== x) ? next[2 * k] : next[2 * k + 1];
          }
          score = fround(score + weight[k]);
        }
        out[i] = fround(score + baseValue);
      }
      return out;
    },
  };
}

/** Every path from every root ends at a leaf within n steps. */
function acyclic(roots: readonly number[], next: Int32Array, n: number): boolean {
  const state = new Uint8Array(n); // 0 unseen, 1 on the stack, 2 done
  const stack: number[] = [];
  for (const r of roots) {
    stack.push(r);
    while (stack.length) {
      const k = stack[stack.length - 1];
      if (state[k] === 0) {
        state[k] = 1;
        for (const c of [next[2 * k], next[2 * k + 1]]) {
          if (c < 0) continue;
          if (state[c] === 1) return false;
          if (state[c] === 0) stack.push(c);
        }
      } else {
        stack.pop();
        state[k] = 2;
      }
    }
  }
  return true;
}
