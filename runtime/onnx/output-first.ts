// Moves one of an ONNX model's graph outputs to the front, editing the
// protobuf wire format directly: every other byte of the file is kept as it
// is (proto.ts's schema is a subset, so a decode + encode would drop what it
// does not know). fti serves a model's first output; scikit-learn's
// converter (skl2onnx) writes a classifier's predicted label first and its
// class probabilities second, so an external multiclass model registers with
// its probabilities moved first (register-external.ts).

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

function varint(b: Uint8Array, at: number): [value: number, next: number] {
  let v = 0;
  let scale = 1;
  for (let i = at; i < b.length && i < at + 10; i++) {
    v += (b[i] & 0x7f) * scale;
    scale *= 128;
    if ((b[i] & 0x80) === 0) return [v, i + 1];
  }
  throw new Error("a truncated varint");
}

function encodeVarint(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

/** The top-level fields of one message's bytes. */
function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let at = 0;
  while (at < b.length) {
    const start = at;
    const [key, next] = varint(b, at);
    const number = Math.floor(key / 8);
    const wire = key % 8;
    at = next;
    let payload = at;
    if (wire === 0) at = varint(b, at)[1];
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const [len, p] = varint(b, at);
      payload = p;
      at = p + len;
    } else throw new Error(`wire type ${wire} (field ${number}) is not supported`);
    if (at > b.length) throw new Error(`field ${number} runs past the end`);
    out.push({ number, start, end: at, payload });
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
  const payload = concat(parts);
  const head = Uint8Array.from([...encodeVarint(MODEL_GRAPH * 8 + 2), ...encodeVarint(payload.length)]);
  return concat([bytes.subarray(0, graph.start), head, payload, bytes.subarray(graph.end)]);
}
