// The predict route's node:http path (runtime/online/fast-predict.ts) against
// Fastify's: two servers over the same store, one with the fast path, one
// without; every request gets the same status, content type and body from
// both, and the fast path takes exactly the plain requests.

import { request } from "node:http";
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { buildToyStore, type ToyStore } from "./helpers/online-toy.ts";

const NOW = Date.parse("2026-03-01T00:00:00Z");
const TOKEN = "a-token-of-sixteen-chars-or-more";

let toy: ToyStore;
let fast: RunningServer;
let slow: RunningServer;
let fastTokened: RunningServer;
let slowTokened: RunningServer;

interface Req {
  path: string;
  body: string | Buffer;
  headers?: Record<string, string>;
  /** Sent with Transfer-Encoding: chunked (no Content-Length), in two pieces. */
  chunked?: boolean;
}
interface Answer {
  status: number;
  type: string | undefined;
  body: string;
}

function send(url: string, r: Req): Promise<Answer> {
  const u = new URL(url);
  return new Promise((done, fail) => {
    const bytes = Buffer.from(r.body);
    const headers: Record<string, string | number> = { "content-type": "application/json", ...r.headers };
    if (!r.chunked) headers["content-length"] = bytes.length;
    const req = request({ host: u.hostname, port: u.port, method: "POST", path: r.path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => done({ status: res.statusCode!, type: res.headers["content-type"], body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", fail);
    if (r.chunked) {
      req.write(bytes.subarray(0, 5));
      req.end(bytes.subarray(5));
    } else req.end(bytes);
  });
}

/** A request body whose bytes are not UTF-8 (0xFF inside a string). */
const notUtf8 = Buffer.concat([Buffer.from('{"user_id": "u0'), Buffer.from([0xff]), Buffer.from('1"}')]);

/** Two servers' answers are equal but for the request ids (each server numbers its own). */
const normal = (a: Answer) => ({ ...a, body: a.body.replace(/"request_id":"[^"]*"/g, '"request_id":"…"') });

async function compare(r: Req, pair: [RunningServer, RunningServer] = [fast, slow]): Promise<{ answer: Answer; tookFast: boolean }> {
  const before = pair[0].fast!.answered;
  const a = await send(pair[0].url, r);
  const tookFast = pair[0].fast!.answered > before;
  const b = await send(pair[1].url, r);
  expect(normal(a), `${r.path} ${r.body.slice(0, 80)}`).toEqual(normal(b));
  return { answer: a, tookFast };
}

const P = (model: string) => `/v1/models/${model}/predict`;

beforeAll(async () => {
  toy = await buildToyStore();
  await toy.withStore((store) => materialize(store, toy.bundle));
  const base = { port: 0, store: toy.storePath, logs: false as const, watch: false, now: () => NOW };
  fast = await startServer(toy.bundle, base);
  slow = await startServer(toy.bundle, { ...base, fastPredict: false });
  const tokens = { access: { apiTokens: [TOKEN] } };
  fastTokened = await startServer(toy.bundle, { ...base, ...tokens });
  slowTokened = await startServer(toy.bundle, { ...base, ...tokens, fastPredict: false });
});

afterAll(async () => {
  for (const s of [fast, slow, fastTokened, slowTokened]) await s?.close();
  toy?.cleanup();
});

describe("the predict route on node:http", () => {
  it("is on by default and off on request", () => {
    expect(fast.fast).not.toBeNull();
    expect(slow.fast).toBeNull();
  });

  it("answers plain requests itself, exactly as Fastify does: predictions, batches, 4xx of every kind", async () => {
    const plain: Req[] = [
      { path: P("toy_request"), body: JSON.stringify({ user_id: "u02", amount: 3 }) },
      { path: P("toy_request"), body: JSON.stringify({ instances: [{ user_id: "u03", amount: 1 }, { user_id: "u04", amount: 2 }] }) },
      { path: P("toy_gbdt"), body: JSON.stringify({ user_id: "nobody" }) }, // 422
      { path: P("toy_impute"), body: JSON.stringify({ user_id: "nobody" }) }, // imputed: 200
      { path: P("toy_gbdt"), body: '{"user_id": "u01",' }, // malformed JSON
      { path: P("toy_request"), body: JSON.stringify({ user_id: 5, extra: true }) }, // wrong type, missing and unknown fields
      { path: P("toy_request"), body: "null" },
      { path: P("toy_request"), body: "[]" },
      { path: P("toy_request"), body: '"text"' },
      { path: P("toy_request"), body: JSON.stringify({ instances: "x" }) },
      { path: P("toy_gbdt"), body: '{"user_id": "u01", "__proto__": {"x": 1}}' },
      { path: P("nope"), body: JSON.stringify({ user_id: "u01" }) }, // unknown model
      { path: P("toy_gbdt"), body: JSON.stringify({ user_id: "ünïcødé ✓ 𝄞" }) }, // multi-byte UTF-8, echoed in the 422
      { path: P("toy_gbdt"), body: JSON.stringify({ user_id: "u01" }), headers: { "content-type": "application/json; charset=utf-8" } },
      { path: P("toy_gbdt"), body: JSON.stringify({ user_id: "u01" }), headers: { "content-type": "Application/JSON" } },
      { path: P("toy_gbdt"), body: notUtf8 }, // decoded, it would be another user_id (U+FFFD): refused
      { path: P("toy_gbdt"), body: JSON.stringify({ user_id: "u01" }), headers: { "content-encoding": "identity" } },
    ];
    const statuses: number[] = [];
    for (const r of plain) {
      const { answer, tookFast } = await compare(r);
      expect(tookFast, String(r.body)).toBe(true);
      expect(answer.type).toBe("application/json; charset=utf-8");
      statuses.push(answer.status);
    }
    expect(statuses).toEqual([200, 200, 422, 200, 400, 400, 400, 400, 400, 400, 400, 404, 422, 200, 200, 400, 200]);
  });

  it("leaves everything else to Fastify: chunked and large bodies, other media types, query strings, other routes", async () => {
    const one = JSON.stringify({ user_id: "u01" });
    const big = JSON.stringify({ instances: Array.from({ length: 4000 }, (_, i) => ({ user_id: `u0${1 + (i % 5)}` })) });
    expect(big.length).toBeGreaterThan(64 * 1024);
    const others: Array<[Req, number]> = [
      [{ path: P("toy_gbdt"), body: one, chunked: true }, 200],
      [{ path: P("toy_gbdt"), body: notUtf8, chunked: true }, 400],
      [{ path: P("toy_gbdt"), body: big }, 200],
      [{ path: P("toy_gbdt"), body: JSON.stringify({ user_id: "u01", pad: "x".repeat(1024 * 1024) }) }, 413],
      [{ path: P("toy_gbdt"), body: "hi", headers: { "content-type": "text/plain" } }, 415],
      [{ path: P("toy_gbdt"), body: gzipSync(one), headers: { "content-encoding": "gzip" } }, 415],
      [{ path: P("toy_gbdt"), body: one, headers: { "content-type": "application/json; charset=latin1" } }, 200],
      [{ path: `${P("toy_gbdt")}?x=1`, body: one }, 200],
      [{ path: `${P("toy_gbdt")}/`, body: one }, 404],
      [{ path: P("toy_gbdt"), body: one, headers: { origin: "http://evil.example" } }, 403],
      [{ path: "/v1/models/toy%5Fgbdt/predict", body: one }, 200],
    ];
    for (const [r, status] of others) {
      const { answer, tookFast } = await compare(r);
      expect(tookFast, `${r.path} ${JSON.stringify(r.headers ?? {})}`).toBe(false);
      expect(answer.status, `${r.path} ${JSON.stringify(r.headers ?? {})}`).toBe(status);
    }
  });

  it("with API tokens: a request without the token is Fastify's 401, one with it is answered on node:http", async () => {
    const r: Req = { path: P("toy_gbdt"), body: JSON.stringify({ user_id: "u01" }) };
    const refused = await compare(r, [fastTokened, slowTokened]);
    expect([refused.answer.status, refused.tookFast]).toEqual([401, false]);
    const allowed = await compare({ ...r, headers: { authorization: `Bearer ${TOKEN}` } }, [fastTokened, slowTokened]);
    expect([allowed.answer.status, allowed.tookFast]).toEqual([200, true]);
  });

  it("a client that goes away in the middle of its body leaves the server serving", async () => {
    const u = new URL(fast.url);
    await new Promise<void>((done) => {
      const c = connect(Number(u.port), u.hostname, () => {
        c.write(`POST ${P("toy_gbdt")} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user_id":`);
        setTimeout(() => {
          c.destroy();
          done();
        }, 50);
      });
    });
    const after = await send(fast.url, { path: P("toy_gbdt"), body: JSON.stringify({ user_id: "u01" }) });
    expect(after.status).toBe(200);
  });

  it("counts its answers in /metrics as Fastify's hook does", async () => {
    const before = { ok: fast.metrics.count("toy_linear", 200), bad: fast.metrics.count("toy_linear", 400), unknown: fast.metrics.count("unknown", 404) };
    await send(fast.url, { path: P("toy_linear"), body: JSON.stringify({ user_id: "u01" }) });
    await send(fast.url, { path: P("toy_linear"), body: "{" });
    await send(fast.url, { path: P("nope"), body: "{}" });
    expect(fast.metrics.count("toy_linear", 200)).toBe(before.ok + 1);
    expect(fast.metrics.count("toy_linear", 400)).toBe(before.bad + 1);
    expect(fast.metrics.count("unknown", 404)).toBe(before.unknown + 1);
  });
});
