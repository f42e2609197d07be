// A deterministic OpenAI-compatible server on 127.0.0.1 (port 0) for tests:
// /v1/embeddings and /v1/chat/completions, with knobs for the failures a real
// endpoint has (5xx, hangs, malformed answers). Every request is recorded.

import http from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  path: string;
  body: any;
  authorization?: string;
}

export type Handler = (req: RecordedRequest, res: http.ServerResponse, n: number) => void | Promise<void>;

export interface FakeOpenAi {
  url: string;
  requests: RecordedRequest[];
  /** Per path ("/v1/embeddings"), the handler of the next requests. */
  handlers: Map<string, Handler>;
  close(): Promise<void>;
}

/** The deterministic test embedding: slot i = cos(i * (1 + text length)) (not normalised). */
export function fakeVector(text: string, dim: number): number[] {
  return Array.from({ length: dim }, (_, i) => Math.cos(i * (1 + text.length)));
}

export function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

export const embeddingsHandler = (dim: number): Handler => (req, res) => {
  const input: string[] = req.body.input;
  json(res, 200, { object: "list", model: req.body.model, data: input.map((t, index) => ({ object: "embedding", index, embedding: fakeVector(t, dim) })) });
};

export async function startFakeOpenAi(handlers: Record<string, Handler> = {}): Promise<FakeOpenAi> {
  const requests: RecordedRequest[] = [];
  const map = new Map(Object.entries(handlers));
  const counts = new Map<string, number>();
  const sockets = new Set<import("node:net").Socket>();
  const server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c) => (data += c));
    req.on("end", async () => {
      const path = (req.url ?? "").split("?")[0];
      let body: unknown = null;
      try {
        body = JSON.parse(data);
      } catch {
        body = data;
      }
      const rec: RecordedRequest = { path, body, authorization: req.headers.authorization };
      requests.push(rec);
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      const h = map.get(path);
      if (!h) return json(res, 404, { error: { message: `no handler for ${path}` } });
      await h(rec, res, n);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    handlers: map,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
