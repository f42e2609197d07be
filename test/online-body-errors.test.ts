// Every 4xx of `fti serve` has the API's error shape ({error: {status, code,
// message}}), over a real socket, on the node:http fast path and through
// Fastify alike: the body parser's errors (malformed JSON, another content
// type, a body over 1 MB) and the requests node:http itself cannot parse (a
// body longer than its Content-Length, whose extra bytes read as a next
// request; a bad Content-Length or chunk; a connection ending mid-body;
// headers too large), which Fastify's default handler answered in its own
// shape ({"error": "Bad Request", "message": "Client Error", "statusCode": 400}).

import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { servedBothWays } from "./helpers/online-toy.ts";

let served: Awaited<ReturnType<typeof servedBothWays>>;
const fast = () => served.fast;
const slow = () => served.slow;

beforeAll(async () => {
  served = await servedBothWays();
}, 120_000);

afterAll(async () => {
  await served?.close();
});

interface Answer {
  status: number;
  body: unknown;
}

/** Writes `bytes` on a new connection, half-closes it, and parses every response the server wrote until it closed. */
function exchange(url: string, bytes: string): Promise<Answer[]> {
  const u = new URL(url);
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(u.port), u.hostname, () => socket.end(bytes));
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => {});
    socket.on("close", () => {
      try {
        done(parseResponses(Buffer.concat(chunks).toString("utf8")));
      } catch (e) {
        fail(e);
      }
    });
  });
}

function parseResponses(text: string): Answer[] {
  const answers: Answer[] = [];
  let rest = text;
  while (rest.length) {
    const head = rest.slice(0, rest.indexOf("\r\n\r\n"));
    const status = Number(/^HTTP\/1\.[01] (\d{3}) /.exec(head)![1]);
    if (status === 100) {
      answers.push({ status, body: undefined });
      rest = rest.slice(head.length + 4);
      continue;
    }
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)![1]);
    const start = head.length + 4;
    const bodyText = Buffer.from(rest.slice(start)).subarray(0, length).toString("utf8");
    answers.push({ status, body: JSON.parse(bodyText) });
    rest = rest.slice(start + bodyText.length);
  }
  return answers;
}

const PATH = "/v1/models/toy_gbdt/predict";
const BODY = JSON.stringify({ user_id: "u01" });
const request = (headers: string, body: string) => `POST ${PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n\r\n${body}`;

/** The error shape of every other 4xx: exactly {error: {status, code, message}}, status as the response's. */
function expectApiError(a: Answer, status: number, code: string, message: RegExp): void {
  expect(a.status).toBe(status);
  expect(a.body).toEqual({ error: { status, code, message: expect.stringMatching(message) } });
}

describe("a request the body parser or node:http refuses gets the API's error shape", () => {
  for (const [name, server] of [["node:http fast path", fast], ["Fastify", slow]] as const) {
    it(`${name}: a body longer than its Content-Length is a 400 malformed_request (its extra bytes are no request)`, async () => {
      const answers = await exchange(server().url, request(`Content-Type: application/json\r\nContent-Length: ${BODY.length}`, `${BODY}{"user_id":"u02"}`));
      expect(answers.length).toBeGreaterThanOrEqual(1);
      // The request within the Content-Length may be answered first; whatever follows it is refused, not Fastify's shape.
      if (answers.length === 2) expect(answers[0].status).toBe(200);
      expectApiError(answers[answers.length - 1], 400, "malformed_request", /^malformed HTTP request: .*Content-Length/);
    });

    it(`${name}: a body cut short by its Content-Length is answered in the API's shape, with what JSON it holds`, async () => {
      const answers = await exchange(server().url, request("Content-Type: application/json\r\nContent-Length: 5", BODY));
      for (const a of answers) expect(a.body).toEqual({ error: { status: a.status, code: expect.any(String), message: expect.any(String) } });
      expectApiError(answers[answers.length - 1], 400, "malformed_request", /^malformed HTTP request: /);
    });

    it(`${name}: a Content-Length that is no number, a malformed chunk, a connection ending mid-body are 400 malformed_request`, async () => {
      const cases = [
        [request("Content-Type: application/json\r\nContent-Length: abc", BODY), /Content-Length header is not one valid length/],
        [request("Content-Type: application/json\r\nTransfer-Encoding: chunked", `zz\r\n${BODY}`), /chunk size/],
        [request("Content-Type: application/json\r\nContent-Length: 500", BODY), /connection ended before the whole request/],
      ] as const;
      for (const [bytes, message] of cases) {
        const answers = await exchange(server().url, bytes);
        expect(answers.length).toBe(1);
        expectApiError(answers[0], 400, "malformed_request", message);
      }
    });

    it(`${name}: malformed JSON, another content type and a body over 1 MB are 400, 415 and 413 in the API's shape`, async () => {
      const [json] = await exchange(server().url, request("Content-Type: application/json\r\nContent-Length: 5\r\nConnection: close", `{"a":`));
      expectApiError(json, 400, "invalid_json", /^malformed JSON/);
      const [type] = await exchange(server().url, request(`Content-Type: text/plain\r\nContent-Length: ${BODY.length}\r\nConnection: close`, BODY));
      expectApiError(type, 415, "unsupported_media_type", /application\/json/);
      const big = JSON.stringify({ user_id: "u01", pad: "x".repeat(1024 * 1024) });
      const [large] = await exchange(server().url, request(`Content-Type: application/json\r\nContent-Length: ${big.length}\r\nConnection: close`, big));
      expectApiError(large, 413, "body_too_large", /larger than 1048576 bytes/);
    });

    it(`${name}: an HTTP/1.1 request without Host is a 400 and an Expect other than 100-continue a 417, in the API's shape (node answered both with an empty body)`, async () => {
      const [host] = await exchange(server().url, `POST ${PATH} HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`);
      expectApiError(host, 400, "missing_host", /needs a Host header/);
      const [expectation] = await exchange(server().url, request(`Content-Type: application/json\r\nExpect: 200-ok\r\nContent-Length: ${BODY.length}`, BODY));
      expectApiError(expectation, 417, "expectation_failed", /100-continue/);
      // HTTP/1.0 has no Host requirement; 100-continue is met.
      const [old] = await exchange(server().url, `POST ${PATH} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`);
      expect(old.status).toBe(200);
      const answers = await exchange(server().url, request(`Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${BODY.length}\r\nConnection: close`, BODY));
      expect(answers.map((a) => a.status)).toEqual([100, 200]);
    });

    it(`${name}: headers over node's 16 KB are a 431 in the API's shape, and the server answers the next request`, async () => {
      const [a] = await exchange(server().url, request(`Content-Type: application/json\r\nX-Pad: ${"x".repeat(20_000)}\r\nContent-Length: ${BODY.length}`, BODY));
      expectApiError(a, 431, "headers_too_large", /headers are larger/);
      const [ok] = await exchange(server().url, request(`Content-Type: application/json\r\nContent-Length: ${BODY.length}\r\nConnection: close`, BODY));
      expect(ok.status).toBe(200);
    });
  }
});
