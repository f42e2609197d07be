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
import { ident } from "../store/sql.ts";
import { Admission, type Admitted } from "./admission.ts";
import { StreamEngine, type StreamUpdate } from "./engine.ts";
import { readSegmentLines, SegmentWriter, streamDir } from "./segments.ts";
import { segmentLine, validateEvent, type EventIssue } from "./validate.ts";
import type { WriterLease } from "./writer-lock.ts";

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
  /** Replaced by a rebuild. */
  admission: Admission;
  writer: SegmentWriter;
  counts: Record<Admitted | "rejected", number>;
  /** Null: this process is the stream's writer (or nothing was claimed); else who is (writer-lock.ts). */
  refusedBy: string | null;
  leases: WriterLease[];
}

export interface RebuildReport {
  source: string;
  /** Rows read from src_<source> and events from the segments (before de-duplication). */
  offlineRows: number;
  segmentEvents: number;
  /** Segment lines that are not valid events any more (e.g. the spec changed): skipped. */
  invalidLines: number;
  applied: number;
  ms: number;
}

const uniqueOf = (plan: SourcePlan, row: StreamRow): Scalar => {
  const v = row[plan.unique!];
  return v instanceof Date ? v.toISOString() : (v ?? null);
};
const timeOf = (plan: SourcePlan, row: StreamRow): number => (row[plan.eventTime!] as Date).getTime();

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
  ) {
    this.current = new StreamEngine(bundle);
    for (const plan of bundle.sources) {
      if (!plan.stream || !plan.unique || !plan.eventTime) continue;
      this.sources.set(plan.name, {
        plan,
        admission: new Admission(plan.stream.latenessMs),
        writer: new SegmentWriter(streamDir(storePath, plan.name)),
        counts: { new: 0, duplicate: 0, late: 0, rejected: 0 },
        refusedBy: null,
        leases: [],
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
    const s = this.sources.get(source);
    if (!s) {
      const known = this.names();
      return { ok: false, status: 404, code: "unknown_stream", message: `no stream source named ${JSON.stringify(source).slice(0, 82)}; streams: ${known.length ? known.join(", ") : "none (declare `stream` in a source)"}` };
    }
    if (s.refusedBy !== null) {
      const message = `this server does not take the events of \`${source}\`: its writer is ${s.refusedBy}; one process applies a stream (two would each hold half of its state): send the events there`;
      return { ok: false, status: 409, code: "stream_has_another_writer", message };
    }
    const rows: StreamRow[] = [];
    const issues: EventIssue[] = [];
    let rejected = 0;
    events.forEach((e, i) => {
      const v = validateEvent(s.plan, e, at(i));
      if ("issues" in v) {
        rejected++;
        issues.push(...v.issues);
      } else rows.push(v.row);
    });
    if (issues.length) {
      s.counts.rejected += rejected;
      return { ok: false, status: 400, code: "invalid_events", message: `${rejected} of ${events.length} event${events.length === 1 ? "" : "s"} of \`${source}\` ${rejected === 1 ? "is" : "are"} invalid; none was stored`, issues: issues.slice(0, 1000) };
    }
    while (this.gate) await this.gate;
    this.inflight++;
    try {
      return await this.admit(s, source, rows, events.length);
    } finally {
      if (--this.inflight === 0) this.drained?.();
    }
  }

  /** Classifies, stores (fsync) and applies validated rows; the late ones mark the entities they belong to. */
  private async admit(s: StreamSource, source: string, rows: StreamRow[], received: number): Promise<IngestOutcome> {
    const kinds = rows.map((r) => s.admission.classify(uniqueOf(s.plan, r), timeOf(s.plan, r)));
    const stored = rows.filter((_, i) => kinds[i] !== "duplicate");
    try {
      await s.writer.append(stored.map((r) => segmentLine(s.plan, r)));
    } catch (e) {
      rows.forEach((r, i) => kinds[i] === "new" && s.admission.release(uniqueOf(s.plan, r)));
      return { ok: false, status: 503, code: "stream_unavailable", message: `the events could not be stored durably (${(e as Error).message}); none was applied, send them again` };
    }
    const updates: StreamUpdate[] = [];
    const late: LateEntity[] = [];
    rows.forEach((r, i) => {
      s.counts[kinds[i]]++;
      if (kinds[i] === "late") {
        for (const x of this.current.entitiesOf(source, r)) late.push({ ...x, eventMs: timeOf(s.plan, r) });
      }
      if (kinds[i] !== "new") return;
      for (const u of this.current.apply(source, r)) updates.push(u);
      s.admission.applied(timeOf(s.plan, r));
    });
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
   * The state at start: every row of src_<source> (the offline store as of the
   * last batch run) and every event of the segments, once each by `unique`,
   * applied in event-time order. Returns the entities' online rows.
   */
  async rebuild(store: Store, onUpdate: (u: StreamUpdate) => void, opts: { refused?: boolean } = {}): Promise<RebuildReport[]> {
    const reports: RebuildReport[] = [];
    for (const s of this.sources.values()) {
      // A stream another process writes: its state as of now only when asked (an in-memory replica serves it).
      if (s.refusedBy === null || opts.refused) reports.push(await this.rebuildSource(store, s, this.current, s.admission, onUpdate));
    }
    return reports;
  }

  /**
   * The state again from nothing, into a fresh engine and admission swapped in
   * only when complete (a failed read leaves the state as it was), while new
   * requests wait at the gate and none is between admission and apply: what
   * applies the late events once (docs/streaming.md, late events). `onUpdate`
   * then gets every entity's row of the new state.
   */
  async rebuildAgain(store: Store, onUpdate: (u: StreamUpdate) => void): Promise<RebuildReport[]> {
    let open!: () => void;
    while (this.gate) await this.gate;
    this.gate = new Promise<void>((done) => (open = done));
    try {
      if (this.inflight > 0) await new Promise<void>((done) => (this.drained = done));
      this.drained = null;
      const engine = new StreamEngine(this.bundle);
      const admissions = new Map<StreamSource, Admission>();
      const rows = new Map<string, StreamUpdate>();
      const reports: RebuildReport[] = [];
      for (const s of this.sources.values()) {
        if (s.refusedBy !== null) continue; // another process writes it (and marks its late events)
        const admission = new Admission(s.plan.stream!.latenessMs);
        admissions.set(s, admission);
        reports.push(await this.rebuildSource(store, s, engine, admission, (u) => rows.set(`${u.group}\u0000${JSON.stringify(u.keys)}`, u)));
      }
      this.current = engine;
      for (const [s, a] of admissions) s.admission = a;
      for (const u of rows.values()) onUpdate(u);
      return reports;
    } finally {
      this.gate = null;
      open();
    }
  }

  private async rebuildSource(store: Store, s: StreamSource, engine: StreamEngine, admission: Admission, onUpdate: (u: StreamUpdate) => void): Promise<RebuildReport> {
    const t0 = performance.now();
    const offline = await readOffline(store, s.plan);
    const lines = readSegmentLines(s.writer.dir);
    let invalidLines = 0;
    const all = [...offline];
    for (const l of lines) {
      let value: unknown;
      try {
        value = JSON.parse(l.text);
      } catch {
        invalidLines++;
        continue;
      }
      const v = validateEvent(s.plan, value, []);
      if ("issues" in v) invalidLines++;
      else all.push(v.row);
    }
    const seen = new Set<Scalar>();
    const unique = all.filter((r) => {
      const id = uniqueOf(s.plan, r);
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
    unique.sort((a, b) => timeOf(s.plan, a) - timeOf(s.plan, b));
    for (const r of unique) {
      for (const u of engine.apply(s.plan.name, r)) onUpdate(u);
      admission.classify(uniqueOf(s.plan, r), timeOf(s.plan, r));
      admission.applied(timeOf(s.plan, r));
    }
    return { source: s.plan.name, offlineRows: offline.length, segmentEvents: lines.length, invalidLines, applied: unique.length, ms: Math.round(performance.now() - t0) };
  }

  /** Counters and state, per source. */
  stats(): Array<{ source: string; counts: StreamSource["counts"]; watermarkMs: number; uniqueHeld: number; written: number; syncs: number }> {
    return [...this.sources.values()].map((s) => ({
      source: s.plan.name,
      counts: { ...s.counts },
      watermarkMs: s.admission.watermark,
      uniqueHeld: s.admission.size,
      written: s.writer.written,
      syncs: s.writer.syncs,
    }));
  }

  async close(): Promise<void> {
    for (const s of this.sources.values()) {
      await s.writer.close();
      for (const l of s.leases) await l.release();
      s.leases = [];
    }
  }
}

/** The validated rows of a stream source in the offline store ([] before the first batch run). */
async function readOffline(store: Store, plan: SourcePlan): Promise<StreamRow[]> {
  const table = `src_${plan.name}`;
  if (!(await store.tableExists(table))) return [];
  const have = new Set((await store.tableColumns(table)).map((c) => c.name));
  if (!plan.fields.every((f) => have.has(f.name))) return [];
  const rows = await store.all<Record<string, unknown>>(`SELECT ${plan.fields.map((f) => ident(f.name)).join(", ")} FROM ${ident(table)}`);
  return rows.map((r) => {
    const row: StreamRow = {};
    for (const f of plan.fields) row[f.name] = (r[f.name] ?? null) as Scalar | Date;
    return row;
  });
}
