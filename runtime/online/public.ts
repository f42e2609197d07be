// What runtime/api.ts exports of the online service (`export * from
// "./online/public.ts"`): the wire types and `openLocalService`, the
// in-process twin the generated client's `createLocalClient` calls. The
// implementation is imported lazily, as `#online-service` (package.json
// "imports"): Node loads service.ts, while TypeScript reads only its declared
// type (service-api.d.ts), so type-checking generated code against api.ts
// never loads Fastify, DuckDB or onnxruntime types.

import type { SpecBundle } from "../api.ts";

import { PredictError } from "./http-client.ts";

export { postPrediction, PredictError, type ClientOptions, type FetchLike } from "./http-client.ts";
import type { LocalService, LocalServiceOptions } from "./types.ts";

export type {
  ApiErrorBody,
  ApiIssue,
  FeatureStatus,
  FeatureValue,
  LocalResponse,
  LocalService,
  LocalServiceOptions,
  OnlineBatchPrediction,
  OnlineInstanceResult,
  OnlinePrediction,
  RequestLogEntry,
  ServedModelInfo,
} from "./types.ts";

/** Loads the spec's served models and online features from the store into this process. */
export async function openLocalService(bundle: SpecBundle, opts: LocalServiceOptions = {}): Promise<LocalService> {
  const service = await import("#online-service");
  return service.openLocalService(bundle, opts);
}

/** The spec-independent half of a generated client's `createLocalClient`. */
export interface LocalClientCore {
  /** The answer body of `POST /v1/models/<model>/predict`; a non-2xx answer throws PredictError. */
  call(model: string, body: unknown): Promise<unknown>;
  /** Re-reads the registry and the online tables (after `fti models promote` or `fti materialize`). */
  reload(): Promise<void>;
  /** Flushes the request log. */
  close(): Promise<void>;
}

/** Opens the in-process service for a spec and answers like the HTTP client does (generated client.ts types the answers per model). */
export async function openLocalClient(bundle: SpecBundle, opts: LocalServiceOptions = {}): Promise<LocalClientCore> {
  const service = await openLocalService(bundle, opts);
  return {
    call: async (model, body) => {
      const r = await service.predict(model, body);
      if (r.status < 200 || r.status >= 300) throw new PredictError(r.status, r.body);
      return r.body;
    },
    reload: async () => {
      await service.reload();
    },
    close: () => service.close(),
  };
}
