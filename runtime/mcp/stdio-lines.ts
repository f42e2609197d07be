// `fti mcp`'s stdin as whole lines, a line longer than a message may be left
// out and answered. The SDK's stdio transport buffers up to 10 MB; past that it
// threw, closed the transport, and `fti mcp` exited 0 without a word: one
// oversized tool call (a long `instances` list) ended the session of every
// later call. Here such a line is skipped to its newline and answered with
// JSON-RPC's invalid-request error (id null: the line's id is in the part not
// read); the lines after it are read as before.

import type { Readable, Writable } from "node:stream";
import { Transform } from "node:stream";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";

/** The longest line (bytes, with its newline) read as a message: the SDK's own buffer bound. */
export const MCP_LINE_LIMIT = 10 * 1024 * 1024;

/** `input` cut into whole lines, one chunk each; `onLong(bytes)` for each line over `limit` bytes, which is left out. */
export function cappedLines(limit: number, onLong: (bytes: number) => void): Transform {
  let pending: Buffer[] = [];
  let size = 0;
  let skipped = -1; // bytes of the line being left out, or -1
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      for (let start = 0; start < chunk.length; ) {
        const nl = chunk.indexOf(10, start);
        const end = nl < 0 ? chunk.length : nl + 1;
        const piece = chunk.subarray(start, end);
        start = end;
        if (skipped >= 0) skipped += piece.length;
        else if (size + piece.length > limit) (skipped = size + piece.length), (pending = []), (size = 0);
        else pending.push(piece), (size += piece.length);
        if (nl < 0) break;
        if (skipped >= 0) onLong(skipped), (skipped = -1);
        else this.push(pending.length === 1 ? pending[0] : Buffer.concat(pending, size)), (pending = []), (size = 0);
      }
      done();
    },
    flush(done) {
      if (skipped >= 0) onLong(skipped);
      // The last line of a file without a final newline is a message too (the transport reads whole lines only).
      else if (size) this.push(Buffer.concat([...pending, Buffer.from("\n")], size + 1));
      done();
    },
  });
}

/**
 * The stdio transport over `stdin` read by cappedLines: a line over `limit` bytes gets a -32600 answer.
 * `onEnd` is called once every line of `stdin` has been handed to the transport (its messages dispatched).
 */
export function cappedStdioTransport(stdin: Readable, stdout: Writable, limit = MCP_LINE_LIMIT, onEnd?: () => void): StdioServerTransport {
  const lines = cappedLines(limit, (bytes) => {
    const message = `Invalid Request: the line is ${bytes} bytes, over the ${limit} bytes a message may be; it was not read`;
    process.stderr.write(`fti mcp: ${message}\n`);
    const answer = { jsonrpc: "2.0" as const, id: null, error: { code: -32600, message } };
    transport.send(answer as unknown as Parameters<StdioServerTransport["send"]>[0]).catch(() => {});
  });
  stdin.pipe(lines);
  if (onEnd) lines.on("end", onEnd);
  // Each chunk is one line of at most `limit` bytes, and the SDK reads a chunk whole before the next.
  const transport = new StdioServerTransport(lines, stdout, { maxBufferSize: 2 * limit });
  return transport;
}
