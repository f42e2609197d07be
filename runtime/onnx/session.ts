// Loading and inspecting ONNX models.
//
// inspectOnnx decodes the protobuf with proto.ts only (no onnxruntime): used
// to validate externally trained models before anything runs. loadOnnx
// creates an onnxruntime-node CPU session (imported lazily, so modules that
// only inspect never load the native binding) behind a small predictor
// interface: row-major Float32 [n × width] in, one Float32 per row out.

import { jsTreeRegressor } from "./tree-js.ts";
import type * as Ort from "onnxruntime-node";
import { dataTypeName, decodeModel, type Model, type ValueInfo } from "./proto.ts";

/** A dimension: a number (dim_value), a symbol such as "N" (dim_param), or null when unknown. */
export type Dim = number | string | null;

export interface TensorInfo {
  name: string;
  /** Element type name for tensors ("float", "double", "int64", ...), else "sequence" / "map" / "unknown". */
  type: string;
  /** TensorProto.DataType code (1 = float); 0 for non-tensors. */
  elemType: number;
  /** undefined when the model declares no shape. */
  shape: Dim[] | undefined;
}

export interface OnnxInfo {
  irVersion: number;
  opsets: Array<{ domain: string; version: number }>;
  producer: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Operators used, e.g. "ai.onnx.ml.TreeEnsembleRegressor", "Sigmoid". */
  operators: string[];
  /** The declared feature width when the model has one float input of shape [N, width]; else null. */
  width: number | null;
  metadata: Record<string, string>;
}

export interface OnnxPredictor {
  /** The declared input width (from the input shape), or null when it is dynamic. */
  readonly width: number | null;
  readonly inputName: string;
  readonly outputName: string;
  /** Values per row of the first output: K for an output [N, K] (a multiclass model's class probabilities), else 1. */
  readonly outputs: number;
  /** One prediction per row of the row-major X [n × width] (`outputs` per row, row-major). */
  predict(X: Float32Array, n: number): Promise<Float32Array>;
  describeIO(): { inputs: TensorInfo[]; outputs: TensorInfo[] };
  release(): Promise<void>;
}

function tensorInfo(v: ValueInfo): TensorInfo {
  const t = v.type;
  if (t?.tensor_type) {
    const elemType = t.tensor_type.elem_type ?? 0;
    const dims = t.tensor_type.shape?.dim;
    const shape = t.tensor_type.shape
      ? (dims ?? []).map((d): Dim =>
          typeof d.dim_value === "number" ? d.dim_value : typeof d.dim_param === "string" && d.dim_param ? d.dim_param : null,
        )
      : undefined;
    return { name: v.name, type: dataTypeName(elemType), elemType, shape };
  }
  const kind = t?.sequence_type ? "sequence" : t?.map_type ? "map" : t?.sparse_tensor_type ? "sparse_tensor" : t?.optional_type ? "optional" : "unknown";
  return { name: v.name, type: kind, elemType: 0, shape: undefined };
}

function describe(model: Model): OnnxInfo {
  const g = model.graph;
  // graph inputs that are also initializers are constants, not model inputs
  const initNames = new Set(((g.initializer ?? []) as Array<{ name?: string }>).map((t) => t.name));
  const inputs = g.input.filter((v) => !initNames.has(v.name)).map(tensorInfo);
  const outputs = g.output.map(tensorInfo);
  const operators = [...new Set(g.node.map((n) => (n.domain ? `${n.domain}.${n.op_type}` : n.op_type)))];
  let width: number | null = null;
  if (inputs.length === 1 && inputs[0].elemType === 1 && inputs[0].shape?.length === 2) {
    const w = inputs[0].shape[1];
    if (typeof w === "number" && w > 0) width = w;
  }
  const metadata: Record<string, string> = {};
  for (const p of model.metadata_props ?? []) metadata[p.key] = p.value;
  return {
    irVersion: model.ir_version,
    opsets: model.opset_import.map((o) => ({ domain: o.domain ?? "", version: Number(o.version) })),
    producer: [model.producer_name, model.producer_version].filter(Boolean).join(" "),
    inputs,
    outputs,
    operators,
    width,
    metadata,
  };
}

/**
 * Reads an ONNX model's signature without onnxruntime. Throws a clear Error
 * when the bytes are not an ONNX model.
 */
export function inspectOnnx(bytes: Uint8Array): OnnxInfo {
  return describe(decodeModel(bytes));
}

/**
 * Checks the fti serving contract: one float input [N, width], first output [N, 1] or [N];
 * a multiclass model's first output [N, K] with a fixed K >= 2 (the class probabilities).
 */
export function checkServingSignature(info: OnnxInfo, multiclass = false): string | null {
  if (info.inputs.length !== 1) return `expected one input, found ${info.inputs.length}`;
  const inp = info.inputs[0];
  if (inp.elemType !== 1) return `input \`${inp.name}\` must be float, found ${inp.type}`;
  if (!inp.shape || inp.shape.length !== 2) return `input \`${inp.name}\` must have shape [N, width]`;
  const out = info.outputs[0];
  if (!out) return "the model has no outputs";
  const s = out.shape;
  if (multiclass) {
    if (!s || s.length !== 2 || outputsPerRow(info) < 2) return `output \`${out.name}\` must have shape [N, K], K >= 2 the number of classes`;
    return null;
  }
  if (!s || !(s.length === 1 || (s.length === 2 && s[1] === 1))) return `output \`${out.name}\` must have shape [N, 1] or [N]`;
  return null;
}

let ortModule: Promise<typeof Ort> | null = null;
function loadOrt(): Promise<typeof Ort> {
  ortModule ??= import("onnxruntime-node");
  return ortModule;
}

/** How the session uses the CPU (onnxruntime's defaults when omitted). */
export interface OnnxSessionOptions {
  /**
   * Threads of one run (onnxruntime's intra-op pool; default: one per
   * physical core). With more than one, a tree ensemble scoring few rows sums
   * the trees in parallel, in another order than for many rows: the same row
   * can then score differently (by a float32 rounding) alone and in a batch.
   * One thread makes a row's prediction independent of its batch.
   */
  threads?: number;
  /**
   * Small runs of a single-threaded session over a plain tree-ensemble regressor scored in JavaScript
   * with onnxruntime's arithmetic (tree-js.ts; the same float32 results, without the ~15–25 µs of a run).
   * Default true; false always runs onnxruntime (tests compare both).
   */
  jsTrees?: boolean;
}

/** Up to this many (row × tree) pairs, a run of a plain tree ensemble is scored in JavaScript (about a microsecond per 40 trees of depth 6). */
export const JS_TREE_MAX_PAIRS = 4096;

/** onnxruntime SessionOptions for `opts`. */
export function ortSessionOptions(opts: OnnxSessionOptions = {}): Ort.InferenceSession.SessionOptions {
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads > 0)) {
    throw new Error(`loadOnnx: threads must be a positive integer, got ${opts.threads}`);
  }
  return {
    executionProviders: ["cpu"],
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
    ...(opts.threads !== undefined ? { intraOpNumThreads: opts.threads } : {}),
  };
}

/** Values per row of a model's first output: K for a declared shape [N, K], else 1. */
export function outputsPerRow(info: Pick<OnnxInfo, "outputs">): number {
  const s = info.outputs[0]?.shape;
  return s?.length === 2 && typeof s[1] === "number" && s[1] > 1 ? s[1] : 1;
}

/** `k` predictions per row (row-major) from a run's output tensor (`data` and `dims`), or a clear Error. */
export function predictionsOf(out: { data: unknown; dims: readonly number[] } | undefined, n: number, outputName: string, k = 1): Float32Array {
  if (!out || !("data" in out)) throw new Error(`the ONNX model did not produce output \`${outputName}\``);
  const data = out.data as ArrayLike<number | bigint> & { length: number };
  if (data.length !== n * k) {
    throw new Error(`the ONNX model's output \`${outputName}\` has ${data.length} values for ${n} rows${k > 1 ? ` of ${k}` : ""} (shape [${out.dims.join(", ")}])`);
  }
  if (data instanceof Float32Array) return data;
  if (data instanceof Float64Array || data instanceof Int32Array || data instanceof Uint8Array) return Float32Array.from(data);
  if (Array.isArray(data)) throw new Error(`the ONNX model's output \`${outputName}\` is not numeric`);
  return Float32Array.from(data, (v) => Number(v));
}

/** Creates an onnxruntime CPU session for the model; clear Errors for bad bytes or unsupported models. */
export async function loadOnnx(bytes: Uint8Array, opts: OnnxSessionOptions & { info?: OnnxInfo } = {}): Promise<OnnxPredictor> {
  // A caller that inspected the bytes already hands their info in (the protobuf is decoded once).
  const info = opts.info ?? inspectOnnx(bytes);
  if (info.inputs.length !== 1) {
    throw new Error(`the ONNX model must have exactly one input (a float tensor [N, width]); it has ${info.inputs.length}`);
  }
  if (info.outputs.length < 1) throw new Error("the ONNX model has no outputs");
  const input = info.inputs[0];
  const output = info.outputs[0];
  if (input.elemType !== 1) throw new Error(`the ONNX model's input \`${input.name}\` must be a float tensor, found ${input.type}`);

  const sessionOptions = ortSessionOptions(opts);
  const ort = await loadOrt();
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, sessionOptions);
  } catch (e) {
    throw new Error(`onnxruntime could not load the model: ${(e as Error).message}`);
  }
  const width = info.width;
  const io = { inputs: info.inputs, outputs: info.outputs };
  // A lone row of a multi-threaded session sums its trees in parallel, in another order: only one thread is reproduced.
  const js = opts.threads === 1 && opts.jsTrees !== false ? jsTreeRegressor(bytes) : null;
  const jsMaxRows = js ? Math.max(1, Math.floor(JS_TREE_MAX_PAIRS / js.trees)) : 0;

  const outputs = outputsPerRow(info);
  return {
    width,
    inputName: input.name,
    outputName: output.name,
    outputs,
    describeIO: () => structuredClone(io),
    async predict(X: Float32Array, n: number): Promise<Float32Array> {
      if (!Number.isInteger(n) || n < 0) throw new Error(`predict: bad row count ${n}`);
      let w: number;
      if (width !== null) {
        w = width;
        if (X.length !== n * w) throw new Error(`predict: X has ${X.length} values, expected n × width = ${n} × ${w}`);
      } else {
        if (n === 0 || X.length % n !== 0) throw new Error(`predict: X has ${X.length} values, not a multiple of n = ${n}`);
        w = X.length / n;
      }
      if (n === 0) return new Float32Array(0);
      if (js && n <= jsMaxRows && w >= js.minWidth) {
        // After a setImmediate, as onnxruntime-node runs a session: the requests that arrive in the same turn of the
        // event loop then share the next run (batcher.ts) and their answers are written together. Scored at once
        // instead, each answer was written alone, and a closed-loop server spent ~70 % more CPU per answer in
        // writev (waking the client once per answer): 108–121 µs per answer against 75–96 µs with onnxruntime.
        return new Promise((done) => setImmediate(() => done(js.predict(X, n, w))));
      }
      const feeds = { [input.name]: new ort.Tensor("float32", X, [n, w]) };
      let result: Ort.InferenceSession.OnnxValueMapType;
      try {
        result = await session.run(feeds, [output.name]);
      } catch (e) {
        throw new Error(`onnxruntime failed to run the model: ${(e as Error).message}`);
      }
      return predictionsOf(result[output.name] as Ort.Tensor | undefined, n, output.name, outputs);
    },
    release: () => session.release(),
  };
}

