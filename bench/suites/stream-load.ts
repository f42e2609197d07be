// The stream suite's HTTP case (bench/suites/stream.ts): `fti serve` on the
// athlete example in a child process, events pushed at a paced 5,000 events/s
// (500 requests of 10) while the same server answers 1,000 predictions/s, both
// open-loop (bench/lib/pacer.c when a C compiler is there, else bench/lib/paced-load.ts), each from its own generator process
// started for the run (`tasks.paced`; once both are up they begin together). An
// events request is answered once its events are durable and applied, so its
// latency is the freshness: accepted → servable. The reference is the HTTP
// floor at the same paced rates: a bare node:http server that parses each body
// and answers a canned answer (online suite's task), in its own process.
//
// What the generators add is reported beside the latencies, not hidden: each
// generator's timer lateness and its own event-loop delay (p99, max: an answer
// that arrives while the generator's loop is busy is read that much later and
// counted as latency), and, from the server itself, its `fti_stream_apply_seconds`
// histogram over the run (arrival of the events request in the handler →
// durable and applied: the server's part, without the sockets and the generator).
// Before, one process generated both loads and also ran the suite: at these rates
// its own loop delay was most of the floor's p99.
// The server (and the floor) run with bench/lib/stall-probe.mjs preloaded: beside each
// line, its event-loop stalls over the run split into its own CPU (and GC) and its wait
// for a CPU — the server's own cost told apart from the machine's queue.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { setPriority, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { buildAthleteWork } from "../../test/helpers/online-athlete.ts";
import { fmtInt, fmtMs, runNodeTask } from "../lib/harness.ts";
import { nativePacer, pacedLoadNative, writeRequestsFile } from "../lib/native-pacer.ts";
import { pacedCount, pacedLoad, prepareRequests, type PacedLoadResult } from "../lib/paced-load.ts";
import { threadCpuMs } from "../lib/proc-cpu.ts";
import type { Measured } from "../lib/report.ts";
import type { Ctx } from "../lib/suite.ts";
import { startServe, stopServe } from "./online.ts";
import { freshnessAcrossCheckpoints } from "./stream-checkpoint-http.ts";

const S = "stream";
const BIN = join(import.meta.dirname, "../../compiler/cli/bin.mjs");
const WORKER = join(import.meta.dirname, "../worker.ts");
const STALL_PROBE = join(import.meta.dirname, "../lib/stall-probe.mjs");
const EVENTS_PATH = "/v1/sources/activities/events";
const PREDICT_PATH = "/v1/models/time_estimator/predict";

const pct = (xs: ArrayLike<number>, p: number) => {
  const s = Float64Array.from(xs).sort();
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

export interface Rates {
  eventsPerSec: number;
  batch: number;
  predictionsPerSec: number;
  seconds: number;
}

/** What one generator process reports: its answers' latencies (ms) summarised, and its own lateness. */
export interface SideResult {
  sent: number;
  ok: number;
  errors: number;
  queued: number;
  p50: number;
  p99: number;
  max: number;
  /** The generator's timer, worst case (ms late). */
  lateMs: number;
  /** The generator's event-loop delay (ms): p99 and max over the run. */
  loopP99: number;
  loopMax: number;
  /** How late the generator began after the agreed start (ms). */
  startLateMs: number;
  /** The generator process's own CPU (user + sys, ms) over the run: on 2 cores it competes with the server. */
  genCpuMs: number;
}

interface SideArgs {
  url: string;
  kind: "events" | "predictions";
  athletes: string[];
  rate: number;
  batch: number;
  seconds: number;
  tag: string;
  /** A file this generator creates once it is ready; it then waits for `go` to exist and begins at the epoch ms written in it. */
  ready: string;
  go: string;
}

export function eventsOf(athletes: string[], batch: number, tag: string): (i: number) => string {
  const base = Date.now() - 60_000;
  const event = (n: number) => {
    const km = 5 + (n % 11);
    return {
      activity_id: `bench-${tag}-${n}`,
      athlete_id: athletes[n % athletes.length],
      started_at: new Date(base + Math.floor(n / 10)).toISOString(),
      sport: "run",
      distance_km: km,
      elapsed_time_s: km * 330,
      elevation_gain_m: 40,
      planned_pace_min_km: 5.4,
      avg_hr: n % 3 === 0 ? null : 150,
      route_id: `r${n % 40}`,
    };
  };
  return (i) => JSON.stringify(Array.from({ length: batch }, (_, k) => event(i * batch + k)));
}

/**
 * Every thread of process `pid` at nice `nice` (Linux; a thread's nice is its own). For probes on a
 * busy machine: server and generators at a negative nice preempt the other work, a stand-in for a quiet machine.
 */
export function renice(pid: number, nice: number): void {
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      setPriority(Number(tid), nice);
    } catch {
      // the thread ended, or no permission to raise the priority: left as it is
    }
  }
}

/** $FTI_BENCH_NICE set (bench/stream-probe.ts --nice): this generator's threads at that nice. */
function reniceSelf(): void {
  const n = process.env.FTI_BENCH_NICE;
  if (n !== undefined && n !== "") renice(process.pid, Number(n));
}

export const tasks = {
  /** One side of the load (events or predictions) from this process, beginning at `startAt`. */
  async paced(a: SideArgs): Promise<Record<string, unknown>> {
    const body =
      a.kind === "events"
        ? eventsOf(a.athletes, a.batch, a.tag)
        : (i: number) => JSON.stringify({ athlete_id: a.athletes[(i * 7) % a.athletes.length], planned_pace_min_km: 5.2, distance_km: 10, elevation_gain_m: 80 });
    const path = a.kind === "events" ? EVENTS_PATH : PREDICT_PATH;
    const request = (i: number) => ({ path, body: body(i), tag: a.kind });
    const prepared = prepareRequests(a.url, pacedCount(a.rate, a.seconds), request);
    // The C generator's requests file written before the start is agreed (15,000 events requests are ~37 MB).
    const requestsFile = nativePacer() ? join(mkdtempSync(join(tmpdir(), "fti-side-")), "requests") : undefined;
    if (requestsFile) writeRequestsFile(requestsFile, prepared);
    reniceSelf();
    writeFileSync(a.ready, "");
    while (!existsSync(a.go)) await new Promise((r) => setTimeout(r, 5));
    const startAt = Number(readFileSync(a.go, "utf8"));
    const wait = startAt - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const startLateMs = Math.max(0, Date.now() - startAt);
    const loop = monitorEventLoopDelay({ resolution: 1 });
    loop.enable();
    const cpu0 = process.cpuUsage();
    // The C generator (bench/lib/pacer.c) when a C compiler is there: the Node one's own stalls (GC, timers) were
    // part of every latency it reported, and its CPU (~0.1–0.17 of a core per side) was taken from the server.
    const opts = { url: a.url, rate: a.rate, seconds: a.seconds, connections: 64, request, prepared };
    const native = requestsFile ? await pacedLoadNative({ ...opts, requestsFile }) : null;
    if (requestsFile) rmSync(dirname(requestsFile), { recursive: true, force: true });
    const r = native ?? (await pacedLoad(opts));
    const cpu = native ? { user: native.cpuUs, system: 0 } : process.cpuUsage(cpu0);
    loop.disable();
    const out: SideResult = {
      sent: r.sent,
      ok: ok(r),
      errors: r.errors,
      queued: r.queued,
      p50: pct(r.latencies, 50),
      p99: pct(r.latencies, 99),
      max: pct(r.latencies, 100),
      lateMs: r.lateMs,
      // the C generator has no event loop: its longest gap between wake-ups instead
      loopP99: native ? NaN : loop.percentile(99) / 1e6,
      loopMax: native ? native.gapMs : loop.max / 1e6,
      startLateMs,
      genCpuMs: (cpu.user + cpu.system) / 1000,
    };
    return { ...out, ms: 0, cpuMs: 0 };
  },
};

/** The paced events and predictions against `url`, at once, each from its own process; each side's answers. */
export async function load(url: string, athletes: string[], r: Rates, tag: string): Promise<{ events: SideResult; predictions: SideResult | null }> {
  // Both children start (tsx loads in each: seconds on a loaded machine), say they are ready, and begin together.
  const dir = mkdtempSync(join(tmpdir(), "fti-stream-load-"));
  try {
    const go = join(dir, "go");
    const side = (kind: SideArgs["kind"], rate: number) =>
      runNodeTask<SideResult>("stream-load.paced", { url, kind, athletes, rate, batch: r.batch, seconds: r.seconds, tag, ready: join(dir, `${kind}.ready`), go } satisfies SideArgs);
    const kinds: Array<SideArgs["kind"]> = r.predictionsPerSec ? ["events", "predictions"] : ["events"];
    const runs = kinds.map((k) => side(k, k === "events" ? r.eventsPerSec / r.batch : r.predictionsPerSec));
    for (const p of runs) p.catch(() => undefined); // awaited below; a failure before that is rethrown by the race
    const failed = Promise.race(runs.map((p) => p.then(() => new Promise<never>(() => {}))));
    try {
      while (!kinds.every((k) => existsSync(join(dir, `${k}.ready`)))) await Promise.race([new Promise((w) => setTimeout(w, 20)), failed]);
    } finally {
      writeFileSync(go, String(Date.now() + 100)); // also when one side failed: the other is not left waiting
    }
    const [events, predictions] = await Promise.all(runs);
    return { events, predictions: predictions ?? null };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const ok = (r: PacedLoadResult) => r.statuses.filter((s) => s === 200).length;

function line(id: string, label: string, role: Measured["role"], r: SideResult, note: string): Measured {
  return {
    suite: S, id, label, role, ms: [r.p50], cpuMs: [NaN], rssKB: 0, extra: { p99: r.p99 },
    note:
      `p50 ${fmtMs(r.p50)}, p99 ${fmtMs(r.p99)}, max ${fmtMs(r.max)}; ${fmtInt(r.ok)} of ${fmtInt(r.sent)} answered 200 (${r.errors} errors, ${r.queued} waited for a connection); ` +
      `its generator: timer up to ${fmtMs(r.lateMs)} late, ${Number.isNaN(r.loopP99) ? `C (pacer.c), longest gap between wake-ups ${fmtMs(r.loopMax)}` : `own event-loop delay p99 ${fmtMs(r.loopP99)} / max ${fmtMs(r.loopMax)}`}, began ${fmtMs(r.startLateMs)} after the agreed start, CPU ${fmtMs(r.genCpuMs)} (${fmtInt(r.genCpuMs / r.sent * 1000)} µs per request)${note}`,
  };
}

/** The server's own histogram of events requests (handler → durable and applied), from /metrics: cumulative counts per bucket bound. */
async function applyBuckets(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^fti_stream_apply_seconds_bucket\{source="activities",le="([^"]+)"\} (\d+)$/gm)) out.set(m[1], Number(m[2]));
  return out;
}

/** The bucket bound holding quantile q of the requests between two scrapes, e.g. "≤ 10 ms". */
function bucketQuantile(before: Map<string, number>, after: Map<string, number>, q: number): string {
  const total = (after.get("+Inf") ?? 0) - (before.get("+Inf") ?? 0);
  if (total <= 0) return "n/a";
  for (const [le, n] of after) if (n - (before.get(le) ?? 0) >= q * total) return le === "+Inf" ? "> 2.5 s" : `≤ ${fmtMs(Number(le) * 1000)}`;
  return "n/a";
}

/** The server's slow events requests (over 10 ms in it) so far, from /metrics: their count and seconds per phase (runtime/stream/slow-requests.ts). */
export async function slowRequests(url: string): Promise<{ requests: number; seconds: Map<string, number> }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const requests = Number(/^fti_stream_slow_requests_total\{source="activities"\} (\S+)$/m.exec(text)?.[1] ?? NaN);
  const seconds = new Map<string, number>();
  for (const m of text.matchAll(/^fti_stream_slow_request_seconds_total\{source="activities",phase="([a-z]+)"\} (\S+)$/gm)) seconds.set(m[1], Number(m[2]));
  return { requests, seconds };
}

/** The slow requests between two scrapes as a note: how many, and where their time went in the server. */
export function slowNote(before: Awaited<ReturnType<typeof slowRequests>>, after: Awaited<ReturnType<typeof slowRequests>>): string {
  const n = after.requests - before.requests;
  if (!Number.isFinite(n)) return "";
  const phases = [...after.seconds].map(([phase, s]) => `${phase} ${fmtMs((s - (before.seconds.get(phase) ?? 0)) * 1000)}`).join(", ");
  return `; events requests over 10 ms in the server (handler → durable and applied): ${fmtInt(n)}${n > 0 ? `, their time there: ${phases}` : ""}`;
}

/** What bench/lib/stall-probe.mjs says of a served process since its last report. */
interface Stalls {
  stalls: number;
  stallMs: number;
  cpuMs: number;
  waitMs: number;
  gcInStallsMs: number;
  gc: { count: number; ms: number; major: number; majorMaxMs: number };
  longest: Array<{ ms: number; cpu: number; wait: number; gc: number }>;
}

/** Starts a process with the stall probe preloaded; `stalls()` asks for its report since the last one. */
export async function startProbed(argv: string[], cwd: string, file: string): Promise<Awaited<ReturnType<typeof startServe>> & { stalls(): Promise<Stalls | null> }> {
  process.env.FTI_STALL_OUT = file;
  const started = await startServe(["--import", STALL_PROBE, ...argv], cwd).finally(() => delete process.env.FTI_STALL_OUT);
  const stalls = async (): Promise<Stalls | null> => {
    rmSync(file, { force: true });
    started.child.kill("SIGUSR2");
    for (let i = 0; i < 100 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 20));
    return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Stalls) : null;
  };
  return { ...started, stalls };
}

/** A stall report as a note: how long the loop stalled, how much of it was the process's own CPU (and GC), how much the machine's queue. */
export function stallNote(s: Stalls | null): string {
  if (!s) return "";
  // Neither on a CPU nor waiting for one: blocked (a synchronous syscall, or GC waiting for its helper threads).
  const blocked = (x: { ms: number; cpu: number; wait: number }) => Math.max(0, x.ms - x.cpu - x.wait);
  const top = s.longest.map((x) => `${fmtMs(x.ms)} (cpu ${fmtMs(x.cpu)}, waiting ${fmtMs(x.wait)}, blocked ${fmtMs(blocked(x))}; gc ${fmtMs(x.gc)})`).join(", ");
  return `; the server's event-loop stalls > 15 ms: ${s.stalls}, ${fmtMs(s.stallMs)} in all = on a CPU ${fmtMs(s.cpuMs)} + waiting for a CPU ${fmtMs(s.waitMs)} + blocked ${fmtMs(blocked({ ms: s.stallMs, cpu: s.cpuMs, wait: s.waitMs }))} (GC pauses inside them: ${fmtMs(s.gcInStallsMs)}); longest: ${top || "none"}; GC over the run: ${s.gc.count} pauses, ${fmtMs(s.gc.ms)}, ${s.gc.major} major (longest ${fmtMs(s.gc.majorMaxMs)})`;
}

/** A served process's CPU over `run` (main thread, other threads), as a note: on 2 cores it shares them with the generators. */
async function withServerCpu<T>(pid: number, run: () => Promise<T>): Promise<[T, string]> {
  const a = threadCpuMs(pid);
  const r = await run();
  const b = threadCpuMs(pid);
  return [r, `; the server's CPU over the run: main thread ${fmtMs(b.main - a.main)}, its other threads (GC helpers, libuv pool) ${fmtMs(b.others - a.others)}`];
}

/** Freshness over HTTP at 5,000 events/s with 1,000 predictions/s beside it, and the HTTP floor at the same rates. */
export async function freshnessUnderLoad(ctx: Ctx): Promise<void> {
  const athletes = ctx.quick ? 30 : 1000;
  const days = ctx.quick ? 200 : 365;
  const rates: Rates = { eventsPerSec: 5000, batch: 10, predictionsPerSec: 1000, seconds: ctx.quick ? 4 : 30 };
  process.stderr.write(`  · stream: building the athlete example (${athletes} athletes × ${days} days: features, train, materialize)\n`);
  const work = await buildAthleteWork({ athletes, days });
  const runs: Array<{ child: import("node:child_process").ChildProcess }> = [];
  try {
    const server = await startProbed([BIN, "serve", work.specPath, "--store", work.storePath, "--port", "0", "--no-watch", "--logs", work.logsDir, "--log-level", "warn"], work.root, join(work.root, "stalls.json"));
    runs.push(server);
    const warm = await load(server.url, work.athletes, { ...rates, seconds: 1 }, "warm");
    if (warm.events.ok === 0) throw new Error(`the server took no events:\n${server.log().slice(-2000)}`);
    await server.stalls();
    const slow0 = await slowRequests(server.url);
    const [alone, aloneCpu] = await withServerCpu(server.child.pid!, () => load(server.url, work.athletes, { ...rates, predictionsPerSec: 0 }, "alone"));
    const aloneStalls = await server.stalls();
    const slow1 = await slowRequests(server.url);
    const before = await applyBuckets(server.url);
    const [both, bothCpu] = await withServerCpu(server.child.pid!, () => load(server.url, work.athletes, rates, "both"));
    const bothStalls = await server.stalls();
    const after = await applyBuckets(server.url);
    const slow2 = await slowRequests(server.url);
    await stopServe(server.child);
    runs.pop();

    const answerFile = join(work.root, "events-answer.json");
    writeFileSync(answerFile, JSON.stringify({ source: "activities", received: 10, accepted: 10, duplicates: 0, late: 0, watermark: new Date().toISOString() }));
    const floor = await startProbed(["--import", "tsx", WORKER, "online.httpFloor", JSON.stringify({ answerFile })], process.cwd(), join(work.root, "floor-stalls.json"));
    runs.push(floor);
    await floor.stalls();
    const [floorBoth, floorCpu] = await withServerCpu(floor.child.pid!, () => load(floor.url, work.athletes, rates, "floor"));
    const floorStalls = await floor.stalls();
    await stopServe(floor.child);
    runs.pop();

    const cfg = `${fmtInt(rates.eventsPerSec)} events/s as ${rates.batch}-event requests + ${fmtInt(rates.predictionsPerSec)} predictions/s for ${rates.seconds} s, ${athletes} athletes, each load from its own process`;
    ctx.out.measure(line("freshness-http-alone", "freshness over HTTP: events request answered (durable + applied), 5,000 events/s alone", "info", alone.events, aloneCpu + stallNote(aloneStalls) + slowNote(slow0, slow1)));
    const goal = `; goal p99 ≤ 20 ms: ${both.events.p99 <= 20 ? "met" : "NOT met"}`;
    const own = `; the server's own apply histogram over the run: p50 ${bucketQuantile(before, after, 0.5)}, p99 ${bucketQuantile(before, after, 0.99)}`;
    const fti = line("freshness-http", "freshness over HTTP, 5,000 events/s + 1,000 predictions/s", "fti", both.events, `; ${cfg}${own}${goal}${bothCpu}${stallNote(bothStalls)}${slowNote(slow1, slow2)}`);
    const ref = line("freshness-http-floor", "reference: the HTTP floor (parse, canned answer) at the same rates", "ref", floorBoth.events, floorCpu + stallNote(floorStalls));
    ctx.out.measure(fti);
    ctx.out.measure(ref, { vs: fti });
    if (both.predictions) ctx.out.measure(line("predict-under-stream", "predictions while the events stream in (1,000/s)", "info", both.predictions, ""));
    const answered = both.events.ok === both.events.sent && (!both.predictions || both.predictions.ok === both.predictions.sent);
    ctx.out.check(S, "under load every events request and every prediction was answered 200", answered, `events ${both.events.ok} of ${both.events.sent}, predictions ${both.predictions?.ok ?? 0} of ${both.predictions?.sent ?? 0}`);
    // The default checkpoint interval's cost to freshness (stream-checkpoint-http.ts), on the same example.
    await freshnessAcrossCheckpoints(ctx, work);
  } finally {
    for (const r of runs) await stopServe(r.child);
    work.cleanup();
  }
}
