// A prediction request's body → its validated instances, or the 400 that lists
// every issue with its JSON path (CONTEXT.md, "Answers to bad input").

import { z } from "zod";
import type { Scalar } from "../api.ts";
import { zodIssues } from "../request-issues.ts";
import { apiError } from "./api-error.ts";
import type { ServedModel } from "./served-model.ts";
import { inTurns, whenReady } from "./turns.ts";
import type { ApiIssue, LocalResponse } from "./types.ts";

/** Most instances one request may carry (the 1 MB body limit usually bites first). */
export const MAX_INSTANCES = 10_000;

/** A batch's envelope alone: its instances are then validated a slice at a time (turns.ts). */
const BATCH_ENVELOPE = z.strictObject({ instances: z.array(z.unknown()).min(1).max(MAX_INSTANCES) });

/**
 * Issues a 400 lists at most: a 1 MB body of 60,000 unknown fields would
 * otherwise be answered with a 3 MB list (the message still counts them all).
 */
const MAX_LISTED_ISSUES = 1000;

/** A validated value as the lookup and the log take it (dates as ISO text, undefined as null). */
export function plain(v: unknown): Scalar {
  if (v instanceof Date) return v.toISOString();
  return (v ?? null) as Scalar;
}

export type ParsedInstances = { isBatch: boolean; instances: Array<Record<string, unknown>> } | LocalResponse;

/**
 * The request's instances, validated by the model's request schema (one
 * instance, or `{"instances": [...]}`); a 400 otherwise. A batch is validated
 * INSTANCES_PER_TURN instances per turn of the event loop, with the issues
 * validating it whole gives (same paths, same order). At once (no promise)
 * when it fits in one turn (turns.ts inTurns).
 */
export function parseInstances(m: ServedModel, modelName: string, body: unknown): ParsedInstances | Promise<ParsedInstances> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return apiError(400, "invalid_request", "the request body must be a JSON object: the entity keys and request fields, or {\"instances\": [...]}", [
      { path: [], message: "expected an object" },
    ]);
  }
  const isBatch = Object.prototype.hasOwnProperty.call(body, "instances");
  if (!isBatch) {
    const one = m.single.safeParse(body);
    return one.success ? { isBatch, instances: [one.data as Record<string, unknown>] } : invalidRequest(modelName, zodIssues(one.error, [], body, m.single));
  }
  const envelope = BATCH_ENVELOPE.safeParse(body);
  if (!envelope.success) {
    // a bad envelope: the whole batch's issues, as one validation gives them
    const whole = m.batch.safeParse(body);
    return invalidRequest(modelName, zodIssues(whole.success ? envelope.error : whole.error));
  }
  const items = envelope.data.instances;
  const instances: Array<Record<string, unknown>> = [];
  const issues: ApiIssue[] = [];
  const validated = inTurns(0, items.length, (i) => {
    const one = m.single.safeParse(items[i]);
    if (one.success) instances.push(one.data as Record<string, unknown>);
    else issues.push(...zodIssues(one.error, ["instances", i], items[i], m.single));
  });
  return whenReady(validated, () => (issues.length ? invalidRequest(modelName, issues) : { isBatch, instances }));
}

/**
 * The 400 of a request that fails the schema. A function of the module, not a closure made per request: run
 * from TypeScript through tsx, each closure a function creates is named by a call (esbuild's keepNames), ~1 %
 * of the server's CPU per answer when parseInstances made one.
 */
function invalidRequest(modelName: string, issues: ApiIssue[]): LocalResponse<never> {
  return apiError(
    400,
    "invalid_request",
    `invalid request for model \`${modelName}\`: ${issues.length} issue${issues.length === 1 ? "" : "s"}${issues.length > MAX_LISTED_ISSUES ? ` (the first ${MAX_LISTED_ISSUES} listed)` : ""}`,
    issues.slice(0, MAX_LISTED_ISSUES),
  );
}
