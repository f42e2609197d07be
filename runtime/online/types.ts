// The online service's wire types: what `POST /v1/models/<model>/predict`
// answers, what the request log holds, and the in-process twin's interface.
// Type-only and dependency-free: runtime/api.ts re-exports it (through
// public.ts), and generated code is type-checked against api.ts.

import type { Scalar } from "../api.ts";
import type { TrainingStatistics } from "../statistics/statistics.ts";

/**
 * How a feature value was found online:
 * - `present`: the entity's latest row has a value;
 * - `null`: the row exists and its value is null (as in training);
 * - `not_found`: the online store has no row for the entity;
 * - `stale`: the row is older than the view's ttl at the request time; the
 *   value is served as null, exactly as the point-in-time join of training
 *   would have seen it;
 * - `future`: the entity's row is from after the request time (a request
 *   time in the past): never served, the value is null.
 */
export type FeatureStatus = "present" | "null" | "not_found" | "stale" | "future";

export interface FeatureValue<T = Scalar> {
  value: T | null;
  status: FeatureStatus;
}

/** One scored instance: the prediction and everything that went into it. */
export interface OnlineInstanceResult {
  /** The model output (NaN → null); a multiclass model's most probable class (a string, or a number for an int label). */
  prediction: number | string | null;
  /** Multiclass only: each class's probability, the classes in order (null when the model could not predict). */
  probabilities?: Record<string, number> | null;
  /** Every stored feature the view and its ODTs read, with its status. */
  features: Record<string, FeatureValue>;
  /** ODT values computed from the request and the features. */
  odts: Record<string, Scalar>;
  /** Per feature group: the event time (ISO) of the online row used; null when not found. */
  feature_times: Record<string, string | null>;
  /**
   * Per feature group whose streamed row misses late events (stored, not yet
   * applied online): how many and the oldest one's time. Absent when none.
   */
  late_events?: Record<string, { events: number; oldest_event_time: string }>;
  /** Id of the request log entry. */
  request_id: string;
}

/** Answer to a single-instance request. */
export interface OnlinePrediction extends OnlineInstanceResult {
  model: string;
  version: number;
  /** The request time: staleness is judged against it, and `fti verify` recomputes as of it. */
  request_time: string;
}

/** Answer to `{"instances": [...]}`. */
export interface OnlineBatchPrediction {
  model: string;
  version: number;
  request_time: string;
  predictions: OnlineInstanceResult[];
}

import type { ApiIssue } from "../api-issue.ts";

export type { ApiIssue };

/** Every non-2xx answer. */
export interface ApiErrorBody {
  error: {
    status: number;
    /** invalid_json | invalid_request | unknown_model | missing_features | body_too_large | model_unavailable | internal | ... */
    code: string;
    message: string;
    /** Validation issues (400), or the missing features per instance (422). */
    issues?: ApiIssue[];
  };
}

/** A served model as `GET /v1/models` lists it. */
export interface ServedModelInfo {
  model: string;
  /** The loaded version; null when no version is registered. */
  version: number | null;
  stage: string | null;
  algorithm: string | null;
  task: "regression" | "binary_classification" | "multiclass_classification";
  view: string;
  /** Test-split metrics of the loaded version, and the naive baseline's. */
  metrics: Record<string, number | null>;
  baseline: Record<string, number | null>;
  /** Column statistics of the loaded version's training data (runtime/statistics/statistics.ts); null when it has none. */
  statistics: TrainingStatistics | null;
  created_at: string | null;
  loaded_at: string | null;
  can_impute: boolean;
  /** A multiclass model's classes (the keys of an answer's `probabilities`, in order); absent for other tasks. */
  classes?: Array<string | number>;
  /** The request schema: entity keys and request fields, with their types. */
  request: Array<{ name: string; type: string; nullable: boolean; kind: "key" | "request" }>;
  /** Why the last reload could not swap this model in (the old version keeps serving). */
  reload_error?: string;
}

/**
 * One line of a model's request log (`<logs>/<model>/<pid>-<start>-p<part>.ndjson[.gz]`).
 * v2 added `proc` and `seq` (v1 lines have neither); see runtime/online/CONTEXT.md.
 */
export interface RequestLogEntry {
  v: 1 | 2;
  id: string;
  /** The writing process, `<pid>-<start ms>` (set by the log). */
  proc?: string;
  /** 1, 2, 3, … per process and model, without gaps (set by the log). */
  seq?: number;
  /** Request time (ISO). */
  ts: string;
  model: string;
  version: number;
  /** The validated request: entity keys and request fields (timestamps as ISO strings). */
  request: Record<string, Scalar>;
  features: Record<string, FeatureValue>;
  feature_times: Record<string, string | null>;
  odts: Record<string, Scalar>;
  prediction: number | string | null;
  /** Multiclass only: each class's probability. */
  probabilities?: Record<string, number> | null;
}

/** An answer of the in-process service: the HTTP status and body the HTTP route would send. */
export interface LocalResponse<T = unknown> {
  status: number;
  body: T | ApiErrorBody;
}

export interface LocalServiceOptions {
  /** The store file (default: $FTI_STORE, else .fti/store.duckdb). */
  store?: string;
  /** Request log directory (default: `logs/` next to the store); false = no request log. */
  logs?: string | false;
  /** Re-read the store when it changes (default: false in process, true for `fti serve`). */
  watch?: boolean;
}

/** The online path (lookup → ODT → MDT → ONNX → request log) without HTTP. */
export interface LocalService {
  /** The same answer `POST /v1/models/<model>/predict` gives for `body`. */
  predict(model: string, body: unknown): Promise<LocalResponse>;
  models(): ServedModelInfo[];
  /** Re-reads the registry and the online tables (what `POST /admin/reload` does). */
  reload(): Promise<unknown>;
  /** Flushes the request log and releases the models. */
  close(): Promise<void>;
}
