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
// does not, and is reported separately (`lateMs`, and per answer `lateness`:
// latency + lateness is the latency from the request's slot in the schedule).

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
  /** The requests already built (prepareRequests with pacedCount(rate, seconds)); else they are built at the call. */
  prepared?: PreparedRequests;
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
  /** Per answer: how late after its slot the generator's timer saw the request (ms), same order. */
  lateness: Float64Array;
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
  /** How late after its slot the timer saw it (ms). */
  late: number;
  tag: string;
}

const CRLF2 = Buffer.from("\r\n\r\n");
const CONTENT_LENGTH = Buffer.from("\r\ncontent-length:");
const CONNECTION_CLOSE = Buffer.from("\r\nconnection: close");
const EMPTY = Buffer.alloc(0);

/** Where `name` (lower case, from CRLF to the colon) starts in the head `buf[0, end)`, ASCII case-insensitively; -1 if absent. */
function headerAt(buf: Buffer, end: number, name: Buffer): number {
  outer: for (let i = 0; i + name.length <= end; i++) {
    for (let k = 0; k < name.length; k++) if ((buf[i + k] | 0x20) !== (name[k] | 0x20)) continue outer;
    return i;
  }
  return -1;
}

/** The decimal value of header `name` in the head (0 when absent). */
function headerNumber(buf: Buffer, end: number, name: Buffer): number {
  let i = headerAt(buf, end, name);
  if (i < 0) return 0;
  i += name.length;
  while (buf[i] === 32) i++;
  let n = 0;
  for (; buf[i] >= 48 && buf[i] <= 57; i++) n = n * 10 + buf[i] - 48;
  return n;
}

const headerHas = (buf: Buffer, end: number, line: Buffer) => headerAt(buf, end, line) >= 0;

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
    const end = this.buf.indexOf(CRLF2);
    if (end < 0) return;
    // The head scanned in place (no string of it, no regular expression): the generator's own work per answer is
    // read-time latency for every answer behind it.
    const status = (this.buf[9] - 48) * 100 + (this.buf[10] - 48) * 10 + (this.buf[11] - 48);
    const len = headerNumber(this.buf, end, CONTENT_LENGTH);
    if (this.buf.length < end + 4 + len) return;
    const close = headerHas(this.buf, end, CONNECTION_CLOSE);
    this.buf = this.buf.length === end + 4 + len ? EMPTY : this.buf.subarray(end + 4 + len);
    const p = this.busy!;
    this.busy = null;
    // The server closes after this answer: a fresh connection takes the next request.
    if (close) this.reopen();
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

/** Requests built and encoded ahead (`prepareRequests`). */
export interface PreparedRequests {
  raws: Buffer[];
  tags: string[];
}

/**
 * The first `count` requests, built and encoded before the schedule starts: the generator's work while it
 * runs is then the sockets' alone (building ~2.5 KB of JSON per events request on the clock made its own
 * loop later). Call it before agreeing on a start time with another generator.
 */
export function prepareRequests(url: string, count: number, request: (i: number) => PacedRequest): PreparedRequests {
  const host = new URL(url).host;
  const raws: Buffer[] = new Array(count);
  const tags: string[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const r = request(i);
    raws[i] = Buffer.from(`POST ${r.path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(r.body)}\r\n\r\n${r.body}`);
    tags[i] = r.tag;
  }
  return { raws, tags };
}

/** How many requests a paced run of `rate` for `seconds` sends. */
export const pacedCount = (rate: number, seconds: number) => Math.floor(rate * seconds);

export function pacedLoad(opts: PacedLoadOptions): Promise<PacedLoadResult> {
  const u = new URL(opts.url);
  const host = u.hostname;
  const port = Number(u.port);
  const total = pacedCount(opts.rate, opts.seconds);
  const interval = 1000 / opts.rate;
  const latencies = new Float64Array(total);
  const dueAt = new Float64Array(total);
  const statuses = new Uint16Array(total);
  const lateness = new Float64Array(total);
  const free: Conn[] = [];
  const waiting: Array<{ raw: Buffer; p: Pending }> = [];
  let answered = 0;
  let errors = 0;
  let queued = 0;
  let lateMs = 0;
  let next = 0;
  let t0 = 0;

  const { raws, tags } = opts.prepared ?? prepareRequests(opts.url, total, opts.request);

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
        lateness: lateness.subarray(0, answered),
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
      lateness[answered] = p.late;
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
        const late = now - (t0 + next * interval);
        lateMs = Math.max(lateMs, late);
        const raw = raws[next];
        const p = { due: now, late, tag: tags[next] };
        next++;
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

export interface ClosedLoadOptions {
  url: string;
  /** Connections, each with one request in flight: it sends the next as soon as its answer is read. */
  connections: number;
  seconds: number;
  /** Requests, used in turn (the (i mod count)-th for the i-th request sent). */
  prepared: PreparedRequests;
}

export interface ClosedLoadResult {
  sent: number;
  answered: number;
  /** Latency of every answer (ms, send → answer read), in the order the answers came. */
  latencies: Float64Array;
  statuses: Uint16Array;
  /** The tag of each answered request, same order. */
  tags: string[];
  errors: number;
  seconds: number;
}

/**
 * Closed-loop load with the paced generator's lean client (for max throughput): autocannon's own work
 * per request took a large share of 2 cores from the server it measured.
 */
export function closedLoad(opts: ClosedLoadOptions): Promise<ClosedLoadResult> {
  const u = new URL(opts.url);
  const { raws, tags: ringTags } = opts.prepared;
  let cap = 1 << 16;
  let latencies = new Float64Array(cap);
  let statuses = new Uint16Array(cap);
  const tags: string[] = [];
  let answered = 0;
  let errors = 0;
  let sent = 0;
  let open = 0;
  const t0 = performance.now();
  const end = t0 + opts.seconds * 1000;
  return new Promise((resolve) => {
    const conns: Conn[] = [];
    const finish = () => {
      for (const c of conns) c.close();
      resolve({ sent, answered, latencies: latencies.subarray(0, answered), statuses: statuses.subarray(0, answered), tags, errors, seconds: (performance.now() - t0) / 1000 });
    };
    const next = (c: Conn) => {
      if (performance.now() >= end) {
        if (--open === 0) finish();
        return;
      }
      const k = sent++ % raws.length;
      c.send(raws[k], { due: performance.now(), late: 0, tag: ringTags[k] });
    };
    const onDone = (c: Conn, status: number, p: Pending) => {
      if (answered === cap) {
        cap *= 2;
        const l = new Float64Array(cap);
        l.set(latencies);
        latencies = l;
        const s = new Uint16Array(cap);
        s.set(statuses);
        statuses = s;
      }
      latencies[answered] = performance.now() - p.due;
      statuses[answered] = status;
      tags.push(p.tag);
      answered++;
      next(c);
    };
    const onFail = (c: Conn) => {
      errors++;
      next(c);
    };
    for (let i = 0; i < opts.connections; i++) conns.push(new Conn(u.hostname, Number(u.port), onDone, onFail));
    open = conns.length;
    for (const c of conns) next(c);
  });
}
