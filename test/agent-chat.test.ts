// The coach agent of the athlete example, served by `fti serve`'s HTTP app,
// against a deterministic OpenAI-compatible server on loopback: the real HTTP
// client, the tool loop (the tool runs the /predict predictor), streaming,
// the log of every turn, and each endpoint failure as a clear 4xx/5xx.

import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { agentSettingsFromEnv } from "../runtime/agents/settings.ts";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { buildAthleteWork, type AthleteWork } from "./helpers/online-athlete.ts";
import type { FeatureValue } from "../runtime/api.ts";
import { coachAgent, type CoachChatResponse } from "../generated/athlete/agents.ts";
import { chatHandler, json, startFakeOpenAi, TOOL_ARGS, type FakeOpenAi } from "./helpers/fake-openai.ts";

let work: AthleteWork;
let llm: FakeOpenAi;
let server: RunningServer;
const NOW = Date.now();

beforeAll(async () => {
  work = await buildAthleteWork({ athletes: 4, days: 240 });
  llm = await startFakeOpenAi({ "/v1/chat/completions": chatHandler() });
  server = await startServer(work.bundle, {
    port: 0,
    store: work.storePath,
    logs: work.logsDir,
    watch: false,
    now: () => NOW,
    agents: agentSettingsFromEnv({}, { llmUrl: llm.url, llmApiKey: "sk-test", llmTimeoutMs: 2000, agentMaxSteps: 3, agentTimeoutMs: 10_000 }),
  });
}, 240_000);

afterAll(async () => {
  await server?.close();
  await llm?.close();
  work?.cleanup();
});

const post = async (p: string, body: unknown) => {
  const res = await fetch(server.url + p, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
};
const chat = (body: unknown) => post("/v1/agents/coach/chat", body);
const setLlm = (h: Parameters<typeof llm.handlers.set>[1]) => llm.handlers.set("/v1/chat/completions", h);

describe("POST /v1/indexes/notes/search", () => {
  it("ranks the athlete's notes written before the request time, best first", async () => {
    const athlete = work.athletes[2];
    const r = await post("/v1/indexes/notes/search", { athlete_id: athlete, query: "hilly long run, legs felt heavy", k: 7 });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ index: "notes", at: new Date(NOW).toISOString() });
    const docs: Array<{ id: string; score: number; eventTime: string; keys: { athlete_id: string }; fields: { note: string } }> = r.body.documents;
    expect(docs).toHaveLength(7);
    for (const d of docs) {
      expect(d.keys.athlete_id).toBe(athlete);
      expect(Date.parse(d.eventTime)).toBeLessThan(NOW);
      expect(d.fields.note.length).toBeGreaterThan(0);
    }
    const scores = docs.map((d) => d.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it("refuses a bad search with the field's path, and an unknown index with 404", async () => {
    const bad = async (body: unknown) => (await post("/v1/indexes/notes/search", body)).body.error;
    expect((await bad({ query: "x" })).issues[0].path).toEqual(["athlete_id"]);
    expect((await bad({ athlete_id: 7, query: "x" })).issues[0].path).toEqual(["athlete_id"]);
    expect((await bad({ athlete_id: work.athletes[0], query: "x", k: 0 })).issues[0].path).toEqual(["k"]);
    expect((await bad({ athlete_id: work.athletes[0], query: "" })).issues[0].path).toEqual(["query"]);
    expect((await bad({ athlete_id: work.athletes[0], query: "x", extra: 1 })).code).toBe("invalid_request");
    expect((await post("/v1/indexes/nope/search", { query: "x" })).status).toBe(404);
  });
});

describe("POST /v1/agents/coach/chat", () => {
  it("retrieves, calls the model as a tool through the predictor, and answers with what the LLM made of it", async () => {
    setLlm(chatHandler());
    llm.requests.length = 0;
    const athlete = work.athletes[0];
    const r = await chat({ athlete_id: athlete, message: "How long will my 10 km tomorrow take and why?", messages: [{ role: "user", content: "hi" }, { role: "assistant", content: "hello" }] });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    // The tool ran the same predictor as /predict.
    const direct = await post("/v1/models/time_estimator/predict", { athlete_id: athlete, ...TOOL_ARGS });
    expect(direct.status).toBe(200);
    expect(r.body.tool_calls).toHaveLength(1);
    expect(r.body.tool_calls[0]).toMatchObject({ tool: "time_estimator", arguments: TOOL_ARGS, status: 200 });
    expect(r.body.tool_calls[0].result.prediction).toBe(direct.body.prediction);
    // The LLM saw the tool result, the retrieved notes in its system prompt, and the user's message.
    const ids = r.body.retrieved.notes.map((d: { id: string }) => d.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.every((id: string) => id.startsWith(athlete))).toBe(true);
    expect(r.body.answer).toContain(`NOTES=${ids.join("|")}`);
    expect(r.body.answer).toContain(`"prediction":${direct.body.prediction}`);
    expect(r.body.answer).toContain("USER=How long will my 10 km tomorrow take and why?");
    expect(r.body.features.ctl_42d.status).toBe("present");
    // The answer has the shape of the generated CoachChatResponse: the agent's context features, its indexes, its tools.
    expectTypeOf<CoachChatResponse["features"]["ctl_42d"]>().toEqualTypeOf<FeatureValue<number>>();
    expectTypeOf<CoachChatResponse["tool_calls"][number]["tool"]>().toEqualTypeOf<"time_estimator">();
    expect(Object.keys(r.body.features).sort()).toEqual(coachAgent.context.map((f) => f.name).sort());
    expect(Object.keys(r.body.retrieved)).toEqual(coachAgent.retrieve.map((x) => x.index));
    // The request the endpoint got: model name from the spec, the key, the tool's JSON Schema, the earlier turns.
    const first = llm.requests[0];
    expect(first.authorization).toBe("Bearer sk-test");
    expect(first.body.model).toBe("coach");
    expect(first.body.messages.map((m: { role: string }) => m.role)).toEqual(["system", "user", "assistant", "user"]);
    expect(first.body.messages[0].content).toContain(`athlete ${athlete}`);
    const params = first.body.tools[0].function.parameters;
    expect(Object.keys(params.properties).sort()).toEqual(["distance_km", "elevation_gain_m", "planned_pace_min_km"]);
    expect(params.required.sort()).toEqual(["distance_km", "elevation_gain_m", "planned_pace_min_km"]);
    // The source's checks on those fields, as the LLM sees them (the request schema still enforces them).
    expect(params.properties.distance_km).toEqual({ type: "number", exclusiveMinimum: 0 });
    expect(params.properties.elevation_gain_m).toEqual({ type: "number", minimum: 0 });
    expect(r.body.steps.map((s: { step: string }) => s.step)).toEqual(["features", "retrieve notes", "llm 1", "tool time_estimator", "llm 2"]);
  });

  it("streams server-sent events: retrieval, the tool call, the answer in pieces, then the whole answer", async () => {
    setLlm(chatHandler());
    const res = await fetch(server.url + "/v1/agents/coach/chat", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ athlete_id: work.athletes[1], message: "And a half marathon?", stream: true }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/text\/event-stream/);
    const events = (await res.text()).trim().split("\n\n").map((block) => {
      const [ev, data] = block.split("\n");
      return { event: ev.replace("event: ", ""), data: JSON.parse(data.replace("data: ", "")) };
    });
    const names = events.map((e) => e.event);
    expect(names[0]).toBe("retrieved");
    expect(names[1]).toBe("tool_call");
    expect(names.at(-1)).toBe("done");
    const deltas = events.filter((e) => e.event === "delta").map((e) => e.data.text);
    expect(deltas.length).toBeGreaterThan(1);
    const done = events.at(-1)!.data;
    expect(deltas.join("")).toBe(done.answer);
    expect(done.answer).toContain("USER=And a half marathon?");
    expect(done.tool_calls[0].status).toBe(200);
  });

  it("streams a failure of the endpoint as an `error` event after what was already sent", async () => {
    setLlm((_q, res) => json(res, 500, { error: "boom" }));
    const res = await fetch(server.url + "/v1/agents/coach/chat", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ athlete_id: work.athletes[1], message: "And a 5 km?", stream: true }),
    });
    expect(res.status).toBe(200);
    const events = (await res.text()).trim().split("\n\n").map((block) => {
      const [ev, data] = block.split("\n");
      return { event: ev.replace("event: ", ""), data: JSON.parse(data.replace("data: ", "")) };
    });
    expect(events.map((e) => e.event)).toEqual(["retrieved", "error"]);
    expect(events[1].data.error).toMatchObject({ status: 502, code: "llm_unavailable" });
    setLlm(chatHandler());
  });

  it("stops the turn when the client goes away: no more LLM calls, logged as 499", async () => {
    // A slow model that never stops calling the tool.
    setLlm(async (q, res, n) => {
      await new Promise((r) => setTimeout(r, 400));
      chatHandler()({ ...q, body: { ...q.body, messages: q.body.messages.filter((m: { role: string }) => m.role !== "tool") } }, res, n);
    });
    const asked = () => llm.requests.filter((q) => q.body.messages?.some((m: { content: string }) => m.content === "abort me")).length;
    const aborter = new AbortController();
    const res = await fetch(server.url + "/v1/agents/coach/chat", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ athlete_id: work.athletes[0], message: "abort me", stream: true }),
      signal: aborter.signal,
    });
    const reader = res.body!.getReader();
    await reader.read(); // the first event: retrieval is done, the first LLM call is under way
    aborter.abort();
    await new Promise((r) => setTimeout(r, 1500));
    const calls = asked();
    expect(calls).toBeLessThanOrEqual(2);
    await new Promise((r) => setTimeout(r, 1000));
    expect(asked()).toBe(calls); // nothing more after the turn stopped
    await server.service.log?.flush();
    const dir = path.join(work.logsDir, "agent.coach");
    const entries = fs.readdirSync(dir).flatMap((f) => fs.readFileSync(path.join(dir, f), "utf8").trim().split("\n").map((l) => JSON.parse(l)));
    const entry = entries.find((e) => e.request.message === "abort me");
    expect(entry).toMatchObject({ status: 499, error: { code: "client_closed" } });
    setLlm(chatHandler());
  });

  it("answers clear errors for every endpoint failure, and keeps serving", async () => {
    const a = work.athletes[0];
    const cases: Array<[string, Parameters<typeof setLlm>[0], number, string]> = [
      ["5xx", (_q, res) => json(res, 500, { error: "boom" }), 502, "llm_unavailable"],
      ["timeout", () => new Promise<void>(() => {}), 504, "llm_timeout"],
      ["malformed", (_q, res) => json(res, 200, { nope: true }), 502, "llm_malformed_answer"],
      ["not json", (_q, res) => { res.writeHead(200, { "content-type": "application/json" }); res.end("<html>"); }, 502, "llm_malformed_answer"],
      ["bad arguments", chatHandler({ distance_km: "ten", elevation_gain_m: 50, planned_pace_min_km: 5.5 }), 422, "bad_tool_call"],
      ["arguments not JSON", chatHandler("{distance_km: 10"), 422, "bad_tool_call"],
      ["endless tool calls", (q, res, n) => chatHandler()({ ...q, body: { ...q.body, messages: q.body.messages.filter((m: { role: string }) => m.role !== "tool") } }, res, n), 502, "agent_budget"],
    ];
    for (const [name, handler, status, code] of cases) {
      setLlm(handler);
      const r = await chat({ athlete_id: a, message: "How long?" });
      expect({ name, status: r.status, code: r.body.error?.code }).toEqual({ name, status, code });
      expect(r.body.error.message.length, name).toBeGreaterThan(10);
    }
    const bad = (await chat({ athlete_id: a, message: "x" })).body; // still the endless handler: bounded
    expect(bad.error.message).toMatch(/no final answer within 3 LLM calls/);
    setLlm(chatHandler({ distance_km: "ten", elevation_gain_m: 50, planned_pace_min_km: 5.5 }));
    const issues = (await chat({ athlete_id: a, message: "x" })).body.error.issues;
    expect(issues[0].path).toEqual(["tool_calls", "time_estimator", "distance_km"]);
    // A missing argument in a prediction request's words (zod's was "expected number, received undefined").
    setLlm(chatHandler({ elevation_gain_m: 50, planned_pace_min_km: 5.5 }));
    const missing = (await chat({ athlete_id: a, message: "x" })).body.error;
    expect(missing.issues).toEqual([{ path: ["tool_calls", "time_estimator", "distance_km"], message: "missing field: expected number" }]);
    expect(missing.message).toBe("the LLM called `time_estimator` with bad arguments: distance_km: missing field: expected number");
    const invalid = await chat({ athlete_id: a });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.issues[0].path).toEqual(["message"]);
    expect((await chat({ athlete_id: a, message: "x", extra: 1 })).status).toBe(400);
    expect((await post("/v1/agents/nope/chat", { message: "x" })).status).toBe(404);
    setLlm(chatHandler());
    expect((await chat({ athlete_id: a, message: "still there?" })).status).toBe(200);
  }, 60_000);

  it("logs every turn: request, retrieved ids and scores, features with statuses, prompt, tool calls, answer, step latencies", async () => {
    await server.service.log?.flush();
    const dir = path.join(work.logsDir, "agent.coach");
    const entries = fs.readdirSync(dir).flatMap((f) => fs.readFileSync(path.join(dir, f), "utf8").trim().split("\n").map((l) => JSON.parse(l)));
    const ok = entries.find((e) => e.status === 200 && e.request.message === "How long will my 10 km tomorrow take and why?");
    expect(ok).toBeDefined();
    expect(ok.retrieved.notes[0]).toEqual({ id: expect.any(String), score: expect.any(Number) });
    expect(ok.features.ctl_42d).toEqual({ value: expect.any(Number), status: "present" });
    expect(ok.prompt).toContain("coaching notes");
    expect(ok.tool_calls[0]).toMatchObject({ tool: "time_estimator", status: 200 });
    expect(ok.answer).toContain("TOOL=");
    expect(ok.steps.every((s: { ms: number }) => s.ms >= 0)).toBe(true);
    const failed = entries.filter((e) => e.status >= 400).map((e) => e.error.code);
    expect(failed).toEqual(expect.arrayContaining(["llm_unavailable", "llm_timeout", "llm_malformed_answer", "bad_tool_call", "agent_budget"]));
  });
});
