// The tool loop's bounds, on the generated coach agent with an in-memory host
// (no store, no model: the bounds are the loop's, not the service's) against
// the deterministic OpenAI-compatible server on loopback. A model that keeps
// calling tools is stopped by tokens and by time as well as by steps, with a
// clear answer, and the endpoint is told how many tokens are left.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAgentChat, type AgentHost, type AgentLogEntry } from "../runtime/agents/chat.ts";
import type { AgentFlags } from "../runtime/agents/settings.ts";
import { json, startFakeOpenAi, TOOL_ARGS, type FakeOpenAi, type Handler } from "./helpers/fake-openai.ts";
import { COACH_ASK, coachHost } from "./helpers/coach-host.ts";

let llm: FakeOpenAi;
beforeAll(async () => {
  llm = await startFakeOpenAi();
});
afterAll(async () => {
  await llm?.close();
});

/** A model that never stops calling the tool, reporting `tokens` per call, after `delayMs`. */
const endless = (tokens: number, delayMs = 0): Handler => async (_q, res, n) => {
  if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  const call = { id: `call_${n}`, type: "function", function: { name: "time_estimator", arguments: JSON.stringify(TOOL_ARGS) } };
  json(res, 200, { choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: [call] }, finish_reason: "tool_calls" }], usage: { total_tokens: tokens } });
};

const host = (flags: AgentFlags, log: AgentLogEntry[] = []): AgentHost => coachHost(llm.url, flags, log);

const ask = COACH_ASK;

describe("the tool loop's bounds", () => {
  it("stops at the token budget, and asks the endpoint for no more than the tokens left", async () => {
    llm.handlers.set("/v1/chat/completions", endless(400));
    llm.requests.length = 0;
    const log: AgentLogEntry[] = [];
    const r = await runAgentChat(host({ agentMaxTokens: 1000, agentMaxSteps: 50 }, log), "coach", ask);
    expect(r.status).toBe(502);
    expect((r.body as { error: { code: string; message: string } }).error).toMatchObject({ code: "agent_budget", message: expect.stringMatching(/used 1200 tokens without a final answer \(limit 1000\)/) });
    expect(llm.requests.map((q) => q.body.max_tokens)).toEqual([1000, 600, 200]);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ status: 502, tokens: 1200, error: { code: "agent_budget" } });
    expect(log[0].tool_calls).toHaveLength(2);
  });

  it("stops at the step budget", async () => {
    llm.handlers.set("/v1/chat/completions", endless(1));
    llm.requests.length = 0;
    const r = await runAgentChat(host({ agentMaxSteps: 4 }, []), "coach", ask);
    expect(r.status).toBe(502);
    expect((r.body as { error: { message: string } }).error.message).toMatch(/no final answer within 4 LLM calls/);
    expect(llm.requests).toHaveLength(4);
  });

  it("stops at the time budget of the turn, whatever the per-call timeout", async () => {
    llm.handlers.set("/v1/chat/completions", endless(1, 150));
    const t0 = performance.now();
    const r = await runAgentChat(host({ agentTimeoutMs: 400, llmTimeoutMs: 60_000, agentMaxSteps: 100 }, []), "coach", ask);
    const ms = performance.now() - t0;
    expect(r.status, JSON.stringify(r.body)).toBe(504);
    expect(["agent_timeout", "llm_timeout"]).toContain((r.body as { error: { code: string } }).error.code);
    // Two or three calls fit in 400 ms; a generous bound for a loaded machine, far below the 60 s a call may take.
    expect(ms).toBeLessThan(10_000);
  });
});
