// A request's zod issues in the API's words (JSON paths, a missing field said in JSON's terms): one
// reading for a prediction request (online/predict-request.ts) and an agent's tool call (agents/chat.ts);
// `echo` for every message that repeats a client's input. At the runtime's root: online/ imports
// agents/, so agents/ cannot import online/.

import { z } from "zod";
import type { ApiIssue } from "./api-issue.ts";
import { clip } from "./clip-text.ts";

/** Longest piece of a client's input an error message repeats. */
export const ECHO_LIMIT = 80;

/** A value as an error message shows it: JSON, cut to ECHO_LIMIT characters with the full length said. */
export function echo(value: unknown): string {
  return clip(JSON.stringify(value) ?? String(value), ECHO_LIMIT);
}

/**
 * zod issues → JSON paths + messages; an unknown key becomes an issue at that key's path. With the
 * instance that failed and its schema, a field the instance lacks says so in JSON's words (zod's
 * "received undefined"), and whether null would do (a nullable field must still be sent); a null where
 * none may be says that (zod's "received null").
 */
export function zodIssues(error: z.ZodError, prefix: Array<string | number> = [], instance?: unknown, schema?: z.ZodType): ApiIssue[] {
  const out: ApiIssue[] = [];
  for (const issue of error.issues) {
    // A path element is a client's key: cut, like every echoed value.
    const path = [...prefix, ...issue.path.map((p) => (typeof p === "number" ? p : capKey(String(p))))];
    if (issue.code === "unrecognized_keys") {
      for (const key of (issue as { keys: string[] }).keys) out.push({ path: [...path, capKey(key)], message: `unknown field ${echo(key)}` });
    } else {
      out.push({ path, message: missingField(issue, instance, schema) ?? issue.message });
    }
  }
  return out;
}

function missingField(issue: z.core.$ZodIssue, instance: unknown, schema: z.ZodType | undefined): string | undefined {
  if (issue.code !== "invalid_type" || issue.path.length !== 1 || instance === null || typeof instance !== "object") return undefined;
  const key = String(issue.path[0]);
  // A null where none may be (an entity key, a field not declared `?`): said as batch scoring says it, not zod's "received null".
  if (Object.prototype.hasOwnProperty.call(instance, key)) return (instance as Record<string, unknown>)[key] === null ? `null: expected ${issue.expected} (this field cannot be null)` : undefined;
  const field = schema instanceof z.ZodObject ? (schema.shape as Record<string, z.ZodType | undefined>)[key] : undefined;
  const nullable = field?.safeParse(null).success ?? false;
  return `missing field: expected ${issue.expected}${nullable ? " or null (send null for no value)" : ""}`;
}

/** A client's key as a path element: cut, like every echoed value. */
export function capKey(key: string): string {
  return key.length <= 200 ? key : `${key.slice(0, 200)}…`;
}
