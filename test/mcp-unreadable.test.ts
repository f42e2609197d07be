// `fti mcp`'s stdio transport answers a line it cannot read: JSON-RPC's parse
// error (-32700) for text that is not JSON, invalid request (-32600) for JSON
// that is not a message, both with id null; a good message after them is
// still read. (The SDK's transport reported them to onerror only: a client
// that sent one waited for an answer for ever.)

import { PassThrough } from "node:stream";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { describe, expect, it } from "vitest";
import { answerUnreadableLines } from "../runtime/mcp/server.ts";

describe("fti mcp: unreadable lines", () => {
  it("are answered with id null and the JSON-RPC code; the next good message is still read", async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const transport = new StdioServerTransport(stdin, stdout);
    const seen: unknown[] = [];
    const reported: string[] = [];
    transport.onmessage = (m) => seen.push(m);
    transport.onerror = (e) => reported.push(e.name);
    await transport.start();
    answerUnreadableLines(transport);
    let out = "";
    stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    stdin.write('{"jsonrpc": "2.0", "id": 1,\nnull\n[]\n\u0000\u0001garbage\n{"jsonrpc":"2.0","id":7,"method":"ping"}\n');
    await new Promise((r) => setTimeout(r, 50));
    const answers = out.trim().split("\n").map((l) => JSON.parse(l) as { id: null; error: { code: number } });
    expect(answers.map((a) => [a.id, a.error.code])).toEqual([
      [null, -32700],
      [null, -32600],
      [null, -32600],
      [null, -32700],
    ]);
    expect(seen).toEqual([{ jsonrpc: "2.0", id: 7, method: "ping" }]);
    expect(reported).toHaveLength(4);
    await transport.close();
  });
});
