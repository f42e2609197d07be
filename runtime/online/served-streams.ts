// The spec's streams as the online service serves them: events in (HTTP push,
// a broker such as Redis Streams), each request's changed rows applied to the
// rows held in memory — or written to the shared online store —, the entities
// marked as missing late events until their correction, the state rebuilt at
// start. stream/service.ts is the streams themselves (validation, segments,
// engine, checkpoints); this is what serving adds around them.

import type { SpecBundle } from "../api.ts";
import { UserError } from "../errors.ts";
import type { Store } from "../store/store.ts";
import type { StreamUpdate } from "../stream/engine.ts";
import type { IngestOutcome, StreamService } from "../stream/service.ts";
import type { ConsumerStats, EventConsumer } from "../stream/transport.ts";
import { entityKey } from "./cache.ts";
import { HistogramSet } from "./metrics.ts";
import type { RedisOnlineStore } from "./redis-store.ts";
import type { Logger } from "./service.ts";
import { isBusy, openReadOnly } from "./store-watch.ts";
import { streamGauges } from "./stream-gauges.ts";
import { StreamedRows } from "./streamed-rows.ts";

export interface StreamsHost {
  bundle: SpecBundle;
  logger: Logger;
  storePath: string;
  /** The pinned request time (`--now`), if any. */
  asOf: Date | null;
  /** The shared online store, once connected (null: the rows are held in memory). */
  remote(): RedisOnlineStore | null;
}

export class ServedStreams {
  /** The rows the streams computed (served before the online table's older rows) and their late-event marks. */
  readonly rows: StreamedRows;
  /** Seconds from an events request's arrival to its events being durable and applied, per source. */
  readonly applyLatency = new HistogramSet("fti_stream_apply_seconds", "Events requests: arrival to durable and applied (validation, fsync, incremental update), per source.", "source");
  /** Logs the streams are read from (Redis Streams), besides HTTP push. */
  private readonly consumers: EventConsumer[] = [];
  private consumerStats: ConsumerStats[] = [];

  constructor(
    /** The spec's stream sources; null without any. */
    readonly service: StreamService | null,
    private readonly host: StreamsHost,
  ) {
    this.rows = new StreamedRows(host.bundle);
  }

  private get remote(): RedisOnlineStore | null {
    return this.host.remote();
  }

  /**
   * One writer per stream (stream/writer-lock.ts): the lock file in its
   * segment directory and, with a shared store, its lease there. A stream
   * another process writes is served from what that writer materialized and
   * (shared store) streamed; its events are refused here. Reading a broker
   * (`--redis`) needs every stream: refused at start.
   */
  async claim(consumer: boolean): Promise<void> {
    if (!this.service) return;
    const { FileWriterLock } = await import("../stream/writer-lock.ts");
    const refused = await this.service.claim((source, dir) => [new FileWriterLock(dir), ...(this.remote ? [this.remote.lease(source)] : [])]);
    for (const r of refused) {
      if (consumer) throw new UserError(`stream \`${r.source}\` already has a writer: ${r.holder}`, "one process reads a stream's events; stop that one, or start this server without --redis to serve predictions only");
      this.host.logger.warn(`stream \`${r.source}\`: its writer is ${r.holder}; this server serves predictions and refuses its events (409)`);
    }
  }

  /**
   * At start: the streams' state from their checkpoints and the events after
   * them, or from the offline store and the segments (docs/streaming.md).
   * `again`: at a reload while late events are marked, the entities they
   * belong to are recomputed (they are in the store or the segments): their marks clear.
   */
  async rebuild(store: Store, again = false): Promise<void> {
    // With a shared store, only each entity's final row is written, once the rebuild is done.
    const latest = new Map<string, StreamUpdate>();
    // In memory, a replica also rebuilds the streams it does not write: it serves their state as of its start (their new
    // events go to the writer). With a shared store it reads the writer's rows there instead.
    const onUpdate = (u: StreamUpdate) => {
      if (again) this.rows.clearMark(u.group, entityKey(u.keys));
      if (this.remote) latest.set(`${u.group}\u0000${entityKey(u.keys)}`, u);
      else this.rows.apply(u);
    };
    this.service!.onCheckpointError = (m) => this.host.logger.error(m);
    if (again) {
      for (const c of await this.service!.correctLate(store, onUpdate)) this.host.logger.info(`stream ${c.source}: ${c.entities} entities with late events recomputed (${c.rowsRead} of their offline rows read)`);
    }
    const reports = again ? [] : await this.service!.rebuild(store, onUpdate, { refused: !this.remote });
    // From now on late events are corrected by themselves, in the background (stream/service.ts `autoCorrect`).
    if (!again) {
      this.service!.autoCorrect(
        () => openReadOnly(this.host.storePath, 5_000),
        (updates) => this.applyCorrected(updates),
        // Busy while `fti features` writes the store: expected, the next try comes later.
        (e, source) => isBusy(e) || this.host.logger.warn(`stream ${source}: late events not corrected yet (${e.message}); tried again later`),
      );
    }
    if (this.remote && latest.size) {
      // Every entity rebuilt or recomputed has every stored event applied: its late-event mark in Redis goes (a killed writer's included).
      const cleared = [...latest.values()].map((u) => ({ group: u.group, key: entityKey(u.keys), mark: null }));
      await this.remote.writeStreamed(this.host.bundle, [...latest.values()], cleared).catch((e) => this.host.logger.error(`stream rows not yet in the online store (retried every second): ${(e as Error).message}`));
    }
    if (!again && this.host.asOf) this.warnStreamsAfterPin(this.host.asOf);
    for (const r of reports) {
      const how = r.from === "checkpoint" ? `from its checkpoint and ${r.segmentEvents} segment events after it (${r.corrected} entities with late events recomputed)` : `(${r.offlineRows} offline rows, ${r.segmentEvents} segment events)`;
      this.host.logger.info(`stream ${r.source}: ${r.applied} events ${how} applied in ${r.ms} ms`);
      if (r.fallback && r.fallbackMissing) this.host.logger.info(`stream ${r.source}: rebuilt from its whole history: ${r.fallback}`);
      else if (r.fallback) this.host.logger.warn(`stream ${r.source}: rebuilt from its whole history: ${r.fallback}`);
      if (r.invalidLines) this.host.logger.warn(`stream ${r.source}: ${r.invalidLines} segment lines are not valid events of the spec as it is now; they were skipped`);
    }
  }

  /**
   * `--now T` reads the groups' rows as of T, but a stream's groups are its state: every stored event and
   * segment line, not rewound to T. Their rows after T are `future` (never served): the newuser lane's
   * replay of vega-datasets' stocks at 2009-06-15, over a store streamed up to 2010-03, served every
   * feature null and one prediction for every symbol, without a word at start.
   */
  private warnStreamsAfterPin(asOf: Date): void {
    for (const st of this.service!.stats()) {
      if (!(st.watermarkMs > asOf.getTime())) continue;
      this.host.logger.warn(
        `stream ${st.source}: its events run to ${new Date(st.watermarkMs).toISOString()}, after --now ${asOf.toISOString()}; a stream's groups are not ` +
          `read as of --now (they hold every stored event), so an entity whose latest event is later is \`future\` and its features are never served`,
      );
    }
  }

  /** Rows recomputed for late events (in the background): their marks clear; with a shared store they are written there, marks cleared. */
  private async applyCorrected(updates: StreamUpdate[]): Promise<void> {
    for (const u of updates) this.rows.clearMark(u.group, entityKey(u.keys));
    if (!this.remote) {
      for (const u of updates) this.rows.apply(u);
      return;
    }
    const cleared = updates.map((u) => ({ group: u.group, key: entityKey(u.keys), mark: null }));
    await this.remote.writeStreamed(this.host.bundle, updates, cleared).catch((e) => this.host.logger.error(`stream rows not yet in the online store (retried every second): ${(e as Error).message}`));
  }

  /** Every transport's way in (HTTP push: OnlineService.pushEvents; a log consumer): stored, applied, the latency observed. */
  async ingest(source: string, events: unknown[], at: (i: number) => Array<string | number>, t0 = performance.now()): Promise<IngestOutcome> {
    const r = await this.service!.ingest(source, events, at);
    if (!r.ok) return r;
    for (const l of r.late) this.rows.markLate(l.group, entityKey(l.keys), l.eventMs);
    if (this.remote) {
      try {
        const marks = r.late.map((l) => ({ group: l.group, key: entityKey(l.keys), mark: this.rows.marksOf(l.group)!.get(entityKey(l.keys))! }));
        await this.remote.writeStreamed(this.host.bundle, r.updates, marks);
      } catch (e) {
        const message = `${(e as Error).message}; the events are stored durably and applied to this server's stream state, and their rows reach the online store when it is back (sending them again is safe: they are recognised as duplicates)`;
        return { ok: false, status: 503, code: "online_store_unavailable", message };
      }
    } else for (const u of r.updates) this.rows.apply(u);
    this.applyLatency.observe(source, (performance.now() - t0) / 1000);
    return r;
  }

  /** Starts reading the streams from a log (Redis Streams) as well: acknowledged there only once durable and applied here. */
  async startConsumer(consumer: EventConsumer): Promise<void> {
    await consumer.start({ ingest: (source, events) => this.ingest(source, events, (i) => [i]) });
    this.consumers.push(consumer);
  }

  /** Asks the brokers for their lag (before a /metrics scrape renders the gauges). */
  async refreshConsumerStats(): Promise<void> {
    const all: ConsumerStats[] = [];
    for (const c of this.consumers) all.push(...(await c.stats()));
    this.consumerStats = all;
  }

  /** The streams' gauges for /metrics. */
  gauges(now: number) {
    return streamGauges(this.service, this.consumerStats, now);
  }

  /** The events the streams' state was rebuilt from at start. */
  eventsRebuilt(): number {
    return (this.service?.stats() ?? []).reduce((n, s) => n + (s.rebuilt?.events ?? 0), 0);
  }

  async close(): Promise<void> {
    for (const c of this.consumers) await c.stop();
    await this.service?.close();
  }
}
