// A request must arrive whole within the request timeout: a client that
// trickles its body (slowloris) is answered 408 and its connection closed,
// on the node:http fast path and through Fastify alike, while a request that
// arrives in pieces within the time is answered as usual.

import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { servedBothWays } from "./helpers/online-toy.ts";

const TIMEOUT_MS = 1000;
let served: Awaited<ReturnType<typeof servedBothWays>>;

beforeAll(async () => {
  served = await servedBothWays({ requestTimeoutMs: TIMEOUT_MS });
});

afterAll(async () => {
  await served?.close();
});

/** Sends the head and then the body's bytes one per `gapMs`; resolves with what the server wrote and whether it closed. */
function trickle(url: string, body: string, gapMs: number, stopAfterMs: number): Promise<{ text: string; closed: boolean }> {
  const u = new URL(url);
  return new Promise((done) => {
    let text = "";
    let closed = false;
    const socket: Socket = connect(Number(u.port), u.hostname, () => {
      socket.write(
        `POST /v1/models/toy_gbdt/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
      );
      let i = 0;
      const tick = setInterval(() => {
        if (closed || i >= body.length) return clearInterval(tick);
        socket.write(body[i++]);
      }, gapMs);
      setTimeout(() => {
        clearInterval(tick);
        socket.destroy();
        done({ text, closed });
      }, stopAfterMs);
    });
    socket.on("data", (d: Buffer) => (text += d.toString("utf8")));
    socket.on("error", () => {});
    socket.on("close", () => (closed = true));
  });
}

describe("the request timeout", () => {
  for (const [name, server] of [["node:http fast path", () => served.fast], ["Fastify", () => served.slow]] as const) {
    it(`${name}: a body trickled past the timeout is a 408 and the connection is closed`, async () => {
      const body = JSON.stringify({ user_id: "u01", pad: "x".repeat(200) });
      const r = await trickle(server().url, body, 50, TIMEOUT_MS * 4);
      expect(r.text.split("\r\n")[0]).toBe("HTTP/1.1 408 Request Timeout");
      expect(JSON.parse(r.text.slice(r.text.indexOf("\r\n\r\n") + 4))).toMatchObject({ error: { status: 408, code: "request_timeout" } });
      expect(r.closed).toBe(true);
    });

    it(`${name}: a body sent in pieces within the timeout is answered`, async () => {
      const body = JSON.stringify({ user_id: "u01" });
      const r = await trickle(server().url, body, Math.floor(TIMEOUT_MS / 10 / body.length), TIMEOUT_MS * 2);
      expect(r.text.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
      expect(r.closed).toBe(false);
    });
  }
});
