// Which embedding a `(model, length)` pair means, and where its endpoint is.
// model null: the built-in hashing embedding (./hashing.ts), computed in
// process. Any other model: an OpenAI-compatible embeddings endpoint whose URL
// is configuration, never spec: FTI_EMBED_URL (else FTI_LLM_URL), key
// FTI_EMBED_API_KEY (else FTI_LLM_API_KEY), FTI_EMBED_TIMEOUT_MS,
// FTI_EMBED_BATCH_SIZE, FTI_EMBED_RETRIES, or the matching CLI flags.

import { UserError } from "../errors.ts";
import { EndpointError } from "../llm/http.ts";
import { fetchEmbeddings, type EmbeddingEndpointConfig } from "../llm/embeddings.ts";
import { hashingEmbedding } from "./hashing.ts";

export interface EmbeddingSettings {
  endpoint?: EmbeddingEndpointConfig;
}

export function embeddingSettingsFromEnv(env: NodeJS.ProcessEnv = process.env, flags: { embedUrl?: string } = {}): EmbeddingSettings {
  const url = flags.embedUrl ?? env.FTI_EMBED_URL ?? env.FTI_LLM_URL;
  if (!url) return {};
  const num = (v: string | undefined) => (v !== undefined && v !== "" && Number.isFinite(Number(v)) ? Number(v) : undefined);
  return {
    endpoint: {
      url,
      apiKey: env.FTI_EMBED_API_KEY ?? env.FTI_LLM_API_KEY,
      timeoutMs: num(env.FTI_EMBED_TIMEOUT_MS),
      batchSize: num(env.FTI_EMBED_BATCH_SIZE),
      retries: num(env.FTI_EMBED_RETRIES),
    },
  };
}

/** Embeds texts with the hashing embedding (model null) or the configured endpoint. */
export async function embedTexts(settings: EmbeddingSettings, model: string | null, dim: number, texts: readonly string[]): Promise<Float32Array[]> {
  if (model === null) return texts.map((t) => hashingEmbedding(t, dim));
  if (!settings.endpoint) {
    throw new UserError(
      `embedding model \`${model}\` needs an OpenAI-compatible embeddings endpoint, and none is configured`,
      "set FTI_EMBED_URL (or FTI_LLM_URL) to its base URL, e.g. http://127.0.0.1:8080/v1, or pass --embed-url",
    );
  }
  try {
    return await fetchEmbeddings(settings.endpoint, model, texts, dim);
  } catch (e) {
    if (e instanceof EndpointError) throw new UserError(`embedding model \`${model}\`: ${e.message}`);
    throw e;
  }
}
