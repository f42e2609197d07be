// Redis Streams as a transport: per stream source a Redis stream (key
// `fti:<source>` unless configured), read through a consumer group (`fti`),
// one message per event with the event as JSON in the field `event`:
//
//   XADD fti:activities * event '{"activity_id": "...", ...}'
//
// A batch read with XREADGROUP goes to the sink (validate, fsync'd segment,
// apply) and is acknowledged (XACK) only once the sink accepted it; a batch the
// sink could not store (503) stays pending and is read again. An invalid
// message is acknowledged and copied, with its problems, to `<key>:rejected`
// (a dead-letter stream), so it never blocks the others. At start, the
// messages this consumer had read but not acknowledged (a crash) are read again
// first; the stream's `unique` de-duplication makes that safe.

import { hostname } from "node:os";
import type { default as RedisClient } from "ioredis";
import type { ConsumerStats, EventConsumer, EventSink } from "./transport.ts";

export interface RedisConsumerOptions {
  url: string;
  sources: string[];
  /** The Redis stream of a source (default `fti:<source>`). */
  keyOf?: (source: string) => string;
  group?: string;
  /** This process's name in the group (default `<host>-<pid>`); a restarted process with the same name takes over its pending messages. */
  consumer?: string;
  /** Messages per read (default 500). */
  count?: number;
  /** How long a read waits for new messages (default 500 ms). */
  blockMs?: number;
  onError?: (message: string) => void;
}

type Entry = [id: string, fields: string[]];

interface SourceState {
  source: string;
  key: string;
  acked: number;
  rejected: number;
  error: string | null;
}

export class RedisStreamsConsumer implements EventConsumer {
  readonly transport = "redis";
  private reader: RedisClient | null = null;
  private writer: RedisClient | null = null;
  private readonly states: SourceState[];
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly group: string;
  private readonly consumer: string;

  constructor(private readonly opts: RedisConsumerOptions) {
    const keyOf = opts.keyOf ?? ((s: string) => `fti:${s}`);
    this.states = opts.sources.map((source) => ({ source, key: keyOf(source), acked: 0, rejected: 0, error: null }));
    this.group = opts.group ?? "fti";
    this.consumer = opts.consumer ?? `${hostname()}-${process.pid}`;
  }

  async start(sink: EventSink): Promise<void> {
    const { default: Redis } = await import("ioredis");
    const connect = () => new Redis(this.opts.url, { lazyConnect: true, maxRetriesPerRequest: null, enableOfflineQueue: true });
    this.reader = connect();
    this.writer = connect();
    await Promise.all([this.reader.connect(), this.writer.connect()]);
    for (const s of this.states) {
      try {
        // From the stream's start: what was written before the first start is consumed too (unique makes a repeat harmless).
        await this.writer.xgroup("CREATE", s.key, this.group, "0", "MKSTREAM");
      } catch (e) {
        if (!/BUSYGROUP/.test((e as Error).message)) throw e;
      }
    }
    this.running = this.loop(sink);
  }

  private async loop(sink: EventSink): Promise<void> {
    // First what this consumer read before and never acknowledged, then new messages.
    const cursor = new Map(this.states.map((s) => [s.key, "0"]));
    while (!this.stopped) {
      try {
        const res = (await this.reader!.xreadgroup(
          "GROUP", this.group, this.consumer,
          "COUNT", this.opts.count ?? 500,
          "BLOCK", this.opts.blockMs ?? 500,
          "STREAMS", ...this.states.map((s) => s.key), ...this.states.map((s) => cursor.get(s.key)!),
        )) as Array<[string, Entry[]]> | null;
        for (const [key, entries] of res ?? []) {
          const s = this.states.find((x) => x.key === key)!;
          // Pending replay ends when it returns nothing; then only new messages (">").
          if (entries.length === 0) cursor.set(key, ">");
          else if (cursor.get(key) !== ">") cursor.set(key, entries[entries.length - 1][0]);
          if (entries.length) await this.deliver(sink, s, entries);
        }
        if (!res) for (const s of this.states) cursor.set(s.key, ">");
      } catch (e) {
        if (this.stopped) break;
        const msg = (e as Error).message;
        for (const s of this.states) s.error = msg;
        this.opts.onError?.(`redis consumer: ${msg}`);
        await new Promise((r) => setTimeout(r, 1000));
        for (const s of this.states) cursor.set(s.key, "0");
      }
    }
  }

  /** Hands a batch to the sink; acknowledges what it accepted, sets aside what it refused. */
  private async deliver(sink: EventSink, s: SourceState, entries: Entry[]): Promise<void> {
    const parsed = entries.map(([id, fields]) => ({ id, ...parseEntry(fields) }));
    const bad = parsed.filter((p) => "problem" in p) as Array<{ id: string; problem: string; raw: string }>;
    let good = parsed.filter((p) => !("problem" in p)) as Array<{ id: string; event: unknown; raw: string }>;
    if (good.length) {
      const all = await sink.ingest(s.source, good.map((g) => g.event));
      if (!all.ok && all.status === 400) {
        // One invalid event refuses the batch: apply the messages one by one, setting aside the invalid ones.
        const kept: typeof good = [];
        for (const g of good) {
          const one = await sink.ingest(s.source, [g.event]);
          if (one.ok) kept.push(g);
          else if (one.status === 400) bad.push({ id: g.id, raw: g.raw, problem: (one.issues ?? []).map((i) => `${JSON.stringify(i.path)}: ${i.message}`).join("; ") || one.message });
          else return this.unavailable(s, one.message);
        }
        good = kept;
      } else if (!all.ok) {
        return this.unavailable(s, all.message);
      }
    }
    for (const b of bad) await this.writer!.xadd(`${s.key}:rejected`, "*", "id", b.id, "event", b.raw, "problem", b.problem);
    const ids = [...good.map((g) => g.id), ...bad.map((b) => b.id)];
    if (ids.length) await this.writer!.xack(s.key, this.group, ...ids);
    s.acked += good.length;
    s.rejected += bad.length;
    s.error = null;
  }

  /** The sink could not store the batch: leave it pending (read again after a pause). */
  private async unavailable(s: SourceState, message: string): Promise<void> {
    s.error = message;
    this.opts.onError?.(`redis consumer (${s.key}): ${message}; the messages stay pending and are read again`);
    throw new Error(message);
  }

  async stats(): Promise<ConsumerStats[]> {
    const out: ConsumerStats[] = [];
    for (const s of this.states) {
      let lag: number | null = null;
      let pending: number | null = null;
      try {
        const groups = (await this.writer?.xinfo("GROUPS", s.key)) as Array<Array<string | number | null>> | undefined;
        const g = groups?.map(pairs).find((x) => x.name === this.group);
        if (g) {
          lag = typeof g.lag === "number" ? g.lag : null;
          pending = typeof g.pending === "number" ? g.pending : null;
        }
      } catch {
        // Redis unreachable now: the counters still say what happened.
      }
      out.push({ transport: this.transport, source: s.source, acked: s.acked, rejected: s.rejected, lag, pending, error: s.error });
    }
    return out;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // A blocked read returns within blockMs; then the connections close.
    await this.running?.catch(() => undefined);
    this.reader?.disconnect();
    await this.writer?.quit().catch(() => undefined);
  }
}

/** One message: its `event` field as JSON, or why not. */
function parseEntry(fields: string[]): { event: unknown; raw: string } | { problem: string; raw: string } {
  const at = fields.indexOf("event");
  const raw = at >= 0 && at % 2 === 0 ? fields[at + 1] : "";
  if (at < 0 || at % 2 !== 0) return { problem: "no `event` field (XADD <key> * event '<json>')", raw };
  try {
    // A `__proto__` key parses as an own property, which validation refuses as an unknown field.
    return { event: JSON.parse(raw), raw };
  } catch {
    return { problem: "the `event` field is not JSON", raw: raw.slice(0, 1000) };
  }
}

/** XINFO's flat [name, value, …] list as an object. */
function pairs(list: Array<string | number | null>): Record<string, string | number | null> {
  const o: Record<string, string | number | null> = {};
  for (let i = 0; i + 1 < list.length; i += 2) o[String(list[i])] = list[i + 1];
  return o;
}
