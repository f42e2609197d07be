// Freshness over HTTP across the stream's DEFAULT checkpoints (bench/suites/stream.ts runs it on the
// HTTP case's example, stream-load.ts): `fti serve` with the checkpoint interval as shipped (30 s;
// --quick: 3 s, said so), 5,000 events/s as 10-event requests from a generator process, long enough
// for two checkpoints to fall inside (75 s; --quick 8 s). Each request's latency (due → answered:
// durable and applied) is kept with the time it was due, and the checkpoints' times are read from
// their files afterwards (the header's `writtenAt`: the state taken; the file's mtime: written), so
// the p99 is given for the whole run, for the requests due within 1 s of a checkpoint (begun − 1 s
// to written + 1 s), and, as the reference, for the requests of the same run away from them.
// Goal (issue 12): p99 ≤ 20 ms at 5,000 events/s.

import { closeSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import type { AthleteWork } from "../../test/helpers/online-athlete.ts";
import { checkpointFiles } from "../../runtime/stream/checkpoint.ts";
import { streamDir } from "../../runtime/stream/segments.ts";
import { fmtInt, fmtMs, runNodeTask } from "../lib/harness.ts";
import { pacedLoad } from "../lib/paced-load.ts";
import type { Measured } from "../lib/report.ts";
import type { Ctx } from "../lib/suite.ts";
import { eventsOf, slowNote, slowRequests, stallNote, startProbed } from "./stream-load.ts";
import { stopServe } from "./online.ts";

const S = "stream";
const BIN = join(import.meta.dirname, "../../compiler/cli/bin.mjs");
const EVENTS_PATH = "/v1/sources/activities/events";
/** Requests due this long before a checkpoint began or after it was written count as around it. */
const AROUND_MS = 1000;

interface Series {
  sent: number;
  errors: number;
  /** Per answered request: latency (ms), when it was due (epoch ms), its status. */
  latencies: number[];
  dueAt: number[];
  statuses: number[];
  lateMs: number;
  loopMax: number;
}

export const tasks = {
  /** The paced events from this process; every answer with the time it was due. */
  async events(a: { url: string; athletes: string[]; rate: number; batch: number; seconds: number; tag: string }): Promise<Record<string, unknown>> {
    const body = eventsOf(a.athletes, a.batch, a.tag);
    const r = await pacedLoad({ url: a.url, rate: a.rate, seconds: a.seconds, connections: 64, request: (i) => ({ path: EVENTS_PATH, body: body(i), tag: "events" }) });
    const out: Series = { sent: r.sent, errors: r.errors, latencies: [...r.latencies], dueAt: [...r.dueAt], statuses: [...r.statuses], lateMs: r.lateMs, loopMax: r.loopMax };
    return { ...out, ms: 0, cpuMs: 0 };
  },
};

const pct = (xs: readonly number[], p: number) => {
  const s = Float64Array.from(xs).sort();
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN;
};

/** The checkpoints on disk: when each began (its state taken) and was written (epoch ms), its size. */
function checkpointsOnDisk(dir: string): Array<{ begun: number; written: number; bytes: number }> {
  return checkpointFiles(dir).flatMap((file) => {
    const fd = openSync(file, "r");
    try {
      const buf = Buffer.alloc(64 * 1024);
      const n = readSync(fd, buf, 0, buf.length, 0);
      const nl = buf.subarray(0, n).indexOf(0x0a);
      const h = JSON.parse(buf.subarray(0, nl).toString("utf8")) as { writtenAt: string };
      const st = statSync(file);
      return [{ begun: Date.parse(h.writtenAt), written: st.mtimeMs, bytes: st.size }];
    } catch {
      return [];
    } finally {
      closeSync(fd);
    }
  });
}

/** The server's count of checkpoints written (its /metrics). */
async function checkpointsWritten(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^fti_stream_checkpoints_total\{source="activities"\} (\d+)$/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

/** Freshness at 5,000 events/s over a run holding the default checkpoints (see the top of this file), on the example `work`. */
export async function freshnessAcrossCheckpoints(ctx: Ctx, work: AthleteWork): Promise<void> {
  const everyMs = ctx.quick ? 3000 : 30_000;
  const seconds = ctx.quick ? 8 : 75;
  const rate = { eventsPerSec: 5000, batch: 10 };
  const had = process.env.FTI_STREAM_CHECKPOINT_MS;
  if (ctx.quick) process.env.FTI_STREAM_CHECKPOINT_MS = String(everyMs);
  else delete process.env.FTI_STREAM_CHECKPOINT_MS; // the default, whatever the bench's own environment says
  let server: Awaited<ReturnType<typeof startProbed>> | null = null;
  try {
    server = await startProbed([BIN, "serve", work.specPath, "--store", work.storePath, "--port", "0", "--no-watch", "--logs", work.logsDir, "--log-level", "warn"], work.root, join(work.root, "cp-stalls.json"));
  } finally {
    if (had === undefined) delete process.env.FTI_STREAM_CHECKPOINT_MS;
    else process.env.FTI_STREAM_CHECKPOINT_MS = had;
  }
  try {
    await server.stalls();
    const countedBefore = await checkpointsWritten(server.url);
    const slowBefore = await slowRequests(server.url);
    const args = { url: server.url, athletes: work.athletes, rate: rate.eventsPerSec / rate.batch, batch: rate.batch, seconds, tag: "cp" };
    const r = await runNodeTask<Series>("stream-checkpoint-http.events", args);
    const stalls = await server.stalls();
    const counted = (await checkpointsWritten(server.url)) - countedBefore;
    const slow = slowNote(slowBefore, await slowRequests(server.url));
    const first = r.dueAt.reduce((m, t) => Math.min(m, t), Infinity);
    const last = r.dueAt.reduce((m, t) => Math.max(m, t), -Infinity);
    const cps = checkpointsOnDisk(streamDir(work.storePath, "activities")).filter((c) => c.written >= first && c.begun <= last).sort((a, b) => a.begun - b.begun);
    const near = (t: number) => cps.some((c) => t >= c.begun - AROUND_MS && t <= c.written + AROUND_MS);
    const around: number[] = [];
    const away: number[] = [];
    r.latencies.forEach((ms, i) => (near(r.dueAt[i]) ? around : away).push(ms));
    const ok = r.statuses.filter((s) => s === 200).length;
    const when = cps.map((c) => `at ${((c.begun - first) / 1000).toFixed(1)} s, ${fmtMs(c.written - c.begun)}, ${fmtInt(Math.round(c.bytes / 1024))} KB`).join("; ");
    const interval = ctx.quick ? `every ${everyMs / 1000} s (--quick: the default is 30 s)` : "every 30 s (the default)";
    const cfg = `${fmtInt(rate.eventsPerSec)} events/s as ${rate.batch}-event requests for ${seconds} s, ${work.athletes.length} athletes, a checkpoint ${interval}; ${cps.length} checkpoint${cps.length === 1 ? "" : "s"} inside the run (${when || "none"}); the server wrote ${counted} while the load ran${counted > cps.length ? " (the two checkpoint files keep the last two: the others' requests count as away from a checkpoint)" : ""}`;
    const goal = (p99: number) => `goal p99 ≤ 20 ms (issue 12): ${p99 <= 20 ? "met" : "NOT met"}`;
    const summary = (xs: number[]) => `p50 ${fmtMs(pct(xs, 50))}, p99 ${fmtMs(pct(xs, 99))}, max ${fmtMs(pct(xs, 100))} over ${fmtInt(xs.length)} requests`;
    const all = r.latencies;
    const fti: Measured = {
      suite: S, id: "freshness-http-checkpoints", label: "freshness over HTTP, 5,000 events/s, the whole run across the default checkpoints", role: "fti", ms: [pct(all, 50)], cpuMs: [NaN], rssKB: 0, extra: { p99: pct(all, 99) },
      note: `p99 ${fmtMs(pct(all, 99))} over the whole run, ${fmtMs(pct(around, 99))} within ${AROUND_MS / 1000} s of a checkpoint, ${fmtMs(pct(away, 99))} away from them (the reference line); ${goal(pct(all, 99))}; ${summary(all)}; ${fmtInt(ok)} of ${fmtInt(r.sent)} answered 200 (${r.errors} errors); ${cfg}; its generator: timer up to ${fmtMs(r.lateMs)} late, own event-loop delay max ${fmtMs(r.loopMax)}${stallNote(stalls)}${slow}`,
    };
    const ref: Measured = {
      suite: S, id: "freshness-http-checkpoints-away", label: `reference: the same run's requests more than ${AROUND_MS / 1000} s away from every checkpoint`, role: "ref", ms: [pct(away, 50)], cpuMs: [NaN], rssKB: 0, extra: { p99: pct(away, 99) },
      note: summary(away),
    };
    const near1: Measured = {
      suite: S, id: "freshness-http-checkpoints-around", label: `the same run's requests due within ${AROUND_MS / 1000} s of a checkpoint (begun − ${AROUND_MS / 1000} s … written + ${AROUND_MS / 1000} s)`, role: "info", ms: [pct(around, 50)], cpuMs: [NaN], rssKB: 0, extra: { p99: pct(around, 99) },
      note: `${around.length ? summary(around) : "no request was due near a checkpoint"}; ${goal(pct(around, 99))}; p99 per checkpoint: ${cps.map((c) => fmtMs(pct(r.latencies.filter((_, i) => r.dueAt[i] >= c.begun - AROUND_MS && r.dueAt[i] <= c.written + AROUND_MS), 99))).join(", ") || "none"}`,
    };
    ctx.out.measure(fti);
    ctx.out.measure(ref, { vs: fti });
    ctx.out.measure(near1);
    ctx.out.check(S, `the default-checkpoint run held at least one checkpoint (${cps.length}) and every events request was answered 200`, cps.length >= 1 && ok === r.sent, `${cps.length} checkpoints; ${ok} of ${r.sent} answered 200`);
  } finally {
    await stopServe(server.child);
  }
}
