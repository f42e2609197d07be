// The rows the spec's streams computed, held by the service in memory (without a
// shared online store): per group, each entity's latest streamed row, served
// before the online table's older one, and the entities whose row misses late
// events (cleared by the correction that applies them). See docs/streaming.md.

import type { Scalar, SpecBundle } from "../api.ts";
import type { StreamUpdate } from "../stream/engine.ts";
import { entityKey, type LateMark, type StreamedRow } from "./cache.ts";

export class StreamedRows {
  /** Per group, the entities' rows as the stream computed them. */
  private readonly rows = new Map<string, Map<string, StreamedRow>>();
  /** Per group, the entities whose streamed row misses late events. */
  private readonly lateMarks = new Map<string, Map<string, LateMark>>();
  private readonly featureNamesOf = new Map<string, string[]>();

  constructor(private readonly bundle: SpecBundle) {}

  /** A group's rows by entity key (what lookups serve before the table's older rows); undefined before its first. */
  of(group: string): Map<string, StreamedRow> | undefined {
    return this.rows.get(group);
  }

  /** A group's late-event marks by entity key; undefined when none were ever marked. */
  marksOf(group: string): Map<string, LateMark> | undefined {
    return this.lateMarks.get(group);
  }

  /** Some entity may miss late events (a reload then recomputes them). */
  get anyMarked(): boolean {
    return this.lateMarks.size > 0;
  }

  /** The entity has every stored event applied: its mark goes. */
  clearMark(group: string, key: string): void {
    this.lateMarks.get(group)?.delete(key);
  }

  markLate(group: string, key: string, eventMs: number): void {
    let marks = this.lateMarks.get(group);
    if (!marks) this.lateMarks.set(group, (marks = new Map()));
    const m = marks.get(key);
    const at = new Date(eventMs).toISOString();
    if (!m) marks.set(key, { events: 1, oldest_event_time: at });
    else marks.set(key, { events: m.events + 1, oldest_event_time: at < m.oldest_event_time ? at : m.oldest_event_time });
  }

  /**
   * An entity's streamed row, updated in place: a new row object per event
   * outlived the young generation (an entity's row lives until its next event)
   * and became old-space garbage, which brings the server's major GCs sooner.
   * Lookups read a row synchronously, so none sees it half-updated.
   */
  apply(u: StreamUpdate): void {
    let rows = this.rows.get(u.group);
    if (!rows) this.rows.set(u.group, (rows = new Map()));
    const names = this.featureNames(u.group);
    const key = entityKey(u.keys);
    const row = rows.get(key);
    if (row) {
      row.eventMs = u.eventMs;
      for (let i = 0; i < names.length; i++) row.values[names[i]] = u.values[i];
      return;
    }
    const values: Record<string, Scalar> = {};
    for (let i = 0; i < names.length; i++) values[names[i]] = u.values[i];
    rows.set(key, { eventMs: u.eventMs, values });
  }

  private featureNames(group: string): string[] {
    let names = this.featureNamesOf.get(group);
    if (!names) this.featureNamesOf.set(group, (names = this.bundle.groups.find((g) => g.name === group)!.features.map((f) => f.name)));
    return names;
  }
}
