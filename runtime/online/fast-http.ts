// What the node:http fast paths ahead of Fastify share (fast-predict.ts for
// predictions, fast-events.ts for a stream's events): which requests are plain
// enough to take, reading such a body whole, and writing a JSON answer with the
// headers Fastify gives it. A fast path takes a request only when every rule
// that could refuse or reshape it is restated here; anything else goes to
// Fastify untouched (http.ts `fastServer` asks each fast path in turn).

import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { refusal, type AccessOptions } from "./auth.ts";
import { BODY_CHARS_PER_TURN } from "./json-turns.ts";
import type { OnlineService } from "./service.ts";
import type { ApiErrorBody } from "./types.ts";

/** `application/json`, with at most a UTF-8 charset (any other charset goes to Fastify). */
export const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

const CONTENT_TYPE = "application/json; charset=utf-8";

/** What every fast path needs of the server around it. */
export interface FastRouteContext {
  service: OnlineService;
  access: AccessOptions;
  /** True once the server has begun to close (Fastify then answers: 503s, Connection: close). */
  closing: () => boolean;
  /** An error answer as Fastify's error handler gives it (http.ts `errorAnswer`). */
  errorAnswer: (err: Error) => { status: number; body: ApiErrorBody };
  /** Where a 5xx is logged. */
  logError: (err: Error) => void;
}

/** `work`'s answer, or, when it throws, the error answer Fastify's handler gives (a 5xx logged). */
export async function answerOrError(ctx: FastRouteContext, work: () => Promise<{ status: number; payload: string }>): Promise<{ status: number; payload: string }> {
  try {
    return await work();
  } catch (e) {
    const a = ctx.errorAnswer(e as Error);
    if (a.status >= 500) ctx.logError(e as Error);
    return { status: a.status, payload: JSON.stringify(a.body) };
  }
}

/** A route answered on node:http ahead of Fastify. */
export interface FastRoute {
  /** Takes the request and answers it (true), or leaves it to Fastify (false, nothing read or written). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests answered here (for tests and the bench). */
  readonly answered: number;
}

/**
 * The body length of a plain request, or null when Fastify must take it: a
 * Content-Length of 1 to BODY_CHARS_PER_TURN bytes (parsed at once, as Fastify
 * parses such a body), no Transfer-Encoding or Expect, a content type `type`
 * accepts, and nothing auth.ts refuses.
 */
export function plainBodyLength(req: IncomingMessage, path: string, type: RegExp, access: AccessOptions): number | null {
  const h: IncomingHttpHeaders = req.headers;
  if (h["transfer-encoding"] !== undefined || h.expect !== undefined || !type.test(h["content-type"] ?? "")) return null;
  const lengthText = h["content-length"];
  if (lengthText === undefined || !/^\d{1,9}$/.test(lengthText)) return null;
  const length = Number(lengthText);
  if (length === 0 || length > BODY_CHARS_PER_TURN) return null;
  if (refusal({ method: "POST", path, headers: h }, access)) return null;
  return length;
}

/** Reads the body; `done` gets its bytes and whether they are as many as the Content-Length said. */
export function readBody(req: IncomingMessage, length: number, done: (bytes: Buffer, whole: boolean) => void): void {
  const chunks: Buffer[] = [];
  let got = 0;
  req.on("data", (c: Buffer) => {
    chunks.push(c);
    got += c.length;
  });
  req.on("end", () => done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, got), got === length));
}

/** What Fastify answers to a body shorter or longer than its Content-Length (http.ts errorAnswer turns it into a 400). */
export function lengthMismatch(): Error {
  return Object.assign(new Error("Request body size did not match Content-Length"), { statusCode: 400, code: "FST_ERR_CTP_INVALID_CONTENT_LENGTH" });
}

/** Writes a JSON answer as Fastify does (its content type and length; `Connection: close` once the server is closing). */
export function sendJson(res: ServerResponse, status: number, payload: string, closing: boolean): void {
  if (res.destroyed) return;
  const headers: Record<string, string | number> = { "content-type": CONTENT_TYPE, "content-length": Buffer.byteLength(payload) };
  if (closing) headers.connection = "close";
  res.writeHead(status, headers);
  res.end(payload);
}
