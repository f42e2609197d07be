// The HTTP side of the generated clients (generated/<spec>/client.ts): one
// POST helper and its error type, shared by every spec's client rather than
// generated into each. Plain fetch: no server code, safe for api.ts.

import type { ApiErrorBody, ApiIssue } from "./types.ts";

/** The part of fetch the client uses; the global fetch (Node ≥ 18, browsers) fits. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
) => Promise<{ status: number; json(): Promise<unknown> }>;

/** Where `fti serve` runs, and how to reach it. */
export interface ClientOptions {
  /** Default "http://127.0.0.1:8080". */
  baseUrl?: string;
  /** Default: the global fetch. */
  fetch?: FetchLike;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** A non-2xx answer: 400 (with the issues' JSON paths), 404, 413, 422 (missing features), 503. */
export class PredictError extends Error {
  readonly status: number;
  readonly code: string;
  readonly issues: ApiIssue[];
  constructor(status: number, body: unknown) {
    const error = (body as Partial<ApiErrorBody> | undefined)?.error;
    super(error?.message ?? `the service answered ${status}`);
    this.name = "PredictError";
    this.status = status;
    this.code = error?.code ?? "http_" + status;
    this.issues = error?.issues ?? [];
  }
}

/** POST /v1/models/<model>/predict; a non-2xx answer throws PredictError. */
export async function postPrediction(model: string, body: unknown, opts: ClientOptions = {}): Promise<unknown> {
  const f = opts.fetch ?? (globalThis as unknown as { fetch?: FetchLike }).fetch;
  if (!f) throw new Error("no fetch in this runtime; pass opts.fetch");
  const base = (opts.baseUrl ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
  const res = await f(`${base}/v1/models/${encodeURIComponent(model)}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json", ...opts.headers },
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => undefined);
  if (res.status < 200 || res.status >= 300) throw new PredictError(res.status, data);
  return data;
}
