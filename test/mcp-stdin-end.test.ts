// `fti mcp` answers every request it read before it closes: a client that closes stdin after its last
// request (a script piping a file of requests: `fti mcp spec.fti < calls.jsonl`) lost the answers still
// being worked out (the newuser lane's `predict` over vega-datasets' movies, sent last, was never answered:
// the server closed on stdin's end). The end-to-end case (a real `fti mcp` whose stdin closes after a
// predict) is in unservable-test-rows.test.ts; here the waiting itself.

import { PassThrough } from "node:stream";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { describe, expect, it } from "vitest";
import { trackRequests } from "../runtime/mcp/server.ts";

describe("fti mcp: requests in flight at stdin's end", () => {
  it("answered() waits for every request read (not notifications), in whatever order they are answered", async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const transport = new StdioServerTransport(stdin, stdout);
    const delays: Record<number, number> = { 1: 80, 2: 10 };
    transport.onmessage = (m) => {
      if (!("id" in m) || !("method" in m)) return;
      const id = m.id as number;
      setTimeout(() => void transport.send({ jsonrpc: "2.0", id, result: {} }), delays[id]);
    };
    await transport.start();
    // After the handler, as serveMcpStdio tracks after server.connect sets it.
    const inFlight = trackRequests(transport);
    let out = "";
    stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    stdin.write('{"jsonrpc":"2.0","id":1,"method":"ping"}\n{"jsonrpc":"2.0","method":"notifications/initialized"}\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    await new Promise((r) => setImmediate(r));
    await inFlight.answered();
    const ids = out.trim().split("\n").map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids).toEqual([2, 1]);
    // Nothing in flight: at once.
    await inFlight.answered();
    await transport.close();
  });
});
