// Registering an externally trained ONNX model (`algorithm onnx("file")`,
// `fti register`). fti still owns the MDTs: they are fitted on the view's
// train split exactly as for a built-in trainer, the ONNX input must take the
// encoded matrix (one float tensor [N, width]), and the version is measured on
// the test split and gated like any other. A multiclass model's first output
// is its K class probabilities [N, K], in the order external-classes.ts says;
// the version stores that order as its classes, and is served like a trained one.

import type { ModelPlan, SpecBundle } from "../api.ts";
import { findModel } from "../bundle.ts";
import { clip } from "../clip-text.ts";
import { UserError } from "../errors.ts";
import { checkServingSignature, inspectOnnx, loadOnnx, outputsPerRow, type Dim, type OnnxInfo, type TensorInfo } from "../onnx/session.ts";
import { sha256Hex, type GateResult, type Stage } from "../registry/registry.ts";
import type { Store } from "../store/store.ts";
import { withOutputFirst } from "../onnx/output-first.ts";
import { externalClassOrder, notProbabilities, reindexLabels } from "./external-classes.ts";
import {
  finishTimings,
  prepareData,
  registrationReport,
  scoreAndRegister,
  stepTimer,
  type TrainOptions,
} from "./train.ts";

export interface ExternalReport {
  model: string;
  version: number;
  stage: Stage;
  promoted: boolean;
  width: number;
  metrics: Record<string, number>;
  baseline: Record<string, number>;
  gates: GateResult[];
  failingGates: string[];
  /** Multiclass: the classes in the order of the model's probabilities, and test rows per label unseen in training. */
  classes?: Array<string | number>;
  unseenTestLabels?: Record<string, number>;
  rows: { total: number; train: number; test: number; droppedLabels: number };
  /** The stored model (`movedFirst`: the file's probabilities output moved first, probabilitiesFirst). */
  onnx: { bytes: number; sha256: string; input: string; output: string; movedFirst?: boolean };
  timings: Record<string, number>;
}

/** The file's inputs, outputs and metadata: the one decode of its protobuf in a registration. */
function inspectFile(plan: ModelPlan, bytes: Uint8Array): OnnxInfo {
  try {
    return inspectOnnx(bytes);
  } catch (e) {
    throw new UserError(`cannot register \`${plan.name}\`: the file is not a readable ONNX model (${(e as Error).message})`);
  }
}

/**
 * A multiclass model with its probabilities [N, K] as the first output: scikit-learn's
 * converter writes the predicted label first and the probabilities second, so the first
 * output of that shape is moved to the front (the stored model; its other bytes unchanged;
 * its info the file's with the outputs in the new order).
 */
function probabilitiesFirst(plan: ModelPlan, bytes: Uint8Array, info: OnnxInfo): { bytes: Uint8Array; info: OnnxInfo } {
  const index = info.outputs.findIndex((o) => (o.elemType === 1 || o.elemType === 11) && outputsPerRow({ outputs: [o] }) >= 2 && o.shape?.length === 2);
  if (index <= 0) return { bytes, info };
  try {
    const outputs = [info.outputs[index], ...info.outputs.filter((_, i) => i !== index)];
    return { bytes: withOutputFirst(bytes, index), info: { ...info, outputs } };
  } catch (e) {
    throw new UserError(`cannot register \`${plan.name}\`: its probabilities are output ${index + 1}, and moving them first failed (${(e as Error).message})`, "export the model with the class probabilities as its first output");
  }
}

/**
 * The file's model run on the test rows. A model onnxruntime refuses (an operator it does not know, weights kept
 * in external data files) or fails to run is the file's fault: said as such (exit 1), not as a bug in fti (exit 3).
 */
async function runFile(plan: ModelPlan, bytes: Uint8Array, info: OnnxInfo, X: Float32Array, n: number): Promise<Float32Array> {
  try {
    return await (await loadOnnx(bytes, { info })).predict(X, n);
  } catch (e) {
    const message = (e as Error).message;
    if (!/^(onnxruntime (could not load|failed to run) the model|the ONNX model)/.test(message)) throw e;
    // A model loaded from bytes has no folder for its external data: onnxruntime says "model_path must not be empty".
    const external = /external data|model_path must not be empty/i.test(message);
    throw new UserError(
      `cannot register \`${plan.name}\`: ${clip(message.replace(/\s+/g, " ").trim(), 400)}`,
      external ? "the model keeps weights in external data files: save it with every tensor inside the .onnx file (fti stores the model whole)" : "check the file with onnxruntime (InferenceSession.create and run on a float [N, width] input)",
    );
  }
}

function showShape(shape: readonly Dim[] | undefined): string {
  return shape ? `[${shape.map((d) => (typeof d === "number" && d >= 0 ? String(d) : d || "N")).join(", ")}]` : "[?]";
}

/** The matrix width the MDTs produce when it is known without data (no fitted one_hot). */
export function staticWidth(plan: ModelPlan): number | null {
  let w = 0;
  for (const input of plan.inputs) {
    const last = input.steps[input.steps.length - 1];
    if (last?.kind === "one_hot") {
      const cats = last.params.categories as unknown[] | undefined;
      if (!cats) return null;
      w += cats.length;
    } else {
      w += 1;
    }
  }
  return w;
}

function mismatch(plan: ModelPlan, what: string, expected: string, found: string): UserError {
  return new UserError(
    `cannot register \`${plan.name}\`: the ONNX ${what} must be ${expected}, found ${found}`,
    `export the model to take the encoded inputs (${plan.inputs.map((i) => i.name).join(", ")}) as one float tensor`,
  );
}

/**
 * Checks the file against fti's serving contract (one float input [N, width],
 * first output [N, 1] or [N], or [N, K] for multiclass); `width` null = not known yet (checked again
 * after the MDT fit).
 */
function checkSignature(plan: ModelPlan, info: OnnxInfo, width: number | null): { input: string; output: string } {
  const io = (list: TensorInfo[]) => list.map((t) => `${t.name}: ${t.type} ${showShape(t.shape)}`).join(", ") || "none";
  const multiclass = plan.task === "multiclass_classification";
  const problem = checkServingSignature(info, multiclass);
  if (problem) {
    const outputs = multiclass ? "a first output [N, K] (the probabilities of the K classes)" : "an output [N, 1] or [N]";
    const e = mismatch(plan, "signature", `one float input [N, ${width ?? "width"}] and ${outputs}`,
      `inputs ${io(info.inputs)}; outputs ${io(info.outputs)} (${problem})`);
    // skl2onnx's default: the probabilities as a sequence of maps (ZipMap), not a tensor
    if (multiclass && info.outputs.some((o) => o.type === "sequence" || o.type === "map")) {
      throw new UserError(e.message, "the probabilities must be a tensor [N, K], not a sequence of maps: with skl2onnx, convert with options={id(model): {'zipmap': False}}");
    }
    throw e;
  }
  const [input] = info.inputs;
  const [output] = info.outputs;
  if (width !== null && input.shape![1] !== width) {
    throw mismatch(plan, "input width", `${width} (the MDT output width)`, showShape(input.shape));
  }
  return { input: `${input.name} ${showShape(input.shape)}`, output: `${output.name} ${showShape(output.shape)}` };
}

export async function registerExternal(
  store: Store,
  bundle: SpecBundle,
  modelName: string,
  fileBytes: Uint8Array,
  opts: TrainOptions = {},
): Promise<ExternalReport> {
  const t0 = performance.now();
  const { plan, view } = findModel(bundle, modelName);
  const fileInfo = inspectFile(plan, fileBytes);
  const { bytes: onnxBytes, info } = plan.task === "multiclass_classification" ? probabilitiesFirst(plan, fileBytes, fileInfo) : { bytes: fileBytes, info: fileInfo };
  // Fail fast, before building the frame, when the width is known statically.
  const known = staticWidth(plan);
  checkSignature(plan, info, known);

  const timings: Record<string, number> = {};
  const timed = stepTimer(timings, opts.onProgress);
  const data = await prepareData(store, bundle, plan, timed);
  const width = data.state.width;
  const sig = checkSignature(plan, info, width);
  const k = outputsPerRow(info);
  if (data.state.classes) {
    // the version's classes are the model's column order; the labels are re-read in it
    const trained = data.state.classes;
    const order = externalClassOrder(plan, info.metadata, k, trained);
    data.state.classes = order;
    data.yTrain = reindexLabels(data.yTrain, trained, order);
    data.yTest = reindexLabels(data.yTest, trained, order);
  }

  const nTest = data.split.test.length;
  const pred = await timed("verify", `running the ONNX model on ${nTest} test rows`, async () => {
    const out = await runFile(plan, onnxBytes, info, data.XTest, nTest);
    if (out.length !== nTest * k) {
      throw new UserError(`cannot register \`${plan.name}\`: the ONNX model returned ${out.length} predictions for ${nTest} rows${k > 1 ? ` of ${k}` : ""}`);
    }
    const bad = data.state.classes ? notProbabilities(out, nTest, k) : null;
    if (bad) {
      throw new UserError(
        `cannot register \`${plan.name}\`: a multiclass model's outputs must be class probabilities (each in [0, 1], each row summing to 1); ${bad}`,
        "end the model with a Softmax (raw scores are not probabilities)",
      );
    }
    return out;
  });
  const algorithm = plan.algorithm;
  const result = await scoreAndRegister(
    store,
    bundle,
    plan,
    view,
    data,
    pred,
    { algorithm: "onnx", params: algorithm.kind === "onnx" ? { file: algorithm.file } : { declared: algorithm.kind }, onnx: onnxBytes },
    timed,
  );
  return {
    ...registrationReport(plan, result, data),
    ...(data.state.classes ? { classes: data.state.classes, unseenTestLabels: data.unseen ?? {} } : {}),
    width,
    onnx: { bytes: onnxBytes.byteLength, sha256: sha256Hex(onnxBytes), ...sig, ...(onnxBytes !== fileBytes ? { movedFirst: true } : {}) },
    timings: finishTimings(timings, t0),
  };
}
