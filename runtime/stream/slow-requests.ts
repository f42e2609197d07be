// Where the time of the slow events requests goes, phase by phase, per
// source: what `/metrics` shows (fti_stream_slow_request_seconds_total) and
// the stream suite prints beside the freshness it measures. A request's time
// in the server, from the call of `StreamService.ingest` to its events
// applied, is cut at the moments it passes:
//
//   validate  the events validated (and a writer lease confirmed)
//   gate      waiting while a checkpoint takes the state (it waits for the
//             appends in flight) or a late-event correction ends
//   queue     waiting for a segment write to end (3 overlap; group commit
//             beyond that: the next write carries every request that
//             arrived meanwhile)
//   write     the durable write carrying its events (O_DSYNC: the disk),
//             to its acknowledgement (in order: after every earlier write)
//   resume    the write done, its continuation not run yet (the event loop
//             busy with other work, or waiting for a CPU)
//   apply     the incremental update of every group, the online rows
//
// Only requests over SLOW_REQUEST_MS are added up: the phases of the tail,
// not of the median. The time before `ingest` (the socket, the HTTP parse,
// the body's JSON) and after (the answer's write) is the event loop's: the
// stream suite's stall probe covers it.

/** From this many milliseconds in the server, an events request is counted as slow. */
export const SLOW_REQUEST_MS = 10;

export const INGEST_PHASES = ["validate", "gate", "queue", "write", "resume", "apply"] as const;
export type IngestPhase = (typeof INGEST_PHASES)[number];

/** The moments (performance.now() ms) an events request passed, in order. */
export interface IngestMarks {
  start: number;
  validated: number;
  pastGate: number;
  /** The append called: its write starts at once, or once one of those in flight is done. */
  appended: number;
  writeStart: number;
  writeEnd: number;
  /** The continuation after the durable append ran. */
  durable: number;
  applied: number;
}

/** The slow requests of one source: how many, and their time per phase. */
export class SlowRequests {
  requests = 0;
  readonly ms: Record<IngestPhase, number> = { validate: 0, gate: 0, queue: 0, write: 0, resume: 0, apply: 0 };

  /** Adds a request's phases when it took over SLOW_REQUEST_MS. */
  note(m: IngestMarks): void {
    if (m.applied - m.start <= SLOW_REQUEST_MS) return;
    this.requests++;
    this.ms.validate += m.validated - m.start;
    this.ms.gate += m.pastGate - m.validated;
    // A write never starts before the append that it carries was called; a request with nothing to store has no write.
    const start = Math.max(m.writeStart, m.appended);
    const end = Math.max(m.writeEnd, start);
    this.ms.queue += start - m.appended;
    this.ms.write += end - start;
    this.ms.resume += m.durable - end;
    this.ms.apply += m.applied - m.durable;
  }
}
