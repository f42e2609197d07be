// Which events of one stream source are applied online: new ones, once each.
// The watermark is the newest event time applied; an event older than
// `watermark − lateness` is late (stored, computed by the next batch run, not
// applied online); a `unique` value seen within the lateness is a duplicate
// (acknowledged, not applied again). Only the unique values of events within
// the lateness are kept, so memory is bounded by the events of one lateness
// span; they are kept off the JS heap, exactly (unique-set.ts). See
// docs/streaming.md.

import type { Scalar } from "../api.ts";
import { UniqueSet } from "./unique-set.ts";

export type Admitted = "new" | "duplicate" | "late";

/** What a checkpoint keeps of admission: the watermark and the unique values within the lateness. */
export interface AdmissionSnapshot {
  watermark: number;
  seen: Array<[string, number]>;
}

export class Admission {
  /** Newest event time applied (epoch ms). */
  watermark = -Infinity;
  /**
   * unique value → event time, for events at or after watermark − lateness
   * (and those being written now); a late event's value is held with the
   * watermark of its arrival (a later event with its value is a duplicate of it).
   */
  private seen = new UniqueSet();
  private sinceSweep = 0;
  /** Snapshots being read: sweeps wait for them (a sweep deletes in place what a reader has not read yet). */
  private readers = 0;

  constructor(readonly latenessMs: number) {}

  private static key(id: Scalar): string {
    return typeof id === "string" ? id : `\u0000${JSON.stringify(id)}`;
  }

  /**
   * Classifies an event and, when new, reserves its unique value at once (a
   * concurrent request with the same value is then a duplicate); `release`
   * undoes that when the event could not be stored.
   */
  classify(id: Scalar, t: number): Admitted {
    const k = Admission.key(id);
    if (t < this.watermark - this.latenessMs) return this.seen.add(k, this.watermark) ? "late" : "duplicate";
    return this.seen.add(k, t) ? "new" : "duplicate";
  }

  release(id: Scalar): void {
    this.seen.delete(Admission.key(id));
  }

  /**
   * A new event was stored and applied: the watermark moves; every 1,024
   * events the oldest chunk of unique values out of the lateness is dropped
   * (unique-set.ts: a few thousand values per sweep, faster than they come).
   */
  applied(t: number): void {
    if (t > this.watermark) this.watermark = t;
    if (++this.sinceSweep >= 1024 && this.readers === 0) {
      this.sinceSweep = 0;
      this.seen.sweep(this.watermark - this.latenessMs, 1);
    }
  }

  /** The watermark and the unique values still within the lateness (older ones decide nothing: their events are late). */
  snapshot(): AdmissionSnapshot {
    const r = this.beginSnapshot();
    const seen: Array<[string, number]> = [];
    for (let part = r.next(Infinity); part.length; part = r.next(Infinity)) seen.push(...part);
    r.end();
    return { watermark: r.watermark, seen };
  }

  /**
   * The same as of now, its unique values read afterwards, a few at a time (a
   * checkpoint serializes them over many turns of the event loop). The values
   * of now are the set's entries as of now in insertion order, and stay so
   * while it is read: values added later go after them, only those are ever
   * released, sweeps wait, and `restore` puts a new set in place.
   */
  beginSnapshot(): { watermark: number; next(max: number): Array<[string, number]>; end(): void } {
    const floor = this.watermark - this.latenessMs;
    const cursor = this.seen.cursor();
    let open = true;
    this.readers++;
    return {
      watermark: this.watermark,
      next: (max) => cursor.next(max, floor),
      end: () => {
        if (open) this.readers--;
        open = false;
      },
    };
  }

  restore(snap: AdmissionSnapshot): void {
    this.seen = new UniqueSet();
    for (const [k, t] of snap.seen) this.seen.add(k, t);
    this.watermark = snap.watermark;
    this.sinceSweep = 0;
  }

  /** Unique values held (for the state metrics). */
  get size(): number {
    return this.seen.size;
  }

  /** Bytes they take, off the JS heap. */
  get bytes(): number {
    return this.seen.bytes;
  }
}
