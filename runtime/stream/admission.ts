// Which events of one stream source are applied online: new ones, once each.
// The watermark is the newest event time applied; an event older than
// `watermark − lateness` is late (stored, computed by the next batch run, not
// applied online); a `unique` value seen within the lateness is a duplicate
// (acknowledged, not applied again). Only the unique values of events within
// the lateness are kept, so memory is bounded by the events of one lateness
// span. See docs/streaming.md.

import type { Scalar } from "../api.ts";

export type Admitted = "new" | "duplicate" | "late";

/** What a checkpoint keeps of admission: the watermark and the unique values within the lateness. */
export interface AdmissionSnapshot {
  watermark: number;
  seen: Array<[string, number]>;
}

export class Admission {
  /** Newest event time applied (epoch ms). */
  watermark = -Infinity;
  /** unique value → event time, for events at or after watermark − lateness (and those being written now). */
  private seen = new Map<string, number>();
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
    if (this.seen.has(k)) return "duplicate";
    if (t < this.watermark - this.latenessMs) return "late";
    this.seen.set(k, t);
    return "new";
  }

  release(id: Scalar): void {
    this.seen.delete(Admission.key(id));
  }

  /** A new event was stored and applied: the watermark moves; unique values out of the lateness are dropped now and then. */
  applied(t: number): void {
    if (t > this.watermark) this.watermark = t;
    if (++this.sinceSweep >= 4096 && this.sinceSweep >= this.seen.size / 2) this.sweep();
  }

  private sweep(): void {
    if (this.readers > 0) return; // the next applied event tries again
    this.sinceSweep = 0;
    const floor = this.watermark - this.latenessMs;
    for (const [k, t] of this.seen) if (t < floor) this.seen.delete(k);
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
   * of now are the map's first `size` entries in insertion order, and stay so
   * while it is read: values added later go after them, only those are ever
   * released, sweeps wait, and `restore` puts a new map in place.
   */
  beginSnapshot(): { watermark: number; next(max: number): Array<[string, number]>; end(): void } {
    const floor = this.watermark - this.latenessMs;
    const entries = this.seen.entries();
    let left = this.seen.size;
    let open = true;
    this.readers++;
    return {
      watermark: this.watermark,
      next: (max) => {
        const out: Array<[string, number]> = [];
        while (left > 0 && out.length < max) {
          const n = entries.next();
          if (n.done) break;
          left--;
          if (n.value[1] >= floor) out.push(n.value);
        }
        return out;
      },
      end: () => {
        if (open) this.readers--;
        open = false;
      },
    };
  }

  restore(snap: AdmissionSnapshot): void {
    this.seen = new Map();
    for (const [k, t] of snap.seen) this.seen.set(k, t);
    this.watermark = snap.watermark;
    this.sinceSweep = 0;
  }

  /** Unique values held (for the state metrics). */
  get size(): number {
    return this.seen.size;
  }
}
