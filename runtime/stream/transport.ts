// The consumer interface of the streaming pipeline: a transport hands a
// source's events to an EventSink and learns whether they are durable and
// applied. HTTP push (online/http.ts → OnlineService.pushEvents) calls the
// sink per request; a log consumer (redis-consumer.ts) reads batches from a
// broker, calls the sink, and acknowledges to the broker only what the sink
// accepted. Another log (Kafka: a consumer group, commit the offsets of the
// batch after the sink resolves) is one more implementation of EventConsumer;
// see docs/streaming.md.

import type { IngestOutcome } from "./service.ts";

/** Validates (all or nothing), stores durably and applies a batch of one source's events. */
export interface EventSink {
  ingest(source: string, events: unknown[]): Promise<IngestOutcome>;
}

export interface ConsumerStats {
  transport: string;
  source: string;
  /** Messages read and acknowledged after a durable apply (accepted, duplicates, late), and refused as invalid (acknowledged too, kept aside). */
  acked: number;
  rejected: number;
  /** Entries of the log not yet delivered to this consumer group (null when the broker cannot say). */
  lag: number | null;
  /** Delivered but not acknowledged (in flight, or left by a crashed consumer). */
  pending: number | null;
  /** The last error, while the consumer cannot read or apply (it retries). */
  error: string | null;
}

/** A log the service reads events from, in the background. */
export interface EventConsumer {
  readonly transport: string;
  start(sink: EventSink): Promise<void>;
  stop(): Promise<void>;
  /** Counters, and the lag asked of the broker now. */
  stats(): Promise<ConsumerStats[]>;
}
