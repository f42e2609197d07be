// The JSON body parser of `fti serve`. JSON.parse, with two things Fastify's
// default parser does not do: a message that says where the JSON is broken
// (capped: it never echoes much of the body back), and a body that is valid
// JSON but carries a `__proto__` or `constructor.prototype` key is refused as
// an invalid request naming the field's path — not called "malformed JSON".

import { isUtf8 } from "node:buffer";
import type { ApiIssue } from "../api-issue.ts";
import { echo } from "../request-issues.ts";


export class BodyError extends Error {
  readonly statusCode = 400;
  constructor(
    readonly code: string,
    message: string,
    readonly issues?: ApiIssue[],
  ) {
    super(message);
  }
}

/**
 * A body's bytes as text. Bytes that are not UTF-8 are a BodyError: decoded,
 * they would become U+FFFD, and a value the client never sent would be
 * applied (the batch pipeline quarantines such a line for the same reason).
 */
export function bodyText(bytes: Buffer): string {
  if (!isUtf8(bytes)) throw new BodyError("invalid_json", "the body is not valid UTF-8: send JSON as UTF-8 text");
  return bytes.toString("utf8");
}

/** Parses a request body; throws a BodyError. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === "") throw new BodyError("invalid_json", "the body is empty; send a JSON object");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // V8's message quotes part of the body: keep only where it broke.
    const m = /position (\d+)/.exec((e as Error).message);
    throw new BodyError("invalid_json", `malformed JSON${m ? ` at position ${m[1]}` : ""}: the body is not valid JSON`);
  }
  if (text.includes("__proto__") || text.includes("prototype")) {
    const path = pollutingKey(value);
    if (path) {
      throw new BodyError("invalid_request", `the field ${echo(path.at(-1))} is not allowed in a request`, [
        { path, message: `field ${echo(path.at(-1))} is not allowed` },
      ]);
    }
  }
  return value;
}

/** The path of a `__proto__` key, or of `prototype` under `constructor`, anywhere in the value (iterative: any depth). */
export function pollutingKey(root: unknown): Array<string | number> | null {
  const stack: Array<{ v: unknown; path: Array<string | number> }> = [{ v: root, path: [] }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: [...path, i] });
      continue;
    }
    for (const key of Object.keys(v)) {
      if (key === "__proto__" || (key === "prototype" && path.at(-1) === "constructor")) return [...path, key];
      stack.push({ v: (v as Record<string, unknown>)[key], path: [...path, key] });
    }
  }
  return null;
}

/** The content types of an NDJSON body (one JSON value per line): the events route takes them. */
export const NDJSON_TYPES = ["application/x-ndjson", "application/jsonl", "application/json-seq"];

/**
 * Parses an NDJSON body into its values (blank lines skipped); a line that is
 * not JSON is a BodyError naming the line, with the path [line index].
 */
export function parseNdjsonBody(text: string): unknown[] {
  const out: unknown[] = [];
  const lines = text.split("\n");
  parseNdjsonLines(lines, 0, lines.length, out);
  return out;
}

/** Lines `from` to `to` (exclusive) of an NDJSON body, appended to `out` (its values so far): what parseNdjsonBody does for a run of lines. */
export function parseNdjsonLines(lines: readonly string[], from: number, to: number, out: unknown[]): void {
  for (let i = from; i < to; i++) {
    if (lines[i].trim() === "") continue;
    try {
      out.push(parseJsonBody(lines[i]));
    } catch (e) {
      const b = e as BodyError;
      const issues = (b.issues ?? [{ path: [], message: b.message }]).map((x) => ({ path: [out.length, ...x.path], message: x.message }));
      throw new BodyError(b.code ?? "invalid_json", `line ${i + 1}: ${b.message}`, issues);
    }
  }
}
