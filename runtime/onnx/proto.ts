// A minimal ONNX protobuf schema (the subset fti writes and inspects), as a
// protobufjs reflection descriptor. Field numbers and types follow
// onnx/onnx.proto (proto2 syntax: repeated scalars are unpacked except the
// TensorProto *_data fields, which onnx.proto marks [packed = true]).
// Unknown fields (training_info, functions, sparse tensors, ...) are skipped
// on decode, so models from other tools still decode for inspection.

import protobuf from "protobufjs";

const descriptor: protobuf.INamespace = {
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            ir_version: { type: "int64", id: 1 },
            opset_import: { rule: "repeated", type: "OperatorSetIdProto", id: 8 },
            producer_name: { type: "string", id: 2 },
            producer_version: { type: "string", id: 3 },
            domain: { type: "string", id: 4 },
            model_version: { type: "int64", id: 5 },
            doc_string: { type: "string", id: 6 },
            graph: { type: "GraphProto", id: 7 },
            metadata_props: { rule: "repeated", type: "StringStringEntryProto", id: 14 },
          },
        },
        OperatorSetIdProto: {
          fields: {
            domain: { type: "string", id: 1 },
            version: { type: "int64", id: 2 },
          },
        },
        StringStringEntryProto: {
          fields: {
            key: { type: "string", id: 1 },
            value: { type: "string", id: 2 },
          },
        },
        GraphProto: {
          fields: {
            node: { rule: "repeated", type: "NodeProto", id: 1 },
            name: { type: "string", id: 2 },
            initializer: { rule: "repeated", type: "TensorProto", id: 5 },
            doc_string: { type: "string", id: 10 },
            input: { rule: "repeated", type: "ValueInfoProto", id: 11 },
            output: { rule: "repeated", type: "ValueInfoProto", id: 12 },
            value_info: { rule: "repeated", type: "ValueInfoProto", id: 13 },
          },
        },
        NodeProto: {
          fields: {
            input: { rule: "repeated", type: "string", id: 1 },
            output: { rule: "repeated", type: "string", id: 2 },
            name: { type: "string", id: 3 },
            op_type: { type: "string", id: 4 },
            domain: { type: "string", id: 7 },
            attribute: { rule: "repeated", type: "AttributeProto", id: 5 },
            doc_string: { type: "string", id: 6 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: "string", id: 1 },
            ref_attr_name: { type: "string", id: 21 },
            doc_string: { type: "string", id: 13 },
            type: { type: "AttributeType", id: 20 },
            f: { type: "float", id: 2 },
            i: { type: "int64", id: 3 },
            s: { type: "bytes", id: 4 },
            t: { type: "TensorProto", id: 5 },
            g: { type: "GraphProto", id: 6 },
            floats: { rule: "repeated", type: "float", id: 7 },
            ints: { rule: "repeated", type: "int64", id: 8 },
            strings: { rule: "repeated", type: "bytes", id: 9 },
            tensors: { rule: "repeated", type: "TensorProto", id: 10 },
            graphs: { rule: "repeated", type: "GraphProto", id: 11 },
          },
          nested: {
            AttributeType: {
              values: {
                UNDEFINED: 0,
                FLOAT: 1,
                INT: 2,
                STRING: 3,
                TENSOR: 4,
                GRAPH: 5,
                FLOATS: 6,
                INTS: 7,
                STRINGS: 8,
                TENSORS: 9,
                GRAPHS: 10,
                SPARSE_TENSOR: 11,
                SPARSE_TENSORS: 12,
                TYPE_PROTO: 13,
                TYPE_PROTOS: 14,
              },
            },
          },
        },
        ValueInfoProto: {
          fields: {
            name: { type: "string", id: 1 },
            type: { type: "TypeProto", id: 2 },
            doc_string: { type: "string", id: 3 },
          },
        },
        TypeProto: {
          oneofs: { value: { oneof: ["tensor_type", "sequence_type", "map_type", "sparse_tensor_type", "optional_type"] } },
          fields: {
            tensor_type: { type: "Tensor", id: 1 },
            sequence_type: { type: "Sequence", id: 4 },
            map_type: { type: "Map", id: 5 },
            sparse_tensor_type: { type: "SparseTensor", id: 8 },
            optional_type: { type: "Optional", id: 9 },
            denotation: { type: "string", id: 6 },
          },
          nested: {
            Tensor: {
              fields: {
                elem_type: { type: "int32", id: 1 },
                shape: { type: "TensorShapeProto", id: 2 },
              },
            },
            Sequence: { fields: { elem_type: { type: "TypeProto", id: 1 } } },
            Map: {
              fields: {
                key_type: { type: "int32", id: 1 },
                value_type: { type: "TypeProto", id: 2 },
              },
            },
            SparseTensor: {
              fields: {
                elem_type: { type: "int32", id: 1 },
                shape: { type: "TensorShapeProto", id: 2 },
              },
            },
            Optional: { fields: { elem_type: { type: "TypeProto", id: 1 } } },
          },
        },
        TensorShapeProto: {
          fields: {
            dim: { rule: "repeated", type: "Dimension", id: 1 },
          },
          nested: {
            Dimension: {
              oneofs: { value: { oneof: ["dim_value", "dim_param"] } },
              fields: {
                dim_value: { type: "int64", id: 1 },
                dim_param: { type: "string", id: 2 },
                denotation: { type: "string", id: 3 },
              },
            },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: "repeated", type: "int64", id: 1 },
            data_type: { type: "int32", id: 2 },
            float_data: { rule: "repeated", type: "float", id: 4, options: { packed: true } },
            int32_data: { rule: "repeated", type: "int32", id: 5, options: { packed: true } },
            string_data: { rule: "repeated", type: "bytes", id: 6 },
            int64_data: { rule: "repeated", type: "int64", id: 7, options: { packed: true } },
            name: { type: "string", id: 8 },
            doc_string: { type: "string", id: 12 },
            raw_data: { type: "bytes", id: 9 },
            double_data: { rule: "repeated", type: "double", id: 10, options: { packed: true } },
            uint64_data: { rule: "repeated", type: "uint64", id: 11, options: { packed: true } },
          },
        },
      },
    },
  },
};

const root = protobuf.Root.fromJSON(descriptor);
const ModelProtoType = root.lookupType("onnx.ModelProto");

/** TensorProto.DataType values used here. */
export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
} as const;

export function dataTypeName(t: number): string {
  for (const [k, v] of Object.entries(DataType)) if (v === t) return k.toLowerCase();
  return `type${t}`;
}

export const AttributeType = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

// ---- plain-object views of the messages (field names as in onnx.proto)

export interface OperatorSetId {
  domain?: string;
  version: number;
}

export interface Dimension {
  dim_value?: number;
  dim_param?: string;
}

export interface TypeInfo {
  tensor_type?: { elem_type?: number; shape?: { dim?: Dimension[] } };
  sequence_type?: unknown;
  map_type?: unknown;
  sparse_tensor_type?: unknown;
  optional_type?: unknown;
}

export interface ValueInfo {
  name: string;
  type?: TypeInfo;
  doc_string?: string;
}

export interface Attribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

export interface Node {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute?: Attribute[];
  doc_string?: string;
}

export interface Graph {
  name?: string;
  node: Node[];
  input: ValueInfo[];
  output: ValueInfo[];
  initializer?: unknown[];
  value_info?: ValueInfo[];
  doc_string?: string;
}

export interface Model {
  ir_version: number;
  opset_import: OperatorSetId[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph: Graph;
  metadata_props?: Array<{ key: string; value: string }>;
}

// ---- attribute helpers

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

export const attr = {
  float: (name: string, f: number): Attribute => ({ name, type: AttributeType.FLOAT, f }),
  int: (name: string, i: number): Attribute => ({ name, type: AttributeType.INT, i }),
  string: (name: string, s: string): Attribute => ({ name, type: AttributeType.STRING, s: utf8.encode(s) }),
  floats: (name: string, floats: ArrayLike<number>): Attribute => ({ name, type: AttributeType.FLOATS, floats: Array.from(floats) }),
  ints: (name: string, ints: ArrayLike<number>): Attribute => ({ name, type: AttributeType.INTS, ints: Array.from(ints) }),
  strings: (name: string, strings: string[]): Attribute => ({
    name,
    type: AttributeType.STRINGS,
    strings: strings.map((s) => utf8.encode(s)),
  }),
};

/** A tensor ValueInfo; a string dimension is symbolic (dim_param). */
export function tensorValueInfo(name: string, elemType: number, shape: Array<number | string>): ValueInfo {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: shape.map((d) => (typeof d === "string" ? { dim_param: d } : { dim_value: d })) },
      },
    },
  };
}

export function encodeModel(model: Model): Uint8Array {
  const err = ModelProtoType.verify(model);
  if (err) throw new Error(`internal error: invalid ONNX model object: ${err}`);
  return ModelProtoType.encode(ModelProtoType.fromObject(model)).finish();
}

/**
 * Decodes ONNX bytes into plain objects (int64 as numbers, bytes as
 * Uint8Array). Throws a clear Error for bytes that are not an ONNX model.
 */
export function decodeModel(bytes: Uint8Array): Model {
  if (!(bytes instanceof Uint8Array)) throw new Error("not an ONNX model: expected the file's bytes (Uint8Array)");
  if (bytes.length === 0) throw new Error("not an ONNX model: the file is empty");
  let obj: Record<string, unknown>;
  try {
    const msg = ModelProtoType.decode(bytes);
    obj = ModelProtoType.toObject(msg, { longs: Number, defaults: false, arrays: true, oneofs: false }) as Record<
      string,
      unknown
    >;
  } catch (e) {
    throw new Error(`not an ONNX model: the bytes are not a valid ModelProto protobuf (${(e as Error).message})`);
  }
  const m = obj as unknown as Model;
  if (!(typeof m.ir_version === "number" && m.ir_version > 0)) {
    throw new Error("not an ONNX model: no ir_version (the bytes decode as protobuf but not as an ONNX ModelProto)");
  }
  if (!m.graph) throw new Error("not an ONNX model: it has no graph");
  m.graph.node ??= [];
  m.graph.input ??= [];
  m.graph.output ??= [];
  m.opset_import ??= [];
  return m;
}

export function attributeString(a: Attribute): string | undefined {
  return a.s ? utf8d.decode(a.s) : undefined;
}
