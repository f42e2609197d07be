// An externally trained multi-class ONNX model (`algorithm onnx`, `fti register`):
// its first output is the K class probabilities [N, K]; which class each column
// is comes from its metadata `fti.classes`, else the train split's classes in
// fti's sorted order (runtime/training/external-classes.ts). Registered, it is
// measured on the test split and served like a trained multiclass model
// (`prediction` + `probabilities`). The ONNX files are built here, by fti's own
// trainer and exporter, with the metadata set, removed or made wrong.

import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { trainModel } from "../runtime/learners/index.ts";
import { startServer } from "../runtime/online/http.ts";
import { buildOnnxModel } from "../runtime/onnx/export.ts";
import { attr, DataType, decodeModel, encodeModel, tensorValueInfo, type Model } from "../runtime/onnx/proto.ts";
import { withOutputFirst } from "../runtime/onnx/output-first.ts";
import { inspectOnnx } from "../runtime/onnx/session.ts";
import { getModel, listModels } from "../runtime/registry/registry.ts";
import { registerExternal } from "../runtime/training/register-external.ts";
import { join } from "node:path";
import { storeUser } from "./helpers/store-user.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

// decodeModel as it is, counted: a registration decodes the file's protobuf once (onnxruntime reads it on its own).
const decodes = vi.hoisted(() => ({ n: 0 }));
vi.mock("../runtime/onnx/proto.ts", async (importOriginal) => {
  const proto = await importOriginal<typeof import("../runtime/onnx/proto.ts")>();
  return { ...proto, decodeModel: (bytes: Uint8Array) => (decodes.n++, proto.decodeModel(bytes)) };
});

const SIZES: Record<string, number> = { Adelie: 1, Chinstrap: 3, Gentoo: 5, Emperor: 9 };
const SORTED = ["Adelie", "Chinstrap", "Gentoo"];

// Three kinds a day for 20 days (the train split), then the Emperor joins (a test label no train row has).
function birdsCsv(): string {
  const lines = ["id,at,kind,size"];
  let id = 0;
  for (let day = 1; day <= 28; day++) {
    for (const kind of day <= 20 ? SORTED : [...SORTED, "Emperor"]) {
      id++;
      lines.push(`b${id},2025-03-${String(day).padStart(2, "0")}T12:00:00Z,${kind},${SIZES[kind] + (id % 3) * 0.1}`);
    }
  }
  return lines.join("\n") + "\n";
}

const SPEC = `
source colony {
  path "birds.csv"
  fields {
    size: float
    kind: string
    at: timestamp
    id: string
  }
  unique id
  event_time at
}
on_demand bird_size(request size: float): float = size
view kind_data from colony {
  features bird_size
  label kind = kind
}
model bird_kind_onnx {
  view kind_data
  task multiclass_classification
  algorithm onnx "kind.onnx"
  split time(test_from: 2025-03-21)
}
serve bird_kind_onnx {
  online
}
`;

/** A softmax gbdt on sizes, its K columns the classes `order`; `edit` changes the ONNX model object first. */
function kindModel(order: string[], edit: (m: Model) => void = () => {}): Uint8Array {
  const X: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < 30; i++) {
    order.forEach((kind, c) => {
      X.push(SIZES[kind] + (i % 3) * 0.1);
      y.push(c);
    });
  }
  const trained = trainModel("gbdt", "multiclass_classification", Float32Array.from(X), y.length, 1, Float64Array.from(y), { trees: 10, depth: 2, min_leaf: 2 });
  const model = buildOnnxModel(trained, { width: 1, classes: order });
  edit(model);
  return encodeModel(model);
}

/**
 * `bytes` with one more initializer, `fti_external` (float [1]), whose data lies in a file beside the model
 * (`location`). proto.ts has no external-data fields, so the tensor is appended as raw protobuf: a model's bytes
 * followed by `graph { initializer { ... } }` decode as the model with the initializer added (protobuf merges).
 */
function withExternalInitializer(bytes: Uint8Array): Uint8Array {
  const varint = (n: number) => {
    const out: number[] = [];
    do {
      out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n);
    return out;
  };
  const field = (id: number, body: number[]) => [...varint((id << 3) | 2), ...varint(body.length), ...body];
  const text = (id: number, s: string) => field(id, [...new TextEncoder().encode(s)]);
  const tensor = [8, 1, 16, 1, ...text(8, "fti_external"), ...field(13, [...text(1, "location"), ...text(2, "weights.bin")]), 112, 1]; // dims 1, FLOAT, name, external_data, data_location EXTERNAL
  return new Uint8Array([...bytes, ...field(7, field(5, tensor))]);
}

const noMetadata = (m: Model) => {
  m.metadata_props = (m.metadata_props ?? []).filter((p) => p.key !== "fti.classes");
};

describe("external ONNX multiclass models", () => {
  let spec: TempSpec;
  const withStore = storeUser(() => join(spec.dir, "store.duckdb"));

  beforeAll(async () => {
    spec = await compileTempSpec({ "spec.fti": SPEC, "birds.csv": birdsCsv() });
    await withStore((store) => runFeaturePipeline(store, spec.bundle));
  }, 60_000);

  afterAll(() => spec?.cleanup());

  const register = (bytes: Uint8Array) => withStore((store) => registerExternal(store, spec.bundle, "bird_kind_onnx", bytes));
  const failure = (bytes: Uint8Array) => register(bytes).then(() => new Error("registered"), (e: Error) => e);

  async function ask(size: number): Promise<{ prediction: string; probabilities: Record<string, number> }> {
    const server = await startServer(spec.bundle, { port: 0, store: join(spec.dir, "store.duckdb"), logs: false });
    try {
      const res = await fetch(`${server.url}/v1/models/bird_kind_onnx/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ size }) });
      expect(res.status).toBe(200);
      return (await res.json()) as { prediction: string; probabilities: Record<string, number> };
    } finally {
      await server.close();
    }
  }

  it("without metadata the columns are the train classes in sorted order; measured on the test split and served", async () => {
    const file = kindModel(SORTED, noMetadata);
    decodes.n = 0;
    const r = await register(file);
    expect(decodes.n).toBe(1);
    expect(r.classes).toEqual(SORTED);
    expect(r.unseenTestLabels).toEqual({ Emperor: 8 });
    expect(r.rows).toMatchObject({ train: 60, test: 32 });
    // every Adelie, Chinstrap and Gentoo test row right, the 8 Emperors never
    expect(r.metrics.accuracy).toBeCloseTo(24 / 32, 12);
    expect(r.onnx.output).toBe("prediction [N, 3]");
    const rec = await withStore((store) => getModel(store, "bird_kind_onnx", r.version));
    expect(rec.algorithm).toBe("onnx");
    expect(rec.mdt_state.classes).toEqual(SORTED);
    const body = await ask(3.1);
    expect(body.prediction).toBe("Chinstrap");
    expect(Object.keys(body.probabilities)).toEqual(SORTED);
    expect(Object.values(body.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it("metadata fti.classes in another order: the version's classes follow the model's columns", async () => {
    const order = ["Gentoo", "Adelie", "Chinstrap"];
    const r = await register(kindModel(order));
    expect(r.classes).toEqual(order);
    expect(r.metrics.accuracy).toBeCloseTo(24 / 32, 12);
    for (const [size, kind] of [[1.1, "Adelie"], [5.1, "Gentoo"]] as const) {
      const body = await ask(size);
      expect(body.prediction).toBe(kind);
      expect(Object.keys(body.probabilities)).toEqual(order);
      expect(body.probabilities[kind]).toBeGreaterThan(0.5);
    }
  });

  it("a model that outputs the predicted label first (as scikit-learn's skl2onnx does) registers with its probabilities moved first", async () => {
    const file = kindModel(SORTED, (m) => {
      m.graph.node.push({ op_type: "ArgMax", input: ["prediction"], output: ["label"], attribute: [attr.int("axis", 1), attr.int("keepdims", 0)] });
      m.graph.output.unshift(tensorValueInfo("label", DataType.INT64, ["N"]));
      m.doc_string = "kept as it is";
    });
    expect(inspectOnnx(file).outputs.map((o) => o.name)).toEqual(["label", "prediction"]);
    decodes.n = 0;
    const r = await register(file);
    expect(decodes.n).toBe(1);
    expect(r.onnx).toMatchObject({ output: "prediction [N, 3]", movedFirst: true });
    expect(r.metrics.accuracy).toBeCloseTo(24 / 32, 12);
    const rec = await withStore((store) => getModel(store, "bird_kind_onnx", r.version));
    // the stored model: the file with its two outputs swapped, nothing else changed (swapped back: the file's bytes)
    const stored = new Uint8Array(rec.onnx);
    expect(decodeModel(stored).graph.output.map((o) => o.name)).toEqual(["prediction", "label"]);
    expect(decodeModel(stored).doc_string).toBe("kept as it is");
    expect(stored.length).toBe(file.length);
    expect(Buffer.from(withOutputFirst(stored, 1)).equals(Buffer.from(file))).toBe(true);
    expect((await ask(5.2)).prediction).toBe("Gentoo");
  });

  it("a model onnxruntime cannot load (an unknown operator, weights in an external data file) is refused as the file's fault, not as a bug in fti", async () => {
    const unknownOp = await failure(kindModel(SORTED, (m) => (m.graph.node.find((n) => n.op_type === "Softmax")!.op_type = "NoSuchOp")));
    expect(unknownOp.name).toBe("UserError"); // was an Error: `fti register` exit 3, "this is a bug in fti"
    expect(unknownOp.message).toMatch(/^cannot register `bird_kind_onnx`: onnxruntime could not load the model: .*NoSuchOp/);
    const external = await failure(
      withExternalInitializer(
        kindModel(SORTED, (m) => {
          // the trees read the input scaled by the external tensor, so onnxruntime must load it
          const trees = m.graph.node[0];
          m.graph.node.unshift({ op_type: "Mul", input: [trees.input[0], "fti_external"], output: ["scaled"], name: "scale" });
          trees.input = ["scaled"];
        }),
      ),
    );
    expect(external.name).toBe("UserError");
    expect(external.message).toMatch(/^cannot register `bird_kind_onnx`: onnxruntime could not load the model: /);
    expect((external as Error & { hint?: string }).hint).toContain("external data");
  });

  it("refuses a model whose classes are not the train split's, or whose outputs are not probabilities, saying which", async () => {
    const two = await failure(kindModel(["Adelie", "Gentoo"], noMetadata));
    expect(two.message).toBe('cannot register `bird_kind_onnx`: the ONNX model gives 2 probabilities per row but the train split has 3 classes ("Adelie", "Chinstrap", "Gentoo")');
    const other = await failure(kindModel(["Adelie", "Chinstrap", "Emperor"]));
    expect(other.message).toBe(
      'cannot register `bird_kind_onnx`: its classes (metadata `fti.classes`) must be the train split\'s ("Adelie", "Chinstrap", "Gentoo"): it has "Emperor", which no train row has and lacks "Gentoo", which train rows have',
    );
    const twice = await failure(kindModel(SORTED, (m) => (m.metadata_props = [{ key: "fti.classes", value: '["Adelie","Adelie","Gentoo"]' }])));
    expect(twice.message).toContain('it lists "Adelie" twice and lacks "Chinstrap"');
    const garbled = await failure(kindModel(SORTED, (m) => (m.metadata_props = [{ key: "fti.classes", value: "Adelie,Chinstrap,Gentoo" }])));
    expect(garbled.message).toContain("metadata `fti.classes` must be a JSON array of strings or numbers");
    // raw scores: the Softmax removed, the trees' output renamed to the model's output
    const raw = await failure(
      kindModel(SORTED, (m) => {
        const softmax = m.graph.node.findIndex((n) => n.op_type === "Softmax");
        const out = m.graph.node[softmax].output[0];
        m.graph.node.splice(softmax, 1);
        m.graph.node[0].output = [out];
      }),
    );
    expect(raw.message).toMatch(/outputs must be class probabilities \(each in \[0, 1\], each row summing to 1\); test row 0 gets \[/);
    expect((raw as Error & { hint?: string }).hint).toContain("Softmax");
    // a one-value-per-row model is not a multiclass model
    const one = await failure(kindModel(SORTED, (m) => (m.graph.output[0].type!.tensor_type!.shape!.dim![1] = { dim_value: 1 })));
    expect(one.message).toMatch(/the ONNX signature must be one float input \[N, 1\] and a first output \[N, K\] \(the probabilities of the K classes\)/);
    // scikit-learn's default ZipMap output (a sequence of maps) instead of a probability tensor: the hint says how to convert
    const zipmap = await failure(
      kindModel(SORTED, (m) => {
        m.graph.output.unshift(tensorValueInfo("label", DataType.INT64, ["N"]));
        m.graph.output[1] = { name: "output_probability", type: { sequence_type: { elem_type: { map_type: { key_type: DataType.STRING, value_type: { tensor_type: { elem_type: DataType.FLOAT } } } } } } };
      }),
    );
    expect(zipmap.message).toContain("output_probability: sequence");
    expect((zipmap as Error & { hint?: string }).hint).toContain("'zipmap': False");
    // nothing was registered by the refusals
    const versions = await withStore(async (store) => (await listModels(store)).filter((m) => m.model === "bird_kind_onnx").length);
    expect(versions).toBe(3);
  });
});
