// The streams of one served spec: per stream source its admission (duplicates,
// lateness), its segment writer and its counters; one engine for every group
// over them. `ingest` takes a request's events all or nothing: every event is
// validated first, and nothing is stored or applied when one is invalid; the
// new and late events are made durable (fsync) before the new ones are applied
// and the request is answered. `rebuild` restores the state at start from the
// offline store (src_<source>) and the segments. The online service
// (online/service.ts) puts the changed rows in front of its online tables.

import type { SourcePlan, SpecBundle, StreamRow } from "../api.ts";
import type { Store } from "../store/store.ts";
import type { Admitted } from "./admission.ts";
import type { TypedStreamEvents } from "./checkpoint.ts";
import { CheckpointRuns } from "./checkpoint-runs.ts";
import { CorrectionRuns } from "./correction-runs.ts";
import { StreamEngine, type StreamUpdate } from "./engine.ts";
import type { WriteTiming } from "./segments.ts";
import type { IngestMarks, SlowRequests } from "./slow-requests.ts";
import { rebuildFromHistory, resumeFromCheckpoint, type RebuildReport } from "./state-restore.ts";
import { newStreamSource, pendLate, timeOf, type LateEntity, type StreamSource } from "./stream-source.ts";
import { segmentLine, validateEvent, type EventIssue } from "./validate.ts";
import type { WriterLease } from "./writer-lock.ts";

export type { LateEntity, RebuildReport };

export interface IngestResult {
  source: string;
  received: number;
  accepted: number;
  duplicates: number;
  late: number;
  /** The newest event time applied so far (ISO), null before the first. */
  watermark: string | null;
}

export type IngestOutcome =
  | { ok: true; result: IngestResult; updates: StreamUpdate[]; late: LateEntity[] }
  | { ok: false; status: 400 | 404 | 409 | 503; code: string; message: string; issues?: EventIssue[] };

/** The default bound of `maxAheadMs` (fti serve): a day absorbs any clock skew and time zone slip. */
export const STREAM_MAX_AHEAD_MS = 86_400_000;

function aheadIssue(plan: SourcePlan, row: StreamRow, path: Array<string | number>, nowMs: number, maxAheadMs: number): EventIssue {
  const t = new Date(timeOf(plan, row)).toISOString();
  return {
    path: [...path, plan.eventTime!],
    message: `${t} is more than ${maxAheadMs / 3_600_000} h after the server's clock (${new Date(nowMs).toISOString()}): an event from the future is refused (it would make every later event late)`,
  };
}

export class StreamService {
  private readonly current: StreamEngine;
  private readonly sources = new Map<string, StreamSource>();
  /** Requests between admission and apply (a rebuild waits for none, and holds new ones at the gate). */
  private inflight = 0;
  private drained: (() => void) | null = null;
  private gate: Promise<void> | null = null;
  private readonly corrections: CorrectionRuns;
  private readonly checkpoints: CheckpointRuns;

  constructor(
    readonly bundle: SpecBundle,
    storePath: string,
    /** How the batch types the kept events (checkpoint.ts `offlineFingerprint`): the server hands in the batch pipeline's. */
    private readonly opts: {
      typedEvents?: TypedStreamEvents;
      /**
       * Refuse (400) an event whose time is more than this after `clock()` (the wall clock by
       * default): one event dated 9999 would move the watermark past every real event (each later
       * one late) and leave its entity's online row in the future for good. Unset: no bound.
       */
      maxAheadMs?: number;
      clock?: () => number;
    } = {},
  ) {
    this.current = new StreamEngine(bundle);
    for (const plan of bundle.sources) {
      if (!plan.stream || !plan.unique || !plan.eventTime) continue;
      this.sources.set(plan.name, newStreamSource(plan, storePath));
    }
    this.corrections = new CorrectionRuns(this.sources, this.current, bundle);
    this.checkpoints = new CheckpointRuns(this.sources, this.current, bundle, (fn) => this.exclusive(fn), (m) => this.onCheckpointError?.(m));
  }

  get engine(): StreamEngine {
    return this.current;
  }

  /** The stream sources, by name. */
  names(): string[] {
    return [...this.sources.keys()];
  }

  /**
   * Takes every lease of each stream (writer-lock.ts): a stream whose leases
   * another process holds is not this process's to write — its events are
   * refused (409) and `rebuild` skips it unless asked. Returns the refused
   * streams and why.
   */
  async claim(leasesOf: (source: string, dir: string) => WriterLease[]): Promise<Array<{ source: string; holder: string }>> {
    const refused: Array<{ source: string; holder: string }> = [];
    for (const s of this.sources.values()) {
      for (const lease of leasesOf(s.plan.name, s.writer.dir)) {
        const holder = await lease.acquire();
        if (holder !== null) {
          s.refusedBy = `${holder} (${lease.what})`;
          break;
        }
        s.leases.push(lease);
        lease.onLost = (by) => {
          s.refusedBy = `${by} (${lease.what}, taken over while this process held it)`;
        };
      }
      if (s.refusedBy !== null) {
        for (const l of s.leases) await l.release();
        s.leases = [];
        refused.push({ source: s.plan.name, holder: s.refusedBy });
      }
    }
    return refused;
  }

  /**
   * Validates, stores and applies the events of one request (all or nothing).
   * `at(i)` is the path of event i in the request body.
   */
  async ingest(source: string, events: unknown[], at: (i: number) => Array<string | number>): Promise<IngestOutcome> {
    const start = performance.now();
    const s = this.sources.get(source);
    if (!s) {
      const known = this.names();
      return { ok: false, status: 404, code: "unknown_stream", message: `no stream source named ${JSON.stringify(source).slice(0, 82)}; streams: ${known.length ? known.join(", ") : "none (declare `stream` in a source)"}` };
    }
    const stale = await this.confirmLeases(s);
    if (stale) return stale;
    if (s.refusedBy !== null) {
      const message = `this server does not take the events of \`${source}\`: its writer is ${s.refusedBy}; one process applies a stream (two would each hold half of its state): send the events there`;
      return { ok: false, status: 409, code: "stream_has_another_writer", message };
    }
    const rows: StreamRow[] = [];
    const issues: EventIssue[] = [];
    let rejected = 0;
    const { maxAheadMs } = this.opts;
    const now = maxAheadMs === undefined ? 0 : (this.opts.clock ?? Date.now)();
    const latest = maxAheadMs === undefined ? Infinity : now + maxAheadMs;
    events.forEach((e, i) => {
      const v = validateEvent(s.plan, e, at(i));
      if ("issues" in v) {
        rejected++;
        issues.push(...v.issues);
      } else if (timeOf(s.plan, v.row) > latest) {
        rejected++;
        issues.push(aheadIssue(s.plan, v.row, at(i), now, maxAheadMs!));
      } else rows.push(v.row);
    });
    if (issues.length) {
      s.counts.rejected += rejected;
      return { ok: false, status: 400, code: "invalid_events", message: `${rejected} of ${events.length} event${events.length === 1 ? "" : "s"} of \`${source}\` ${rejected === 1 ? "is" : "are"} invalid; none was stored`, issues: issues.slice(0, 1000) };
    }
    const validated = performance.now();
    while (this.gate) await this.gate;
    this.inflight++;
    try {
      return await this.admit(s, source, rows, events.length, { start, validated, pastGate: performance.now() });
    } finally {
      if (--this.inflight === 0) this.drained?.();
    }
  }

  /**
   * A lease whose last renewal is older than its term allows (the process was
   * paused, or busy longer than the term) is renewed before anything is
   * written: taken by another process meanwhile, the stream is not this
   * process's any more (409 from now on); Redis unreachable: a 503 this time.
   */
  private async confirmLeases(s: StreamSource): Promise<IngestOutcome | null> {
    if (s.refusedBy !== null) return null;
    for (const lease of s.leases) {
      if (!lease.valid || lease.valid() || !lease.renew) continue;
      let holder: string | null;
      try {
        holder = await lease.renew();
      } catch (e) {
        return { ok: false, status: 503, code: "stream_unavailable", message: `this server's ${lease.what} could not be renewed (${(e as Error).message}); none was stored, send the events again` };
      }
      if (holder !== null) s.refusedBy = `${holder} (${lease.what}, taken while this process could not renew it)`;
    }
    return null;
  }

  /** Classifies, stores (fsync) and applies validated rows; the late ones mark the entities they belong to. */
  private async admit(s: StreamSource, source: string, rows: StreamRow[], received: number, marks: Pick<IngestMarks, "start" | "validated" | "pastGate">): Promise<IngestOutcome> {
    const kinds = rows.map((r) => s.admission.classify(s.uniqueOf(r), timeOf(s.plan, r)));
    const stored = rows.filter((_, i) => kinds[i] !== "duplicate");
    const lines = stored.map((r) => segmentLine(s.plan, r));
    const appended = performance.now();
    let write: WriteTiming;
    try {
      write = await s.writer.append(lines);
    } catch (e) {
      rows.forEach((r, i) => kinds[i] !== "duplicate" && s.admission.release(s.uniqueOf(r)));
      return { ok: false, status: 503, code: "stream_unavailable", message: `the events could not be stored durably (${(e as Error).message}); none was applied, send them again` };
    }
    const durable = performance.now();
    const updates: StreamUpdate[] = [];
    const late: LateEntity[] = [];
    rows.forEach((r, i) => {
      s.counts[kinds[i]]++;
      if (kinds[i] === "late") {
        for (const x of this.current.entitiesOf(source, r)) late.push(pendLate(this.current, s, { ...x, eventMs: timeOf(s.plan, r) }));
      }
      if (kinds[i] !== "new") return;
      for (const u of this.current.apply(source, r)) updates.push(u);
      s.admission.applied(timeOf(s.plan, r));
      s.events++;
    });
    s.dirty = true;
    s.slow.note({ ...marks, appended, writeStart: write.startMs, writeEnd: write.endMs, durable, applied: performance.now() });
    if (late.length) this.corrections.schedule();
    const count = (k: Admitted) => kinds.filter((x) => x === k).length;
    const w = s.admission.watermark;
    return {
      ok: true,
      updates,
      late,
      result: { source, received, accepted: count("new"), duplicates: count("duplicate"), late: count("late"), watermark: Number.isFinite(w) ? new Date(w).toISOString() : null },
    };
  }

  /**
   * The state at start, per stream: from its checkpoint and the segment lines
   * after it when the checkpoint is usable (checkpoint.ts), else from nothing:
   * every row of src_<source> (the offline store as of the last batch run)
   * and every segment line, once each by `unique`, in event-time order.
   * `onUpdate` gets every entity's online row.
   */
  async rebuild(store: Store, onUpdate: (u: StreamUpdate) => void, opts: { refused?: boolean } = {}): Promise<RebuildReport[]> {
    const reports: RebuildReport[] = [];
    for (const s of this.sources.values()) {
      // A stream another process writes: its state as of now only when asked (an in-memory replica serves it).
      if (s.refusedBy !== null && !opts.refused) continue;
      const t0 = performance.now();
      const correctPending = async () => (await this.corrections.untilDone((use) => use(store), s))?.updates.length ?? 0;
      const resumed = await resumeFromCheckpoint(store, s, this.current, this.bundle, this.opts.typedEvents, correctPending, onUpdate);
      const report = "fallback" in resumed ? { ...(await rebuildFromHistory(store, s, this.current, this.opts.typedEvents, onUpdate)), ...resumed } : resumed;
      report.ms = Math.round(performance.now() - t0);
      s.rebuilt = { from: report.from, events: report.from === "checkpoint" ? report.segmentEvents : report.offlineRows + report.segmentEvents };
      reports.push(report);
    }
    this.checkpoints.startTimer();
    return reports;
  }

  /** Runs `fn` while new requests wait at the gate and none is between its admission and its apply. */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    let open!: () => void;
    while (this.gate) await this.gate;
    this.gate = new Promise<void>((done) => (open = done));
    try {
      if (this.inflight > 0) await new Promise<void>((done) => (this.drained = done));
      this.drained = null;
      return await fn();
    } finally {
      this.gate = null;
      open();
    }
  }

  /**
   * Applies the stored late events now (a reload): recomputes only the group
   * entities they belong to; `onUpdate` gets each recomputed entity's row
   * (correction-runs.ts).
   */
  correctLate(store: Store, onUpdate: (u: StreamUpdate) => void): Promise<Array<{ source: string; entities: number; rowsRead: number }>> {
    return this.corrections.correctLate(store, onUpdate);
  }

  /** Corrects late events in the background from now on (correction-runs.ts); `open` gives a store to read, closed after. */
  autoCorrect(open: () => Promise<Store>, onCorrected: (updates: StreamUpdate[]) => void | Promise<void>, onError?: (e: Error, source: string) => void): void {
    this.corrections.autoCorrect(open, onCorrected, onError);
  }

  /**
   * Writes every stream's checkpoint now (the writer's streams with events
   * since the last one); returns the sources written. Calls made while one
   * runs share one after it (checkpoint-runs.ts).
   */
  checkpoint(force = false): Promise<string[]> {
    return this.checkpoints.checkpoint(force);
  }

  /** Told when a checkpoint could not be written (the state is unaffected). */
  onCheckpointError: ((message: string) => void) | null = null;

  /** Counters and state, per source. */
  stats(): Array<{ source: string; counts: StreamSource["counts"]; watermarkMs: number; uniqueHeld: number; uniqueBytes: number; written: number; syncs: number; rebuilt: StreamSource["rebuilt"]; checkpoints: number; lastCheckpoint: StreamSource["lastCheckpoint"]; latePending: number; corrections: StreamSource["corrections"]; slow: { requests: number; ms: SlowRequests["ms"] } }> {
    return [...this.sources.values()].map((s) => ({
      source: s.plan.name,
      counts: { ...s.counts },
      watermarkMs: s.admission.watermark,
      uniqueHeld: s.admission.size,
      uniqueBytes: s.admission.bytes,
      written: s.writer.written,
      syncs: s.writer.syncs,
      rebuilt: s.rebuilt,
      checkpoints: s.checkpoints,
      lastCheckpoint: s.lastCheckpoint,
      latePending: s.late.size,
      corrections: { ...s.corrections },
      slow: { requests: s.slow.requests, ms: { ...s.slow.ms } },
    }));
  }

  async close(): Promise<void> {
    this.checkpoints.stopTimer();
    await this.corrections.stop();
    // A clean stop leaves a checkpoint (the streams this process writes, with events since the last one).
    await this.checkpoint().catch((e) => this.onCheckpointError?.((e as Error).message));
    for (const s of this.sources.values()) {
      await s.writer.close();
      for (const l of s.leases) await l.release();
      s.leases = [];
    }
  }
}
