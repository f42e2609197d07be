// `fti lsp --stdio` given a message header it cannot read (`Content-Length: abc`):
// the framing is lost, and the server went on alive but deaf — every later byte
// read as headers, nothing answered, nothing said. Now it says why on stderr and
// exits 1, so the editor's client restarts it.

import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";

const BIN = path.resolve("compiler/cli/bin.mjs");

function frame(message: unknown): string {
  const body = JSON.stringify(message);
  return `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

describe("fti lsp --stdio", () => {
  it.each([
    ["a Content-Length that is not a number", "Content-Length: abc\r\n\r\n{}", /Content-Length value must be a number\. Got abc/],
    ["a header without Content-Length", "Content-Type: x\r\n\r\n{}", /Header must provide a Content-Length property/],
  ])("%s: exit 1 with the reason on stderr, after answering what came before", async (_name, bad, reason) => {
    const child = spawn(process.execPath, [BIN, "lsp", "--stdio"], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
    child.stdin.write(frame({ jsonrpc: "2.0", id: 1, method: "initialize", params: { processId: null, rootUri: null, capabilities: {} } }));
    const deadline = Date.now() + 60_000;
    while (!stdout.includes('"id":1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(stdout).toContain('"id":1');
    child.stdin.write(bad);
    child.stdin.write(frame({ jsonrpc: "2.0", id: 2, method: "shutdown" }));
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("still running"), 20_000))]);
    if (code === "still running") child.kill();
    expect(code).toBe(1);
    expect(stderr).toMatch(/^fti lsp: the message stream cannot be read further \(/);
    expect(stderr).toMatch(reason);
  }, 90_000);
});
