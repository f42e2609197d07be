// TrainedModel → ONNX bytes. Every exported model has one input `features`
// float [N, width] and one output `prediction` float [N, 1] (the regression
// value, or the probability of class 1):
//
//   linear:        features → ai.onnx.ml.LinearRegressor → prediction
//   logistic:      features → ai.onnx.ml.LinearRegressor → logit → Sigmoid → prediction
//   gbdt (reg.):   features → ai.onnx.ml.TreeEnsembleRegressor → prediction
//   gbdt (binary): features → ai.onnx.ml.TreeEnsembleRegressor → raw_score → Sigmoid → prediction
//
// Multiclass models (K classes) output `prediction` float [N, K], the class
// probabilities in the order of the model version's classes (sorted):
//
//   logistic:      features → LinearRegressor (targets = K) → logits → Softmax(axis 1) → prediction
//   gbdt:          features → TreeEnsembleRegressor (n_targets = K) → raw_score → Softmax(axis 1) → prediction
//
// Classifiers are exported as "regressor of the log-odds + Sigmoid" rather
// than LinearClassifier / TreeEnsembleClassifier: those emit a label tensor
// plus a [N, 2] score tensor whose binary-case layout depends on post_transform
// and class-label conventions; the regressor form yields exactly one [N, 1]
// probability with standard ops, and reproduces the trainer bit for bit up to
// float32 rounding. Opsets: ai.onnx.ml 3 (TreeEnsembleRegressor v3 has
// nodes_missing_value_tracks_true), ai.onnx 17, IR version 8.

import { outputsOf, type GbdtModel, type LinearModel, type LogisticModel, type MultinomialModel, type TrainedModel } from "../learners/index.ts";
import { attr, DataType, encodeModel, tensorValueInfo, type Model, type Node } from "./proto.ts";

export const INPUT_NAME = "features";
export const OUTPUT_NAME = "prediction";
export const IR_VERSION = 8;
export const ONNX_OPSET = 17;
export const ONNX_ML_OPSET = 3;
export const ML_DOMAIN = "ai.onnx.ml";

export interface ExportOptions {
  /** Input width (the encoded matrix width); must equal the model's. */
  width: number;
  /** A multiclass model's classes, in output order: recorded as metadata `fti.classes` (JSON). */
  classes?: Array<string | number>;
}

function linearNode(m: LinearModel | LogisticModel | MultinomialModel, output: string): Node {
  const multi = m.task === "multiclass_classification";
  return {
    input: [INPUT_NAME],
    output: [output],
    name: "linear",
    op_type: "LinearRegressor",
    domain: ML_DOMAIN,
    attribute: [
      // [targets × width], row-major
      attr.floats("coefficients", m.weights),
      attr.floats("intercepts", multi ? m.intercepts : [m.intercept]),
      attr.int("targets", multi ? m.classes : 1),
      attr.string("post_transform", "NONE"),
    ],
  };
}

function sigmoidNode(input: string): Node {
  return { input: [input], output: [OUTPUT_NAME], name: "sigmoid", op_type: "Sigmoid", domain: "" };
}

function softmaxNode(input: string): Node {
  return { input: [input], output: [OUTPUT_NAME], name: "softmax", op_type: "Softmax", domain: "", attribute: [attr.int("axis", 1)] };
}

function treeNode(m: GbdtModel, output: string): Node {
  const treeIds: number[] = [];
  const nodeIds: number[] = [];
  const featureIds: number[] = [];
  const modes: string[] = [];
  const values: number[] = [];
  const trueIds: number[] = [];
  const falseIds: number[] = [];
  const missingTrue: number[] = [];
  const tTree: number[] = [];
  const tNode: number[] = [];
  const tWeight: number[] = [];
  const tTarget: number[] = [];
  // multiclass: trees[r * K + c] adds to target c
  const K = m.baseScores ? m.baseScores.length : 1;
  const trees = m.trees.length > 0 ? m.trees : [
    // ONNX needs at least one tree: a single leaf worth 0
    { feature: [-1], threshold: [0], missingLeft: [false], left: [-1], right: [-1], value: [0] },
  ];
  trees.forEach((tree, t) => {
    for (let k = 0; k < tree.feature.length; k++) {
      const f = tree.feature[k];
      treeIds.push(t);
      nodeIds.push(k);
      if (f >= 0) {
        if (f >= m.width) throw new Error(`exportOnnx: tree ${t} splits on feature ${f} but the width is ${m.width}`);
        // true branch: x <= threshold (plus NaN when missing values go left)
        featureIds.push(f);
        modes.push("BRANCH_LEQ");
        values.push(tree.threshold[k]);
        trueIds.push(tree.left[k]);
        falseIds.push(tree.right[k]);
        missingTrue.push(tree.missingLeft[k] ? 1 : 0);
      } else {
        featureIds.push(0);
        modes.push("LEAF");
        values.push(0);
        trueIds.push(0);
        falseIds.push(0);
        missingTrue.push(0);
        tTree.push(t);
        tNode.push(k);
        tWeight.push(tree.value[k]);
        tTarget.push(t % K);
      }
    }
  });
  return {
    input: [INPUT_NAME],
    output: [output],
    name: "trees",
    op_type: "TreeEnsembleRegressor",
    domain: ML_DOMAIN,
    attribute: [
      attr.int("n_targets", K),
      attr.string("aggregate_function", "SUM"),
      attr.string("post_transform", "NONE"),
      attr.floats("base_values", m.baseScores ?? [m.baseScore]),
      attr.ints("nodes_treeids", treeIds),
      attr.ints("nodes_nodeids", nodeIds),
      attr.ints("nodes_featureids", featureIds),
      attr.strings("nodes_modes", modes),
      attr.floats("nodes_values", values),
      attr.ints("nodes_truenodeids", trueIds),
      attr.ints("nodes_falsenodeids", falseIds),
      attr.ints("nodes_missing_value_tracks_true", missingTrue),
      attr.ints("target_treeids", tTree),
      attr.ints("target_nodeids", tNode),
      attr.ints("target_ids", tTarget),
      attr.floats("target_weights", tWeight),
    ],
  };
}

/** Builds the ONNX model object (before encoding); exposed for tests and inspection. */
export function buildOnnxModel(model: TrainedModel, opts: ExportOptions): Model {
  const width = opts.width;
  if (!Number.isInteger(width) || width < 1) throw new Error(`exportOnnx: width must be a positive integer, got ${width}`);
  if (model.width !== width) {
    throw new Error(`exportOnnx: the model was trained on ${model.width} columns but width ${width} was requested`);
  }
  const nodes: Node[] = [];
  switch (model.kind) {
    case "linear":
      nodes.push(linearNode(model, OUTPUT_NAME));
      break;
    case "logistic":
      if (model.task === "multiclass_classification") nodes.push(linearNode(model, "logits"), softmaxNode("logits"));
      else nodes.push(linearNode(model, "logit"), sigmoidNode("logit"));
      break;
    case "gbdt":
      if (model.task === "multiclass_classification") nodes.push(treeNode(model, "raw_score"), softmaxNode("raw_score"));
      else if (model.task === "binary_classification") nodes.push(treeNode(model, "raw_score"), sigmoidNode("raw_score"));
      else nodes.push(treeNode(model, OUTPUT_NAME));
      break;
    default:
      throw new Error(`exportOnnx: unknown model kind ${String((model as { kind: unknown }).kind)}`);
  }
  return {
    ir_version: IR_VERSION,
    opset_import: [
      { domain: "", version: ONNX_OPSET },
      { domain: ML_DOMAIN, version: ONNX_ML_OPSET },
    ],
    producer_name: "fti",
    producer_version: "0.1.0",
    graph: {
      name: `fti_${model.kind}_${model.task}`,
      node: nodes,
      input: [tensorValueInfo(INPUT_NAME, DataType.FLOAT, ["N", width])],
      output: [tensorValueInfo(OUTPUT_NAME, DataType.FLOAT, ["N", outputsOf(model)])],
    },
    metadata_props: [
      { key: "fti.kind", value: model.kind },
      { key: "fti.task", value: model.task },
      ...(opts.classes ? [{ key: "fti.classes", value: JSON.stringify(opts.classes) }] : []),
    ],
  };
}

/** Serialises a trained model to ONNX: input `features` float [N, width] → output `prediction` float [N, 1] ([N, K] for K classes). */
export function exportOnnx(model: TrainedModel, opts: ExportOptions): Uint8Array {
  return encodeModel(buildOnnxModel(model, opts));
}
