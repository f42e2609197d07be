// The predict route's common case on node:http directly, ahead of Fastify.
//
// Measured on the 1 M-entity bench store (closed loop, server CPU per answer):
// the node:http floor 37–40 µs, fti's 404 for an unknown model — Fastify's
// routing, hooks, content-type parser, reply and serializer, and almost no
// service work — 58–72 µs, a full prediction 89–94 µs. Fastify cost about as
// much as the prediction itself. A request this handler takes gets the same
// answer Fastify would give it (status, content type, body; the same parser,
// refusals, service call and error shapes; test/online-fast-predict.test.ts
// compares the two paths answer by answer), and the same metrics.
//
// It takes only the plain case — POST /v1/models/<name>/predict, a JSON
// body with a Content-Length of at most BODY_CHARS_PER_TURN bytes, no
// Transfer-Encoding or Expect, no refusal (auth.ts), not closing, Fastify's
// request logging off — and hands everything else to Fastify untouched
// (chunked and large bodies, 413s, 415s, 401s/403s, closing, query strings,
// other routes), so every rule that is not restated here stays Fastify's.

import type { IncomingMessage, ServerResponse } from "node:http";
import { refusal, type AccessOptions } from "./auth.ts";
import { bodyText, parseJsonBody } from "./json-body.ts";
import { BODY_CHARS_PER_TURN } from "./json-turns.ts";
import type { Metrics } from "./metrics.ts";
import type { OnlineService } from "./service.ts";
import type { ApiErrorBody } from "./types.ts";

/** The predict route's path; a model name of identifier characters only (anything else goes to Fastify, which decodes it). */
const PREDICT_PATH = /^\/v1\/models\/([A-Za-z0-9_-]+)\/predict$/;
const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const CONTENT_TYPE = "application/json; charset=utf-8";

export interface FastPredictContext {
  service: OnlineService;
  metrics: Metrics;
  access: AccessOptions;
  /** True once the server has begun to close (Fastify then answers: 503s, Connection: close). */
  closing: () => boolean;
  /** An error answer as Fastify's error handler gives it (http.ts `errorAnswer`). */
  errorAnswer: (err: Error) => { status: number; body: ApiErrorBody };
  /** Where a 5xx is logged. */
  logError: (err: Error) => void;
}

export interface FastPredict {
  /** Takes the request and answers it (true), or leaves it to Fastify (false, nothing read or written). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests answered here (for tests and the bench). */
  readonly answered: number;
}

export function fastPredict(ctx: FastPredictContext): FastPredict {
  let answered = 0;
  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== "POST" || ctx.closing()) return false;
    const m = PREDICT_PATH.exec(req.url ?? "");
    if (!m) return false;
    const h = req.headers;
    if (h["transfer-encoding"] !== undefined || h.expect !== undefined || !JSON_TYPE.test(h["content-type"] ?? "")) return false;
    const lengthText = h["content-length"];
    if (lengthText === undefined || !/^\d{1,9}$/.test(lengthText)) return false;
    const length = Number(lengthText);
    if (length === 0 || length > BODY_CHARS_PER_TURN) return false;
    if (refusal({ method: "POST", path: req.url!, headers: h }, ctx.access)) return false;
    answered++;
    const started = performance.now();
    const model = m[1];
    const chunks: Buffer[] = [];
    let got = 0;
    req.on("data", (c: Buffer) => {
      chunks.push(c);
      got += c.length;
    });
    req.on("end", () => {
      void answer(model, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, got), got === length, res, started);
    });
    return true;
  };

  const answer = async (model: string, bytes: Buffer, whole: boolean, res: ServerResponse, started: number): Promise<void> => {
    let status: number;
    let payload: string;
    try {
      if (!whole) throw Object.assign(new Error("Request body size did not match Content-Length"), { statusCode: 400, code: "FST_ERR_CTP_INVALID_CONTENT_LENGTH" });
      const body = parseJsonBody(bodyText(bytes));
      const r = await ctx.service.predict(model, body, { text: true });
      status = r.status;
      payload = r.text !== undefined ? r.text : JSON.stringify(r.body);
    } catch (e) {
      const a = ctx.errorAnswer(e as Error);
      if (a.status >= 500) ctx.logError(e as Error);
      status = a.status;
      payload = JSON.stringify(a.body);
    }
    if (res.destroyed) return;
    const headers: Record<string, string | number> = { "content-type": CONTENT_TYPE, "content-length": Buffer.byteLength(payload) };
    if (ctx.closing()) headers.connection = "close";
    res.writeHead(status, headers);
    res.end(payload);
    ctx.metrics.observe(ctx.service.isServed(model) ? model : "unknown", status, (performance.now() - started) / 1000);
  };

  return {
    handle,
    get answered() {
      return answered;
    },
  };
}
