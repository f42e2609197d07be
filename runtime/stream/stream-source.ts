// One stream source as the StreamService holds it: its admission (duplicates,
// lateness), segment writer, leases, what its state covers, its late events
// pending and its counters; and the row helpers every part of the service uses.

import type { Scalar, SourcePlan, StreamRow } from "../api.ts";
import { Admission, type Admitted } from "./admission.ts";
import type { OfflineFingerprint, PendingLate } from "./checkpoint.ts";
import type { StreamEngine } from "./engine.ts";
import { SegmentWriter, streamDir, type SegmentPosition } from "./segments.ts";
import { SlowRequests } from "./slow-requests.ts";
import { streamUniqueKey } from "./unique-field.ts";
import type { WriterLease } from "./writer-lock.ts";

/** A group entity whose online row misses a late event (stored, not applied): marked until a rebuild applies it. */
export interface LateEntity {
  group: string;
  keys: Scalar[];
  eventMs: number;
}

export interface StreamSource {
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

/** A stream source's state before anything was claimed, rebuilt or received (`plan` has `stream`, `unique` and `eventTime`); its segments under the store's stream folder. */
export function newStreamSource(plan: SourcePlan, storePath: string): StreamSource {
  return {
    plan,
    uniqueOf: streamUniqueKey(plan),
    admission: new Admission(plan.stream!.latenessMs),
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
  };
}

export const timeOf = (plan: SourcePlan, row: StreamRow): number => (row[plan.eventTime!] as Date).getTime();

/** Notes a late event's group entity as not applied yet (what a checkpoint keeps, and a correction recomputes). */
export function pendLate(engine: StreamEngine, s: StreamSource, l: LateEntity): LateEntity {
  const k = `${l.group}\u0000${engine.entityKey(l.group, l.keys)}`;
  const had = s.late.get(k);
  if (!had || l.eventMs < had.eventMs) s.late.set(k, { group: l.group, keys: l.keys, eventMs: l.eventMs });
  return l;
}

/** The rows once each by `unique` (the first kept: the offline row before a segment's), in event-time order. */
export function onceEachInTime({ plan, uniqueOf }: StreamSource, rows: StreamRow[]): StreamRow[] {
  const seen = new Set<Scalar>();
  const out = rows.filter((r) => {
    const id = uniqueOf(r);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  return out.sort((a, b) => timeOf(plan, a) - timeOf(plan, b));
}

