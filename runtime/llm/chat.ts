// Client of an OpenAI-compatible chat completions endpoint
// (`POST <url>/chat/completions`) with function calling: one call, plain or
// streamed (server-sent events, content deltas passed on as they arrive).
// The answer is checked: a missing message, a tool call without a name or
// with arguments that are not a JSON object is a "malformed" EndpointError.

import { clip } from "../clip-text.ts";
import { capped, EndpointError, endpointUrl, isTimeout, openPost, postJson, type EndpointConfig } from "./http.ts";

/** A chat answer's body, at most: some hundred times any model's context window. */
export const CHAT_ANSWER_LIMIT_BYTES = 16 * 1024 * 1024;

/** Tool calls of one answer, at most (a streamed call's `index` must be below it). */
export const MAX_TOOL_CALLS = 64;

export interface ChatToolCall {
  id: string;
  name: string;
  /** The raw JSON text the LLM wrote (checked by the caller). */
  arguments: string;
}

export type ChatMessage =
  | { role: "system" | "user"; content: string }
  | { role: "assistant"; content: string | null; tool_calls?: Array<{ id: string; type: "function"; function: { name: string; arguments: string } }> }
  | { role: "tool"; tool_call_id: string; content: string };

export interface ChatTool {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ChatTool[];
  max_tokens?: number;
}

export interface ChatAnswer {
  content: string | null;
  toolCalls: ChatToolCall[];
  /** Tokens of this call as the endpoint reports them (0 when it does not). */
  tokens: number;
}

/** One chat completion, not streamed. */
export async function chatComplete(config: EndpointConfig, req: ChatRequest, signal?: AbortSignal): Promise<ChatAnswer> {
  const body = await postJson({ maxAnswerBytes: CHAT_ANSWER_LIMIT_BYTES, ...config, retries: config.retries ?? 0 }, "/chat/completions", req, signal);
  const choice = (body as { choices?: Array<{ message?: unknown }> })?.choices?.[0];
  const message = choice?.message as { content?: unknown; tool_calls?: unknown } | undefined;
  if (!message || typeof message !== "object") throw new EndpointError("malformed", "the chat endpoint answered without choices[0].message");
  const calls = Array.isArray(message.tool_calls) ? message.tool_calls : [];
  if (calls.length > MAX_TOOL_CALLS) throw new EndpointError("malformed", `the chat endpoint answered with ${calls.length} tool calls (at most ${MAX_TOOL_CALLS})`);
  return {
    content: typeof message.content === "string" ? message.content : null,
    toolCalls: calls.map((c, i) => toolCall(c as RawCall, i)),
    tokens: usageTokens(body),
  };
}

/** One chat completion, streamed: `onDelta` gets each piece of content; tool calls are assembled from their deltas. */
export async function chatStream(config: EndpointConfig, req: ChatRequest, onDelta: (text: string) => void, signal?: AbortSignal): Promise<ChatAnswer> {
  const timeout = AbortSignal.timeout(config.timeoutMs ?? 30_000);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const res = await openPost(config, "/chat/completions", { ...req, stream: true, stream_options: { include_usage: true } }, both);
  if (res instanceof EndpointError) throw res;
  if (!res.body) throw new EndpointError("malformed", "the chat endpoint answered a stream request without a body");
  let content: string | null = null;
  const calls: Array<{ id?: string; name: string; arguments: string }> = [];
  let tokens = 0;
  let done = false;
  const onEvent = (data: string) => {
    if (data === "[DONE]") return void (done = true);
    let chunk: { choices?: Array<{ delta?: { content?: unknown; tool_calls?: unknown } }> };
    try {
      chunk = JSON.parse(data);
    } catch {
      throw new EndpointError("malformed", `the chat stream sent an event that is not JSON: ${data.slice(0, 120)}`);
    }
    tokens = usageTokens(chunk) || tokens;
    const delta = chunk.choices?.[0]?.delta;
    if (!delta) return;
    if (typeof delta.content === "string" && delta.content) {
      content = (content ?? "") + delta.content;
      onDelta(delta.content);
    }
    for (const d of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      const part = d as { index?: number; id?: string; function?: { name?: string; arguments?: string } };
      const i = part.index === undefined ? calls.length : part.index;
      // An index is a slot of the answer's calls: a huge one would make an array of that many holes.
      if (!Number.isInteger(i) || i < 0 || i >= MAX_TOOL_CALLS) {
        throw new EndpointError("malformed", `the chat stream sent tool call index ${clip(JSON.stringify(i) ?? "")} (an integer from 0 to ${MAX_TOOL_CALLS - 1})`);
      }
      calls[i] ??= { name: "", arguments: "" };
      if (part.id) calls[i].id = part.id;
      if (part.function?.name) calls[i].name += part.function.name;
      if (part.function?.arguments) calls[i].arguments += part.function.arguments;
    }
  };
  try {
    await readEvents(capped(res.body, config.maxAnswerBytes ?? CHAT_ANSWER_LIMIT_BYTES, endpointUrl(config.url, "/chat/completions")), onEvent);
  } catch (e) {
    if (e instanceof EndpointError) throw e;
    if (isTimeout(e, timeout)) throw new EndpointError("timeout", `the chat stream did not finish within ${config.timeoutMs ?? 30_000} ms`);
    throw new EndpointError("network", `the chat stream broke off: ${(e as Error).message}`);
  }
  if (!done && content === null && calls.length === 0) throw new EndpointError("malformed", "the chat stream ended without a message");
  // Gathered by index: a skipped index is a hole (map keeps it), which the tool loop read as a call of undefined.
  const missing = Array.from(calls, (c, i) => (c ? -1 : i)).find((i) => i >= 0);
  if (missing !== undefined) throw new EndpointError("malformed", `tool call ${missing} of the chat answer was never sent (the stream sent index ${calls.length - 1})`);
  return { content, toolCalls: calls.map((c, i) => toolCall({ id: c.id, function: { name: c.name, arguments: c.arguments } }, i)), tokens };
}

/** Reads `data:` lines of a server-sent event stream. */
async function readEvents(body: AsyncIterable<Uint8Array>, onData: (data: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of body) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, "");
      buf = buf.slice(nl + 1);
      if (line.startsWith("data:")) onData(line.slice(5).trim());
    }
  }
  if (buf.startsWith("data:")) onData(buf.slice(5).trim());
}

interface RawCall {
  id?: unknown;
  function?: { name?: unknown; arguments?: unknown };
}

function toolCall(c: RawCall, i: number): ChatToolCall {
  const name = c?.function?.name;
  if (typeof name !== "string" || name === "") throw new EndpointError("malformed", `tool call ${i} of the chat answer has no function name`);
  const args = c.function?.arguments;
  return { id: typeof c.id === "string" && c.id ? c.id : `call_${i}`, name, arguments: typeof args === "string" ? args : JSON.stringify(args ?? {}) };
}

/** Tokens as reported; a negative or non-finite count is no count (it would hand the budget back). */
function usageTokens(body: unknown): number {
  const u = (body as { usage?: { total_tokens?: unknown } })?.usage;
  const n = u?.total_tokens;
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : 0;
}

/** At most 80 characters of what the endpoint sent, then how long it was (runtime/clip-text.ts). */
export { clip };
