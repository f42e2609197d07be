// Client of an OpenAI-compatible embeddings endpoint (`POST <url>/embeddings`:
// llama.cpp server, Ollama, vLLM, OpenAI): batched, each batch retried and
// timed out by ./http.ts; every vector is checked for its length.

import { EndpointError, postJson, type EndpointConfig } from "./http.ts";

export interface EmbeddingEndpointConfig extends EndpointConfig {
  /** Texts per request; default 64. */
  batchSize?: number;
}

/** The embeddings of `texts` from `model`, in order; each must have `dim` finite numbers. */
export async function fetchEmbeddings(config: EmbeddingEndpointConfig, model: string, texts: readonly string[], dim: number): Promise<Float32Array[]> {
  const size = Math.max(1, config.batchSize ?? 64);
  const out: Float32Array[] = [];
  for (let i = 0; i < texts.length; i += size) {
    const batch = texts.slice(i, i + size);
    const answer = await postJson(config, "/embeddings", { model, input: batch });
    out.push(...parseEmbeddings(answer, batch.length, dim, model));
  }
  return out;
}

function parseEmbeddings(answer: unknown, n: number, dim: number, model: string): Float32Array[] {
  const data = (answer as { data?: unknown })?.data;
  if (!Array.isArray(data) || data.length !== n) {
    throw new EndpointError("malformed", `the embeddings endpoint answered ${Array.isArray(data) ? data.length : "no"} embeddings for ${n} texts (model ${model})`);
  }
  const out = new Array<Float32Array | undefined>(n).fill(undefined);
  data.forEach((d, pos) => {
    const item = d as { embedding?: unknown; index?: unknown };
    const index = typeof item.index === "number" ? item.index : pos;
    const e = item.embedding;
    // A fractional index was a property beside the elements, not an element: like a repeated one it left a hole.
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new EndpointError("malformed", `embedding ${pos} of the answer has index ${String(JSON.stringify(item.index)).slice(0, 40)}, not one of 0 to ${n - 1} (model ${model})`);
    }
    if (!Array.isArray(e) || !e.every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw new EndpointError("malformed", `embedding ${pos} of the answer is not an array of finite numbers within float32's range (model ${model})`);
    }
    if (e.length !== dim) {
      throw new EndpointError("malformed", `model ${model} returns vectors of length ${e.length}, the spec declares ${dim}`);
    }
    // Stored as FLOAT: a double beyond float32's range (1e300) became Infinity.
    const v = Float32Array.from(e as number[]);
    if (!v.every(Number.isFinite)) throw new EndpointError("malformed", `embedding ${pos} of the answer is not an array of finite numbers within float32's range (model ${model})`);
    if (out[index]) throw new EndpointError("malformed", `the embeddings answer repeats index ${index} (model ${model})`);
    out[index] = v;
  });
  return out as Float32Array[];
}
