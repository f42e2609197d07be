// The one HTTP helper for OpenAI-compatible endpoints (embeddings, chat
// completions): JSON POST with a timeout per attempt, retries with backoff on
// what a retry can fix (network errors, timeouts, 429, 5xx), and one error type
// that says which of those happened, so callers can answer 502/504 instead of
// crashing.

import { redirectAnswer } from "../redirect.ts";

export type EndpointErrorKind = "timeout" | "network" | "status" | "malformed";

export class EndpointError extends Error {
  constructor(
    readonly kind: EndpointErrorKind,
    message: string,
    /** The HTTP status for kind "status". */
    readonly status?: number,
  ) {
    super(message);
    this.name = "EndpointError";
  }
}

export interface EndpointConfig {
  /** Base URL of the API, e.g. http://127.0.0.1:8080/v1 (paths like /embeddings are appended). */
  url: string;
  apiKey?: string;
  /** Per attempt; default 30 s. */
  timeoutMs?: number;
  /** Further attempts after the first; default 2. */
  retries?: number;
  /** First backoff; doubled per retry; default 250 ms. */
  backoffMs?: number;
  /** The largest answer body read, in bytes; default ANSWER_LIMIT_BYTES. A larger one is a "malformed" EndpointError. */
  maxAnswerBytes?: number;
}

/**
 * No honest answer comes near this (64 texts' embeddings of 4,096 numbers are
 * ~6 MB); reading a larger one whole would let an endpoint fill the server's memory.
 */
export const ANSWER_LIMIT_BYTES = 64 * 1024 * 1024;

/** The body of a response as text, refused past `limit` bytes (the rest is not read). */
export async function readCapped(res: Response, limit: number, url: string): Promise<string> {
  if (!res.body) return "";
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  for await (const chunk of capped(res.body, limit, url)) {
    bytes += chunk.length;
    text += decoder.decode(chunk, { stream: true });
  }
  return bytes ? text + decoder.decode() : text;
}

/** The chunks of a body, throwing a "malformed" EndpointError (and cancelling the body) once they pass `limit` bytes. */
export async function* capped(body: ReadableStream<Uint8Array>, limit: number, url: string): AsyncGenerator<Uint8Array> {
  let bytes = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      bytes += value.length;
      if (bytes > limit) throw new EndpointError("malformed", `${url} sent an answer larger than ${Math.round(limit / 1024 / 1024)} MB; it was not read further`);
      yield value;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** `POST <url><path>` with a JSON body; the parsed JSON answer, or an EndpointError. */
export async function postJson(config: EndpointConfig, path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
  const retries = config.retries ?? 2;
  let last: EndpointError | undefined;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await sleep((config.backoffMs ?? 250) * 2 ** (attempt - 1), signal);
    const res = await postOnce(config, path, body, signal);
    if (!(res instanceof EndpointError)) return res;
    last = res;
    const retryable = res.kind === "network" || res.kind === "timeout" || (res.kind === "status" && (res.status === 429 || (res.status ?? 0) >= 500));
    if (!retryable || signal?.aborted) break;
  }
  throw last!;
}

/** The response object of one attempt (kept open for streaming), or an EndpointError. */
export async function openPost(config: EndpointConfig, path: string, body: unknown, signal?: AbortSignal): Promise<Response | EndpointError> {
  const url = endpointUrl(config.url, path);
  // AbortSignal.timeout takes whole milliseconds only (a turn's remaining time is fractional).
  const timeout = AbortSignal.timeout(Math.max(1, Math.ceil(config.timeoutMs ?? 30_000)));
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}) },
      body: JSON.stringify(body),
      signal: combined,
      // A redirect is not followed: to another host it would carry the conversation there (the prompt with the entity's
      // features, the user's messages), and to the same host the API key too (fetch drops it only across origins);
      // a 301/302 would also turn the POST into a GET.
      redirect: "manual",
    });
    const redirect = await redirectAnswer(res);
    if (redirect) {
      return new EndpointError(
        "status",
        `${url} ${redirect}; fti does not follow an endpoint's redirects (the conversation would go where it points): configure the URL that answers`,
        res.status,
      );
    }
    if (res.status < 200 || res.status >= 300) {
      const text = await res.text().catch(() => "");
      return new EndpointError("status", `${url} answered ${res.status}${text ? `: ${text.slice(0, 300)}` : ""}`, res.status);
    }
    return res;
  } catch (e) {
    if (isTimeout(e, timeout)) return new EndpointError("timeout", `${url} did not answer within ${config.timeoutMs ?? 30_000} ms`);
    return new EndpointError("network", `${url} cannot be reached: ${causeText(e)}`);
  }
}

/** The timeout signal also aborts reading the body (fetch ties them together). */
export function isTimeout(e: unknown, timeout: AbortSignal): boolean {
  return timeout.aborted || (e as { name?: string })?.name === "TimeoutError";
}

async function postOnce(config: EndpointConfig, path: string, body: unknown, signal?: AbortSignal): Promise<unknown | EndpointError> {
  const res = await openPost(config, path, body, signal);
  if (res instanceof EndpointError) return res;
  try {
    const text = await readCapped(res, config.maxAnswerBytes ?? ANSWER_LIMIT_BYTES, endpointUrl(config.url, path));
    try {
      return JSON.parse(text);
    } catch {
      return new EndpointError("malformed", `${endpointUrl(config.url, path)} answered with something that is not JSON: ${text.slice(0, 200)}`);
    }
  } catch (e) {
    if (e instanceof EndpointError) return e;
    if ((e as { name?: string })?.name === "TimeoutError") {
      return new EndpointError("timeout", `${endpointUrl(config.url, path)} did not finish its answer within ${config.timeoutMs ?? 30_000} ms`);
    }
    return new EndpointError("network", `${endpointUrl(config.url, path)}: the answer broke off: ${causeText(e)}`);
  }
}

export function endpointUrl(base: string, path: string): string {
  return base.replace(/\/+$/, "") + path;
}

function causeText(e: unknown): string {
  const err = e as { message?: string; cause?: { code?: string; message?: string } };
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
