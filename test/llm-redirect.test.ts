// The LLM endpoint's redirects are not followed: a redirect to another host
// would send the conversation there (Node's fetch drops the Authorization header
// across origins, not within one), and a 301/302 turns the POST into a GET.
// A redirect is an EndpointError naming where it pointed, not retried.

import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chatComplete } from "../runtime/llm/chat.ts";
import { EndpointError, postJson } from "../runtime/llm/http.ts";
import { json, startFakeOpenAi, type FakeOpenAi } from "./helpers/fake-openai.ts";

let origin: FakeOpenAi;
let elsewhere: FakeOpenAi;
beforeAll(async () => {
  elsewhere = await startFakeOpenAi({
    "/v1/chat/completions": (_q, res) => json(res, 200, { choices: [{ index: 0, message: { role: "assistant", content: "hello" } }] }),
    "/v1/embeddings": (_q, res) => json(res, 200, { data: [] }),
  });
  origin = await startFakeOpenAi();
});
afterAll(async () => {
  await origin?.close();
  await elsewhere?.close();
});

const redirect = (status: number, to: string) => (_q: unknown, res: http.ServerResponse) => {
  res.writeHead(status, { location: to });
  res.end();
};

describe("an LLM endpoint that redirects", () => {
  it.each([307, 308, 301, 302])("%i to another host: refused, nothing reaches it", async (status) => {
    origin.handlers.set("/v1/chat/completions", redirect(status, `${elsewhere.url}/chat/completions`));
    origin.requests.length = 0;
    elsewhere.requests.length = 0;
    const err = await chatComplete({ url: origin.url, apiKey: "sk-secret", retries: 2, backoffMs: 1 }, { model: "m", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndpointError);
    expect(err).toMatchObject({ kind: "status", status });
    expect((err as Error).message).toBe(
      `${origin.url}/chat/completions answered ${status}, a redirect to ${elsewhere.url}/chat/completions; fti does not follow an endpoint's redirects (the conversation would go where it points): configure the URL that answers`,
    );
    expect(elsewhere.requests).toEqual([]);
    // Not retried: another attempt would be redirected the same way.
    expect(origin.requests).toHaveLength(1);
    expect(origin.requests[0].authorization).toBe("Bearer sk-secret");
  });

  it("the embeddings path too, and a same-host redirect (the URL to configure is the one that answers)", async () => {
    origin.handlers.set("/v1/embeddings", redirect(307, "/v2/embeddings"));
    const err = await postJson({ url: origin.url, apiKey: "k" }, "/embeddings", { input: ["a"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndpointError);
    expect((err as Error).message).toMatch(/answered 307, a redirect to \/v2\/embeddings; fti does not follow/);
    expect(origin.requests.filter((r) => r.path === "/v2/embeddings")).toEqual([]);
  });

  it("an endpoint that answers is read as before", async () => {
    const answer = await chatComplete({ url: elsewhere.url, apiKey: "k" }, { model: "m", messages: [{ role: "user", content: "hi" }] });
    expect(answer.content).toBe("hello");
  });
});
