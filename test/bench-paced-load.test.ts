// The load generators of the online and stream benchmarks (bench/lib/paced-load.ts): the lean HTTP
// client reads each answer's status and Content-Length from the head in place, whatever the header's
// case or the chunks the answer arrives in, and takes a fresh connection after `Connection: close`.
// No time is asserted: only that every request is answered and counted with its own status.

import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nativePacer, pacedLoadNative } from "../bench/lib/native-pacer.ts";
import { closedLoad, pacedLoad, prepareRequests } from "../bench/lib/paced-load.ts";

let server: Server;
let url = "";
let closes = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { n: number };
      const text = JSON.stringify({ n: body.n, pad: "x".repeat(body.n % 5000) });
      if (req.url === "/bad") {
        res.writeHead(400, { "content-type": "application/json", "Content-Length": Buffer.byteLength(text) });
        return void res.end(text);
      }
      if (req.url === "/close") {
        closes++;
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text), connection: "close" });
        return void res.end(text);
      }
      // The head and the body in separate writes, the body in two pieces: the client must wait for all of it.
      res.writeHead(200, { "content-type": "application/json", "CONTENT-LENGTH": Buffer.byteLength(text) });
      res.flushHeaders();
      res.write(text.slice(0, 3));
      setImmediate(() => res.end(text.slice(3)));
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((done) => server.close(() => done())));

const request = (i: number) => {
  const path = i % 7 === 3 ? "/bad" : i % 11 === 5 ? "/close" : "/ok";
  return { path, body: JSON.stringify({ n: i * 997 }), tag: path };
};
const expected = (tag: string) => (tag === "/bad" ? 400 : 200);

describe("bench load generators", () => {
  it("closed loop: every answer read whole, with its own status, also after the server closed the connection", async () => {
    closes = 0;
    const prepared = prepareRequests(url, 200, request);
    const r = await closedLoad({ url, connections: 4, seconds: 1, prepared });
    expect(r.errors).toBe(0);
    expect(r.answered).toBe(r.sent);
    // A run is timed, so how many answers depends on the machine's load (15 in 0.5 s at load 40): ask only
    // for enough to include a 400 (request 3) and a closed connection (request 5), and check every one.
    expect(r.answered).toBeGreaterThanOrEqual(6);
    expect(r.tags.slice(0, r.answered)).toContain("/bad");
    for (let i = 0; i < r.answered; i++) expect(r.statuses[i], `answer ${i} (${r.tags[i]})`).toBe(expected(r.tags[i]));
    expect(closes).toBeGreaterThan(0);
  });

  it("paced: the requests built ahead are all sent and answered, statuses as the server gave them", async () => {
    const seen: Array<[number, string]> = [];
    const r = await pacedLoad({ url, rate: 200, seconds: 0.5, connections: 4, request, onResponse: (status, tag) => seen.push([status, tag]) });
    expect(r.sent).toBe(100);
    expect(r.answered).toBe(100);
    expect(r.errors).toBe(0);
    for (const [status, tag] of seen) expect(status).toBe(expected(tag));
    expect(seen.filter(([, t]) => t === "/bad").length).toBe(14);
  });

  // The C generator (bench/lib/pacer.c) is built with the system's C compiler; CI installs one (.ci/run).
  it("paced, the C generator: every request answered whole with its own status, a fresh connection after Connection: close", async () => {
    expect(nativePacer(), "bench/lib/pacer.c does not compile here (no C compiler?)").not.toBeNull();
    closes = 0;
    const seen: Array<[number, string]> = [];
    const r = await pacedLoadNative({ url, rate: 400, seconds: 0.5, connections: 3, request, onResponse: (status, tag) => seen.push([status, tag]) });
    expect(r.sent).toBe(200);
    expect(r.answered).toBe(200);
    expect(r.errors).toBe(0);
    expect(seen.length).toBe(200);
    for (const [status, tag] of seen) expect(status).toBe(expected(tag));
    expect(seen.filter(([, t]) => t === "/bad").length).toBe(29);
    expect(closes).toBe(15);
    // each answer's slot is on the schedule (i / rate), its latency and lateness are times, not garbage; the read
    // lag (the kernel's receive time → the generator's read) is part of the latency, and the kernel gave it
    for (let i = 0; i < r.answered; i++) {
      expect(r.latencies[i]).toBeGreaterThan(0);
      expect(r.lateness[i]).toBeGreaterThanOrEqual(0);
      expect(r.readLag[i]).toBeGreaterThanOrEqual(0);
      expect(r.readLag[i]).toBeLessThan(r.latencies[i]);
    }
    expect(r.readLag.some((x) => x > 0)).toBe(true);
  });

  it("paced, the Node generator: each answer's lateness beside its latency", async () => {
    const r = await pacedLoad({ url, rate: 400, seconds: 0.25, connections: 3, request });
    expect(r.answered).toBe(100);
    expect(r.lateness.length).toBe(100);
    for (let i = 0; i < r.answered; i++) expect(r.lateness[i]).toBeGreaterThanOrEqual(0);
  });
});
