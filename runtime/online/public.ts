// What runtime/api.ts exports of the online service (`export * from
// "./online/public.ts"`): the wire types and `openLocalService`, the
// in-process twin the generated client's `createLocalClient` calls. The
// implementation is imported lazily, as `#online-service` (package.json
// "imports"): Node loads service.ts, while TypeScript reads only its declared
// type (service-api.d.ts), so type-checking generated code against api.ts
// never loads Fastify, DuckDB or onnxruntime types.

import type { SpecBundle } from "../api.ts";

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
