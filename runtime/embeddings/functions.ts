// The DuckDB side of `embed(text, N, model?)`: one scalar function per length,
// `fti_embed_<N>(text, model)` returning FLOAT[N] (model '' = the built-in
// hashing embedding). DuckDB calls scalar functions synchronously, and an
// endpoint is asynchronous, so a group with endpoint embeddings is computed in
// two passes: the first runs its SQL with functions that only collect the
// texts (returning zero vectors), the texts are embedded in batches, and the
// second pass reads them from that cache.

import type { GroupPlan } from "../api.ts";
import type { Store } from "../store/store.ts";
import { embedTexts, type EmbeddingSettings } from "./embedder.ts";
import { hashingEmbedding } from "./hashing.ts";

export function embedFunctionName(dim: number): string {
  return `fti_embed_${dim}`;
}

interface EmbedState {
  mode: "collect" | "lookup";
  /** `<dim>:<model>` → text → vector; in collect mode, texts without a vector yet. */
  cache: Map<string, Map<string, Float32Array | null>>;
}

/** Registers fti_embed_<N> for every length the group uses. */
function register(store: Store, dims: Iterable<number>, state: EmbedState): void {
  for (const dim of dims) {
    const zero = new Float32Array(dim);
    store.registerScalarFunction(embedFunctionName(dim), { params: ["string", "string"], returns: `float[${dim}]`, nullable: true, nonNullParams: [true, true] }, (text: string, model: string) => {
      if (model === "") return hashingEmbedding(text, dim);
      const key = `${dim}:${model}`;
      let byText = state.cache.get(key);
      if (!byText) state.cache.set(key, (byText = new Map()));
      const v = byText.get(text);
      if (state.mode === "collect") {
        if (v === undefined) byText.set(text, null);
        return zero;
      }
      if (!v) throw new Error(`no embedding of model ${model} was fetched for a text (internal error)`);
      return v;
    });
  }
}

/**
 * Makes the group's embedding functions ready for its SQL: registers them, and
 * when the group uses endpoint models, runs `countSql` (which must evaluate
 * every embedding column of the query) to collect the texts, then fetches them.
 */
export async function prepareEmbeddings(store: Store, plan: GroupPlan, settings: EmbeddingSettings, countSql: string): Promise<void> {
  const uses = plan.embeddings ?? [];
  if (uses.length === 0) return;
  const state: EmbedState = { mode: "lookup", cache: new Map() };
  const remote = uses.filter((u) => u.model !== null);
  const dims = new Set(uses.map((u) => u.dim));
  if (remote.length > 0) {
    state.mode = "collect";
    register(store, dims, state);
    await store.all(countSql);
    for (const u of remote) {
      const byText = state.cache.get(`${u.dim}:${u.model}`);
      if (!byText) continue;
      const texts = [...byText.keys()];
      const vectors = await embedTexts(settings, u.model, u.dim, texts);
      texts.forEach((t, i) => byText.set(t, vectors[i]));
    }
    state.mode = "lookup";
  }
  // A fresh function object, so the store re-registers it in lookup mode.
  register(store, dims, { ...state, mode: "lookup" });
}
