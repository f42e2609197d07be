// The events route's common case on node:http directly, ahead of Fastify, as
// fast-predict.ts does for predictions.
//
// At 5,000 events/s as 10-event requests, Fastify's routing, hooks, content-type
// parser and reply were ~18 % of the stream server's busy main thread (a CPU
// profile of the stream suite's HTTP load), beside the engine's ~26 %; on 2
// shared cores that CPU is what the events requests wait for. A request this
// handler takes gets the answer Fastify would give it (status, content type,
// body: the same parsers, the same `OnlineService.pushEvents`, the same error
// answers; test/online-fast-events.test.ts compares the two paths answer by
// answer), so validation, the per-event rejection lists, durability before the
// acknowledgement and the apply-latency metric are the service's, unchanged.
//
// It takes only the plain case — POST /v1/sources/<source>/events, a JSON or
// NDJSON body (UTF-8) with a Content-Length of at most BODY_CHARS_PER_TURN
// bytes, no Transfer-Encoding or Expect, no refusal (auth.ts), not closing,
// Fastify's request logging off — and hands everything else to Fastify.

import type { IncomingMessage, ServerResponse } from "node:http";
import { answerOrError, lengthMismatch, plainBodyLength, readBody, sendJson, type FastRoute, type FastRouteContext } from "./fast-http.ts";
import { bodyText, parseJsonBody, parseNdjsonBody } from "./json-body.ts";

/** The events route's path; a source name of identifier characters only (anything else goes to Fastify, which decodes it). */
const EVENTS_PATH = /^\/v1\/sources\/([A-Za-z0-9_-]+)\/events$/;
/** The body types the route takes (http.ts's parsers: JSON, and NDJSON's three names), UTF-8 at most as a parameter. */
const EVENTS_TYPE = /^(application\/json|application\/x-ndjson|application\/jsonl|application\/json-seq)\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

export type FastEventsContext = FastRouteContext;

export function fastEvents(ctx: FastEventsContext): FastRoute {
  let answered = 0;
  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== "POST" || ctx.closing()) return false;
    const url = req.url ?? "";
    const m = EVENTS_PATH.exec(url);
    if (!m) return false;
    const length = plainBodyLength(req, url, EVENTS_TYPE, ctx.access);
    if (length === null) return false;
    answered++;
    const source = m[1];
    const ndjson = !/^application\/json\s*(;|$)/i.test(req.headers["content-type"]!);
    readBody(req, length, (bytes, whole) => void answer(source, bytes, whole, ndjson, res));
    return true;
  };

  const answer = async (source: string, bytes: Buffer, whole: boolean, ndjson: boolean, res: ServerResponse): Promise<void> => {
    const { status, payload } = await answerOrError(ctx, async () => {
      if (!whole) throw lengthMismatch();
      const text = bodyText(bytes);
      const r = await ctx.service.pushEvents(source, ndjson ? parseNdjsonBody(text) : parseJsonBody(text));
      return { status: r.status, payload: JSON.stringify(r.body) };
    });
    sendJson(res, status, payload, ctx.closing());
  };

  return {
    handle,
    get answered() {
      return answered;
    },
  };
}
