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
import { answerOrError, JSON_TYPE, lengthMismatch, plainBodyLength, readBody, sendJson, type FastRoute, type FastRouteContext } from "./fast-http.ts";
import { bodyText, parseJsonBody } from "./json-body.ts";
import type { Metrics } from "./metrics.ts";

/** The predict route's path; a model name of identifier characters only (anything else goes to Fastify, which decodes it). */
const PREDICT_PATH = /^\/v1\/models\/([A-Za-z0-9_-]+)\/predict$/;

export interface FastPredictContext extends FastRouteContext {
  metrics: Metrics;
}

export type FastPredict = FastRoute;

export function fastPredict(ctx: FastPredictContext): FastPredict {
  let answered = 0;
  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== "POST" || ctx.closing()) return false;
    const url = req.url ?? "";
    const m = PREDICT_PATH.exec(url);
    if (!m) return false;
    const length = plainBodyLength(req, url, JSON_TYPE, ctx.access);
    if (length === null) return false;
    answered++;
    const started = performance.now();
    const model = m[1];
    readBody(req, length, (bytes, whole) => void answer(model, bytes, whole, res, started));
    return true;
  };

  const answer = async (model: string, bytes: Buffer, whole: boolean, res: ServerResponse, started: number): Promise<void> => {
    const { status, payload } = await answerOrError(ctx, async () => {
      if (!whole) throw lengthMismatch();
      const r = await ctx.service.predict(model, parseJsonBody(bodyText(bytes)), { text: true });
      return { status: r.status, payload: r.text !== undefined ? r.text : JSON.stringify(r.body) };
    });
    if (res.destroyed) return;
    sendJson(res, status, payload, ctx.closing());
    ctx.metrics.observe(ctx.service.isServed(model) ? model : "unknown", status, (performance.now() - started) / 1000);
  };

  return {
    handle,
    get answered() {
      return answered;
    },
  };
}
