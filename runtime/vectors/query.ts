// Embeds a query text the way an index's column was embedded: the built-in
// hashing embedding, the endpoint model, or the extern fn.

import type { IndexPlan, SpecBundle } from "../api.ts";
import { embedTexts, type EmbeddingSettings } from "../embeddings/embedder.ts";
import { UserError } from "../errors.ts";

export async function embedQuery(bundle: SpecBundle, plan: IndexPlan, text: string, settings: EmbeddingSettings): Promise<Float32Array> {
  if (plan.embedder.kind === "embed") return (await embedTexts(settings, plan.embedder.model, plan.dim, [text]))[0];
  const fn = bundle.externs[plan.embedder.fn];
  if (typeof fn !== "function") throw new Error(`index \`${plan.name}\` embeds with extern \`${plan.embedder.fn}\`, which the bundle does not provide`);
  let v: unknown;
  try {
    v = fn(text);
  } catch (e) {
    throw new UserError(`extern fn \`${plan.embedder.fn}\` failed on the query of index \`${plan.name}\`: ${(e as Error)?.message ?? String(e)}`);
  }
  const arr = Array.isArray(v) || ArrayBuffer.isView(v) ? Array.from(v as ArrayLike<number>) : null;
  if (!arr || arr.length !== plan.dim || !arr.every((x) => typeof x === "number" && Number.isFinite(x))) {
    throw new UserError(`extern fn \`${plan.embedder.fn}\` did not return ${plan.dim} finite numbers for the query of index \`${plan.name}\``);
  }
  return Float32Array.from(arr);
}
