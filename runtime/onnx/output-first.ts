// Moves one of an ONNX model's graph outputs to the front, editing the
// protobuf wire format directly: every other byte of the file is kept as it
// is (proto.ts's schema is a subset, so a decode + encode would drop what it
// does not know). fti serves a model's first output; scikit-learn's
// converter (skl2onnx) writes a classifier's predicted label first and its
// class probabilities second, so an external multiclass model registers with
// its probabilities moved first (register-external.ts).

import protobuf from "protobufjs";

const MODEL_GRAPH = 7; // ModelProto.graph
const GRAPH_OUTPUT = 12; // GraphProto.output (repeated ValueInfoProto)

interface Field {
  number: number;
  /** The whole field: key, (length,) value. */
  start: number;
  end: number;
  /** Length-delimited fields: where the payload starts. */
  payload: number;
}

/** The top-level fields of one message's bytes (protobufjs's Reader reads the keys and lengths, and skips the values). */
function fields(b: Uint8Array): Field[] {
  const r = protobuf.Reader.create(b);
  const out: Field[] = [];
  while (r.pos < r.len) {
    const start = r.pos;
    const key = r.uint32();
    const number = key >>> 3;
    let payload = r.pos;
    if ((key & 7) === 2) {
      const len = r.uint32();
      payload = r.pos;
      r.skip(len);
    } else r.skipType(key & 7);
    out.push({ number, start, end: r.pos, payload });
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The model's bytes with graph output number `index` (0-based, in file order) moved first. */
export function withOutputFirst(bytes: Uint8Array, index: number): Uint8Array {
  const top = fields(bytes);
  const graphs = top.filter((f) => f.number === MODEL_GRAPH);
  if (graphs.length !== 1) throw new Error(`expected one graph, found ${graphs.length}`);
  const [graph] = graphs;
  const g = bytes.subarray(graph.payload, graph.end);
  const gf = fields(g);
  const outputs = gf.filter((f) => f.number === GRAPH_OUTPUT);
  if (!(index >= 0 && index < outputs.length)) throw new Error(`the graph has no output ${index}`);
  const moved = outputs[index];
  const parts: Uint8Array[] = [];
  for (const f of gf) {
    if (f === moved) continue;
    if (f === outputs[0]) parts.push(g.subarray(moved.start, moved.end));
    parts.push(g.subarray(f.start, f.end));
  }
  // the graph field again: its key, its new length (the same: only the order changed) and the reordered payload
  const graph2 = protobuf.Writer.create().uint32(MODEL_GRAPH * 8 + 2).bytes(concat(parts)).finish();
  return concat([bytes.subarray(0, graph.start), graph2, bytes.subarray(graph.end)]);
}
