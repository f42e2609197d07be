// The steps of a prediction between validation and the ONNX run, per instance
// (a slice per turn of the event loop, turns.ts): the online lookup, the
// model's inputs (ODTs run on the request and the features), and the message
// of an instance whose features are missing (the 422).

import type { Scalar, ViewPlan } from "../api.ts";
import { echo } from "../request-issues.ts";
import { lookup, type JoinLookup, type LookupResult, type MissingStatus } from "./cache.ts";
import { plain } from "./predict-request.ts";
import type { ServedModel } from "./served-model.ts";
import { inTurns, whenReady } from "./turns.ts";
import type { ApiIssue } from "./types.ts";

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

export type LookedUp = { requests: Array<Record<string, Scalar>>; looked: LookupResult[] };

/**
 * Online lookup of instances `from` to `to` (a slice per turn of the event
 * loop; at once when they fit in one): the request fields as served, and the
 * features; an instance that misses features the model cannot impute adds its
 * issue to `missing`.
 */
export function lookupChunk(
  m: ServedModel,
  joins: JoinLookup[],
  instances: Array<Record<string, unknown>>,
  from: number,
  to: number,
  nowMs: number,
  isBatch: boolean,
  missing: ApiIssue[],
): LookedUp | Promise<LookedUp> {
  const requests: Array<Record<string, Scalar>> = [];
  const looked: LookupResult[] = [];
  const done = inTurns(from, to, (i) => {
    const req: Record<string, Scalar> = {};
    for (const f of m.fields) req[f.name] = plain(instances[i][f.name]);
    const l = lookup(joins, req, nowMs, m.view.ttlMs);
    if (l.missing.length && !m.plan.canImpute) missing.push({ path: isBatch ? ["instances", i] : [], message: missingMessage(l, m.view, req) });
    if (missing.length) return; // nothing more is scored: keep only the issues
    requests.push(req);
    looked.push(l);
  });
  return whenReady(done, () => ({ requests, looked }));
}

/**
 * Per instance: the ODT values, and the model's inputs by name (what
 * `{...request, ...features, ...odts}` gives for each input the model reads:
 * an ODT value, else the feature's value, else the request field). Only the
 * model's inputs are copied (the predictor reads nothing else), into objects
 * of one shape.
 */
export type ModelInputs = { rows: Array<Record<string, Scalar>>; odtValues: Array<Record<string, Scalar>> };

export function modelInputs(m: ServedModel, requests: Array<Record<string, Scalar>>, looked: LookupResult[]): ModelInputs | Promise<ModelInputs> {
  const rows: Array<Record<string, Scalar>> = [];
  const odtValues: Array<Record<string, Scalar>> = [];
  const inputs = m.inputNames;
  const built = inTurns(0, requests.length, (i) => {
    const features = looked[i].features;
    const request = requests[i];
    const odts: Record<string, Scalar> = {};
    for (const { odt, features: names } of m.odts) {
      const req: Record<string, Scalar> = {};
      for (const p of odt.requestParams) req[p.name] = request[p.name] ?? null;
      const args: Record<string, Scalar> = {};
      for (const name of names) args[name] = (hasOwn(features, name) ? features[name].value : undefined) ?? null;
      const v = odt.compute(req, args);
      odts[odt.name] = v === undefined ? null : v;
    }
    odtValues.push(odts);
    const row: Record<string, Scalar> = {};
    for (const name of inputs) row[name] = hasOwn(odts, name) ? odts[name] : hasOwn(features, name) ? features[name].value : request[name];
    rows.push(row);
  });
  return whenReady(built, () => ({ rows, odtValues }));
}

/**
 * Why a request has no features: the request's key values, per status the
 * features, then the joins (`group` or `group(column)`) whose row is missing,
 * stale or later, with the key values they looked up.
 */
function missingMessage(l: LookupResult, view: ViewPlan, req: Record<string, Scalar>): string {
  // The key values of the joins that found nothing: an unknown receiver does not make the sender's keys "no features".
  const missingColumns = new Set(l.missingJoins.flatMap((j) => Object.keys(j.keys)));
  const entity = view.keys.filter((k) => missingColumns.has(k.name)).map((k) => `${k.name}=${echo(req[k.name])}`).join(", ");
  const part = (status: MissingStatus, label: string) => {
    const names = l.missing.filter((f) => l.features[f].status === status);
    return names.length ? `${label}: ${names.join(", ")}` : "";
  };
  const parts = [
    part("not_found", "not found"),
    part("stale", "stale (older than the view's ttl)"),
    part("future", "only rows after the request time"),
  ].filter(Boolean);
  // A global join (no keys) names its group alone; a view with only those has no entity to name.
  const joins = (status: MissingStatus, label: string) => {
    const named = l.missingJoins
      .filter((j) => j.status === status)
      .map((j) => {
        const keys = Object.entries(j.keys).map(([k, v]) => `${k}=${echo(v)}`).join(", ");
        return keys ? `${j.id} ${keys}` : j.id;
      });
    return named.length ? `${label} ${named.join(", ")}` : "";
  };
  // A stale join has a row, only an old one: "no row in" would say it has none (as batch-rejects.ts writes it).
  const where = [joins("not_found", "no row in"), joins("stale", "no row within the ttl in"), joins("future", "only rows after the request time in")].filter(Boolean);
  return `no online features${entity ? ` for ${entity}` : ""}; ${parts.join("; ")}; ${where.join("; ")}`;
}
