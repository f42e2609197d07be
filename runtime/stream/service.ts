// The streams of one served spec: per stream source its admission (duplicates,
// lateness), its segment writer and its counters; one engine for every group
// over them. `ingest` takes a request's events all or nothing: every event is
// validated first, and nothing is stored or applied when one is invalid; the
// new and late events are made durable (fsync) before the new ones are applied
// and the request is answered. `rebuild` restores the state at start from the
// offline store (src_<source>) and the segments. The online service
// (online/service.ts) puts the changed rows in front of its online tables.

import type { Scalar, SourcePlan, SpecBundle, StreamRow } from "../api.ts";
import type { Store } from "../store/store.ts";
import { readEntityRows, readSourceRows } from "./entity-events.ts";
import { Admission, type Admitted } from "./admission.ts";
import { keptLinesAfter, keptPositions, offlineFingerprint, readCheckpoint, specIdentity, writeCheckpoint, type BodyReader, type OfflineFingerprint, type PendingLate, type TypedStreamEvents } from "./checkpoint.ts";
import { StreamEngine, type StreamUpdate } from "./engine.ts";
import { SegmentScan, type Targets } from "./late-correction.ts";
import { readSegmentTail, SegmentWriter, segmentFiles, streamDir, type SegmentLine, type SegmentPosition, type WriteTiming } from "./segments.ts";
import { basename, join } from "node:path";
import { segmentLine, validateEvent, type EventIssue } from "./validate.ts";
import type { WriterLease } from "./writer-lock.ts";
import { SlowRequests, type IngestMarks } from "./slow-requests.ts";
import { streamUniqueKey } from "./unique-field.ts";

export interface IngestResult {
  source: string;
  received: number;
  accepted: number;
  duplicates: number;
  late: number;
  /** The newest event time applied so far (ISO), null before the first. */
  watermark: string | null;
}

/** A group entity whose online row misses a late event (stored, not applied): marked until a rebuild applies it. */
export interface LateEntity {
  group: string;
  keys: Scalar[];
  eventMs: number;
}

export type IngestOutcome =
  | { ok: true; result: IngestResult; updates: StreamUpdate[]; late: LateEntity[] }
  | { ok: false; status: 400 | 404 | 409 | 503; code: string; message: string; issues?: EventIssue[] };

interface StreamSource {
  plan: SourcePlan;
  /** An event's de-duplication key (one field's value, or a combination's: unique-field.ts). */
  uniqueOf: (row: StreamRow) => Scalar;
  /** Replaced by a rebuild. */
  admission: Admission;
  writer: SegmentWriter;
  counts: Record<Admitted | "rejected", number>;
  /** Null: this process is the stream's writer (or nothing was claimed); else who is (writer-lock.ts). */
  refusedBy: string | null;
  leases: WriterLease[];
  /** What the state includes besides this process's own segment lines (its writer's positions): per segment file, its lines so far. */
  covered: Map<string, SegmentPosition>;
  /** The offline store's non-stream rows the state was built from (checkpoint.ts), null before the first rebuild. */
  offline: OfflineFingerprint | null;
  /** Events applied to the state in all, and since the last checkpoint. */
  events: number;
  dirty: boolean;
  /** Late events' group entities, stored and not applied yet: per `group\0entity key`, the oldest. */
  late: Map<string, PendingLate>;
  /** How the state was rebuilt at start (null before): events read then. */
  rebuilt: { from: "checkpoint" | "history"; events: number } | null;
  checkpoints: number;
  /** Late-event corrections run, entities recomputed, and the last one's time (ms) and segment lines read / parsed. */
  corrections: { runs: number; entities: number; lastMs: number; linesRead: number; linesParsed: number };
  /** Events requests over SLOW_REQUEST_MS in the server, and their time per phase (slow-requests.ts). */
  slow: SlowRequests;
  /** The last checkpoint: the state copied while events waited, the longest slice of its serialization (each on the event loop), all in all with the write, its size. */
  lastCheckpoint: { copyMs: number; serializeMs: number; totalMs: number; bytes: number } | null;
}

export interface RebuildReport {
  source: string;
  /** How the state was rebuilt: from the checkpoint and the events after it, or from nothing (`fallback`: why not from the checkpoint). */
  from: "checkpoint" | "history";
  fallback?: string;
  /** The fallback is only that there was no checkpoint yet (nothing to warn about). */
  fallbackMissing?: boolean;
  /** Rows read from src_<source> and events from the segments (before de-duplication). */
  offlineRows: number;
  segmentEvents: number;
  /** Segment lines that are not valid events any more (e.g. the spec changed): skipped. */
  invalidLines: number;
  applied: number;
  /** Group entities recomputed for late events (from the checkpoint: those pending). */
  corrected: number;
  ms: number;
}

/** How often the writer checkpoints each stream's state when events were applied since (ms): $FTI_STREAM_CHECKPOINT_MS, default 30 s; 0: never. */
const checkpointEveryMs = () => {
  const v = Number(process.env.FTI_STREAM_CHECKPOINT_MS ?? 30_000);
  return Number.isFinite(v) && v >= 0 ? v : 30_000;
};

/** How long after a late event its correction starts in the background (ms): $FTI_STREAM_CORRECT_MS, default 1 s; 0: only at a reload or restart. */
const correctEveryMs = () => {
  const v = Number(process.env.FTI_STREAM_CORRECT_MS ?? 1000);
  return Number.isFinite(v) && v >= 0 ? v : 1000;
};

/** Runs `fn` with a store to read (opened for it, or the one at hand). */
type StoreUse = <T>(fn: (store: Store) => Promise<T>) => Promise<T>;

const timeOf = (plan: SourcePlan, row: StreamRow): number => (row[plan.eventTime!] as Date).getTime();

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
  private current: StreamEngine;
  private readonly sources = new Map<string, StreamSource>();
  /** Requests between admission and apply (a rebuild waits for none, and holds new ones at the gate). */
  private inflight = 0;
  private drained: (() => void) | null = null;
  private gate: Promise<void> | null = null;

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
      this.sources.set(plan.name, {
        plan,
        uniqueOf: streamUniqueKey(plan),
        admission: new Admission(plan.stream.latenessMs),
        writer: new SegmentWriter(streamDir(storePath, plan.name)),
        counts: { new: 0, duplicate: 0, late: 0, rejected: 0 },
        slow: new SlowRequests(),
        refusedBy: null,
        leases: [],
        covered: new Map(),
        offline: null,
        events: 0,
        dirty: false,
        late: new Map(),
        rebuilt: null,
        checkpoints: 0,
        corrections: { runs: 0, entities: 0, lastMs: 0, linesRead: 0, linesParsed: 0 },
        lastCheckpoint: null,
      });
    }
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
        for (const x of this.current.entitiesOf(source, r)) late.push(this.pendLate(s, { ...x, eventMs: timeOf(s.plan, r) }));
      }
      if (kinds[i] !== "new") return;
      for (const u of this.current.apply(source, r)) updates.push(u);
      s.admission.applied(timeOf(s.plan, r));
      s.events++;
    });
    s.dirty = true;
    s.slow.note({ ...marks, appended, writeStart: write.startMs, writeEnd: write.endMs, durable, applied: performance.now() });
    if (late.length) this.scheduleCorrection();
    const count = (k: Admitted) => kinds.filter((x) => x === k).length;
    const w = s.admission.watermark;
    return {
      ok: true,
      updates,
      late,
      result: { source, received, accepted: count("new"), duplicates: count("duplicate"), late: count("late"), watermark: Number.isFinite(w) ? new Date(w).toISOString() : null },
    };
  }

  /** Notes a late event's group entity as not applied yet (what a checkpoint keeps, and a correction recomputes). */
  private pendLate(s: StreamSource, l: LateEntity): LateEntity {
    const k = `${l.group}\u0000${this.current.entityKey(l.group, l.keys)}`;
    const had = s.late.get(k);
    if (!had || l.eventMs < had.eventMs) s.late.set(k, { group: l.group, keys: l.keys, eventMs: l.eventMs });
    return l;
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
      const resumed = await this.resume(store, s, onUpdate);
      const report = "fallback" in resumed ? { ...(await this.rebuildSource(store, s, this.current, s.admission, onUpdate)), ...resumed } : resumed;
      report.ms = Math.round(performance.now() - t0);
      s.rebuilt = { from: report.from, events: report.from === "checkpoint" ? report.segmentEvents : report.offlineRows + report.segmentEvents };
      reports.push(report);
    }
    this.startCheckpoints();
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

  /** The state from nothing: src_<source> and every segment line, once each by `unique`, in event-time order. */
  private async rebuildSource(store: Store, s: StreamSource, engine: StreamEngine, admission: Admission, onUpdate: (u: StreamUpdate) => void): Promise<RebuildReport> {
    const t0 = performance.now();
    engine.clear(s.plan.name);
    admission.restore({ watermark: -Infinity, seen: [] });
    const offline = await readSourceRows(store, s.plan);
    const fingerprint = await offlineFingerprint(store, s.plan, this.opts.typedEvents);
    const covered = new Map<string, SegmentPosition>();
    for (const [file, lines] of await keptPositions(store, s.plan.name)) covered.set(file, { lines, bytes: -1 });
    const lines: SegmentLine[] = [];
    for (const file of segmentFiles(s.writer.dir)) {
      const t = readSegmentTail(file, { lines: 0, bytes: 0 })!;
      lines.push(...t.lines);
      covered.set(basename(file), t.end);
    }
    const parsed = parseLines(s.plan, lines);
    const unique = onceEachInTime(s, [...offline, ...parsed.rows]);
    for (const r of unique) {
      for (const u of engine.apply(s.plan.name, r)) onUpdate(u);
      admission.classify(s.uniqueOf(r), timeOf(s.plan, r));
      admission.applied(timeOf(s.plan, r));
    }
    s.covered = covered;
    s.offline = fingerprint;
    s.late = new Map();
    s.events = unique.length;
    s.dirty = true;
    return { source: s.plan.name, from: "history", offlineRows: offline.length, segmentEvents: lines.length, invalidLines: parsed.invalid, applied: unique.length, corrected: 0, ms: Math.round(performance.now() - t0) };
  }

  /**
   * The state from the stream's checkpoint and the segment lines after it
   * (on disk, or kept in the store once the batch pipeline removed their
   * file), applied as they were when they arrived: new ones applied, resent
   * ones skipped, late ones (and those pending in the checkpoint) recomputed
   * per entity. Any reason the checkpoint does not fit — it is missing,
   * corrupt, of another spec, the offline store's own rows changed, a segment
   * it covers is shorter or gone — leaves the state untouched and is returned
   * as `fallback` (the caller rebuilds from nothing).
   */
  private async resume(store: Store, s: StreamSource, onUpdate: (u: StreamUpdate) => void): Promise<RebuildReport | { fallback: string; fallbackMissing?: boolean }> {
    const t0 = performance.now();
    const source = s.plan.name;
    const cp = readCheckpoint(s.writer.dir, source, specIdentity(this.bundle));
    if (!cp.ok) return { fallback: cp.reason, fallbackMissing: cp.missing };
    const fingerprint = await offlineFingerprint(store, s.plan, this.opts.typedEvents);
    if (fingerprint.rows !== cp.header.offline.rows || fingerprint.hash !== cp.header.offline.hash) {
      return { fallback: "the offline store's rows of the source changed otherwise than by the stream's own events since the checkpoint" };
    }
    const read = await readTail(store, source, s.writer.dir, new Map(Object.entries(cp.header.segments)));
    if ("fallback" in read) return read;
    const { tail, covered } = read;
    const parsed = parseLines(s.plan, tail);

    // From here on the checkpoint is used: the state is replaced (a failure: rebuilt from nothing by the caller).
    const engine = this.current;
    engine.clear(source);
    if (!engine.restore(source, cp.body.state)) return { fallback: "the checkpoint's groups are not the spec's" };
    s.admission.restore(cp.body.admission);
    s.late = new Map();
    for (const l of cp.body.late) s.late.set(`${l.group}\u0000${engine.entityKey(l.group, l.keys)}`, l);
    let applied = 0;
    for (const r of parsed.rows) {
      const id = s.uniqueOf(r);
      const kind = s.admission.classify(id, timeOf(s.plan, r));
      if (kind === "late") for (const x of engine.entitiesOf(source, r)) this.pendLate(s, { ...x, eventMs: timeOf(s.plan, r) });
      if (kind !== "new") continue;
      engine.apply(source, r);
      s.admission.applied(timeOf(s.plan, r));
      applied++;
    }
    s.covered = covered;
    s.offline = fingerprint;
    s.events = cp.header.events + applied;
    s.dirty = applied > 0;
    let corrected = 0;
    try {
      if (s.late.size) corrected = (await this.correctUntilDone((use) => use(store), s))?.updates.length ?? 0;
    } catch (e) {
      return { fallback: `the late events pending in the checkpoint could not be applied (${(e as Error).message})` };
    }
    for (const u of engine.rows(source)) onUpdate(u);
    return { source, from: "checkpoint", offlineRows: 0, segmentEvents: tail.length, invalidLines: parsed.invalid, applied, corrected, ms: Math.round(performance.now() - t0) };
  }

  /**
   * Applies the stored late events: recomputes only the group entities they
   * belong to (every event of theirs from src_<source> and the segments, once
   * each by `unique`), while events go on (see correctSource). `onUpdate` gets
   * each recomputed entity's row; returns how many were recomputed per source.
   * What the background corrections do by themselves (`autoCorrect`); a
   * reload runs it too.
   */
  async correctLate(store: Store, onUpdate: (u: StreamUpdate) => void): Promise<Array<{ source: string; entities: number; rowsRead: number }>> {
    const out: Array<{ source: string; entities: number; rowsRead: number }> = [];
    for (const s of this.sources.values()) {
      if (s.refusedBy !== null || s.late.size === 0) continue;
      const r = await this.correctUntilDone((use) => use(store), s);
      if (!r) continue; // segments compacted while they were read, every time: the marks stay for the next correction
      for (const u of r.updates) onUpdate(u);
      out.push({ source: s.plan.name, entities: r.updates.length, rowsRead: r.rowsRead });
    }
    return out;
  }

  /**
   * Corrects late events in the background from now on: `delay` after a late
   * event (at least 10× the last correction's time after it, so corrections
   * take at most a tenth of the time), `open` gives a store to read (closed
   * after), `onCorrected` the recomputed rows (their late marks clear).
   */
  autoCorrect(open: () => Promise<Store>, onCorrected: (updates: StreamUpdate[]) => void | Promise<void>, onError: (e: Error, source: string) => void = () => {}): void {
    this.corrector = { open, onCorrected, onError };
    if ([...this.sources.values()].some((s) => s.refusedBy === null && s.late.size > 0)) this.scheduleCorrection();
  }

  private corrector: { open: () => Promise<Store>; onCorrected: (updates: StreamUpdate[]) => void | Promise<void>; onError: (e: Error, source: string) => void } | null = null;
  private correctionTimer: NodeJS.Timeout | null = null;
  /** The correction running (one at a time: a reload's, the background's, a restart's). */
  private correcting: Promise<unknown> = Promise.resolve();

  private scheduleCorrection(): void {
    const every = correctEveryMs();
    if (!this.corrector || every === 0 || this.correctionTimer) return;
    const lastMs = Math.max(0, ...[...this.sources.values()].map((s) => s.corrections.lastMs));
    this.correctionTimer = setTimeout(() => void this.correctInBackground(), Math.max(every, 10 * lastMs));
    this.correctionTimer.unref();
  }

  private async correctInBackground(): Promise<void> {
    const c = this.corrector;
    if (!c) return;
    for (const s of this.sources.values()) {
      if (s.refusedBy !== null || s.late.size === 0) continue;
      try {
        const use = async <T>(fn: (store: Store) => Promise<T>): Promise<T> => {
          const store = await c.open();
          try {
            return await fn(store);
          } finally {
            await store.close();
          }
        };
        const r = await this.correctUntilDone(use, s);
        if (r) await c.onCorrected(r.updates);
      } catch (e) {
        // The store busy (a batch run writes it) or unreadable: the marks stay, the next try comes later.
        c.onError(e as Error, s.plan.name);
      }
    }
    this.correctionTimer = null;
    if ([...this.sources.values()].some((s) => s.refusedBy === null && s.late.size > 0)) this.scheduleCorrection();
  }

  /** correctSource, after the correction running, tried again (up to 3 times) when segments were compacted while read. */
  private correctUntilDone(use: StoreUse, s: StreamSource): Promise<{ updates: StreamUpdate[]; rowsRead: number } | null> {
    const run = this.correcting.then(async () => {
      for (let i = 0; i < 3; i++) {
        if (s.late.size === 0) return { updates: [], rowsRead: 0 };
        const r = await this.correctSource(use, s);
        if (r) return r;
      }
      return null;
    });
    this.correcting = run.catch(() => undefined);
    return run;
  }

  /**
   * Recomputes the entities of `s`'s pending late events from every event
   * they have, and clears them, without holding events: their segment lines
   * are read asynchronously while events go on (late-correction.ts), then
   * their offline rows; the lines appended meanwhile are read, the entities
   * recomputed and the marks cleared in one turn of the event loop — every
   * event applied so far is in what was read, every one applied later is
   * applied on top. Null: a segment was compacted while it was read (try again).
   */
  private async correctSource(use: StoreUse, s: StreamSource): Promise<{ updates: StreamUpdate[]; rowsRead: number } | null> {
    const t0 = performance.now();
    const source = s.plan.name;
    const targets: Targets = { keys: new Map(), values: new Map() };
    for (const l of s.late.values()) {
      const k = this.current.entityKey(l.group, l.keys);
      if (!targets.keys.has(l.group)) targets.keys.set(l.group, new Set());
      if (targets.keys.get(l.group)!.has(k)) continue;
      targets.keys.get(l.group)!.add(k);
      targets.values.set(l.group, [...(targets.values.get(l.group) ?? []), l.keys]);
    }
    const scan = new SegmentScan(s.writer.dir, s.plan, this.bundle, this.current, targets, s.writer.positions);
    // While much was appended during a read, read on (asynchronously); what is left is read in the last turn.
    for (let i = 0; i < 5 && (await scan.catchUp()) > 256 * 1024; i++);
    // The offline rows after the segments: a file compacted before it was read has its lines there by now.
    const offline = (await use((store) => readEntityRows(store, this.bundle, s.plan, targets.values))).rows;
    await scan.catchUp();
    // One turn from here: no event is applied between the last lines read and the recompute.
    if (!scan.finish()) return null;
    const rows = onceEachInTime(s, [...offline, ...scan.rows()]);
    const updates = this.current.recompute(source, targets.keys, rows);
    for (const [k, l] of s.late) if (targets.keys.get(l.group)?.has(this.current.entityKey(l.group, l.keys))) s.late.delete(k);
    s.dirty = true;
    s.corrections.runs++;
    s.corrections.entities += updates.length;
    s.corrections.lastMs = performance.now() - t0;
    s.corrections.linesRead = scan.linesRead;
    s.corrections.linesParsed = scan.linesParsed;
    return { updates, rowsRead: offline.length };
  }

  /**
   * Writes every stream's checkpoint now (the writer's streams with events
   * since the last one); returns the sources written. One runs at a time (they
   * write the same temp file); calls made while one runs share ONE checkpoint
   * after it (its state is taken later, so it covers what each of them asked
   * for): checkpoints asked for faster than they are written never pile up.
   */
  checkpoint(force = false): Promise<string[]> {
    if (this.nextCheckpoint) {
      this.nextCheckpoint.force ||= force;
      return this.nextCheckpoint.run;
    }
    if (!this.checkpointing) return this.startCheckpoint(force);
    const next = { force, run: Promise.resolve<string[]>([]) };
    next.run = this.checkpointing
      .catch(() => undefined)
      .then(() => {
        this.nextCheckpoint = null;
        return this.startCheckpoint(next.force);
      });
    this.nextCheckpoint = next;
    return next.run;
  }

  private startCheckpoint(force: boolean): Promise<string[]> {
    const run: Promise<string[]> = this.checkpointOnce(force).finally(() => {
      if (this.checkpointing === run) this.checkpointing = null;
    });
    this.checkpointing = run;
    return run;
  }

  private checkpointing: Promise<string[]> | null = null;
  private nextCheckpoint: { force: boolean; run: Promise<string[]> } | null = null;

  private async checkpointOnce(force: boolean): Promise<string[]> {
    const t0 = performance.now();
    let copyMs = 0;
    const taken = await this.exclusive(async () => {
      const c0 = performance.now();
      const out: Array<{ s: StreamSource; header: Parameters<typeof writeCheckpoint>[1]; body: BodyReader }> = [];
      for (const s of this.sources.values()) {
        if (s.refusedBy !== null || s.offline === null || (!s.dirty && !force)) continue;
        const segments: Record<string, SegmentPosition> = Object.fromEntries(s.covered);
        for (const [file, pos] of s.writer.positions) if ((segments[file]?.lines ?? -1) < pos.lines) segments[file] = { ...pos };
        const header = { source: s.plan.name, spec: specIdentity(this.bundle), offline: s.offline, segments, events: s.events, writtenAt: new Date().toISOString() };
        // Taken now, read while the checkpoint is serialized (copy-on-write): holding the gate costs no copy of the state.
        const admission = s.admission.beginSnapshot();
        const groups = this.current.beginSnapshot(s.plan.name);
        const end = () => {
          admission.end();
          for (const g of groups) g.reader.end();
        };
        out.push({ s, header, body: { watermark: admission.watermark, late: [...s.late.values()], seen: admission.next, groups, end } });
        s.dirty = false;
      }
      copyMs = performance.now() - c0;
      return out;
    });
    const written: string[] = [];
    for (const t of taken) {
      try {
        const w = await writeCheckpoint(t.s.writer.dir, t.header, t.body);
        t.s.checkpoints++;
        t.s.lastCheckpoint = { copyMs, serializeMs: w.serializeMs, totalMs: performance.now() - t0, bytes: w.bytes };
        written.push(t.s.plan.name);
      } catch (e) {
        t.s.dirty = true;
        this.onCheckpointError?.(`stream ${t.s.plan.name}: the checkpoint could not be written (${(e as Error).message}); the next restart replays more events`);
      }
    }
    return written;
  }

  /** Told when a checkpoint could not be written (the state is unaffected). */
  onCheckpointError: ((message: string) => void) | null = null;
  private timer: NodeJS.Timeout | null = null;

  private startCheckpoints(): void {
    const every = checkpointEveryMs();
    if (this.timer || every === 0) return;
    // A tick while one is still being written is skipped (the next tick takes the state then).
    this.timer = setInterval(() => void (this.checkpointing ? null : this.checkpoint().catch((e) => this.onCheckpointError?.((e as Error).message))), every);
    this.timer.unref();
  }

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
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.correctionTimer) clearTimeout(this.correctionTimer);
    this.corrector = null;
    await this.correcting;
    // A clean stop leaves a checkpoint (the streams this process writes, with events since the last one).
    await this.checkpoint().catch((e) => this.onCheckpointError?.((e as Error).message));
    for (const s of this.sources.values()) {
      await s.writer.close();
      for (const l of s.leases) await l.release();
      s.leases = [];
    }
  }
}

/**
 * The segment lines after what a checkpoint covers (`covered`, updated to
 * cover them): the rest of the files on disk, and the kept lines of files the
 * batch pipeline removed, in the order they were written (file, then line).
 * A covered file that is shorter, or gone and not kept, is a fallback.
 */
async function readTail(store: Store, source: string, dir: string, covered: Map<string, SegmentPosition>): Promise<{ tail: SegmentLine[]; covered: Map<string, SegmentPosition> } | { fallback: string }> {
  const tail: SegmentLine[] = [];
  const onDisk = segmentFiles(dir);
  for (const file of onDisk) {
    const from = covered.get(basename(file));
    if (from && from.bytes < 0) return { fallback: `segment ${basename(file)} is back in the segment folder after it was removed` };
    const t = readSegmentTail(file, from ?? { lines: 0, bytes: 0 });
    if (!t) return { fallback: `segment ${basename(file)} is shorter than the checkpoint covers` };
    tail.push(...t.lines);
    covered.set(basename(file), t.end);
  }
  const diskNames = onDisk.map((f) => basename(f));
  const kept = await keptPositions(store, source);
  for (const [file, pos] of covered) {
    if (!diskNames.includes(file) && (kept.get(file) ?? 0) < pos.lines) return { fallback: `segment ${file} the checkpoint covers is neither in the segment folder nor kept in the store` };
  }
  for (const k of await keptLinesAfter(store, source, diskNames, new Map([...covered].map(([f, p]) => [f, p.lines])))) {
    tail.push({ file: join(dir, k.file), line: k.line, text: k.text });
    const at = covered.get(k.file);
    if (!at || at.lines < k.line) covered.set(k.file, { lines: k.line, bytes: -1 });
  }
  tail.sort((a, b) => (a.file === b.file ? a.line - b.line : basename(a.file) < basename(b.file) ? -1 : 1));
  return { tail, covered };
}

/** The rows once each by `unique` (the first kept: the offline row before a segment's), in event-time order. */
function onceEachInTime({ plan, uniqueOf }: StreamSource, rows: StreamRow[]): StreamRow[] {
  const seen = new Set<Scalar>();
  const out = rows.filter((r) => {
    const id = uniqueOf(r);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  return out.sort((a, b) => timeOf(plan, a) - timeOf(plan, b));
}

/** Segment lines as validated rows (a line that is not a valid event of the spec as it is now: counted, skipped). */
function parseLines(plan: SourcePlan, lines: readonly SegmentLine[]): { rows: StreamRow[]; invalid: number } {
  const rows: StreamRow[] = [];
  let invalid = 0;
  for (const l of lines) {
    let value: unknown;
    try {
      value = JSON.parse(l.text);
    } catch {
      invalid++;
      continue;
    }
    const v = validateEvent(plan, value, []);
    if ("issues" in v) invalid++;
    else rows.push(v.row);
  }
  return { rows, invalid };
}
