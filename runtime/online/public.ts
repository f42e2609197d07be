// What runtime/api.ts exports of the online service (`export * from
// "./online/public.ts"`): the wire types and `openLocalService`, the
// in-process twin the generated client's `createLocalClient` calls. The
// implementation is imported lazily through a non-literal specifier, so that
// type-checking generated code against api.ts never loads Fastify, DuckDB or
// onnxruntime types.

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
  const target: string = "./service.ts";
  const mod = (await import(target)) as { openLocalService(b: SpecBundle, o: LocalServiceOptions): Promise<LocalService> };
  return mod.openLocalService(bundle, opts);
}
