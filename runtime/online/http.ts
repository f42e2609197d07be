// `fti serve`: Fastify in front of the OnlineService. Fastify does the
// routing, the 1 MB body limit, JSON parsing and (opt-in) request logging; every
// error leaves as the same JSON shape ({error: {status, code, message,
// issues?}}), a request node:http cannot parse too (client-error.ts), and the
// server keeps serving after any of them.
//
// Routes:
//   POST /v1/models/:model/predict   one instance, or {"instances": [...]}
//   POST /v1/sources/:source/events  one event, an array, or NDJSON (application/x-ndjson): a stream's events
//   GET  /v1/models                  served models, versions, metrics
//   GET  /healthz                    models, online tables, last reload, request log
//   GET  /metrics                    Prometheus text
//   POST /admin/reload               re-read the registry and the online tables
//   GET  /                           the prediction pages (HTML)
//   GET  /models/:model
//   GET  <page>/:model               pages of extensions (extension.ts), e.g. /monitor/:model

import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from "fastify";
import type { SpecBundle } from "../api.ts";
import { UserError } from "../errors.ts";
import { isLoopback, refusal, type AccessOptions } from "./auth.ts";
import { fastEvents } from "./fast-events.ts";
import type { FastRoute } from "./fast-http.ts";
import { fastPredict, type FastPredict } from "./fast-predict.ts";
import { answerExpectations, clientErrorHandler, refusedWithoutHost } from "./client-error.ts";
import { BodyError, bodyText, NDJSON_TYPES, parseJsonBody } from "./json-body.ts";
import { collectGarbage, scavengeOnOneThread, stopPretenuring } from "./full-gc.ts";
import { Metrics } from "./metrics.ts";
import { indexPage, modelPage, notFoundPage } from "./page.ts";
import { OnlineService, type Logger, type ServiceOptions } from "./service.ts";
import type { ApiErrorBody } from "./types.ts";
import { BODY_CHARS_PER_TURN, parseJsonBodyInTurns, parseNdjsonBodyInTurns } from "./json-turns.ts";

export const BODY_LIMIT = 1024 * 1024;

/**
 * A request's headers and body must have arrived this long after it started
 * (else 408 and the connection is closed): a client trickling a byte now and
 * then held its connection, and a file descriptor, for ever (requestTimeout 0,
 * Fastify's default). 30 s is 1 MB (BODY_LIMIT) at ~35 KB/s.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

/** From this many online entities plus stream events read at start, a full GC runs before listening (below, a load leaves little garbage). */
const FULL_GC_LOADED = 100_000;

export interface HttpOptions {
  /** Fastify's logger: false (default), true, or its options (e.g. {level: "info"}). */
  httpLogger?: FastifyServerOptions["logger"];
  /**
   * Fastify's two info lines per request ("incoming request", "request
   * completed"); off by default: written synchronously, they cost more than
   * the prediction. The request log (log.ts) records every prediction anyway.
   */
  logRequests?: boolean;
  /** Tokens for admin and API routes (auth.ts); without any admin token, admin routes are refused. */
  access?: Partial<AccessOptions>;
  /**
   * The predict route's plain requests answered on node:http ahead of Fastify (fast-predict.ts; default
   * true). The same answers either way; false sends every request through Fastify (tests compare both).
   */
  fastPredict?: boolean;
  /** The same for the events route's plain requests (fast-events.ts; default true). */
  fastEvents?: boolean;
  /** How long a request's headers and body may take to arrive (default REQUEST_TIMEOUT_MS; tests shorten it). */
  requestTimeoutMs?: number;
}

function errorBody(status: number, code: string, message: string): ApiErrorBody {
  return { error: { status, code, message } };
}

/** The Fastify app over a service (not listening yet). */
export function createHttpApp(service: OnlineService, opts: HttpOptions = {}): { app: FastifyInstance; metrics: Metrics; fast: FastPredict | null; fastEvents: FastRoute | null } {
  const metrics = new Metrics();
  const access: AccessOptions = { adminTokens: opts.access?.adminTokens ?? [], apiTokens: opts.access?.apiTokens ?? [], loopbackOnly: opts.access?.loopbackOnly ?? false };
  const state = { closing: false };
  let app: FastifyInstance | null = null;
  // With Fastify's request logging on, every request goes through Fastify (the log lines are its own).
  const common = { service, access, closing: () => state.closing, errorAnswer, logError: (err: Error) => app?.log.error({ err }, "request failed") };
  const fast = opts.fastPredict === false || opts.logRequests ? null : fastPredict({ ...common, metrics });
  const events = opts.fastEvents === false || opts.logRequests ? null : fastEvents(common);
  const routes = [fast, events].filter((r) => r !== null);
  const requestTimeout = opts.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  app = Fastify({
    bodyLimit: BODY_LIMIT,
    clientErrorHandler: clientErrorHandler(requestTimeout),
    logger: opts.httpLogger ?? false,
    logController: new LogController({ disableRequestLogging: !opts.logRequests }),
    // On close: stop accepting, answer 503 on kept-alive connections, finish requests in flight.
    return503OnClosing: true,
    forceCloseConnections: "idle",
    // A name in a path is bounded by the header size (16 KB), not by the router's 100 characters: a longer one
    // gets the route's own 404 (unknown model), as on the fast path, not Fastify's 414 in its own shape.
    routerOptions: { maxParamLength: 16_384 },
    // A path that is no URL (`%ZZ`, a `%` escape that is not UTF-8) in the API's error shape, not Fastify's.
    frameworkErrors: (err, _req, reply) => {
      const a = errorAnswer(err);
      void (reply as FastifyReply).code(a.status).send(a.body);
    },
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) => fastServer(routes, handler, requestTimeout),
  });
  app.addContentTypeParser(NDJSON_TYPES, { parseAs: "buffer" }, (_req, body, done) => {
    let text: string;
    try {
      text = bodyText(body as Buffer);
    } catch (e) {
      return done(e as Error, undefined);
    }
    parseNdjsonBodyInTurns(text).then(
      (value) => done(null, value),
      (e: Error) => done(e, undefined),
    );
  });
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) => {
    let text: string;
    try {
      text = bodyText(body as Buffer);
    } catch (e) {
      return done(e as Error, undefined);
    }
    // A large body is parsed a slice per turn of the event loop (json-turns.ts); a small one at once, without a promise.
    if (text.length > BODY_CHARS_PER_TURN) {
      parseJsonBodyInTurns(text).then(
        (value) => done(null, value),
        (e: Error) => done(e, undefined),
      );
      return;
    }
    try {
      done(null, parseJsonBody(text));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  addLifecycleHooks(app, access, state);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    if (req.method === "GET" && (req.headers.accept ?? "").includes("text/html")) {
      return reply.code(404).type("text/html; charset=utf-8").send(notFoundPage(service, req.url));
    }
    return reply.code(404).send(errorBody(404, "not_found", `no route ${req.method} ${req.url}`));
  });
  // Counted for every answer of the predict route, parse errors and 413s included.
  app.addHook("onResponse", (req, reply, done) => {
    if (req.routeOptions.url === "/v1/models/:model/predict") {
      const model = (req.params as { model?: string }).model ?? "";
      metrics.observe(service.isServed(model) ? model : "unknown", reply.statusCode, reply.elapsedTime / 1000);
    }
    done();
  });
  addApiRoutes(app, service, metrics);
  addPageRoutes(app, service);
  return { app, metrics, fast, fastEvents: events };
}

/**
 * The HTTP server Fastify would make (its timeouts), with the fast routes'
 * plain requests (predict, events) taken first, but with a request timeout
 * (REQUEST_TIMEOUT_MS), checked every few seconds rather than node's 30.
 */
function fastServer(routes: FastRoute[], handler: (req: IncomingMessage, res: ServerResponse) => void, requestTimeout: number): Server {
  const server = createServer(
    {
      requestTimeout,
      headersTimeout: requestTimeout,
      connectionsCheckingInterval: Math.min(5_000, Math.max(100, requestTimeout / 4)),
      requireHostHeader: false, // refused below, in the API's shape
    },
    (req, res) => {
      if (refusedWithoutHost(req, res)) return;
      for (const r of routes) if (r.handle(req, res)) return;
      handler(req, res);
    },
  );
  // Fastify's defaults for its own server (lib/server.js): keep-alive 72 s, no idle-socket timeout.
  server.keepAliveTimeout = 72_000;
  server.setTimeout(0);
  answerExpectations(server);
  return server;
}

/**
 * Who may call (refusals before the body is read) and closing. Closing:
 * Fastify stops accepting and waits for every connection to end. A
 * kept-alive connection busy at that moment goes idle afterwards and the
 * client may hold it for the whole keep-alive timeout, so while closing,
 * answers carry `Connection: close` and idle connections are closed as they
 * appear. Hooks on the request path take the callback form: an async hook
 * costs a promise and a microtask per request.
 */
function addLifecycleHooks(app: FastifyInstance, access: AccessOptions, state: { closing: boolean }): void {
  let sweeper: NodeJS.Timeout | null = null;
  app.addHook("preClose", (done) => {
    state.closing = true;
    sweeper = setInterval(() => app.server.closeIdleConnections(), 25);
    sweeper.unref();
    done();
  });
  app.addHook("onClose", (_instance, done) => {
    if (sweeper) clearInterval(sweeper);
    done();
  });
  app.addHook("onRequest", (req, reply, done) => {
    // The route the router matched, not the request's text: `POST http://h/admin/reload` (an absolute-form
    // target) and `/%61dmin/reload` both run the admin route while their text does not start with /admin/.
    const path = req.routeOptions.url ?? req.url.split("?")[0];
    const r = refusal({ method: req.method, path, headers: req.headers }, access);
    if (!r) return done();
    void reply.code(r.status).send(errorBody(r.status, r.code, r.message));
  });
  app.addHook("onSend", (_req, reply, payload, done) => {
    if (state.closing) reply.header("connection", "close");
    done(null, payload);
  });
}

/** Fastify's errors (body parsing, size, media type) as the API's error shape; a 5xx is logged. */
function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const a = errorAnswer(err);
  if (a.status >= 500) req.log.error({ err }, "request failed");
  void reply.code(a.status).send(a.body);
}

/** The answer to an error of a request (the body parser's, Fastify's, or a handler's): its status and body. */
export function errorAnswer(err: Error & { statusCode?: number; code?: string }): { status: number; body: ApiErrorBody } {
  if (err instanceof BodyError) {
    return { status: 400, body: { error: { status: 400, code: err.code, message: err.message, ...(err.issues ? { issues: err.issues } : {}) } } };
  }
  const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
  let code = "internal";
  let message = err.message;
  switch (err.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      code = "invalid_json";
      message = `malformed JSON: ${err.message.replace(/^Body is not valid JSON but content-type is set to 'application\/json'\s*/i, "") || "the body is not valid JSON"}`;
      break;
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      code = "invalid_json";
      message = "the body is empty; send a JSON object";
      break;
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      code = "body_too_large";
      message = `the body is larger than ${BODY_LIMIT} bytes`;
      break;
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      code = "malformed_request";
      message = "malformed HTTP request: the body's length does not match its Content-Length";
      break;
    case "FST_ERR_BAD_URL":
      code = "bad_url";
      message = "the path is not a valid URL: a % escape in it does not decode to UTF-8 text";
      break;
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      code = "unsupported_media_type";
      message = "send the request as application/json";
      break;
    default:
      if (status < 500) code = err.code ? err.code.toLowerCase() : "bad_request";
  }
  if (status >= 500) message = `internal error: ${err.message}`;
  return { status, body: errorBody(status, code, message) };
}

/** The JSON API: predict, models, agents' chat, index search, health, metrics, reload. */
function addApiRoutes(app: FastifyInstance, service: OnlineService, metrics: Metrics): void {
  app.post<{ Params: { model: string } }>("/v1/models/:model/predict", async (req, reply) => {
    // A 200 comes as its JSON text, built a slice of instances per turn with the request log lines (answer-json.ts).
    const r = await service.predict(req.params.model, req.body, { text: true });
    if (r.text !== undefined) return reply.code(r.status).type("application/json; charset=utf-8").send(r.text);
    return reply.code(r.status).send(r.body);
  });
  app.post<{ Params: { source: string } }>("/v1/sources/:source/events", async (req, reply) => {
    const r = await service.pushEvents(req.params.source, req.body);
    return reply.code(r.status).send(r.body);
  });
  app.get("/v1/models", async () => ({ models: service.models() }));
  app.post<{ Params: { agent: string } }>("/v1/agents/:agent/chat", (req, reply) => chat(service, req.params.agent, req.body, reply));
  app.post<{ Params: { index: string } }>("/v1/indexes/:index/search", async (req, reply) => {
    const r = await service.searchIndex(req.params.index, req.body);
    return reply.code(r.status).send(r.body);
  });
  app.get("/healthz", async (_req, reply) => {
    const h = service.health();
    return reply.code(h.models.every((m) => m.version !== null) ? 200 : 503).send(h);
  });
  app.get("/metrics", async (_req, reply) => {
    await service.refreshConsumerStats();
    return reply.type("text/plain; version=0.0.4; charset=utf-8").send(metrics.render(service.gauges(), [service.applyLatency]));
  });
  app.post("/admin/reload", async (_req, reply) => {
    const r = await service.reload("admin");
    return reply.code(r.ok ? 200 : 503).send(r);
  });
}

/** An agent's answer: JSON, or server-sent events (`stream: true`), begun at the first event — a request refused before that is a plain JSON answer. */
async function chat(service: OnlineService, agent: string, reqBody: unknown, reply: FastifyReply): Promise<FastifyReply> {
  const body = reqBody as { stream?: unknown } | null;
  // A client that goes away stops the turn: no LLM or tool calls for nobody.
  const gone = new AbortController();
  reply.raw.on("close", () => {
    if (!reply.raw.writableFinished) gone.abort();
  });
  if (!body || typeof body !== "object" || body.stream !== true) {
    const r = await service.chat(agent, reqBody, { signal: gone.signal });
    return reply.code(r.status).send(r.body);
  }
  let started = false;
  const send = (event: string, data: unknown) => {
    if (!started) {
      reply.hijack();
      reply.raw.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", connection: "keep-alive" });
      started = true;
    }
    if (!reply.raw.destroyed) reply.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const r = await service.chat(agent, reqBody, { event: send, delta: (text) => send("delta", { text }), signal: gone.signal });
  if (!started) return reply.code(r.status).send(r.body);
  send(r.status === 200 ? "done" : "error", r.body);
  reply.raw.end();
  return reply;
}

/** The HTML pages: the index, a page per served model, and the pages of the service's extensions. */
function addPageRoutes(app: FastifyInstance, service: OnlineService): void {
  app.get("/", async (_req, reply) => reply.type("text/html; charset=utf-8").send(indexPage(service)));
  const pages = [{ path: "/models", render: modelPage }, ...service.extensions.flatMap((ext) => ext.pages ?? [])];
  for (const page of pages) {
    app.get<{ Params: { model: string } }>(`${page.path}/:model`, async (req, reply) => {
      if (!service.isServed(req.params.model)) {
        return reply.code(404).type("text/html; charset=utf-8").send(notFoundPage(service, req.url));
      }
      return reply.type("text/html; charset=utf-8").send(page.render(service, req.params.model));
    });
  }
}

export interface ServeOptions extends ServiceOptions, HttpOptions {
  port?: number;
  host?: string;
  /** On close, how long requests in flight may take before their connections are cut (default 30 s). */
  closeGraceMs?: number;
}

export interface RunningServer {
  app: FastifyInstance;
  service: OnlineService;
  metrics: Metrics;
  /** "http://host:port" */
  url: string;
  /** The admin token (the one configured, or the one made up at start). */
  adminToken: string;
  /** The predict route's node:http path (fast-predict.ts), null when off. */
  fast: FastPredict | null;
  /** The events route's node:http path (fast-events.ts), null when off. */
  fastEvents: FastRoute | null;
  /** Stops accepting, finishes requests in flight, flushes the request log. */
  close(): Promise<void>;
}

/** Opens the service, then listens. */
export async function startServer(bundle: SpecBundle, opts: ServeOptions = {}): Promise<RunningServer> {
  // The service logs through Fastify's logger once it exists (when enabled); until then, and without it, to stderr.
  let logger: Logger | undefined;
  const service = await OnlineService.open(bundle, { ...opts, logger: deferredLogger(() => logger) });
  // A large load's dead objects collected before the first request, not by a major GC while serving (full-gc.ts):
  // a million online entities, or a stream's state rebuilt from its history (365,000 events left ~350 MB of old space).
  if (service.loadedAtStart() >= FULL_GC_LOADED) collectGarbage();
  stopPretenuring();
  scavengeOnOneThread();
  const adminTokens = opts.access?.adminTokens?.length ? opts.access.adminTokens : [randomBytes(32).toString("hex")];
  const apiTokens = opts.access?.apiTokens ?? [];
  const loopbackOnly = isLoopback(opts.host ?? "127.0.0.1");
  const { app, metrics, fast, fastEvents: events } = createHttpApp(service, { ...opts, access: { adminTokens, apiTokens, loopbackOnly } });
  if (opts.httpLogger) logger = { info: (m) => app.log.info(m), warn: (m) => app.log.warn(m), error: (m) => app.log.error(m) };
  try {
    await app.listen({ port: opts.port ?? 8080, host: opts.host ?? "127.0.0.1" });
  } catch (e) {
    await service.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw new UserError(`port ${opts.port ?? 8080} on ${opts.host ?? "127.0.0.1"} is in use`, "pass another --port");
    if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") throw new UserError(`cannot listen on ${opts.host}: ${(e as Error).message}`);
    throw e;
  }
  const host = opts.host ?? "127.0.0.1";
  if (!isLoopback(host) && apiTokens.length === 0) {
    const warn = (m: string) => process.stderr.write(`WARNING: ${m}\n`);
    warn(`listening on ${host}, beyond this machine, WITHOUT a token: anyone who can reach it can call the prediction routes`);
    warn("set FTI_TOKEN or pass --token-file to require `Authorization: Bearer <token>`, or listen on 127.0.0.1");
  }
  const addr = app.server.address();
  const url = typeof addr === "object" && addr ? `http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}` : String(addr);
  let closing: Promise<void> | null = null;
  return {
    app,
    service,
    metrics,
    url,
    adminToken: adminTokens[0],
    fast,
    fastEvents: events,
    close() {
      closing ??= (async () => {
        // Requests still running after the grace period are cut off; their log entries are flushed all the same.
        const hard = setTimeout(() => app.server.closeAllConnections(), opts.closeGraceMs ?? 30_000);
        hard.unref();
        try {
          await app.close();
        } finally {
          clearTimeout(hard);
          await service.close();
        }
      })();
      return closing;
    },
  };
}

function deferredLogger(get: () => Logger | undefined): Logger {
  const fallback = { info: () => {}, warn: (m: string) => process.stderr.write(`warning: ${m}\n`), error: (m: string) => process.stderr.write(`error: ${m}\n`) };
  return {
    info: (m) => (get() ?? fallback).info(m),
    warn: (m) => (get() ?? fallback).warn(m),
    error: (m) => (get() ?? fallback).error(m),
  };
}
