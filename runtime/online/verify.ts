// `fti verify`: logged vs recomputed features (Chronon's consistency check).
// Each logged request's feature vector is recomputed offline, point in time
// as of the request time (featuresAsOf: the latest feature row with
// event_time <= t, within the view's ttl), the ODTs rerun on the logged
// request fields, and every value compared with what the service served.
// On clean data the mismatch count is 0; anything else is online/offline
// skew (an online table out of date or edited, a backfill after serving, a
// service running other transformation code).

import type { Scalar, SpecBundle } from "../api.ts";
import { UserError } from "../errors.ts";
import type { Store } from "../store/store.ts";
import { findModel } from "../bundle.ts";
import { featuresAsOf } from "../retrieval/pit.ts";
import { readRequestLog, type ReadLogResult } from "./log.ts";
import { viewJoins } from "../retrieval/view-joins.ts";
import type { FeatureStatus, RequestLogEntry } from "./types.ts";

export interface VerifyOptions {
  /** The request log directory. */
  logsDir: string;
  /** Only requests at or after this time. */
  since?: Date;
  until?: Date;
  /** Requests per featuresAsOf call (default 20,000). */
  batchSize?: number;
  /** Mismatch examples kept per feature (default 5). */
  examples?: number;
}

export interface VerifyMismatch {
  request_id: string;
  ts: string;
  entity: Record<string, Scalar>;
  logged: Scalar;
  recomputed: Scalar;
  status?: FeatureStatus;
}

export interface FeatureVerifyReport {
  name: string;
  kind: "feature" | "odt";
  compared: number;
  mismatches: number;
  rate: number;
  /** Logged statuses (features only). */
  statuses?: Partial<Record<FeatureStatus, number>>;
  examples: VerifyMismatch[];
}

export interface VerifyReport {
  model: string;
  view: string;
  files: string[];
  requests: number;
  /** Unreadable log lines (a torn last line of a killed process). */
  badLines: number;
  /** What the log says is missing: seq gaps per process, unreadable lines with file:line, unclean ends. */
  integrity: Pick<ReadLogResult, "gaps" | "missing" | "bad" | "processes">;
  since: string | null;
  features: FeatureVerifyReport[];
  /** Total mismatching values over all features and ODTs. */
  mismatches: number;
  /** Requests with at least one mismatching value. */
  mismatchedRequests: number;
  ms: number;
}

/** Equal as served vs recomputed: numbers within 1e-9 relative, timestamps by instant. */
export function sameValue(a: Scalar | undefined, b: Scalar | undefined): boolean {
  const x = a ?? null;
  const y = b ?? null;
  if (x === null || y === null) return x === y;
  if (typeof x === "number" && typeof y === "number") {
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
    return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  }
  if (typeof x === "string" && typeof y === "string" && x !== y) {
    const tx = Date.parse(x);
    const ty = Date.parse(y);
    return /^\d{4}-\d\d-\d\d/.test(x) && /^\d{4}-\d\d-\d\d/.test(y) && !Number.isNaN(tx) && tx === ty;
  }
  return x === y;
}

export async function verifyModel(store: Store, bundle: SpecBundle, modelName: string, opts: VerifyOptions): Promise<VerifyReport> {
  const t0 = performance.now();
  const { view } = findModel(bundle, modelName);
  const log = readRequestLog(opts.logsDir, modelName, { since: opts.since, until: opts.until });
  // Every feature by its name in the vector (a group joined on two columns gives two, possibly prefixed).
  const featureNames = viewJoins(bundle, view).flatMap((j) => j.features.map((f) => f.name));
  const odtNames = view.odts.map((o) => o.name);
  const reports = new Map<string, FeatureVerifyReport>();
  for (const name of featureNames) reports.set(name, { name, kind: "feature", compared: 0, mismatches: 0, rate: 0, statuses: {}, examples: [] });
  for (const name of odtNames) reports.set(name, { name, kind: "odt", compared: 0, mismatches: 0, rate: 0, examples: [] });
  const maxExamples = opts.examples ?? 5;
  const batchSize = opts.batchSize ?? 20_000;
  const keyNames = view.keys.map((k) => k.name);
  const reqNames = view.requestFields.map((f) => f.name);
  let mismatchedRequests = 0;

  for (let from = 0; from < log.entries.length; from += batchSize) {
    const batch = log.entries.slice(from, from + batchSize);
    const keys: Record<string, Scalar[]> = {};
    for (const k of keyNames) keys[k] = batch.map((e) => e.request?.[k] ?? null);
    const missingKey = batch.findIndex((e) => keyNames.some((k) => e.request?.[k] === undefined || e.request?.[k] === null));
    if (missingKey >= 0) {
      throw new UserError(`request log entry ${batch[missingKey].id} has no ${keyNames.join(", ")}: it was not logged by this spec's view \`${view.name}\``);
    }
    const request: Record<string, Scalar[]> = {};
    for (const r of reqNames) request[r] = batch.map((e) => e.request?.[r] ?? null);
    const time = Float64Array.from(batch, (e) => Date.parse(e.ts));
    const frame = await featuresAsOf(store, bundle, view.name, { keys, time, request: reqNames.length ? request : undefined });
    for (let i = 0; i < batch.length; i++) {
      const e: RequestLogEntry = batch[i];
      let bad = false;
      const compare = (rep: FeatureVerifyReport, logged: Scalar | undefined, status?: FeatureStatus) => {
        if (logged === undefined) return; // not logged (an older view)
        const col = frame.columns[rep.name];
        if (!col) return;
        rep.compared++;
        const recomputed = col[i] ?? null;
        if (!sameValue(logged, recomputed)) {
          rep.mismatches++;
          bad = true;
          if (rep.examples.length < maxExamples) {
            const entity: Record<string, Scalar> = {};
            for (const k of keyNames) entity[k] = e.request[k];
            rep.examples.push({ request_id: e.id, ts: e.ts, entity, logged, recomputed, ...(status ? { status } : {}) });
          }
        }
      };
      for (const name of featureNames) {
        const rep = reports.get(name)!;
        const fv = e.features?.[name];
        if (fv) rep.statuses![fv.status] = (rep.statuses![fv.status] ?? 0) + 1;
        compare(rep, fv ? (fv.value ?? null) : undefined, fv?.status);
      }
      for (const name of odtNames) compare(reports.get(name)!, e.odts?.[name]);
      if (bad) mismatchedRequests++;
    }
  }
  const features = [...reports.values()].map((r) => ({ ...r, rate: r.compared ? r.mismatches / r.compared : 0 }));
  return {
    model: modelName,
    view: view.name,
    files: log.files,
    requests: log.entries.length,
    badLines: log.badLines,
    integrity: { gaps: log.gaps, missing: log.missing, bad: log.bad, processes: log.processes },
    since: opts.since?.toISOString() ?? null,
    features,
    mismatches: features.reduce((s, f) => s + f.mismatches, 0),
    mismatchedRequests,
    ms: Math.round(performance.now() - t0),
  };
}
