// stream-restart: how long a restarted `fti serve` takes to have its stream
// state back — from its checkpoint plus the events after it (the default) vs
// from the whole history (src_<source> and every segment line, what a restart
// did before checkpoints, and still does when the checkpoint cannot be used).
// The athlete spec's activities: full size 1,000,000 events of 10,000 athletes
// over a year (`--quick` 5,000 of 100; $FTI_BENCH_RESTART_EVENTS); the writer checkpoints, then
// takes 1,000 more events and is gone without a clean stop (a kill). Each
// restart runs in its own child process: the time of StreamService.rebuild and
// the process's peak RSS. The check: both restarts give the same rows.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SpecBundle } from "../../runtime/api.ts";
import { mulberry32 } from "../../runtime/random.ts";
import { ident, sqlType } from "../../runtime/store/sql.ts";
import { openStore } from "../../runtime/store/store.ts";
import { checkpointFiles } from "../../runtime/stream/checkpoint.ts";
import { streamDir } from "../../runtime/stream/segments.ts";
import { StreamService } from "../../runtime/stream/service.ts";
import { fmtInt, fmtKB, fmtMs, runNodeTask } from "../lib/harness.ts";
import type { Ctx, Suite } from "../lib/suite.ts";

const DAY = 86_400_000;
const END = Date.UTC(2026, 5, 1);
const TAIL = 1000;

const athleteSpec = async () => ((await import("../../generated/athlete/index.ts")) as { spec: SpecBundle }).spec;

function activity(rnd: () => number, id: string, athletes: number, at: number) {
  const km = Math.round((3 + rnd() * 12) * 100) / 100;
  return {
    activity_id: id, athlete_id: `a${Math.floor(rnd() * athletes)}`, started_at: new Date(at).toISOString(), sport: rnd() < 0.2 ? "treadmill" : "run",
    distance_km: km, elapsed_time_s: Math.round(km * (280 + rnd() * 80)), elevation_gain_m: Math.round(rnd() * 200), planned_pace_min_km: 5.4,
    avg_hr: rnd() < 0.2 ? null : Math.round(130 + rnd() * 40), route_id: `r${Math.floor(rnd() * 50)}`,
  };
}

interface Restarted {
  ms: number;
  cpuMs: number;
  from: string;
  read: number;
}

type Row = [string, number, Array<string | number | boolean | null>];

/** Rows that differ: event time, a value (floats beyond 1e-9 relative: ewma re-scales in the order events came), or missing on one side. */
function differences(a: Row[], b: Row[]): string[] {
  const byKey = new Map(b.map((r) => [r[0], r]));
  const out: string[] = [];
  if (a.length !== b.length) out.push(`${a.length} rows vs ${b.length}`);
  for (const [k, t, vs] of a) {
    const o = byKey.get(k);
    if (!o) out.push(`${k}: missing`);
    else if (o[1] !== t) out.push(`${k}: event time ${t} vs ${o[1]}`);
    else
      vs.forEach((v, i) => {
        const w = o[2][i];
        const same = typeof v === "number" && typeof w === "number" ? Math.abs(v - w) <= 1e-9 * Math.max(1, Math.abs(w)) : v === w;
        if (!same) out.push(`${k} #${i}: ${v} vs ${w}`);
      });
  }
  return out;
}

export const tasks = {
  /** The store (src_activities: a year of events), the first writer's state from it, a checkpoint, then the tail; no clean stop. */
  async prepare(a: { store: string; events: number; athletes: number }): Promise<Record<string, unknown>> {
    const spec = await athleteSpec();
    const plan = spec.sources.find((s) => s.name === "activities")!;
    const store = await openStore({ path: a.store });
    try {
      await store.run(`CREATE TABLE src_activities (${plan.fields.map((f) => `${ident(f.name)} ${sqlType(f.type)}`).join(", ")})`);
      const rnd = mulberry32(7);
      const cols = plan.fields.map((f) => f.name);
      for (let from = 0; from < a.events; from += 50_000) {
        const rows = Array.from({ length: Math.min(50_000, a.events - from) }, (_, i) => activity(rnd, `h-${from + i}`, a.athletes, END - 365 * DAY + Math.floor(rnd() * 364 * DAY)));
        await store.appendRows("src_activities", cols, rows.map((r) => cols.map((c) => (c === "started_at" ? new Date(r.started_at) : (r as Record<string, unknown>)[c]))));
      }
      const svc = new StreamService(spec, a.store);
      await svc.rebuild(store, () => {});
      // What a checkpoint costs the writer: the state copied and serialized on the event loop, then written and synced.
      await svc.checkpoint(true);
      const cp = svc.stats()[0].lastCheckpoint!;
      const entities = svc.engine.stats().reduce((n, g) => n + g.entities, 0);
      const tail = Array.from({ length: TAIL }, (_, i) => activity(rnd, `tail-${i}`, a.athletes, END - DAY + i * 60_000));
      for (let i = 0; i < tail.length; i += 50) {
        const r = await svc.ingest("activities", tail.slice(i, i + 50), (k) => [k]);
        if (!r.ok) throw new Error(r.message);
      }
      return { ms: 0, cpuMs: 0, ...cp, entities };
    } finally {
      await store.close();
    }
  },

  /** A restart: the stream state rebuilt (from the checkpoint when there is one); the rows' fingerprint. */
  async restart(a: { store: string; out: string }): Promise<Restarted> {
    const spec = await athleteSpec();
    const store = await openStore({ path: a.store, readOnly: true });
    try {
      const rows: Row[] = [];
      const svc = new StreamService(spec, a.store);
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const [r] = await svc.rebuild(store, (u) => rows.push([`${u.group}|${JSON.stringify(u.keys)}`, u.eventMs, u.values]));
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(c0);
      // The last row per entity (the rebuild from history reports each entity's rows as it goes).
      const last = new Map(rows.map((x) => [x[0], x]));
      writeFileSync(a.out, JSON.stringify([...last.values()]));
      return { ms, cpuMs: (cpu.user + cpu.system) / 1000, from: r.from, read: r.from === "checkpoint" ? r.segmentEvents : r.offlineRows + r.segmentEvents };
    } finally {
      await store.close();
    }
  },
};

export const suite: Suite = {
  name: "stream-restart",
  describe: "a restarted server's stream state: from its checkpoint + the events after it vs from the whole history",
  async run(ctx: Ctx) {
    const S = "stream-restart";
    const events = Number(process.env.FTI_BENCH_RESTART_EVENTS ?? (ctx.quick ? 5_000 : 1_000_000));
    const athletes = Math.max(100, Math.round(events / 100));
    const work = ctx.work(S);
    mkdirSync(work, { recursive: true });
    const store = join(work, "store.duckdb");
    // The state must not be checkpointed behind the bench's back.
    const env = { FTI_STREAM_CHECKPOINT_MS: "0" };
    const prep = await runNodeTask<{ copyMs: number; serializeMs: number; totalMs: number; bytes: number; entities: number }>(`${S}.prepare`, { store, events, athletes }, { env });
    ctx.out.note(S, `a checkpoint of ${fmtInt(prep.entities)} group entities' state: ${fmtKB(prep.bytes / 1024)}; the state copied while events wait ${fmtMs(prep.copyMs)}, the longest slice of its serialization ${fmtMs(prep.serializeMs)} (each on the event loop), ${fmtMs(prep.totalMs)} in all with the write and fsync`);
    const rowsOf = (name: string) => JSON.parse(readFileSync(join(work, name), "utf8")) as Row[];
    const fromCheckpoint = await runNodeTask<Restarted & { rssKB: number }>(`${S}.restart`, { store, out: join(work, "checkpoint.json") }, { env });
    for (const file of checkpointFiles(streamDir(store, "activities"))) renameSync(file, `${file}.aside`);
    const fromHistory = await runNodeTask<Restarted & { rssKB: number }>(`${S}.restart`, { store, out: join(work, "history.json") }, { env });
    const diff = differences(rowsOf("checkpoint.json"), rowsOf("history.json"));
    for (const [label, m] of [["from the checkpoint", fromCheckpoint], ["from the whole history", fromHistory]] as const) {
      ctx.out.note(S, `${label} (${m.from}): ${fmtMs(m.ms)}, CPU ${fmtMs(m.cpuMs)}, ${fmtInt(m.read)} events read, peak RSS ${fmtKB(m.rssKB)}`);
    }
    ctx.out.note(S, `${fmtInt(events)} events of ${fmtInt(athletes)} athletes, ${fmtInt(TAIL)} after the checkpoint: the checkpoint's restart takes ${(fromCheckpoint.ms / fromHistory.ms).toFixed(3)}× the time (CPU ${(fromCheckpoint.cpuMs / fromHistory.cpuMs).toFixed(3)}×)`);
    ctx.out.check(S, "the restart from the checkpoint went through it, and gives the rows the whole history gives", fromCheckpoint.from === "checkpoint" && fromHistory.from === "history" && diff.length === 0, `${diff.length} differences: ${diff.slice(0, 5).join("; ")}`);
  },
};
