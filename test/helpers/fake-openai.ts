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

/** The tool arguments the fake LLM sends first (override per test). */
export const TOOL_ARGS = { distance_km: 10, elevation_gain_m: 50, planned_pace_min_km: 5.5 };

/**
 * A deterministic chat model: without a tool result yet it calls the first
 * tool with `args`; with one, it answers with text quoting what it received
 * (the tool result, the ids of the notes in its system prompt, the user's
 * message). `stream: true` gets the same as server-sent events, in pieces.
 */
export const chatHandler = (args: unknown = TOOL_ARGS): Handler => (req, res) => {
  const messages: Array<{ role: string; content: string | null }> = req.body.messages;
  const tools: Array<{ function: { name: string } }> = req.body.tools ?? [];
  const toolResult = messages.filter((m) => m.role === "tool").at(-1)?.content;
  const system = messages.find((m) => m.role === "system")?.content ?? "";
  const user = messages.filter((m) => m.role === "user").at(-1)?.content ?? "";
  const noteIds = [...system.matchAll(/\[([^,\]]+-note),/g)].map((m) => m[1]);
  const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
  if (!toolResult && tools.length) {
    const call = { id: "call_1", type: "function", function: { name: tools[0].function.name, arguments: typeof args === "string" ? args : JSON.stringify(args) } };
    if (!req.body.stream) return json(res, 200, { choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: [call] }, finish_reason: "tool_calls" }], usage });
    const half = Math.floor(call.function.arguments.length / 2);
    return sse(res, [
      { choices: [{ index: 0, delta: { role: "assistant", tool_calls: [{ index: 0, id: call.id, type: "function", function: { name: call.function.name, arguments: call.function.arguments.slice(0, half) } }] } }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: call.function.arguments.slice(half) } }] } }] },
      { choices: [], usage },
    ]);
  }
  const content = `TOOL=${toolResult ?? "none"} NOTES=${noteIds.join("|")} USER=${user}`;
  if (!req.body.stream) return json(res, 200, { choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }], usage });
  const pieces = content.match(/.{1,17}/gs) ?? [];
  return sse(res, [...pieces.map((p) => ({ choices: [{ index: 0, delta: { content: p } }] })), { choices: [], usage }]);
};

export function sse(res: http.ServerResponse, events: unknown[]): void {
  res.writeHead(200, { "content-type": "text/event-stream" });
  for (const e of events) res.write(`data: ${JSON.stringify(e)}\n\n`);
  res.end("data: [DONE]\n\n");
}
