// online: `fti serve` (Fastify) under load from a separate process, against
// two references measured in the same rounds, under the same load:
//
//   - the HTTP floor: a bare node:http server that parses the JSON body and
//     answers a canned prediction of the same size (what any Node server
//     pays on this machine for the connection, the syscalls and the load
//     generator sharing the cores);
//   - the in-process floor: the same OnlineService called in process.
//
// Measurements:
//   - latency at a fixed 1,000 req/s (p50/p99 of every 200), open loop: one
//     request every millisecond (bench/lib/pacer.c, a C generator, when a C
//     compiler is there, else bench/lib/paced-load.ts; autocannon's
//     `overallRate` sends each second's requests in one burst at the start
//     of the second, which measures the queue of the burst)   goal p99 ≤ 2 ms, p99.9 ≤ 5 ms
//     The HTTP floor is also measured by the Node generator in the same
//     rounds: the difference is the Node generator's own tail (its GC, its
//     timers), which a floor with a p99.9 of 6–10 ms showed in the quiet runs.
//     What a latency is: from the send (or, every connection busy, from the
//     wait for one) to the generator's read of the answer's last bytes, over
//     the good requests only (fti and the floor read over the same requests;
//     the floor answers the bad ones 200 too). Not in it: how late the
//     generator's timer sent (a late wake-up sends the overdue requests at
//     once, and their queue is in it). In it: the generator's own delay in
//     reading an answer the kernel already had (its read lag, from the
//     kernel's receive timestamp). Both are reported beside fti's and the
//     floor's tails, with the latency from the slot (+ the lateness) and to
//     the kernel's receive time (− the read lag), so that a reader can tell
//     the machine from fti. The goals are read on every round's good answers
//     pooled (3 × 20 s: p99.9 has ~57 answers above it; one round's has ~19),
//     with a 95 % interval (bench/lib/latency-tail.ts). fti and the floor
//     alternate which goes first in a round.
//   - the most req/s the server answers (32 connections, closed loop, the
//     paced generator's lean client: autocannon used ~235 µs of CPU per
//     request, 2–6× the server's own, on the same 2 cores)       goal ≥ 10,000 req/s
//   - the tail: paced small requests (200 req/s) alone, then while another
//     process sends 10,000-instance batch requests back to back: their p99
//     with the batches beside / alone, in the same round (a large request
//     must not stall the small ones)
//   - the JSON parse of a 10,000-instance body as the server does it (a
//     slice per turn of the event loop): the CPU time of the longest block,
//     beside one JSON.parse of it (Fastify's parser before), in process
//   - the GC's cost of the loaded online tables: a full GC with the service
//     loaded (keys in a KeyIndex), beside the same with the keys also in a Map
//   - 5% of the requests are bad (malformed JSON, a wrong type, a missing or
//     unknown field, an unknown entity, an unknown model): each must get a
//     4xx, every good one a 200, and no answer may be a 5xx.
//
// The server serves the batch suite's store (1 M athletes, model
// `finish_time`), after `materialize`, with its request time pinned to the
// data's as-of time (`--now`) and its request log on, as deployed.
//
// Processes are not pinned to cores: on a 2-core machine shared with other
// jobs, `taskset` (server on one core, load on the other) measured lower
// throughput for the bare floor too, since neither process may then use a
// core the other jobs leave idle.

import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { fileURLToPath } from "node:url";
import { materialize } from "../../runtime/online/materialize.ts";
import { OnlineService } from "../../runtime/online/service.ts";
import { openStore } from "../../runtime/store/store.ts";
import { ensureActivities, sqlStr, type ActivitiesData } from "../lib/data.ts";
import { openRefDb, rows } from "../lib/duck.ts";
import { fmtGcTrace, gcTrace, type GcKind } from "../lib/gc-trace.ts";
import { fmtInt, fmtKB, fmtMs, median, run, runNodeTask, type Sample } from "../lib/harness.ts";
import { pct, pooled, tailPercentile, type TailPercentile } from "../lib/latency-tail.ts";
import { nativePacer, pacedLoadNative } from "../lib/native-pacer.ts";
import { closedLoad, pacedCount, pacedLoad, prepareRequests } from "../lib/paced-load.ts";
import type { Measured } from "../lib/report.ts";
import { BIN, ensureCompiled, GEN_DIR, GEN_ROOT, generatedHash, loadBundle, SPEC_FILE } from "../lib/spec.ts";
import type { Ctx, Suite } from "../lib/suite.ts";
import { ensureBatchStore } from "./batch.ts";

const WORKER = fileURLToPath(new URL("../worker.ts", import.meta.url));
const MODEL = "finish_time";
const PATH = `/v1/models/${MODEL}/predict`;
/** Instances of each large request of the tail case (the most one request may carry). */
const BIG_BATCH = 10_000;
/** Small requests per second of the tail case: below what the server answers on a loaded machine, so the p99 is not a queue. */
const TAIL_RATE = 200;

/** Request bodies: valid ones for random entities, and the bad kinds mixed in. */
function bodies(ids: string[], n: number): string[] {
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const km = [5, 10, 21.1, 42.2];
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(JSON.stringify({ athlete_id: ids[Math.floor(rnd() * ids.length)], distance_km: km[i % 4] }));
  return out;
}

/** The i-th request of a run: a good one, or every `badEvery`-th one of the bad kinds in turn. */
function requestMix(ids: string[], badEvery: number): (i: number) => { path: string; body: string; kind: "good" | "bad" } {
  const good = bodies(ids, 50_000);
  return (i) => {
    if (i % badEvery === badEvery - 1) {
      const b = BAD[Math.floor(i / badEvery) % BAD.length];
      return { path: b.path, body: b.body, kind: "bad" };
    }
    return { path: PATH, body: good[i % good.length], kind: "good" };
  };
}

const BAD: Array<{ path: string; body: string; why: string }> = [
  { path: PATH, body: '{"athlete_id": "a0000001", "distance_km": ', why: "malformed JSON" },
  { path: PATH, body: '{"athlete_id": "a0000001", "distance_km": "ten"}', why: "wrong type" },
  { path: PATH, body: '{"athlete_id": "a0000001"}', why: "missing field" },
  { path: PATH, body: '{"athlete_id": "a0000001", "distance_km": 10, "pace": 5}', why: "unknown field" },
  { path: PATH, body: '{"athlete_id": "nobody", "distance_km": 10}', why: "unknown entity" },
  { path: "/v1/models/nope/predict", body: '{"athlete_id": "a0000001", "distance_km": 10}', why: "unknown model" },
];

interface LoadArgs {
  url: string;
  /** JSON file of entity ids. */
  ids: string;
  /** Requests per second (paced load only). */
  rate?: number;
  connections: number;
  seconds: number;
  badEvery: number;
}

interface LoadResult {
  sent: number;
  good: number;
  bad: number;
  goodNot200: number;
  badNot4xx: number;
  s5xx: number;
  errors: number;
  timeouts: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  acP99: number;
  statusCodes: Record<string, number>;
  /** Paced load: how late the generator's timer was at worst (ms). */
  lateMs?: number;
  /** Paced load: the generator's lateness over the good answers (ms), p99 and p99.9. */
  lateP99?: number;
  lateP999?: number;
  /**
   * Paced load: latency from the request's slot in the schedule (the generator's lateness included: what a
   * client that meant to send at the slot saw), p99 and p99.9 over the good answers.
   */
  slotP99?: number;
  slotP999?: number;
  /** Paced load: every good answer's latency from the send (ms, µs precision), from the slot, and its lateness, same order: for the tail pooled over the rounds. */
  okMs?: number[];
  okSlotMs?: number[];
  okLateMs?: number[];
  /**
   * Paced load, C generator: every good answer's read lag (from the kernel's receive time of its last bytes to the
   * generator's read: the generator's own delay the latency includes) and its latency to that receive time.
   */
  okReadLagMs?: number[];
  okArrivedMs?: number[];
  /** Paced load: requests that waited for a free connection. */
  queued?: number;
  /** Paced load: the generator's own event-loop delay, p99 and max (ms). */
  loopP99?: number;
  loopMax?: number;
  /** Closed-loop load: the server's CPU time per answer (µs). */
  cpuUsPerReq?: number;
  /** The generator process's own CPU per request sent (µs): on 2 cores it is taken from the server. */
  genCpuUsPerReq?: number;
  /** Paced load: which generator sent it. */
  generator?: Generator;
}

/** The paced load generator: bench/lib/pacer.c (native-pacer.ts) or bench/lib/paced-load.ts. */
type Generator = "c" | "node";

/** The C generator when it can be built here, else the Node one. */
function defaultGenerator(): Generator {
  return nativePacer() ? "c" : "node";
}

interface FloorArgs {
  data: ActivitiesData;
  store: string;
  asOf: string;
  /** JSON file of entity ids. */
  ids: string;
  n: number;
}

/**
 * A run of the lean generator (paced or closed loop) as a LoadResult: status counts, and percentiles over the
 * good requests' 200s. `kinds` (per answer): only the good requests count, so that the HTTP floor (which answers
 * the bad ones 200 too) and fti are read over the same requests.
 */
function generatorResult(
  r: ReturnType<typeof newCounts>,
  res: { answered: number; statuses: ArrayLike<number>; latencies: ArrayLike<number>; errors: number; seconds: number; sent: number },
  cpu: NodeJS.CpuUsage,
  kinds?: ArrayLike<string>,
): LoadResult {
  const ok: number[] = [];
  const codes: Record<string, number> = {};
  for (let i = 0; i < res.answered; i++) {
    const st = res.statuses[i];
    codes[st] = (codes[st] ?? 0) + 1;
    if (st === 200 && (!kinds || kinds[i] === "good")) ok.push(res.latencies[i]);
  }
  const sorted = Float64Array.from(ok).sort();
  return {
    ...r,
    errors: res.errors,
    timeouts: 0,
    reqPerSec: res.answered / res.seconds,
    p50: pct(sorted, 50),
    p99: pct(sorted, 99),
    p999: pct(sorted, 99.9),
    max: sorted[sorted.length - 1] ?? NaN,
    acP99: NaN,
    statusCodes: codes,
    genCpuUsPerReq: (cpu.user + cpu.system) / Math.max(1, res.sent),
  };
}

export const tasks = {
  /**
   * A sample of entity ids, written to `out` (JSON): athletes with an activity in the view's ttl
   * (30 days) up to the request time, so every good request has features to serve (an athlete
   * whose rows are all older is stale, a 422; one whose rows are all later has nothing yet).
   */
  async ids(a: { data: ActivitiesData; n: number; out: string; asOf: string }): Promise<Record<string, unknown>> {
    const db = await openRefDb(":memory:");
    try {
      const t = `TIMESTAMP ${sqlStr(a.asOf.replace("T", " ").replace("Z", ""))}`;
      const r = await rows<{ athlete_id: string }>(
        db.conn,
        `SELECT athlete_id FROM (SELECT DISTINCT athlete_id FROM read_parquet(${sqlStr(a.data.parquet)})
           WHERE started_at <= ${t} AND started_at > ${t} - INTERVAL 30 DAY) USING SAMPLE ${a.n} ROWS (reservoir, 7)`,
      );
      writeFileSync(a.out, JSON.stringify(r.map((x) => x.athlete_id)));
      return { ms: 0, cpuMs: 0, n: r.length };
    } finally {
      db.close();
    }
  },

  /** The online tables of the batch store (latest feature row per athlete). */
  async materialize(a: { data: ActivitiesData; store: string; memoryLimit: string }): Promise<Record<string, unknown>> {
    const bundle = await loadBundle(a.data);
    const store = await openStore({ path: a.store, memoryLimit: a.memoryLimit });
    try {
      const r = await materialize(store, bundle);
      return { ms: r.ms, cpuMs: 0, groups: r.groups.map((g) => ({ group: g.group, entities: g.entities })) };
    } finally {
      await store.close();
    }
  },

  /** autocannon against the server, from this separate process. */
  async load(a: LoadArgs): Promise<Record<string, unknown>> {
    const spec: string = "autocannon"; // untyped package: a non-literal specifier keeps tsc from asking for its types
    const { default: autocannon } = (await import(spec)) as {
      default: (opts: Record<string, unknown>) => Promise<Record<string, any>> & { on(ev: string, fn: (...x: any[]) => void): void };
    };
    const next = requestMix(JSON.parse(readFileSync(a.ids, "utf8")) as string[], a.badEvery);
    const cpu0 = process.cpuUsage();
    let k = 0;
    const lat: number[] = [];
    const r = newCounts();
    const inst = autocannon({
      url: a.url,
      connections: a.connections,
      duration: a.seconds,
      requests: [
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          setupRequest(req: Record<string, unknown>, ctx: Record<string, unknown>) {
            const q = next(k++);
            r.sent++;
            ctx.kind = q.kind;
            return { ...req, path: q.path, body: q.body };
          },
          onResponse(status: number, _body: string, ctx: Record<string, unknown>) {
            count(r, status, ctx.kind as "good" | "bad");
          },
        },
      ],
    });
    inst.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status === 200) lat.push(ms);
    });
    const res = await inst;
    const cpu = process.cpuUsage(cpu0);
    const sorted = Float64Array.from(lat).sort();
    const codes: Record<string, number> = {};
    for (const [c, v] of Object.entries((res.statusCodeStats ?? {}) as Record<string, { count: number | string }>)) codes[c] = Number(v.count);
    const total = Object.values(codes).reduce((s, x) => s + x, 0);
    const out: LoadResult = {
      ...r,
      errors: Number(res.errors),
      timeouts: Number(res.timeouts),
      reqPerSec: total / Number(res.duration),
      p50: pct(sorted, 50),
      p99: pct(sorted, 99),
      p999: pct(sorted, 99.9),
      max: sorted[sorted.length - 1] ?? NaN,
      acP99: Number(res.latency?.p99),
      statusCodes: codes,
      genCpuUsPerReq: (cpu.user + cpu.system) / Math.max(1, r.sent),
    };
    return { ...out, ms: 0, cpuMs: 0 };
  },

  /** Closed-loop load with the paced generator's lean client (bench/lib/paced-load.ts `closedLoad`), the same request mix as `load`. */
  async closed(a: LoadArgs): Promise<Record<string, unknown>> {
    const next = requestMix(JSON.parse(readFileSync(a.ids, "utf8")) as string[], a.badEvery);
    const prepared = prepareRequests(a.url, 50_000, (i) => {
      const q = next(i);
      return { path: q.path, body: q.body, tag: q.kind };
    });
    const cpu0 = process.cpuUsage();
    const res = await closedLoad({ url: a.url, connections: a.connections, seconds: a.seconds, prepared });
    const cpu = process.cpuUsage(cpu0);
    const r = newCounts();
    r.sent = res.sent;
    for (let i = 0; i < res.answered; i++) count(r, res.statuses[i], res.tags[i] as "good" | "bad");
    const out = generatorResult(r, res, cpu, res.tags);
    return { ...out, ms: 0, cpuMs: 0 };
  },

  /**
   * Open-loop load at a fixed rate; latencies from when the generator sent (or queued) each request, its lateness
   * apart. `generator`: "c" (bench/lib/pacer.c, the default when a C compiler is there) or "node" (paced-load.ts).
   */
  async paced(a: LoadArgs & { rate: number; slowOverMs?: number; slowFile?: string; generator?: Generator }): Promise<Record<string, unknown>> {
    const next = requestMix(JSON.parse(readFileSync(a.ids, "utf8")) as string[], a.badEvery);
    const r = newCounts();
    const request = (i: number) => {
      const q = next(i);
      return { path: q.path, body: q.body, tag: q.kind };
    };
    const prepared = prepareRequests(a.url, pacedCount(a.rate, a.seconds), request);
    const generator = a.generator ?? defaultGenerator();
    const cpu0 = process.cpuUsage();
    const kinds: string[] = []; // per answer, in answer order (both generators call onResponse in that order)
    const onResponse = (status: number, tag: string) => {
      kinds.push(tag);
      count(r, status, tag as "good" | "bad");
    };
    const opts = { url: a.url, rate: a.rate, seconds: a.seconds, connections: a.connections, request, prepared, onResponse };
    const native = generator === "c" ? await pacedLoadNative(opts) : null;
    const res = native ?? (await pacedLoad(opts));
    // The C generator's CPU is its own process's (it reports it); the Node one's, this process's.
    const cpu = native ? { user: native.cpuUs, system: 0 } : process.cpuUsage(cpu0);
    r.sent = res.sent;
    // With slowOverMs and slowFile (bench/online-tail.ts): every answer slower than that, when it was due (epoch ms)
    // and how long it took, written to slowFile (JSON; too many for the result line on a loaded machine).
    const slow: Array<{ at: number; ms: number }> = [];
    if (a.slowOverMs !== undefined) {
      for (let i = 0; i < res.answered; i++) if (res.latencies[i] > a.slowOverMs) slow.push({ at: res.dueAt[i], ms: res.latencies[i] });
    }
    // The good answers' latencies from the send and from the slot (send + the generator's lateness), and the lateness.
    const okMs: number[] = [];
    const okSlotMs: number[] = [];
    const okLateMs: number[] = [];
    const okReadLagMs: number[] = [];
    const okArrivedMs: number[] = [];
    const us = (x: number) => Math.round(x * 1000) / 1000;
    for (let i = 0; i < res.answered; i++) {
      if (res.statuses[i] !== 200 || kinds[i] !== "good") continue;
      okMs.push(us(res.latencies[i]));
      okSlotMs.push(us(res.latencies[i] + res.lateness[i]));
      okLateMs.push(us(res.lateness[i]));
      if (native) {
        okReadLagMs.push(us(native.readLag[i]));
        okArrivedMs.push(us(res.latencies[i] - native.readLag[i]));
      }
    }
    const slot = Float64Array.from(okSlotMs).sort();
    const late = Float64Array.from(okLateMs).sort();
    const out: LoadResult = {
      ...generatorResult(r, res, cpu, kinds),
      lateMs: res.lateMs,
      lateP99: pct(late, 99),
      lateP999: pct(late, 99.9),
      slotP99: pct(slot, 99),
      slotP999: pct(slot, 99.9),
      okMs,
      okSlotMs,
      okLateMs,
      okReadLagMs,
      okArrivedMs,
      queued: res.queued,
      loopP99: res.loopP99,
      loopMax: res.loopMax,
      generator,
    };
    if (a.slowFile) writeFileSync(a.slowFile, JSON.stringify({ slow, t0: res.dueAt[0], t1: res.dueAt[res.answered - 1] }));
    return { ...out, ms: 0, cpuMs: 0 };
  },

  /**
   * Large batch requests ({"instances": [...]} of `instances` entities), one
   * after the other for `seconds`: the load of the tail case, beside a paced
   * run of small requests.
   */
  async bigBatches(a: { url: string; ids: string; instances: number; seconds: number }): Promise<Record<string, unknown>> {
    const body = bigBatchBody(JSON.parse(readFileSync(a.ids, "utf8")) as string[], a.instances);
    const end = performance.now() + a.seconds * 1000;
    const ms: number[] = [];
    let not200 = 0;
    while (performance.now() < end) {
      const t = performance.now();
      const res = await fetch(a.url + PATH, { method: "POST", headers: { "content-type": "application/json" }, body });
      await res.arrayBuffer();
      if (res.status !== 200) not200++;
      ms.push(performance.now() - t);
    }
    return { ms: median(ms), cpuMs: 0, requests: ms.length, not200 };
  },

  /**
   * The JSON parse of one 10,000-instance body as the server does it
   * (json-turns.ts: a slice per turn of the event loop) beside one
   * JSON.parse of it (what Fastify did), in this process: the longest block
   * of the event loop and the total time of each, over `rounds` repetitions.
   */
  async parseBlocks(a: { ids: string; instances: number; rounds: number }): Promise<Record<string, unknown>> {
    const { parseJsonBody } = await import("../../runtime/online/json-body.ts");
    const { parseJsonBodyInTurns } = await import("../../runtime/online/json-turns.ts");
    const text = bigBatchBody(JSON.parse(readFileSync(a.ids, "utf8")) as string[], a.instances);
    // CPU time (this process; its other threads are idle) as well as wall time: on a loaded machine a
    // block's wall time is mostly the time the process waited for a core.
    const cpuMs = (since: NodeJS.CpuUsage) => {
      const c = process.cpuUsage(since);
      return (c.user + c.system) / 1000;
    };
    const whole: number[] = [];
    const wholeCpu: number[] = [];
    const sliced: number[] = [];
    const blockCpu: number[] = [];
    const blockWall: number[] = [];
    const warmUp = 3; // both parsers compiled by V8 before anything is timed
    for (let r = 0; r < a.rounds + warmUp; r++) {
      const c0 = process.cpuUsage();
      const t = performance.now();
      parseJsonBody(text);
      const w = performance.now() - t;
      const wc = cpuMs(c0);
      // the longest stretch between two turns of the loop while the sliced parse runs
      let last = { wall: performance.now(), cpu: process.cpuUsage() };
      let longest = { wall: 0, cpu: 0 };
      let done = false;
      const mark = () => {
        const now = { wall: performance.now(), cpu: process.cpuUsage() };
        longest = { wall: Math.max(longest.wall, now.wall - last.wall), cpu: Math.max(longest.cpu, cpuMs(last.cpu)) };
        last = now;
      };
      const tick = () => {
        mark();
        if (!done) setImmediate(tick);
      };
      setImmediate(tick);
      const t1 = performance.now();
      await parseJsonBodyInTurns(text);
      const s = performance.now() - t1;
      done = true;
      mark();
      if (r < warmUp) continue;
      whole.push(w);
      wholeCpu.push(wc);
      sliced.push(s);
      blockCpu.push(longest.cpu);
      blockWall.push(longest.wall);
    }
    return { ms: median(blockCpu), cpuMs: 0, blockWallMs: median(blockWall), wholeCpuMs: median(wholeCpu), wholeMs: median(whole), slicedMs: median(sliced), chars: text.length };
  },

  /**
   * The HTTP floor, run as its own process until SIGTERM: node:http, the
   * body read and parsed as JSON, and a canned answer (from `answerFile`).
   */
  async httpFloor(a: { answerFile: string }): Promise<Record<string, unknown>> {
    const answer = readFileSync(a.answerFile);
    let served = 0;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        try {
          JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          // a bad body still gets the canned answer: the floor measures the transport
        }
        served++;
        res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": answer.length });
        res.end(answer);
      });
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    const addr = server.address() as { port: number };
    process.stderr.write(`serving the http floor at http://127.0.0.1:${addr.port}\n`);
    await new Promise<void>((done) => process.once("SIGTERM", done));
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
    return { ms: 0, cpuMs: 0, served };
  },

  /**
   * What the loaded online tables cost the GC, in this process: the live JS
   * heap after OnlineService.open (the service holds the entity keys in a
   * KeyIndex, off the heap) and the time of a full GC, beside the same with
   * the entities' keys held in a Map (what the cache held before) added.
   */
  async heap(a: FloorArgs): Promise<Record<string, unknown>> {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const fullGc = () => {
      gc();
      const t = performance.now();
      gc();
      return performance.now() - t;
    };
    const bundle = await loadBundle(a.data);
    const service = await OnlineService.open(bundle, { store: a.store, logs: false, watch: false, asOf: new Date(a.asOf) });
    try {
      const entities = service.health().online.reduce((n, g) => n + g.entities, 0);
      const gcMs = median([fullGc(), fullGc(), fullGc()]);
      const heapMB = process.memoryUsage().heapUsed / 2 ** 20;
      const db = await openRefDb(":memory:");
      const ids = await rows<{ athlete_id: string }>(db.conn, `SELECT athlete_id FROM read_parquet(${sqlStr(a.data.entitiesParquet)})`);
      db.close();
      const map = new Map<string, number>();
      ids.forEach((r, i) => map.set(r.athlete_id, i));
      ids.length = 0;
      const mapGcMs = median([fullGc(), fullGc(), fullGc()]);
      const mapHeapMB = process.memoryUsage().heapUsed / 2 ** 20;
      return { ms: gcMs, cpuMs: 0, heapMB, mapGcMs, mapHeapMB, entities, mapKeys: map.size };
    } finally {
      await service.close();
    }
  },

  /** The floor: OnlineService.predict in this process, one request at a time. */
  async floor(a: FloorArgs): Promise<Sample> {
    const bundle = await loadBundle(a.data);
    const asOf = new Date(a.asOf).getTime();
    const service = await OnlineService.open(bundle, { store: a.store, logs: false, watch: false, asOf: new Date(asOf) });
    try {
      const reqs = bodies(JSON.parse(readFileSync(a.ids, "utf8")) as string[], a.n).map((b) => JSON.parse(b) as unknown);
      const warm = Math.min(2000, a.n);
      for (let i = 0; i < warm; i++) await service.predict(MODEL, reqs[i]);
      const lat = new Float64Array(a.n);
      let not200 = 0;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (let i = 0; i < a.n; i++) {
        const s = performance.now();
        const res = await service.predict(MODEL, reqs[i]);
        lat[i] = performance.now() - s;
        if (res.status !== 200) not200++;
      }
      const ms = performance.now() - t0;
      const c = process.cpuUsage(c0);
      lat.sort();
      return {
        ms: pct(lat, 50),
        cpuMs: (c.user + c.system) / 1000 / a.n,
        rssKB: 0,
        p99: pct(lat, 99),
        p999: pct(lat, 99.9),
        reqPerSec: a.n / (ms / 1000),
        not200,
        n: a.n,
      };
    } finally {
      await service.close();
    }
  },
};

/** The body of a large batch request: `instances` entities in turn, distances 5–24 km. */
function bigBatchBody(ids: string[], instances: number): string {
  return JSON.stringify({ instances: Array.from({ length: instances }, (_, i) => ({ athlete_id: ids[i % ids.length], distance_km: 5 + (i % 20) })) });
}

type TailPair = Record<"p99" | "p999", TailPercentile>;

/**
 * The tail of paced runs, every run's good answers pooled: latency from the send, from the slot (+ the generator's
 * lateness), to the kernel's receive time (− the generator's read lag; C generator only), and the two lags.
 */
function tailOf(runs: LoadResult[]): { n: number; send: TailPair; slot: TailPair; arrived: TailPair; late: TailPair; readLag: TailPair } {
  const both = (f: (x: LoadResult) => number[] | undefined): TailPair => {
    const xs = pooled(runs.map((x) => f(x) ?? []));
    return { p99: tailPercentile(xs, 99), p999: tailPercentile(xs, 99.9) };
  };
  return {
    n: runs.reduce((a, x) => a + (x.okMs?.length ?? 0), 0),
    send: both((x) => x.okMs),
    slot: both((x) => x.okSlotMs),
    arrived: both((x) => x.okArrivedMs),
    late: both((x) => x.okLateMs),
    readLag: both((x) => x.okReadLagMs),
  };
}

/** p99 / p99.9 of a pair, as "1.20 / 4.87 ms". */
function fmtPair(t: TailPair): string {
  return `${fmtMs(t.p99.value)} / ${fmtMs(t.p999.value)}`;
}

type Counts = Pick<LoadResult, "sent" | "good" | "bad" | "goodNot200" | "badNot4xx" | "s5xx">;

function newCounts(): Counts {
  return { sent: 0, good: 0, bad: 0, goodNot200: 0, badNot4xx: 0, s5xx: 0 };
}

/** A good request must get a 200, a bad one a 4xx; never a 5xx. */
function count(r: Counts, status: number, kind: "good" | "bad"): void {
  if (status >= 500) r.s5xx++;
  if (kind === "good") {
    r.good++;
    if (status !== 200) r.goodNot200++;
  } else {
    r.bad++;
    if (status < 400 || status >= 500) r.badNot4xx++;
  }
}

/** CPU time (user + system) a running process has used so far, ms (Linux; NaN elsewhere). */
function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /s, "").split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}
const CLOCK_TICKS = 100; // USER_HZ: 100 on Linux

/** Peak RSS of a running process (Linux). */
function vmHwmKB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Starts a server process (`node <argv>`) and waits for its "serving … at <url>" line. */
export async function startServe(argv: string[], cwd: string): Promise<{ child: ChildProcess; url: string; log: () => string }> {
  const child = spawn(process.execPath, argv, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => (err += d));
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`${argv.slice(-3).join(" ")} did not start in 600 s:\n${err}`)), 600_000);
    const poll = setInterval(() => {
      const m = /serving .* at (http:\/\/[^\s)]+)/.exec(err);
      if (m) {
        clearInterval(poll);
        clearTimeout(timer);
        done(m[1]);
      }
    }, 100);
    child.on("exit", (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      fail(new Error(`${argv.slice(0, 3).join(" ")} exited with ${code}:\n${err}`));
    });
  });
  return { child, url, log: () => err };
}

export async function stopServe(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  return new Promise((done) => {
    child.once("exit", (code) => done(code));
    child.kill("SIGTERM");
  });
}

export const suite: Suite = {
  name: "online",
  describe: "fti serve under autocannon (1,000 req/s latency, max req/s, bad requests) vs in-process predict",
  async run(ctx: Ctx) {
    const S = "online";
    const help = await run(process.execPath, [BIN, "serve", "--help"]);
    if (help.code !== 0) {
      ctx.out.note(S, "skipped: `fti serve` does not exist in this build");
      return;
    }
    const data: ActivitiesData = await ensureActivities(ctx.batchActs, { csv: false });
    await ensureCompiled();
    const work = ctx.work(S);
    const { store, asOf } = await ensureBatchStore(ctx, data);
    const marker = `${store}.online`;
    const hash = generatedHash();
    if (!existsSync(marker) || readFileSync(marker, "utf8") !== hash) {
      process.stderr.write(`  · online: materializing the online tables of ${store}\n`);
      await runNodeTask("online.materialize", { data, store, memoryLimit: ctx.memoryLimit });
      writeFileSync(marker, hash);
    }
    // A sample of entity ids for the requests.
    const ids = join(work, "ids.json");
    await runNodeTask("online.ids", { data, n: 20_000, out: ids, asOf });

    // `fti serve <spec>` loads <cwd>/generated/bench (compiling it when missing or stale). It gets a
    // copy of the bench's compiled code: compiled from another directory, the generated files would
    // name the spec and its modules by other relative paths, and the model's transforms hash (over the
    // code it runs, import paths included) could differ from the one it was trained with (refused).
    const cwd = join(GEN_ROOT, "online-cwd");
    rmSync(join(cwd, "generated"), { recursive: true, force: true });
    mkdirSync(join(cwd, "generated"), { recursive: true });
    cpSync(GEN_DIR, join(cwd, "generated", "bench"), { recursive: true });
    process.stderr.write("  · online: starting fti serve\n");
    const t0 = performance.now();
    // --trace-gc-nvp: one line per GC on stderr, what its collector did in each paced run (bench/lib/gc-trace.ts).
    const server = await startServe(
      ["--trace-gc-nvp", BIN, "serve", SPEC_FILE, "--store", store, "--port", "0", "--no-watch", "--now", asOf, "--logs", join(work, "logs"), "--log-level", "warn"],
      cwd,
    );
    const startMs = performance.now() - t0;
    const rateSec = ctx.quick ? 2 : 20;
    const maxSec = ctx.quick ? 2 : 15;
    const rate: LoadResult[] = [];
    /** The server's GCs during each paced 1,000 req/s run. */
    const rateGc: Array<{ by: Map<string, GcKind>; answers: number }> = [];
    const max: LoadResult[] = [];
    const httpRate: LoadResult[] = [];
    const httpRateNode: LoadResult[] = [];
    const httpMax: LoadResult[] = [];
    /** The paced small requests while large batches run beside them. */
    const tail: Array<LoadResult & { bigRequests: number; bigMs: number; bigNot200: number }> = [];
    const tailAlone: LoadResult[] = [];
    let rssKB = 0;
    let http: Awaited<ReturnType<typeof startServe>> | null = null;
    try {
      // The HTTP floor answers with a real answer of the fti server.
      const answerFile = join(work, "answer.json");
      const firstId = (JSON.parse(readFileSync(ids, "utf8")) as string[])[0];
      const first = await fetch(server.url + PATH, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ athlete_id: firstId, distance_km: 10 }) });
      writeFileSync(answerFile, await first.text());
      http = await startServe(["--import", "tsx", WORKER, "online.httpFloor", JSON.stringify({ answerFile })], process.cwd());

      const base = { ids, badEvery: 20 };
      const closed = (url: string, a: Partial<LoadArgs>) => runNodeTask<LoadResult>("online.closed", { url, ...base, connections: 10, seconds: 3, ...a });
      // Server CPU per answer over a closed-loop run: what the server costs, whatever share of the cores it got.
      const withCpu = async (pid: number, load: () => Promise<LoadResult>) => {
        const c0 = processCpuMs(pid);
        const r = await load();
        const answered = Object.values(r.statusCodes).reduce((a, b) => a + b, 0);
        return { ...r, cpuUsPerReq: ((processCpuMs(pid) - c0) * 1000) / answered };
      };
      const paced = (url: string, rate = 1000, generator = defaultGenerator()) => runNodeTask<LoadResult>("online.paced", { url, ...base, rate, connections: 10, seconds: rateSec, generator });
      process.stderr.write("  · online: warm-up\n");
      await closed(server.url, { seconds: ctx.quick ? 1 : 5, connections: 16 });
      await closed(http.url, { seconds: 1, connections: 16 });
      // fti and the HTTP floor back to back in each round, under the same load; which goes first alternates
      // (a load that rises or falls through a round is then on neither side).
      const ftiPaced = async () => {
        const gcFrom = server.log().length;
        rate.push(await paced(server.url));
        rateGc.push({ by: gcTrace(server.log().slice(gcFrom)), answers: Object.values(rate.at(-1)!.statusCodes).reduce((a, b) => a + b, 0) });
      };
      const floorPaced = async () => {
        httpRate.push(await paced(http!.url));
        // The floor again with the other generator: how much of the floor's tail is the generator's own.
        if (defaultGenerator() === "c") httpRateNode.push(await paced(http!.url, 1000, "node"));
      };
      for (let r = 0; r < ctx.rounds; r++) {
        process.stderr.write(`  · online: 1,000 req/s for ${rateSec} s, fti and the HTTP floor (${r + 1}/${ctx.rounds})\n`);
        if (r % 2 === 0) {
          await ftiPaced();
          await floorPaced();
        } else {
          await floorPaced();
          await ftiPaced();
        }
        process.stderr.write(`  · online: ${TAIL_RATE} req/s for ${rateSec} s alone, then while ${fmtInt(BIG_BATCH)}-instance batch requests are in flight (${r + 1}/${ctx.rounds})\n`);
        tailAlone.push(await paced(server.url, TAIL_RATE));
        const [small, big] = await Promise.all([
          paced(server.url, TAIL_RATE),
          runNodeTask<Sample>("online.bigBatches", { url: server.url, ids, instances: BIG_BATCH, seconds: rateSec }),
        ]);
        tail.push({ ...small, bigRequests: Number(big.requests), bigMs: big.ms, bigNot200: Number(big.not200) });
        process.stderr.write(`  · online: max req/s for ${maxSec} s, fti and the HTTP floor (${r + 1}/${ctx.rounds})\n`);
        max.push(await withCpu(server.child.pid!, () => closed(server.url, { connections: 32, seconds: maxSec })));
        httpMax.push(await withCpu(http.child.pid!, () => closed(http!.url, { connections: 32, seconds: maxSec })));
      }
      rssKB = vmHwmKB(server.child.pid!);
    } finally {
      if (http) await stopServe(http.child);
      const code = await stopServe(server.child);
      if (code !== 0) ctx.out.check(S, "fti serve stops cleanly on SIGTERM", false, `exit ${code}\n${server.log().slice(-2000)}`);
    }
    // The durable request log (--log-durable: fdatasync before each answer, group commit) under the same paced load.
    const durableRate: LoadResult[] = [];
    process.stderr.write("  · online: fti serve --log-durable\n");
    const durable = await startServe(
      [BIN, "serve", SPEC_FILE, "--store", store, "--port", "0", "--no-watch", "--now", asOf, "--logs", join(work, "logs-durable"), "--log-durable", "--log-level", "warn"],
      cwd,
    );
    try {
      await runNodeTask<LoadResult>("online.closed", { url: durable.url, ids, badEvery: 20, connections: 16, seconds: 1 });
      for (let r = 0; r < ctx.rounds; r++) {
        durableRate.push(await runNodeTask<LoadResult>("online.paced", { url: durable.url, ids, badEvery: 20, rate: 1000, connections: 10, seconds: rateSec }));
      }
    } finally {
      const code = await stopServe(durable.child);
      if (code !== 0) ctx.out.check(S, "fti serve --log-durable stops cleanly on SIGTERM", false, `exit ${code}\n${durable.log().slice(-2000)}`);
    }
    process.stderr.write(`  · online: parsing a ${fmtInt(BIG_BATCH)}-instance body, sliced and whole\n`);
    const parse = await runNodeTask<Sample>("online.parseBlocks", { ids, instances: BIG_BATCH, rounds: ctx.quick ? 5 : 20 });
    process.stderr.write("  · online: the GC's cost of the loaded online tables\n");
    const heap = await runNodeTask<Sample>("online.heap", { data, store, asOf, ids, n: 0 });
    const floorN = ctx.quick ? 3000 : 50_000;
    process.stderr.write(`  · online: in-process floor (${fmtInt(floorN)} requests)\n`);
    const floors: Sample[] = [];
    for (let r = 0; r < ctx.rounds; r++) floors.push(await runNodeTask<Sample>("online.floor", { data, store, asOf, ids, n: floorN }));

    const med = median; // the same median as the measurement lines (the mean of the middle two for an even count)
    const p99 = med(rate.map((x) => x.p99));
    const rps = med(max.map((x) => x.reqPerSec));
    const httpRps = med(httpMax.map((x) => x.reqPerSec));
    const latencyNote = (xs: LoadResult[]) =>
      `p50 ${fmtMs(med(xs.map((x) => x.p50)))}, p99.9 ${fmtMs(med(xs.map((x) => x.p999)))}, max ${fmtMs(med(xs.map((x) => x.max)))}; ` +
      `achieved ${fmtInt(med(xs.map((x) => x.reqPerSec)))} req/s; generator late by up to ${fmtMs(med(xs.map((x) => x.lateMs ?? NaN)))}, ` +
      `its own event-loop delay p99 ${fmtMs(med(xs.map((x) => x.loopP99 ?? NaN)))} / max ${fmtMs(med(xs.map((x) => x.loopMax ?? NaN)))}, ` +
      `its CPU ${fmtMs(med(xs.map((x) => x.genCpuUsPerReq ?? NaN)) / 1000)} per request (requests built before the run); generator: ${xs[0]?.generator === "c" ? "C (bench/lib/pacer.c; its longest gap between wake-ups as the loop max)" : "Node (paced-load.ts)"}`;
    ctx.out.note(S, `${fmtInt(data.athletes)} entities online, request time pinned to ${asOf}; server start ${fmtMs(startMs)}; 1 request in 20 is bad`);
    const served: Measured = {
      suite: S,
      id: "serve",
      label: "fti serve: latency p99 at 1,000 req/s (paced)",
      role: "fti",
      ms: rate.map((x) => x.p99),
      cpuMs: [NaN],
      rssKB,
      extra: {},
      note: `${latencyNote(rate)}; the server's GC per run: ${rateGc.map((g) => fmtGcTrace(g.by, g.answers)).join(" / ")}`,
    };
    const httpFloor: Measured = {
      suite: S,
      id: "http-floor",
      label: "HTTP floor: node:http, canned answer, same load",
      role: "floor",
      ms: httpRate.map((x) => x.p99),
      cpuMs: [NaN],
      rssKB: 0,
      extra: {},
      note: latencyNote(httpRate),
    };
    const floor: Measured = {
      suite: S,
      id: "floor",
      label: "floor: OnlineService.predict in process, one at a time",
      role: "floor",
      ms: floors.map((x) => x.ms),
      cpuMs: floors.map((x) => x.cpuMs),
      rssKB: Math.max(...floors.map((x) => x.rssKB)),
      extra: {},
      note: `median; p99 ${fmtMs(med(floors.map((x) => Number(x.p99))))}, ${fmtInt(med(floors.map((x) => Number(x.reqPerSec))))} req/s sequential`,
    };
    ctx.out.measure(served);
    ctx.out.measure(httpFloor, { vs: served });
    if (httpRateNode.length) {
      ctx.out.measure({
        ...httpFloor,
        id: "http-floor-node-generator",
        label: "HTTP floor measured by the Node generator (paced-load.ts), same rounds",
        role: "info",
        ms: httpRateNode.map((x) => x.p99),
        note: `${latencyNote(httpRateNode)}; p99.9 ${fmtMs(med(httpRateNode.map((x) => x.p999)))} vs ${fmtMs(med(httpRate.map((x) => x.p999)))} with the C generator`,
      });
    }
    const durableServed: Measured = {
      ...served,
      id: "serve-durable",
      label: "fti serve --log-durable: latency p99 at 1,000 req/s (paced)",
      role: "info",
      ms: durableRate.map((x) => x.p99),
      note: `${latencyNote(durableRate)}; p99 ${(med(durableRate.map((x) => x.p99)) / p99).toFixed(2)}× the default's, p50 ${(med(durableRate.map((x) => x.p50)) / med(rate.map((x) => x.p50))).toFixed(2)}×`,
    };
    ctx.out.measure(durableServed);
    const tailP99 = med(tail.map((x) => x.p99));
    const aloneP99 = med(tailAlone.map((x) => x.p99));
    ctx.out.measure({
      ...served,
      id: "serve-tail-alone",
      label: `fti serve: small-request p99 at ${TAIL_RATE} req/s (paced), alone`,
      ms: tailAlone.map((x) => x.p99),
      note: latencyNote(tailAlone),
    });
    ctx.out.measure({
      ...served,
      id: "serve-tail",
      label: `fti serve: the same, ${fmtInt(BIG_BATCH)}-instance batches in flight`,
      ms: tail.map((x) => x.p99),
      note:
        `p99 ${(tailP99 / aloneP99).toFixed(2)}× the p99 alone; ${latencyNote(tail)}; beside it ${fmtInt(med(tail.map((x) => x.bigRequests)))} batch requests per run ` +
        `(median ${fmtMs(med(tail.map((x) => x.bigMs)))} each, ${tail.reduce((a, x) => a + x.bigNot200, 0)} not 200)`,
    });
    ctx.out.measure({
      suite: S,
      id: "parse-block",
      label: `JSON body of ${fmtInt(BIG_BATCH)} instances: CPU time of the longest event-loop block while the server parses it (sliced)`,
      role: "fti",
      ms: [parse.ms],
      cpuMs: [NaN],
      rssKB: 0,
      extra: {},
      note: `${fmtInt(Number(parse.chars))} characters; wall time of that block ${fmtMs(Number(parse.blockWallMs))}; the sliced parse takes ${fmtMs(Number(parse.slicedMs))} in all; median of the rounds`,
    });
    ctx.out.measure(
      {
        suite: S,
        id: "parse-whole",
        label: "the same body in one JSON.parse (Fastify's parser before): CPU time of its one block",
        role: "ref",
        ms: [Number(parse.wholeCpuMs)],
        cpuMs: [NaN],
        rssKB: 0,
        extra: {},
        note: `wall ${fmtMs(Number(parse.wholeMs))}`,
      },
      { vs: { suite: S, id: "parse-block", label: "", role: "fti", ms: [parse.ms], cpuMs: [NaN], rssKB: 0, extra: {} } },
    );
    const heapLine = (id: string, label: string, role: "fti" | "ref", ms: number, mb: number): Measured => ({
      suite: S,
      id,
      label,
      role,
      ms: [ms],
      cpuMs: [NaN],
      rssKB: 0,
      extra: {},
      note: `live JS heap ${mb.toFixed(1)} MB; median of 3 full GCs`,
    });
    const keyed = heapLine("gc-keys", `full GC of a process holding the ${fmtInt(Number(heap.entities))} online entities (keys in a KeyIndex)`, "fti", heap.ms, Number(heap.heapMB));
    ctx.out.measure(keyed);
    ctx.out.measure(heapLine("gc-map", `the same process with the ${fmtInt(Number(heap.mapKeys))} keys also in a Map (the cache before)`, "ref", Number(heap.mapGcMs), Number(heap.mapHeapMB)), { vs: keyed });
    // In process there is no p99 worth comparing with: the floor's ratio is on the medians (fti's p50).
    ctx.out.measure(floor, { vs: { ...served, label: "fti serve: latency p50 at 1,000 req/s (paced)", ms: rate.map((x) => x.p50) } });
    // The goals are read on every round's good answers pooled (3 × 20 s: ~57,000; a round's p99.9 alone is its
    // ~19th-worst answer), from the send as the lines above; beside them the same from the slot (the generator's
    // lateness counted in), the HTTP floor's in the same rounds, and the generator's own lateness: on a 2-core
    // machine the floor's tail (the generator and the machine) is part of any server's, so the line says how much
    // of it is fti's.
    const ftiTail = tailOf(rate);
    const httpTail = tailOf(httpRate);
    const ms95 = (t: TailPercentile) => `${fmtMs(t.value)} (95 % ${fmtMs(t.low)}–${fmtMs(t.high)})`;
    const floorBeside = (q: "p99" | "p999") => `the HTTP floor's in the same rounds ${fmtMs(httpTail.send[q].value)}, from the slot ${fmtMs(httpTail.slot[q].value)} (fti's from the slot ${fmtMs(ftiTail.slot[q].value)})`;
    ctx.out.goal(
      S,
      "p99 latency at 1,000 req/s",
      { text: "≤ 2 ms", met: ftiTail.send.p99.value <= 2 },
      `${ms95(ftiTail.send.p99)} over ${fmtInt(ftiTail.n)} good answers of ${rate.length} runs of ${rateSec} s pooled (median of the runs ${fmtMs(p99)}); ${floorBeside("p99")}`,
    );
    ctx.out.goal(
      S,
      "p99.9 latency at 1,000 req/s",
      { text: "≤ 5 ms", met: ftiTail.send.p999.value <= 5 },
      `${ms95(ftiTail.send.p999)}, ${fmtInt(ftiTail.send.p999.above)} answer${ftiTail.send.p999.above === 1 ? "" : "s"} above it of ${fmtInt(ftiTail.n)} (median of the runs ${fmtMs(med(rate.map((x) => x.p999)))}); ${floorBeside("p999")}`,
    );
    // The measurement's own noise beside fti's tail, so that a reader can tell the machine from fti: the latency
    // above runs from the send (or the wait for a connection) to the generator's read of the answer's last bytes.
    // Not in it: how late the generator's timer sent (a late wake-up sends the overdue requests at once, and that
    // burst's queue is in it). In it: the generator's own delay in reading an answer the kernel already had.
    ctx.out.note(
      S,
      `the tail side by side, p99 / p99.9 over every round's good answers pooled — fti: from the send ${fmtPair(ftiTail.send)}, from the slot ${fmtPair(ftiTail.slot)}` +
        `${ftiTail.arrived.p99.value >= 0 ? `, to the kernel's receive time ${fmtPair(ftiTail.arrived)}` : ""}; ` +
        `the HTTP floor: from the send ${fmtPair(httpTail.send)}, from the slot ${fmtPair(httpTail.slot)}${httpTail.arrived.p99.value >= 0 ? `, to the kernel's receive time ${fmtPair(httpTail.arrived)}` : ""}; ` +
        `the generator's lateness (its timer, send side; not in "from the send") ${fmtPair(ftiTail.late)} in fti's runs, ${fmtPair(httpTail.late)} in the floor's` +
        `${ftiTail.readLag.p99.value >= 0 ? `; its read lag (kernel receive → its read; in "from the send") ${fmtPair(ftiTail.readLag)} in fti's runs, ${fmtPair(httpTail.readLag)} in the floor's` : ""}`,
    );
    ctx.out.goal(
      S,
      "max throughput",
      { text: "≥ 10,000 req/s", met: rps >= 10_000 },
      `${fmtInt(rps)} req/s with 32 connections (median of ${max.length} runs of ${maxSec} s); the HTTP floor ${fmtInt(httpRps)} req/s in the same rounds: fti/floor ${(rps / httpRps).toFixed(2)}; ` +
        `the load generator (its own process, paced-load.ts closedLoad) used ${fmtMs(med(max.map((x) => x.genCpuUsPerReq ?? NaN)) / 1000)} of CPU per request against fti, ${fmtMs(med(httpMax.map((x) => x.genCpuUsPerReq ?? NaN)) / 1000)} against the floor`,
    );
    const cpuPerReq = med(max.map((x) => x.cpuUsPerReq ?? NaN));
    const httpCpuPerReq = med(httpMax.map((x) => x.cpuUsPerReq ?? NaN));
    ctx.out.note(
      S,
      `server CPU per answer at max load: fti ${fmtMs(cpuPerReq / 1000)}, the HTTP floor ${fmtMs(httpCpuPerReq / 1000)} (fti/floor ${(cpuPerReq / httpCpuPerReq).toFixed(2)}×); ` +
        `one core's worth: ${fmtInt(1e6 / cpuPerReq)} req/s for fti, ${fmtInt(1e6 / httpCpuPerReq)} for the floor`,
    );
    ctx.out.note(S, `server peak RSS ${fmtKB(rssKB)}`);

    const all = [...rate, ...max, ...durableRate, ...tail, ...tailAlone];
    const sum = (f: (x: LoadResult) => number) => all.reduce((s, x) => s + f(x), 0);
    const codes: Record<string, number> = {};
    for (const x of all) for (const [c, v] of Object.entries(x.statusCodes)) codes[c] = (codes[c] ?? 0) + v;
    ctx.out.check(
      S,
      "bad requests get a 4xx, good ones a 200, never a 5xx",
      sum((x) => x.s5xx) === 0 && sum((x) => x.goodNot200) === 0 && sum((x) => x.badNot4xx) === 0 && sum((x) => x.bad) > 0 && sum((x) => x.errors) === 0,
      `${fmtInt(sum((x) => x.good))} good (${sum((x) => x.goodNot200)} not 200), ${fmtInt(sum((x) => x.bad))} bad (${sum((x) => x.badNot4xx)} not 4xx), ` +
        `${sum((x) => x.s5xx)} 5xx, ${sum((x) => x.errors)} connection errors; status codes ${JSON.stringify(codes)}`,
    );
    ctx.out.check(S, "in-process predictions succeed", floors.every((f) => Number(f.not200) === 0), `${floors.map((f) => f.not200).join(", ")} non-200 of ${fmtInt(floorN)} per run`);
  },
};
