// The tool loop against an endpoint that answers like an attacker would: a
// streamed tool call at a huge index, a tool name megabytes long, negative
// token counts (to spend no budget) and an answer larger than any model's.
// Each is a 502 or 422 naming what was wrong, never a 500 or an unbounded
// allocation, and the budget holds.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAgentChat, type AgentHost, type AgentLogEntry } from "../runtime/agents/chat.ts";
import type { AgentFlags } from "../runtime/agents/settings.ts";
import { json, sse, startFakeOpenAi, TOOL_ARGS, type FakeOpenAi } from "./helpers/fake-openai.ts";
import { COACH_ASK, coachHost } from "./helpers/coach-host.ts";

let llm: FakeOpenAi;
beforeAll(async () => {
  llm = await startFakeOpenAi();
});
afterAll(async () => {
  await llm?.close();
});

const host = (flags: AgentFlags, log: AgentLogEntry[] = []): AgentHost => coachHost(llm.url, flags, log);

const ask = COACH_ASK;
const errorOf = (r: { body: unknown }) => (r.body as { error: { code: string; message: string } }).error;
const toolCall = (name: string, args: unknown = TOOL_ARGS) => ({ id: "c1", type: "function", function: { name, arguments: JSON.stringify(args) } });

describe("a hostile chat endpoint", () => {
  it("a streamed tool call at a huge index is a malformed answer (502), not an internal error", async () => {
    llm.handlers.set("/v1/chat/completions", (_q, res) =>
      sse(res, [{ choices: [{ index: 0, delta: { tool_calls: [{ index: 1e9, id: "x", function: { name: "time_estimator", arguments: "{}" } }] } }] }]),
    );
    const r = await runAgentChat(host({}), "coach", { ...ask, stream: true }, { delta: () => {} });
    expect(r.status).toBe(502);
    expect(errorOf(r)).toMatchObject({ code: "llm_malformed_answer", message: expect.stringMatching(/tool call index 1000000000/) });
  });

  it("a streamed tool call at index 1 with none at 0 is a malformed answer (502), not an internal error", async () => {
    // The calls were gathered by index: a skipped one was a hole, visited as undefined by the tool loop (500 "internal").
    llm.handlers.set("/v1/chat/completions", (_q, res) =>
      sse(res, [{ choices: [{ index: 0, delta: { tool_calls: [{ index: 1, id: "x", function: { name: "time_estimator", arguments: JSON.stringify(TOOL_ARGS) } }] } }] }]),
    );
    const r = await runAgentChat(host({}), "coach", { ...ask, stream: true }, { delta: () => {} });
    expect(r.status).toBe(502);
    expect(errorOf(r)).toMatchObject({ code: "llm_malformed_answer", message: expect.stringMatching(/tool call 0 of the chat answer was never sent/) });
  });

  it("a tool name megabytes long is named in 80 characters", async () => {
    const name = "read_file_/etc/passwd_" + "x".repeat(2_000_000);
    llm.handlers.set("/v1/chat/completions", (_q, res) =>
      json(res, 200, { choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: [toolCall(name)] } }] }),
    );
    const log: AgentLogEntry[] = [];
    const r = await runAgentChat(host({}, log), "coach", ask);
    expect(r.status).toBe(422);
    expect(errorOf(r).code).toBe("bad_tool_call");
    expect(errorOf(r).message.length).toBeLessThan(400);
    expect(errorOf(r).message).toContain(`read_file_/etc/passwd_xxx`);
    expect(errorOf(r).message).toContain("(2000022 characters)");
    expect(JSON.stringify(log[0]).length).toBeLessThan(10_000);
  });

  it("negative token counts spend no budget backwards", async () => {
    let calls = 0;
    llm.handlers.set("/v1/chat/completions", (_q, res) =>
      json(res, 200, { choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: [toolCall("time_estimator")] } }], usage: { total_tokens: ++calls === 1 ? -1e9 : 400 } }),
    );
    llm.requests.length = 0;
    const r = await runAgentChat(host({ agentMaxTokens: 1000, agentMaxSteps: 50 }), "coach", ask);
    expect(r.status).toBe(502);
    expect(errorOf(r)).toMatchObject({ code: "agent_budget", message: expect.stringMatching(/used 1200 tokens/) });
    expect(llm.requests.map((q) => q.body.max_tokens)).toEqual([1000, 1000, 600, 200]);
  });

  it.each([false, true])("an answer larger than 16 MB is refused as malformed (stream: %s)", async (stream) => {
    const big = "A".repeat(17 * 1024 * 1024);
    llm.handlers.set("/v1/chat/completions", (q, res) => {
      if (!q.body.stream) return json(res, 200, { choices: [{ index: 0, message: { role: "assistant", content: big } }] });
      res.writeHead(200, { "content-type": "text/event-stream" });
      const piece = `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: "A".repeat(1024 * 1024) } }] })}\n\n`;
      for (let i = 0; i < 17; i++) res.write(piece);
      res.end("data: [DONE]\n\n");
    });
    const r = await runAgentChat(host({}), "coach", { ...ask, stream }, { delta: () => {} });
    expect(r.status).toBe(502);
    expect(errorOf(r)).toMatchObject({ code: "llm_malformed_answer", message: expect.stringMatching(/larger than 16 MB/) });
  });
});
