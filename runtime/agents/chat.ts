// One chat turn of an agent: validate the request → look up the entity's
// context features (with statuses) → retrieve from its indexes at the request
// time → build the prompt (the generated builder) → the tool loop: ask the
// LLM; run each tool call through the same predictor as /predict; until it
// answers with text, bounded by steps, tokens and time. Every turn, answered
// or failed, becomes one log entry. Endpoint failures map to 504 (timeout)
// and 502 (5xx, unreachable, malformed answer, loop budget spent); a tool call
// with bad arguments to 422. Nothing here throws for a bad request or a bad
// endpoint.

import { z } from "zod";
import type { AgentAnswer, AgentPlan, FeatureValue, RetrievedDocument, Scalar, SpecBundle, ToolCallRecord } from "../api.ts";
import { chatComplete, chatStream, clip, type ChatMessage, type ChatRequest, type ChatToolCall } from "../llm/chat.ts";
import { EndpointError } from "../llm/http.ts";
import { zodIssues } from "../online/request-issues.ts";
import { isoOrValue } from "../timestamp-text.ts";
import type { AgentSettings } from "./settings.ts";

/** What the agent needs from the service it runs in. */
export interface AgentHost {
  bundle: SpecBundle;
  settings: AgentSettings;
  now(): number;
  lookup(agent: AgentPlan, keys: Record<string, Scalar>, nowMs: number): Record<string, FeatureValue> | Promise<Record<string, FeatureValue>>;
  search(index: string, text: string, opts: { at: Date; k: number; entity: Record<string, Scalar> }): Promise<RetrievedDocument[]>;
  predict(model: string, body: unknown): Promise<{ status: number; body: unknown }>;
  log(entry: AgentLogEntry): void;
}

export interface AgentEvents {
  /** A piece of the final answer (streaming). */
  delta?(text: string): void;
  /** Progress: retrieval done, a tool call and its result. */
  event?(name: string, data: unknown): void;
  /** Aborted when the client went away: the turn stops (no further LLM or tool calls) and is logged as 499. */
  signal?: AbortSignal;
}

export interface AgentLogEntry {
  v: 1;
  model: string;
  id: string;
  ts: string;
  agent: string;
  request: unknown;
  status: number;
  error?: { code: string; message: string };
  retrieved?: Record<string, Array<{ id: string; score: number }>>;
  features?: Record<string, FeatureValue>;
  prompt?: string;
  tool_calls: ToolCallRecord[];
  answer?: string;
  tokens: number;
  steps: Array<{ step: string; ms: number }>;
}

export type AgentResult = { status: 200; body: AgentAnswer } | { status: number; body: { error: { status: number; code: string; message: string; issues?: unknown[] } } };

class AgentFailure extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly issues?: unknown[]) {
    super(message);
  }
}

const fail = (status: number, code: string, message: string, issues?: unknown[]): AgentResult => ({
  status,
  body: { error: { status, code, message, ...(issues ? { issues } : {}) } },
});

let seq = 0;

export async function runAgentChat(host: AgentHost, agentName: string, body: unknown, events: AgentEvents = {}): Promise<AgentResult> {
  const plan = (host.bundle.agents ?? []).find((a) => a.name === agentName);
  if (!plan) return fail(404, "unknown_agent", `agent \`${agentName}\` does not exist; agents: ${(host.bundle.agents ?? []).map((a) => a.name).join(", ") || "none"}`);
  const parsed = plan.requestSchema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path, message: i.message }));
    return fail(400, "invalid_request", `invalid chat request for agent \`${agentName}\`: ${issues.length} issue${issues.length === 1 ? "" : "s"}`, issues);
  }
  if (!host.settings.chat) {
    return fail(503, "llm_not_configured", `agent \`${agentName}\` needs a chat endpoint: set FTI_LLM_URL (e.g. http://127.0.0.1:8080/v1) or pass --llm-url to fti serve`);
  }
  const nowMs = host.now();
  const entry: AgentLogEntry = {
    v: 1,
    model: `agent.${plan.name}`,
    id: `${nowMs.toString(36)}-${(++seq).toString(36)}`,
    ts: new Date(nowMs).toISOString(),
    agent: plan.name,
    request: parsed.data,
    status: 0,
    tool_calls: [],
    tokens: 0,
    steps: [],
  };
  try {
    const answer = await turn(host, plan, parsed.data as ChatBody, nowMs, entry, events);
    entry.status = 200;
    entry.answer = answer.answer;
    return { status: 200, body: answer };
  } catch (e) {
    const f = events.signal?.aborted ? new AgentFailure(499, "client_closed", "the client closed the connection; the turn was stopped") : toFailure(e);
    entry.status = f.status;
    entry.error = { code: f.code, message: f.message };
    return fail(f.status, f.code, f.message, f.issues);
  } finally {
    host.log(entry);
  }
}

interface ChatBody {
  message: string;
  messages?: Array<{ role: "user" | "assistant"; content: string }>;
  stream?: boolean;
  [key: string]: unknown;
}

async function turn(host: AgentHost, plan: AgentPlan, body: ChatBody, nowMs: number, entry: AgentLogEntry, events: AgentEvents): Promise<AgentAnswer> {
  const deadline = nowMsMonotonic() + host.settings.totalTimeoutMs;
  const timed = async <T>(step: string, fn: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      entry.steps.push({ step, ms: Math.round((performance.now() - t0) * 10) / 10 });
    }
  };
  // The keys as the request parsed them (a timestamp a Date, as the generated prompt input has it), and as the online tables key them (its ISO text).
  const typedKeys = Object.fromEntries(plan.keys.map((k) => [k.name, body[k.name] as Scalar | Date]));
  const keys = Object.fromEntries(Object.entries(typedKeys).map(([k, v]) => [k, isoOrValue(v)]));
  const at = new Date(nowMs);
  const features = await timed("features", () => host.lookup(plan, keys, nowMs));
  entry.features = features;
  const retrieved: Record<string, RetrievedDocument[]> = {};
  for (const r of plan.retrieve) retrieved[r.index] = await timed(`retrieve ${r.index}`, () => host.search(r.index, body.message, { at, k: r.k, entity: keys }));
  entry.retrieved = Object.fromEntries(Object.entries(retrieved).map(([k, docs]) => [k, docs.map((d) => ({ id: d.id, score: d.score }))]));
  events.event?.("retrieved", entry.retrieved);
  const prompt = plan.buildPrompt({
    keys: typedKeys,
    features: Object.fromEntries(Object.entries(features).map(([k, f]) => [k, f.value])),
    retrieved,
    message: body.message,
    now: at,
  });
  entry.prompt = prompt;
  const messages: ChatMessage[] = [{ role: "system", content: prompt }, ...(body.messages ?? []), { role: "user", content: body.message }];
  const tools = plan.tools.map((t) => ({ type: "function" as const, function: { name: t.model, description: t.description, parameters: t.parameters } }));
  const chat = host.settings.chat!;
  for (let step = 1; step <= host.settings.maxSteps; step++) {
    if (events.signal?.aborted) throw new AgentFailure(499, "client_closed", "the client closed the connection; the turn was stopped");
    const remaining = deadline - nowMsMonotonic();
    if (remaining <= 0) throw new AgentFailure(504, "agent_timeout", `agent \`${plan.name}\` did not answer within ${host.settings.totalTimeoutMs} ms`);
    const req: ChatRequest = { model: plan.llm, messages, ...(tools.length ? { tools } : {}), max_tokens: Math.max(1, host.settings.maxTokens - entry.tokens) };
    const config = { ...chat, timeoutMs: Math.min(chat.timeoutMs ?? 60_000, remaining) };
    const answer = await timed(`llm ${step}`, () => (body.stream && events.delta ? chatStream(config, req, events.delta, events.signal) : chatComplete(config, req, events.signal)));
    entry.tokens += answer.tokens;
    if (answer.toolCalls.length === 0) {
      if (answer.content === null || answer.content.trim() === "") throw new EndpointError("malformed", "the LLM answered with neither text nor a tool call");
      return {
        agent: plan.name,
        llm: plan.llm,
        request_time: at.toISOString(),
        answer: answer.content,
        retrieved: entry.retrieved,
        features,
        tool_calls: entry.tool_calls,
        tokens: entry.tokens,
        steps: entry.steps,
      };
    }
    if (entry.tokens >= host.settings.maxTokens) {
      throw new AgentFailure(502, "agent_budget", `agent \`${plan.name}\` used ${entry.tokens} tokens without a final answer (limit ${host.settings.maxTokens})`);
    }
    messages.push({
      role: "assistant",
      content: answer.content,
      tool_calls: answer.toolCalls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } })),
    });
    for (const call of answer.toolCalls) {
      const record = await timed(`tool ${clip(call.name)}`, () => runTool(host, plan, call, keys));
      entry.tool_calls.push(record);
      events.event?.("tool_call", record);
      messages.push({ role: "tool", tool_call_id: call.id, content: JSON.stringify(record.result) });
    }
  }
  throw new AgentFailure(502, "agent_budget", `agent \`${plan.name}\` gave no final answer within ${host.settings.maxSteps} LLM calls`);
}

/** Runs one tool call; bad arguments are the LLM's fault (422), a refused prediction is passed back to it. */
async function runTool(host: AgentHost, plan: AgentPlan, call: ChatToolCall, keys: Record<string, Scalar>): Promise<ToolCallRecord> {
  const t0 = performance.now();
  const tool = plan.tools.find((t) => t.model === call.name);
  if (!tool) throw new AgentFailure(422, "bad_tool_call", `the LLM called \`${clip(call.name)}\`, which is not a tool of agent \`${plan.name}\` (tools: ${plan.tools.map((t) => t.model).join(", ") || "none"})`);
  let args: unknown;
  try {
    args = JSON.parse(call.arguments);
  } catch {
    throw new AgentFailure(422, "bad_tool_call", `the LLM called \`${call.name}\` with arguments that are not JSON: ${clip(call.arguments)}`);
  }
  if (args === null || typeof args !== "object" || Array.isArray(args)) throw new AgentFailure(422, "bad_tool_call", `the LLM called \`${call.name}\` with arguments that are not a JSON object`);
  const argSchema = z.strictObject(Object.fromEntries(Object.entries(tool.requestSchema.shape).filter(([k]) => !tool.keys.includes(k))));
  const checked = argSchema.safeParse(args);
  if (!checked.success) {
    // In the words a prediction request's 400 uses: "missing field: expected string", not zod's "received undefined".
    const issues = zodIssues(checked.error, ["tool_calls", call.name], args, argSchema);
    throw new AgentFailure(422, "bad_tool_call", `the LLM called \`${call.name}\` with bad arguments: ${issues.map((i) => `${i.path.slice(2).join(".") || "(arguments)"}: ${i.message}`).join("; ")}`, issues);
  }
  const r = await host.predict(tool.model, { ...(args as object), ...keys });
  return { tool: tool.model, arguments: args, status: r.status, result: r.body, ms: Math.round((performance.now() - t0) * 10) / 10 };
}

function toFailure(e: unknown): AgentFailure {
  if (e instanceof AgentFailure) return e;
  if (e instanceof EndpointError) {
    const status = e.kind === "timeout" ? 504 : 502;
    const code = e.kind === "timeout" ? "llm_timeout" : e.kind === "malformed" ? "llm_malformed_answer" : "llm_unavailable";
    return new AgentFailure(status, code, `the chat endpoint failed: ${e.message}`);
  }
  if (e instanceof Error && e.name === "UserError") return new AgentFailure(502, "retrieval_failed", e.message);
  return new AgentFailure(500, "internal", `internal error: ${(e as Error)?.message ?? String(e)}`);
}

function nowMsMonotonic(): number {
  return performance.now();
}
