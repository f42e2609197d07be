// An open-loop HTTP/1.1 load generator: requests leave at a fixed rate, one
// every 1/rate seconds, over a pool of kept-alive connections.
//
// Why not autocannon's `overallRate`: autocannon resets a per-connection
// counter once a second and sends as fast as it can until the counter is
// used up, so "1,000 req/s" arrives as a burst of 1,000 requests at the
// start of every second and the latencies measure the queue of that burst.
//
// A request's latency runs from the moment it is due (its slot in the
// schedule, as soon as the generator's timer sees it) to the end of its
// answer. When every connection is busy, the request waits for one and the
// wait counts (no coordinated omission); the generator's own timer lateness
// does not, and is reported separately (`lateMs`).

import { connect, type Socket } from "node:net";
import { monitorEventLoopDelay } from "node:perf_hooks";

export interface PacedRequest {
  path: string;
  body: string;
  /** Passed back to onResponse. */
  tag: string;
}

export interface PacedLoadOptions {
  /** "http://host:port" */
  url: string;
  rate: number;
  seconds: number;
  /** Most connections (requests in flight). */
  connections: number;
  request(i: number): PacedRequest;
  onResponse?(status: number, tag: string, ms: number): void;
}

export interface PacedLoadResult {
  sent: number;
  answered: number;
  /** Latency of every answer, ms, in the order the answers came. */
  latencies: Float64Array;
  /** When each answered request was due, epoch ms (performance.timeOrigin-based, to match another process's clock), same order. */
  dueAt: Float64Array;
  statuses: Uint16Array;
  /** Requests that waited for a free connection. */
  queued: number;
  /** How late the generator's timer was, worst case (ms). */
  lateMs: number;
  /** The generator's own event-loop delay over the run (ms), p99 and max: an answer that arrives during such a delay is read that much late. */
  loopP99: number;
  loopMax: number;
  errors: number;
  seconds: number;
}

interface Pending {
  due: number;
  tag: string;
}

/** One kept-alive connection: sends one request at a time, parses the answer (Content-Length bodies). */
class Conn {
  private socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  busy: Pending | null = null;
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly done: (conn: Conn, status: number, p: Pending) => void,
    private readonly failed: (conn: Conn, p: Pending | null) => void,
  ) {
    this.socket = this.open();
  }

  private open(): Socket {
    const s = connect(this.port, this.host);
    s.setNoDelay(true);
    s.on("data", (d: Buffer) => this.onData(d));
    s.on("error", () => undefined);
    s.on("close", () => {
      const p = this.busy;
      this.busy = null;
      this.buf = Buffer.alloc(0);
      if (this.closed) return;
      this.socket = this.open();
      if (p) this.failed(this, p);
    });
    return s;
  }

  send(raw: Buffer, p: Pending): void {
    this.busy = p;
    this.socket.write(raw);
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    const end = this.buf.indexOf("\r\n\r\n");
    if (end < 0) return;
    const head = this.buf.subarray(0, end).toString("latin1");
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const len = m ? Number(m[1]) : 0;
    if (this.buf.length < end + 4 + len) return;
    this.buf = this.buf.subarray(end + 4 + len);
    const p = this.busy!;
    this.busy = null;
    // The server closes after this answer: a fresh connection takes the next request.
    if (/\r\nconnection:\s*close/i.test(head)) this.reopen();
    this.done(this, status, p);
  }

  private reopen(): void {
    const old = this.socket;
    old.removeAllListeners("close");
    old.removeAllListeners("data");
    old.destroy();
    this.buf = Buffer.alloc(0);
    this.socket = this.open();
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

export function pacedLoad(opts: PacedLoadOptions): Promise<PacedLoadResult> {
  const u = new URL(opts.url);
  const host = u.hostname;
  const port = Number(u.port);
  const total = Math.floor(opts.rate * opts.seconds);
  const interval = 1000 / opts.rate;
  const latencies = new Float64Array(total);
  const dueAt = new Float64Array(total);
  const statuses = new Uint16Array(total);
  const free: Conn[] = [];
  const waiting: Array<{ raw: Buffer; p: Pending }> = [];
  let answered = 0;
  let errors = 0;
  let queued = 0;
  let lateMs = 0;
  let next = 0;
  let t0 = 0;

  const encode = (r: PacedRequest) =>
    Buffer.from(
      `POST ${r.path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(r.body)}\r\n\r\n${r.body}`,
    );

  return new Promise((resolve) => {
    let over = false;
    const loop = monitorEventLoopDelay({ resolution: 1 });
    const finish = () => {
      if (over) return;
      over = true;
      loop.disable();
      clearTimeout(deadline);
      for (const c of conns) c.close();
      resolve({
        sent: next,
        answered,
        latencies: latencies.subarray(0, answered),
        dueAt: dueAt.subarray(0, answered),
        statuses: statuses.subarray(0, answered),
        queued,
        lateMs,
        loopP99: loop.percentile(99) / 1e6,
        loopMax: loop.max / 1e6,
        errors,
        seconds: (performance.now() - t0) / 1000,
      });
    };
    const settle = () => {
      if (next >= total && answered + errors >= total) finish();
    };
    const release = (c: Conn) => {
      const w = waiting.shift();
      if (w) c.send(w.raw, w.p);
      else free.push(c);
    };
    const onDone = (c: Conn, status: number, p: Pending) => {
      const ms = performance.now() - p.due;
      latencies[answered] = ms;
      dueAt[answered] = performance.timeOrigin + p.due;
      statuses[answered] = status;
      answered++;
      opts.onResponse?.(status, p.tag, ms);
      release(c);
      settle();
    };
    const onFail = (c: Conn) => {
      errors++;
      release(c);
      settle();
    };
    const conns = Array.from({ length: opts.connections }, () => new Conn(host, port, onDone, onFail));
    free.push(...conns);

    const tick = () => {
      const now = performance.now();
      while (next < total && t0 + next * interval <= now) {
        lateMs = Math.max(lateMs, now - (t0 + next * interval));
        const r = opts.request(next++);
        const p = { due: now, tag: r.tag };
        const raw = encode(r);
        const c = free.pop();
        if (c) c.send(raw, p);
        else {
          queued++;
          waiting.push({ raw, p });
        }
      }
      if (next < total) setTimeout(tick, Math.max(0, t0 + next * interval - performance.now()));
      else settle();
    };
    // Answers still missing this long after the last request count as errors.
    const deadline = setTimeout(() => {
      errors = next - answered;
      finish();
    }, opts.seconds * 1000 + 30_000);
    t0 = performance.now();
    loop.enable();
    tick();
  });
}
