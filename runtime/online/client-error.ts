// A request node:http cannot parse (a malformed request line or header, a bad
// Content-Length or chunk, a body longer than its Content-Length — its extra
// bytes read as a next request —, headers too large, a request past the
// timeout) never reaches a route: node:http emits `clientError` with the
// socket. Fastify's own handler wrote its shape there ({"error": "Bad
// Request", "message": "Client Error", ...}); this one writes the API's
// ({error: {status, code, message}}), as every other error of `fti serve`.
// Two more node:http answered itself with an empty body: an HTTP/1.1 request
// without Host (400) and an `Expect` other than 100-continue (417).

import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { ApiErrorBody } from "./types.ts";

/** What the parser's error codes (llhttp's HPE_*) mean to a client. */
const PARSE_FAILURES: Record<string, string> = {
  HPE_INVALID_CONTENT_LENGTH: "the Content-Length header is not one valid length",
  HPE_UNEXPECTED_CONTENT_LENGTH: "the request has both Content-Length and Transfer-Encoding",
  HPE_INVALID_CHUNK_SIZE: "a chunk size of the chunked body is malformed",
  HPE_INVALID_EOF_STATE: "the connection ended before the whole request (its Content-Length bytes) arrived",
};

/** The status and body answering an unparsable request; undefined when nothing can be answered (the peer reset). */
export function clientErrorAnswer(err: Error & { code?: string; reason?: string }, requestTimeoutMs: number): { status: number; text: string; body: ApiErrorBody } | undefined {
  if (err.code === "ECONNRESET") return undefined;
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
    const message = `the request's headers and body did not arrive within ${requestTimeoutMs / 1000} s`;
    return { status: 408, text: "Request Timeout", body: { error: { status: 408, code: "request_timeout", message } } };
  }
  if (err.code === "HPE_HEADER_OVERFLOW") {
    const message = "the request's headers are larger than the server accepts (16 KB)";
    return { status: 431, text: "Request Header Fields Too Large", body: { error: { status: 431, code: "headers_too_large", message } } };
  }
  const known = err.code ? PARSE_FAILURES[err.code] : undefined;
  // A body longer than its Content-Length: the bytes after it are parsed as the next request's first line.
  const message = `malformed HTTP request: ${known ?? `${err.reason ?? err.code ?? "unreadable"} (a body longer than its Content-Length is read as a next request)`}`;
  return { status: 400, text: "Bad Request", body: { error: { status: 400, code: "malformed_request", message } } };
}

/** Fastify's `clientErrorHandler`: answers in the API's shape, then closes the connection (its state is unknown). */
export function clientErrorHandler(requestTimeoutMs: number): (err: Error, socket: Socket) => void {
  return (err, socket) => {
    if (socket.destroyed) return;
    const a = clientErrorAnswer(err, requestTimeoutMs);
    if (a && socket.writable) {
      const body = JSON.stringify(a.body);
      socket.write(
        `HTTP/1.1 ${a.status} ${a.text}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

/** Node's `requireHostHeader` answer, in the API's shape: true when `req` was refused (the server is created with requireHostHeader false). */
export function refusedWithoutHost(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.httpVersion !== "1.1" || req.headers.host !== undefined) return false;
  sendRefusal(res, 400, "missing_host", "an HTTP/1.1 request needs a Host header");
  return true;
}

/** Answers an `Expect` header node:http cannot meet (anything but 100-continue) in the API's shape, not node's empty 417. */
export function answerExpectations(server: Server): void {
  server.on("checkExpectation", (_req: IncomingMessage, res: ServerResponse) =>
    sendRefusal(res, 417, "expectation_failed", "the Expect header asks for something other than 100-continue, the only expectation served"),
  );
}

function sendRefusal(res: ServerResponse, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: { status, code, message } } satisfies ApiErrorBody);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body), connection: "close" });
  res.end(body);
}
