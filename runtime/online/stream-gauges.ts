// The streams' counters and state as /metrics gauges (the service's `gauges()`
// adds them to its own): events by outcome, freshness, syncs, the brokers' lag,
// restarts, checkpoints, slow requests, late events, incremental state.

import type { StreamService } from "../stream/service.ts";
import { INGEST_PHASES, SLOW_REQUEST_MS } from "../stream/slow-requests.ts";
import type { ConsumerStats } from "../stream/transport.ts";

/** `consumerStats`: the brokers' lag as of the last refresh (the service asks before each scrape). */
export function streamGauges(streams: StreamService | null, consumerStats: readonly ConsumerStats[], now: number) {
  const stats = streams?.stats() ?? [];
  return [
    {
      name: "fti_stream_events_total",
      help: "Events received per stream source, by outcome: accepted (applied), duplicate (unique value seen), late (stored, not applied online), rejected (invalid).",
      type: "counter" as const,
      values: stats.flatMap((s) =>
        (["new", "duplicate", "late", "rejected"] as const).map((k) => ({ labels: { source: s.source, status: k === "new" ? "accepted" : k }, value: s.counts[k] })),
      ),
    },
    {
      name: "fti_stream_freshness_seconds",
      help: "Now minus the event time of the newest event applied, per stream source (NaN before the first).",
      values: stats.map((s) => ({ labels: { source: s.source }, value: Number.isFinite(s.watermarkMs) ? (now - s.watermarkMs) / 1000 : NaN })),
    },
    {
      name: "fti_stream_segment_syncs_total",
      help: "fdatasync calls of the stream segments, per source (events share a sync when they arrive together).",
      type: "counter" as const,
      values: stats.map((s) => ({ labels: { source: s.source }, value: s.syncs })),
    },
    {
      name: "fti_stream_consumer_lag",
      help: "Messages of a stream's log not yet delivered to fti's consumer group, per source and transport (as of the last scrape's refresh).",
      values: consumerStats.filter((c) => c.lag !== null).map((c) => ({ labels: { source: c.source, transport: c.transport }, value: c.lag! })),
    },
    {
      name: "fti_stream_consumer_pending",
      help: "Messages delivered but not yet acknowledged (being applied, or left by a crash and read again), per source and transport.",
      values: consumerStats.filter((c) => c.pending !== null).map((c) => ({ labels: { source: c.source, transport: c.transport }, value: c.pending! })),
    },
    {
      name: "fti_stream_consumer_messages_total",
      help: "Messages read from a stream's log, per source, transport and outcome: acked (durable and applied) or rejected (invalid, set aside).",
      type: "counter" as const,
      values: consumerStats.flatMap((c) => [
        { labels: { source: c.source, transport: c.transport, outcome: "acked" }, value: c.acked },
        { labels: { source: c.source, transport: c.transport, outcome: "rejected" }, value: c.rejected },
      ]),
    },
    {
      name: "fti_stream_restart_events",
      help: "Events the stream's state was rebuilt from at this server's start, per source and how: from=checkpoint (the events after its checkpoint) or from=history (every stored event).",
      values: stats.flatMap((s) => (s.rebuilt ? [{ labels: { source: s.source, from: s.rebuilt.from }, value: s.rebuilt.events }] : [])),
    },
    {
      name: "fti_stream_checkpoints_total",
      help: "Checkpoints of the stream's state written by this server, per source.",
      type: "counter" as const,
      values: stats.map((s) => ({ labels: { source: s.source }, value: s.checkpoints })),
    },
    {
      name: "fti_stream_checkpoint_blocking_seconds",
      help: "The last checkpoint of the stream's state, per source: the longest it held the event loop at once (the state taken while new events waited — no copy: copy-on-write —, plus the longest slice of its serialization).",
      values: stats.flatMap((s) => (s.lastCheckpoint ? [{ labels: { source: s.source }, value: (s.lastCheckpoint.copyMs + s.lastCheckpoint.serializeMs) / 1000 }] : [])),
    },
    {
      name: "fti_stream_slow_requests_total",
      help: `Events requests that took over ${SLOW_REQUEST_MS} ms in the server (validated, durable, applied), per source.`,
      type: "counter" as const,
      values: stats.map((s) => ({ labels: { source: s.source }, value: s.slow.requests })),
    },
    {
      name: "fti_stream_slow_request_seconds_total",
      help: "Where the slow events requests' time went, per source and phase: validate; gate (a checkpoint taking the state, a correction ending); queue (the segment write in flight: group commit); write (the durable write); resume (the event loop busy before the write's continuation ran); apply (the incremental update).",
      type: "counter" as const,
      values: stats.flatMap((s) => INGEST_PHASES.map((phase) => ({ labels: { source: s.source, phase }, value: s.slow.ms[phase] / 1000 }))),
    },
    {
      name: "fti_stream_unique_values",
      help: "Unique values held to recognise duplicates (those of the lateness span), per source, and the bytes they take off the JS heap.",
      values: stats.flatMap((s) => [
        { labels: { source: s.source, measure: "values" }, value: s.uniqueHeld },
        { labels: { source: s.source, measure: "bytes" }, value: s.uniqueBytes },
      ]),
    },
    {
      name: "fti_stream_late_pending",
      help: "Group entities whose online row misses a late event not yet corrected, per source.",
      values: stats.map((s) => ({ labels: { source: s.source }, value: s.latePending })),
    },
    {
      name: "fti_stream_late_corrections_total",
      help: "Late-event corrections run (entities recomputed from every event they have), per source.",
      type: "counter" as const,
      values: stats.map((s) => ({ labels: { source: s.source }, value: s.corrections.runs })),
    },
    {
      name: "fti_stream_state_entities",
      help: "Entities with incremental state, per streamed feature group.",
      values: (streams?.engine.stats() ?? []).map((g) => ({ labels: { group: g.group }, value: g.entities })),
    },
    {
      name: "fti_stream_state_rows",
      help: "Input rows held for the windows, per streamed feature group (the rows of each entity's longest frame).",
      values: (streams?.engine.stats() ?? []).map((g) => ({ labels: { group: g.group }, value: g.rows })),
    },
  ];
}
