// `fti mcp`: a line longer than a message may be (a tool call with a huge
// `instances` list) is answered with JSON-RPC's invalid-request error and left
// out; the transport stays open and the next message is read. Before, the
// SDK's buffer bound closed the transport and `fti mcp` exited 0 without an
// answer or a word on stderr.

import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { cappedLines, cappedStdioTransport } from "../runtime/mcp/stdio-lines.ts";

const settle = () => new Promise((r) => setTimeout(r, 50));

describe("fti mcp: a line over the message bound", () => {
  it("gets -32600 with id null; the transport stays open and reads the next message", async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const transport = cappedStdioTransport(stdin, stdout, 1000);
    const seen: unknown[] = [];
    let closed = false;
    transport.onmessage = (m) => seen.push(m);
    transport.onclose = () => (closed = true);
    await transport.start();
    let out = "";
    stdout.on("data", (d: Buffer) => (out += d.toString("utf8")));
    const long = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(5000) } });
    // the long line arrives in pieces, the good one after it in the last piece
    for (let i = 0; i < long.length; i += 700) stdin.write(long.slice(i, i + 700));
    stdin.write('\n{"jsonrpc":"2.0","id":2,"method":"ping"}\n');
    await settle();
    const answers = out.trim().split("\n").map((l) => JSON.parse(l) as { id: null; error: { code: number; message: string } });
    expect(answers.map((a) => [a.id, a.error.code])).toEqual([[null, -32600]]);
    expect(answers[0].error.message).toContain(`the line is ${long.length + 1} bytes, over the 1000 bytes`);
    expect(seen).toEqual([{ jsonrpc: "2.0", id: 2, method: "ping" }]);
    expect(closed).toBe(false);
    await transport.close();
  });

  it("passes every line at or under the bound whole, one chunk each, however the input is cut", async () => {
    const lines = ["a".repeat(8) + "\n", "\n", "b".repeat(9) + "\n", "c".repeat(10) + "\n", "d".repeat(4)]; // bytes with the newline: 9, 1, 10 (the bound), 11, 4
    const text = lines.join("");
    for (const step of [1, 3, 7, text.length]) {
      const long: number[] = [];
      const t = cappedLines(10, (n) => long.push(n));
      const chunks: string[] = [];
      t.on("data", (c: Buffer) => chunks.push(c.toString()));
      for (let i = 0; i < text.length; i += step) t.write(Buffer.from(text.slice(i, i + step)));
      t.end();
      await settle();
      // The last line, without a newline at the input's end, is passed with one: a message the transport reads.
      expect(chunks).toEqual([lines[0], lines[1], lines[2], lines[4] + "\n"]);
      expect(long).toEqual([11]);
    }
  });
});
