// The online prediction path, without HTTP: validate the request with the
// model's request schema → online lookup (in-memory copy of the online
// tables) → ODTs (the generated `compute`) → MDTs + ONNX (createPredictor's
// `predictRows`, the registry's fitted state) → request log. `fti serve`
// puts Fastify in front of it (http.ts); the generated client's
// `createLocalClient` calls it in process.
//
// The store is never held open: loading (at start and on reload) opens it
// read-only, reads the registry rows and online tables it needs, and closes
// it. See CONTEXT.md beside this file.

import { dirname, join, resolve } from "node:path";
import type { Scalar, SpecBundle } from "../api.ts";
import { UserError } from "../errors.ts";
import { createPredictor, type Predictor } from "../inference/predictor.ts";
import { classAnswer } from "../inference/class-output.ts";
import { notImputedInputs, notImputedText } from "../inference/not-imputed.ts";
import { inTurns, whenReady } from "./turns.ts";
import { rejectedLogDir, type RejectedRequestEntry } from "./rejections.ts";
import { getModel, listModels, productionWarnings, servedVersion, type ModelSummary } from "../registry/registry.ts";
import { defaultStorePath, type Store } from "../store/store.ts";
import { MAX_BATCH_ROWS, PredictBatcher } from "./batcher.ts";
import { entityJoin, loadGroup, lookup, type CachedGroup, type JoinLookup, type StreamedRow } from "./cache.ts";
import { STREAM_MAX_AHEAD_MS, StreamService } from "../stream/service.ts";
import { withTypedStreamEvents } from "../features/stream-input.ts";
import type { RedisConsumerOptions } from "../stream/redis-consumer.ts";
import { HistogramSet } from "./metrics.ts";
import type { ServiceExtension } from "./extension.ts";
import { echo } from "../request-issues.ts";
import { RequestLog, SerializedEntry, type RequestLogOptions } from "./log.ts";
import { PredictionJson } from "./answer-json.ts";
import { onlineTable, readOnlineState, type GroupFeatures } from "./materialize.ts";
import type { OnlineStoreConfig } from "./online-store.ts";
import { SharedOnlineRows } from "./shared-rows.ts";
import { embeddingSettingsFromEnv, type EmbeddingSettings } from "../embeddings/embedder.ts";
import { OnlineIndexes } from "../vectors/online.ts";
import { runAgentChat, type AgentEvents, type AgentHost } from "../agents/chat.ts";
import { agentSettingsFromEnv, type AgentSettings } from "../agents/settings.ts";
import { apiError } from "./api-error.ts";
import { eventsOf } from "./events-request.ts";
import { parseInstances } from "./predict-request.ts";
import { lookupChunk, modelInputs } from "./predict-steps.ts";
import { servingPlan, type ServedModel } from "./served-model.ts";
import { isBusy, openReadOnly, StoreWatcher } from "./store-watch.ts";
import { ServedStreams } from "./served-streams.ts";
import type { StreamedRows } from "./streamed-rows.ts";
import type {
  ApiErrorBody,
  ApiIssue,
  LocalResponse,
  LocalService,
  LocalServiceOptions,
  OnlineBatchPrediction,
  OnlineInstanceResult,
  OnlinePrediction,
  ServedModelInfo,
} from "./types.ts";

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

const stderrLogger: Logger = {
  info: () => {},
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
  error: (m) => process.stderr.write(`error: ${m}\n`),
};

export interface ServiceOptions extends LocalServiceOptions {
  logger?: Logger;
  /** Poll interval of the store file watcher (default 500 ms). */
  watchIntervalMs?: number;
  /** How long the first load waits for a store another process holds (default 30 s). */
  openTimeoutMs?: number;
  /** Request log flush interval (default 100 ms). */
  logFlushMs?: number;
  /** Request log durability, rotation and retention (see log.ts). */
  logOptions?: Omit<RequestLogOptions, "onError" | "onRecover">;
  /** Refuse predictions (503) while the request log cannot be written. */
  logRequired?: boolean;
  /** The clock (tests). */
  now?: () => number;
  /** Reads, gauges and pages added by folders above online/ (extension.ts). */
  extensions?: readonly ServiceExtension[];
  /** Read the stream sources' events from Redis Streams too (stream/redis-consumer.ts). */
  redis?: Omit<RedisConsumerOptions, "sources" | "onError">;
  /** Where the online rows are read from: memory (default: the online tables, loaded) or a shared Redis (redis-store.ts). */
  onlineStore?: OnlineStoreConfig;
  /**
   * Pin the request time (`fti serve --now`): the clock stands at this instant
   * and each entity's features are its latest offline row with event_time ≤ it,
   * never a later one.
   */
  asOf?: Date;
  /** Where endpoint embeddings of index queries come from (default: the environment). */
  embeddings?: EmbeddingSettings;
  /** The agents' chat endpoint and tool-loop bounds (default: the environment). */
  agents?: AgentSettings;
}

export interface ReloadReport {
  ok: boolean;
  reason: string;
  at: string;
  ms: number;
  /** Models swapped: from → to version. */
  models: Array<{ model: string; from: number | null; to: number }>;
  /** Online tables re-read, with their entity counts. */
  groups: Array<{ group: string; table: string; entities: number; missing: boolean }>;
  /** Vector indexes re-read, with their document counts. */
  indexes: Array<{ index: string; documents: number; missing: boolean }>;
  errors: string[];
}

/** What a request has scored so far: the answer objects, or their texts, and the log lines. */
interface Scored {
  results: OnlineInstanceResult[];
  texts: string[];
  entries: SerializedEntry[];
}

export class OnlineService implements LocalService {
  readonly bundle: SpecBundle;
  readonly storePath: string;
  readonly log: RequestLog | null;
  /** What folders above online/ add: reads in each reload, gauges, pages (extension.ts). */
  readonly extensions: readonly ServiceExtension[];
  /** Rejected requests (4xx) of served models, for the error rates of `fti monitor`. */
  private readonly rejectLog: RequestLog | null;
  private readonly logger: Logger;
  /** Several-production-versions warnings already logged (registry.ts productionWarnings). */
  private readonly productionWarned = new Set<string>();
  private readonly served: Map<string, ServedModel>;
  private groups = new Map<string, CachedGroup>();
  private readonly neededGroups: GroupFeatures[];
  private readonly now: () => number;
  private reloading: Promise<ReloadReport> | null = null;
  private queued: Promise<ReloadReport> | null = null;
  private lastReload: ReloadReport | null = null;
  private readonly watcher: StoreWatcher;
  private seq = 0;
  /** The spec's vector indexes, in memory (runtime/vectors/online.ts). */
  readonly indexes: OnlineIndexes;
  private readonly agentHost: AgentHost;
  private readonly idPrefix = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  private closed = false;
  private readonly logRequired: boolean;
  /** The request time is pinned (`--now`): online rows are read as of it from the offline tables. */
  private readonly asOf: Date | null;
  /** The spec's stream sources (null without any): events in, online rows updated at once. */
  readonly streams: StreamService | null;
  /** The streams as served: events in, the rows they change, late marks, the brokers read (served-streams.ts). */
  private readonly streamSide: ServedStreams;
  /** The rows the streams computed (served before the online table's older rows) and their late-event marks. */
  private readonly streamed: StreamedRows;
  /** The shared online store (Redis) the rows are read from per request, instead of `groups`; null: in memory. */
  private shared: SharedOnlineRows | null = null;
  /** Seconds from an events request's arrival to its events being durable and applied, per source. */
  readonly applyLatency: HistogramSet;

  private constructor(bundle: SpecBundle, opts: ServiceOptions) {
    this.bundle = bundle;
    this.storePath = opts.store ? resolve(opts.store) : defaultStorePath();
    this.watcher = new StoreWatcher(this.storePath);
    this.logger = opts.logger ?? stderrLogger;
    this.extensions = opts.extensions ?? [];
    this.now = opts.now ?? (opts.asOf ? () => opts.asOf!.getTime() : Date.now);
    this.indexes = new OnlineIndexes(bundle, opts.embeddings ?? embeddingSettingsFromEnv());
    const logsDir = opts.logs === false ? null : resolve(opts.logs ?? join(dirname(this.storePath), "logs"));
    this.log = logsDir
      ? new RequestLog(logsDir, {
          flushMs: opts.logFlushMs,
          ...opts.logOptions,
          onError: (e) => this.logger.error(`request log: ${e.message}`),
          onRecover: (m) => this.logger.warn(`request log: ${m}`),
        })
      : null;
    this.logRequired = opts.logRequired ?? false;
    this.asOf = opts.asOf ?? null;
    this.rejectLog = logsDir
      ? new RequestLog(rejectedLogDir(logsDir), { flushMs: opts.logFlushMs, onError: (e) => this.logger.error(`rejected-request log: ${e.message}`) })
      : null;

    const serving = servingPlan(bundle);
    this.served = serving.served;
    this.neededGroups = serving.groups;
    this.streams = bundle.sources.some((src) => src.stream) ? new StreamService(bundle, this.storePath, { typedEvents: withTypedStreamEvents, maxAheadMs: STREAM_MAX_AHEAD_MS }) : null;
    this.streamSide = new ServedStreams(this.streams, {
      bundle,
      logger: this.logger,
      storePath: this.storePath,
      asOf: this.asOf,
      remote: () => this.shared?.store ?? null,
    });
    this.streamed = this.streamSide.rows;
    this.applyLatency = this.streamSide.applyLatency;

    this.agentHost = {
      bundle,
      settings: opts.agents ?? agentSettingsFromEnv(),
      now: () => this.now(),
      lookup: (agent, keys, nowMs) => {
        if (this.shared) return this.shared.entityFeatures([...new Set(agent.context.map((f) => f.group))], keys, nowMs, agent.context);
        const joins = [...new Set(agent.context.map((f) => f.group))]
          .map((g) => this.groups.get(g))
          .filter((g): g is CachedGroup => g !== undefined)
          .map((g) => this.withStreamed(entityJoin(g, agent.context.filter((f) => f.group === g.plan.name).map((f) => f.name))));
        const l = lookup(joins, keys, nowMs, null);
        return Object.fromEntries(agent.context.map((f) => [f.name, l.features[f.name] ?? { value: null, status: "not_found" }]));
      },
      search: (index, text, o) => this.indexes.search(index, text, { ...o, entity: o.entity as Record<string, string | number> }),
      predict: (model, body) => this.predict(model, body),
      log: (entry) => this.log?.append(entry),
    };
  }

  /** Loads the served models (transforms hash checked) and the online tables; optionally watches the store. */
  static async open(bundle: SpecBundle, opts: ServiceOptions = {}): Promise<OnlineService> {
    const svc = new OnlineService(bundle, opts);
    if (opts.onlineStore?.kind === "redis") {
      if (opts.asOf) throw new UserError("--now reads each entity's row as of a time from the offline store; it cannot be combined with a Redis online store", "drop --online-store (or --now)");
      const { RedisOnlineStore } = await import("./redis-store.ts");
      svc.shared = new SharedOnlineRows(await RedisOnlineStore.connect(opts.onlineStore), bundle, svc.neededGroups, svc.logger);
    }
    let report: ReloadReport;
    try {
      await svc.streamSide.claim(Boolean(opts.redis));
      report = await svc.load("start", { waitMs: opts.openTimeoutMs ?? 30_000, strict: true });
    } catch (e) {
      await svc.streams?.close();
      await svc.shared?.store.close();
      throw e;
    }
    if (!report.ok) throw new UserError(report.errors.join("; "));
    for (const g of report.groups) {
      if (g.missing) {
        svc.logger.warn(
          `online table ${g.table} does not exist yet: every feature of group \`${g.group}\` is not_found until \`fti materialize ${bundle.file}\``,
        );
      }
    }
    if (opts.watch) svc.watch(opts.watchIntervalMs ?? 500);
    if (opts.redis) {
      if (!svc.streams) throw new UserError(`--redis: spec \`${bundle.name}\` has no stream source to read`);
      const { RedisStreamsConsumer } = await import("../stream/redis-consumer.ts");
      const consumer = new RedisStreamsConsumer({ ...opts.redis, sources: svc.streams.names(), onError: (m) => svc.logger.error(m) });
      try {
        await svc.streamSide.startConsumer(consumer);
      } catch (e) {
        await consumer.stop();
        await svc.close();
        throw new UserError(`cannot read the streams from Redis at ${opts.redis.url}: ${(e as Error).message}`);
      }
    }
    return svc;
  }

  // ------------------------------------------------------------------ loading

  /**
   * Re-reads what changed in the store: registry versions (production, else
   * latest) and online tables whose state changed. New models go through
   * createPredictor (the transforms hash check); a model that fails keeps its
   * previous version serving, and the error is reported.
   */
  reload(reason = "manual", opts: { waitMs?: number } = {}): Promise<ReloadReport> {
    if (this.reloading) {
      // One more reload after the running one, shared by every caller meanwhile.
      this.queued ??= this.reloading
        .catch(() => undefined)
        .then(() => {
          this.queued = null;
          return this.reload(reason, opts);
        });
      return this.queued;
    }
    this.reloading = this.load(reason, { waitMs: opts.waitMs ?? 10_000, strict: false }).finally(() => {
      this.reloading = null;
    });
    return this.reloading;
  }

  private async load(reason: string, opts: { waitMs: number; strict: boolean }): Promise<ReloadReport> {
    const t0 = performance.now();
    const report: ReloadReport = { ok: true, reason, at: new Date().toISOString(), ms: 0, models: [], groups: [], indexes: [], errors: [] };
    const nextModels = new Map<string, { predictor: Predictor; record: ModelSummary }>();
    const nextGroups = new Map(this.groups);
    const sigBefore = this.watcher.signature();
    let store: Store;
    try {
      store = await openReadOnly(this.storePath, opts.waitMs);
    } catch (e) {
      report.ok = false;
      report.errors.push((e as Error).message);
      report.ms = Math.round(performance.now() - t0);
      if (opts.strict) throw e;
      // Another process holds the store: expected while it writes; the watcher retries.
      if (!isBusy(e)) this.logger.error(`reload (${reason}): ${(e as Error).message}`);
      this.lastReload = report;
      return report;
    }
    try {
      await this.loadModels(store, report, nextModels, opts.strict);
      for (const ix of await this.indexes.load(store)) {
        report.indexes.push(ix);
        if (ix.missing) this.logger.warn(`index \`${ix.index}\`: its group table does not exist yet; searches answer 503 until \`fti features ${this.bundle.file}\``);
      }
      await this.loadGroups(store, report, nextGroups);
      for (const ext of this.extensions) {
        try {
          await ext.reload?.(store, [...this.served.keys()]);
        } catch (e) {
          this.logger.error(`reload (${reason}): an extension's data not read: ${(e as Error).message}`);
        }
      }
      if (reason === "start" && this.streams) await this.streamSide.rebuild(store);
      else if (this.streamed.anyMarked && this.streams) await this.streamSide.rebuild(store, true);
    } catch (e) {
      report.ok = false;
      report.errors.push((e as Error).message);
      if (opts.strict) throw e;
    } finally {
      await store.close();
    }
    this.swapIn(nextModels, nextGroups);
    if (report.ok) this.watcher.loadedSig = sigBefore;
    report.ms = Math.round(performance.now() - t0);
    this.lastReload = report;
    this.logReload(reason, report);
    return report;
  }

  /** Per served model: its production (else latest) version, loaded through createPredictor unless it is the one serving. */
  private async loadModels(store: Store, report: ReloadReport, next: Map<string, { predictor: Predictor; record: ModelSummary }>, strict: boolean): Promise<void> {
    const summaries = await listModels(store);
    for (const m of this.served.values()) {
      const versions = summaries.filter((s) => s.model === m.name);
      // Once per distinct warning: a reload that finds the same registry says nothing new.
      for (const w of productionWarnings(versions)) {
        if (this.productionWarned.has(w)) continue;
        this.productionWarned.add(w);
        this.logger.warn(w);
      }
      const target = servedVersion(versions);
      if (!target) {
        const msg = `model \`${m.name}\` has no registered version; train it with \`fti train ${this.bundle.file} ${m.name}\``;
        if (strict) throw new UserError(msg);
        m.reloadError = msg;
        report.errors.push(msg);
        continue;
      }
      if (m.record && m.record.version === target.version && m.record.onnx_sha256 === target.onnx_sha256) {
        delete m.reloadError;
        if (m.record.stage !== target.stage || JSON.stringify(m.record.metrics) !== JSON.stringify(target.metrics)) m.record = target;
        continue;
      }
      try {
        const record = await getModel(store, m.name, target.version);
        const predictor = await createPredictor(this.bundle, m.name, record);
        const { onnx: _bytes, ...summary } = record;
        next.set(m.name, { predictor, record: summary });
        report.models.push({ model: m.name, from: m.record?.version ?? null, to: target.version });
      } catch (e) {
        if (strict) throw e;
        const msg = `cannot load \`${m.name}\` version ${target.version}: ${(e as Error).message}`;
        m.reloadError = msg;
        report.errors.push(msg);
      }
    }
  }

  /** The online rows of every group whose online state changed (all of them when pinned to an instant: they come from the offline table). */
  private async loadGroups(store: Store, report: ReloadReport, next: Map<string, CachedGroup>): Promise<void> {
    const state = await readOnlineState(store);
    if (this.shared) return this.shared.loadInfo(state, report);
    for (const g of this.neededGroups) {
      const table = onlineTable(g.plan);
      const row = state.find((s) => s.online_table === table);
      const changedAt = row?.changed_at ? row.changed_at.getTime() : null;
      const cur = next.get(g.plan.name);
      if (cur && !this.asOf && cur.changedAt === changedAt && !(cur.missing && row)) continue;
      const loaded = await loadGroup(store, g, changedAt, this.asOf);
      next.set(g.plan.name, loaded);
      report.groups.push({ group: g.plan.name, table: loaded.table, entities: loaded.index.size, missing: loaded.missing });
    }
  }

  /** Swap: each model and group is replaced as a whole; requests in flight keep what they started with. */
  private swapIn(nextModels: Map<string, { predictor: Predictor; record: ModelSummary }>, nextGroups: Map<string, CachedGroup>): void {
    const loadedAt = new Date();
    for (const [name, next] of nextModels) {
      const m = this.served.get(name)!;
      m.predictor = next.predictor;
      m.batcher = new PredictBatcher(next.predictor, m.scored);
      m.record = next.record;
      m.loadedAt = loadedAt;
      delete m.reloadError;
    }
    this.groups = nextGroups;
  }

  private logReload(reason: string, report: ReloadReport): void {
    if (report.models.length || report.groups.length || report.indexes.length) {
      this.logger.info(
        `reload (${reason}): ` +
          [
            ...report.models.map((m) => `${m.model} v${m.from ?? "-"} → v${m.to}`),
            ...report.groups.map((g) => `${g.table}: ${g.entities} entities`),
            ...report.indexes.map((i) => `index ${i.index}: ${i.documents} documents`),
          ].join(", "),
      );
    }
    for (const e of report.errors) this.logger.error(`reload (${reason}): ${e}`);
  }

  /** The rows the stream computed for a group, by entity key (what lookups serve before the table's older rows). */
  streamedRows(group: string): ReadonlyMap<string, StreamedRow> {
    return this.streamed.of(group) ?? new Map();
  }

  /**
   * `POST /v1/sources/<source>/events`: one event (an object), or several (an
   * array, or NDJSON lines), all or nothing; answered once they are durable
   * and applied.
   */
  async pushEvents(source: string, body: unknown): Promise<LocalResponse> {
    const t0 = performance.now();
    if (!this.streams) return apiError(404, "unknown_stream", `spec \`${this.bundle.name}\` has no stream source (declare \`stream\` in a source)`);
    const read = eventsOf(body);
    if ("status" in read) return read;
    const { events, batch } = read;
    const r = await this.streamSide.ingest(source, events, (i) => (batch ? [i] : []), t0);
    if (!r.ok) return apiError(r.status, r.code, r.message, r.issues);
    return { status: 200, body: r.result };
  }

  /** Reloads when the store file changes (store-watch.ts). */
  private watch(intervalMs: number): void {
    this.watcher.start(intervalMs, {
      closed: () => this.closed,
      reloading: () => this.reloading !== null,
      reload: () => this.reload("store changed", { waitMs: 0 }),
      onError: (e) => this.logger.error(`watch: ${e.message}`),
    });
  }

  // ------------------------------------------------------------------ retrieval

  /** POST /v1/indexes/<index>/search, at the request time. */
  searchIndex(name: string, body: unknown): Promise<LocalResponse> {
    return this.indexes.handle(name, body, new Date(this.now())) as Promise<LocalResponse>;
  }

  /**
   * The online features this service holds for one entity, per feature group,
   * with statuses (what the served models and agents read), at the request time.
   * `entity` null: the global groups (no keys).
   */
  async onlineFeatures(entity: string | null, keys: Record<string, Scalar>): Promise<Record<string, Record<string, { value: Scalar; status: string }>>> {
    const out: Record<string, Record<string, { value: Scalar; status: string }>> = {};
    if (this.shared) {
      for (const g of this.neededGroups) {
        if (g.plan.entity !== entity) continue;
        const features = g.features.map((f) => ({ group: g.plan.name, name: f.name }));
        out[g.plan.name] = await this.shared.entityFeatures([g.plan.name], keys, this.now(), features);
      }
      return out;
    }
    for (const g of this.neededGroups) {
      if (g.plan.entity !== entity) continue;
      const cached = this.groups.get(g.plan.name);
      if (!cached) continue;
      out[g.plan.name] = lookup([this.withStreamed(entityJoin(cached))], keys, this.now(), null).features;
    }
    return out;
  }

  /** POST /v1/agents/<agent>/chat: one turn of the agent's tool loop (runtime/agents/chat.ts). */
  chat(agent: string, body: unknown, events: AgentEvents = {}): Promise<LocalResponse> {
    return runAgentChat(this.agentHost, agent, body, events) as Promise<LocalResponse>;
  }

  // ------------------------------------------------------------------ predicting

  /**
   * The answer to a prediction request. With `text` (the HTTP route), a 200's
   * answer comes as its JSON text only (`body` null): the text the answer
   * object would serialize to, built from the parts the request log line
   * shares (answer-json.ts).
   */
  async predict(modelName: string, body: unknown, opts: { text?: boolean } = {}): Promise<LocalResponse & { text?: string }> {
    const res = await this.score(modelName, body, opts.text === true);
    if (res.status >= 400 && res.status < 500 && this.rejectLog && this.served.has(modelName)) {
      const instances = body && typeof body === "object" && Array.isArray((body as { instances?: unknown }).instances) ? (body as { instances: unknown[] }).instances.length : 1;
      const code = (res.body as ApiErrorBody).error?.code ?? "error";
      const entry: RejectedRequestEntry = { v: 1, ts: new Date(this.now()).toISOString(), model: modelName, status: res.status, code, instances };
      this.rejectLog.append(entry);
    }
    return res;
  }

  private async score(modelName: string, body: unknown, wantText: boolean): Promise<LocalResponse & { text?: string }> {
    const m = this.served.get(modelName);
    if (!m) {
      return apiError(404, "unknown_model", `model ${echo(modelName)} is not served; served models: ${[...this.served.keys()].join(", ")}`);
    }
    const predictor = m.predictor;
    const batcher = m.batcher;
    if (!predictor || !batcher || !m.record) return apiError(503, "model_unavailable", m.reloadError ?? `model \`${modelName}\` is not loaded`);
    // Each step is a promise only when it has more than one turn's work (turns.ts inTurns): awaited only then.
    const parsing = parseInstances(m, modelName, body);
    const parsed = parsing instanceof Promise ? await parsing : parsing;
    if ("status" in parsed) return parsed;
    const { isBatch, instances } = parsed;
    if (this.logRequired && this.log?.isFailing) {
      return apiError(503, "request_log_unavailable", `the request log cannot be written (${this.log.stats().lastError}); predictions are refused until it can (--log-required)`);
    }
    const nowMs = this.now();
    const requestTime = new Date(nowMs).toISOString();
    const joins = this.shared ? await this.shared.joins(m, instances) : this.joinLookups(m);
    if (!Array.isArray(joins)) return joins;
    // The answer objects (in process), or the answer's text (HTTP); the log lines from the same serialized parts.
    const done: Scored = { results: [], texts: [], entries: [] };
    const json = wantText || this.log ? new PredictionJson(modelName, predictor.version, requestTime) : null;
    const missing: ApiIssue[] = [];
    // One ONNX run's worth of instances at a time, looked up, scored and serialized before the next:
    // their objects die young (kept for the whole of a large request, the GC promoted them to the old
    // space). Once an instance misses features, the rest are only looked up, for the 422 to list them all.
    for (let at = 0; at < instances.length; at += MAX_BATCH_ROWS) {
      const end = Math.min(instances.length, at + MAX_BATCH_ROWS);
      const looking = lookupChunk(m, joins, instances, at, end, nowMs, isBatch, missing);
      const { requests, looked } = looking instanceof Promise ? await looking : looking;
      if (missing.length) continue;
      // ODTs, then MDTs + ONNX (one run for this chunk and any concurrent requests).
      const building = modelInputs(m, requests, looked);
      const { rows, odtValues } = building instanceof Promise ? await building : building;
      const out = await batcher.predict(rows);
      const texts: string[] = [];
      const classes = predictor.classes;
      const serializing = inTurns(0, requests.length, (i) => {
        // A multiclass answer adds its probabilities; every other answer keeps one object shape (no spread of a temporary).
        const byClass = classes ? classAnswer(classes, out, i) : null;
        const prediction = byClass ? byClass.prediction : Number.isFinite(out[i]) ? out[i] : null;
        const result: OnlineInstanceResult = { prediction, features: looked[i].features, odts: odtValues[i], feature_times: looked[i].times, ...(looked[i].late ? { late_events: looked[i].late } : {}), request_id: `${this.idPrefix}-${++this.seq}` };
        if (byClass) result.probabilities = byClass.probabilities;
        if (!wantText) done.results.push(result);
        if (!json) return;
        const t = json.instance(result, requests[i], !isBatch);
        if (wantText) texts.push(t.answer);
        if (this.log) done.entries.push(new SerializedEntry(modelName, t.log));
      });
      if (serializing) await serializing;
      // the chunk's answers as one string: one object to hold until the answer is sent
      if (wantText) done.texts.push(texts.length === 1 ? texts[0] : texts.join(","));
    }
    if (missing.length) {
      return apiError(
        422,
        "missing_features",
        `model \`${modelName}\` cannot predict without these features: its MDTs do not impute every input (no \`impute\` step: ${notImputedText(notImputedInputs(m.plan, m.view))})` +
          (isBatch ? ` (${missing.length} of ${instances.length} instances)` : `; ${missing[0].message}`),
        missing,
      );
    }
    const logging = this.logEntries(done.entries);
    const logged = logging instanceof Promise ? await logging : logging;
    if (logged) return logged;
    const results = done.results;
    if (wantText) return { status: 200, body: null, text: isBatch ? json!.batch(done.texts) : done.texts[0] };
    if (isBatch) {
      const answer: OnlineBatchPrediction = { model: modelName, version: predictor.version, request_time: requestTime, predictions: results };
      return { status: 200, body: answer };
    }
    const answer: OnlinePrediction = { model: modelName, version: predictor.version, request_time: requestTime, ...results[0] };
    return { status: 200, body: answer };
  }

  /** A lookup of a group's own row that also sees the stream's updates of it, as a prediction's join does. */
  private withStreamed(j: JoinLookup): JoinLookup {
    return { ...j, streamed: this.streamed.of(j.group.plan.name), late: this.streamed.marksOf(j.group.plan.name) };
  }

  /** The served view's joins against the groups loaded now (a reload swaps the groups as a whole). */
  private joinLookups(m: ServedModel): JoinLookup[] {
    const out: JoinLookup[] = [];
    for (const j of m.joins) {
      const group = this.groups.get(j.join.group);
      if (group) out.push({ id: j.join.id, group, on: j.join.on, features: j.features, streamed: this.streamed.of(j.join.group), late: this.streamed.marksOf(j.join.group) });
    }
    return out;
  }

  /**
   * Appends the entries (at once when they fit in one turn of the event loop, else a promise); in durable mode
   * waits until they are synced, and answers 503 when they could not be.
   */
  private logEntries(entries: SerializedEntry[]): LocalResponse<never> | null | Promise<LocalResponse<never> | null> {
    const log = this.log;
    if (!log) return null;
    if (!log.durable) return whenReady(inTurns(0, entries.length, (i) => log.append(entries[i])), () => null);
    return log.appendDurable(entries).then(
      () => null,
      (e: unknown) => apiError(503, "request_log_unavailable", `the prediction could not be recorded in the request log (${(e as Error).message}); it was not served`),
    );
  }

  // ------------------------------------------------------------------ introspection

  models(): ServedModelInfo[] {
    return [...this.served.values()].map((m) => ({
      model: m.name,
      version: m.record?.version ?? null,
      stage: m.record?.stage ?? null,
      algorithm: m.record?.algorithm ?? null,
      task: m.plan.task,
      view: m.view.name,
      metrics: m.record?.metrics ?? {},
      baseline: m.record?.baseline ?? {},
      statistics: m.record?.statistics ?? null,
      created_at: m.record ? new Date(m.record.created_at).toISOString() : null,
      loaded_at: m.loadedAt?.toISOString() ?? null,
      can_impute: m.plan.canImpute,
      ...(m.record?.mdt_state.classes ? { classes: m.record.mdt_state.classes } : {}),
      request: m.fields.map((f) => ({ name: f.name, type: f.type, nullable: f.nullable, kind: f.kind })),
      ...(m.reloadError ? { reload_error: m.reloadError } : {}),
    }));
  }

  isServed(model: string): boolean {
    return this.served.has(model);
  }

  /**
   * A few known values of each key field of a model (the prediction page's
   * suggestions): for each request key, the entities of a group joined on it
   * alone. Composite keys get none.
   */
  sampleKeys(model: string, n = 20): Record<string, string[]> {
    const m = this.served.get(model);
    const out: Record<string, string[]> = {};
    for (const key of m?.view.keys ?? []) {
      if (this.shared) {
        const j = m!.joins.find((x) => x.join.on.length === 1 && x.join.on[0].column === key.name);
        const samples = j ? this.shared.samples(j.join.group) : undefined;
        if (samples?.length) out[key.name] = samples.slice(0, n);
        continue;
      }
      const g = m!.joins
        .filter((j) => j.join.on.length === 1 && j.join.on[0].column === key.name)
        .map((j) => this.groups.get(j.join.group))
        .find((x) => x && x.index.size > 0);
      if (!g) continue;
      const values: string[] = [];
      for (const k of g.index.keys()) {
        values.push(k);
        if (values.length >= n) break;
      }
      out[key.name] = values.sort();
    }
    return out;
  }

  health(): {
    status: "ok" | "degraded";
    models: Array<{ model: string; version: number | null; error?: string }>;
    online: Array<{ group: string; table: string; entities: number; missing: boolean; loaded_at: string; store?: string; behind?: boolean }>;
    store: string;
    last_reload: ReloadReport | null;
    request_log: ReturnType<RequestLog["stats"]> & { dir: string | null; durable: boolean; required: boolean };
  } {
    const models = [...this.served.values()].map((m) => ({ model: m.name, version: m.record?.version ?? null, ...(m.reloadError ? { error: m.reloadError } : {}) }));
    const online = this.shared
      ? this.shared.health()
      : [...this.groups.values()].map((g) => ({
          group: g.plan.name,
          table: g.table,
          entities: g.index.size,
          missing: g.missing,
          loaded_at: g.loadedAt.toISOString(),
        }));
    const stats = this.log?.stats() ?? { written: 0, pending: 0, dropped: 0, refused: 0, writeErrors: 0, failing: false, lastError: null, rotated: 0, deletedFiles: 0, files: [] };
    // A request log that fails or lost entries degrades the service: answers are no longer all recorded.
    const degraded = models.some((m) => m.version === null || m.error) || online.some((g) => g.missing) || stats.failing || stats.dropped > 0;
    return {
      status: degraded ? "degraded" : "ok",
      models,
      online,
      store: this.storePath,
      last_reload: this.lastReload,
      request_log: { ...stats, dir: this.log?.dir ?? null, durable: this.log?.durable ?? false, required: this.logRequired },
    };
  }

  /** Gauges for /metrics. */
  gauges() {
    const log = this.log?.stats();
    return [
      {
        name: "fti_model_version",
        help: "Registry version being served, per model.",
        values: [...this.served.values()].map((m) => ({ labels: { model: m.name }, value: m.record?.version ?? 0 })),
      },
      {
        name: "fti_online_entities",
        help: "Entities held in memory (with a shared store: held there, as of the last reload), per online table.",
        values: this.shared
          ? this.shared.entityGauges()
          : [...this.groups.values()].map((g) => ({ labels: { table: g.table }, value: g.index.size })),
      },
      ...(this.shared
        ? [{ name: "fti_online_store_pending_rows", help: "Stream rows waiting for the shared online store to be reachable again.", values: [{ labels: {}, value: this.shared.store.pendingRows }] }]
        : []),
      {
        name: "fti_onnx_runs_total",
        help: "ONNX runs, per model (concurrent requests share one run).",
        type: "counter" as const,
        values: [...this.served.values()].map((m) => ({ labels: { model: m.name }, value: m.scored.runs })),
      },
      {
        name: "fti_onnx_rows_total",
        help: "Rows scored by ONNX, per model; divided by fti_onnx_runs_total, the mean batch size.",
        type: "counter" as const,
        values: [...this.served.values()].map((m) => ({ labels: { model: m.name }, value: m.scored.rows })),
      },
      { name: "fti_request_log_pending", help: "Request log entries queued or being written, not yet on disk.", values: [{ labels: {}, value: log?.pending ?? 0 }] },
      { name: "fti_request_log_written", help: "Request log entries written since start.", values: [{ labels: {}, value: log?.written ?? 0 }] },
      { name: "fti_request_log_dropped", help: "Request log entries dropped (writes kept failing).", values: [{ labels: {}, value: log?.dropped ?? 0 }] },
      { name: "fti_request_log_write_errors_total", help: "Failed request log writes.", type: "counter" as const, values: [{ labels: {}, value: log?.writeErrors ?? 0 }] },
      { name: "fti_request_log_failing", help: "1 while the request log cannot be written.", values: [{ labels: {}, value: log?.failing ? 1 : 0 }] },
      ...this.streamSide.gauges(this.now()),
      { name: "fti_request_log_refused_total", help: "Durable-mode requests refused because their entry could not be written.", type: "counter" as const, values: [{ labels: {}, value: log?.refused ?? 0 }] },
      ...this.extensions.flatMap((ext) => ext.gauges?.() ?? []),
    ];
  }

  /** Asks the brokers for their lag (before a /metrics scrape renders the gauges). */
  refreshConsumerStats(): Promise<void> {
    return this.streamSide.refreshConsumerStats();
  }

  /**
   * What the start read into memory: the online entities loaded and the stream
   * events rebuilt (from the offline store, segments or a checkpoint). Either
   * leaves its temporaries in the old space (http.ts collects them before listening).
   */
  loadedAtStart(): number {
    const entities = this.health().online.reduce((n, g) => n + g.entities, 0);
    const events = this.streamSide.eventsRebuilt();
    return entities + events;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watcher.stop();
    if (this.reloading) await this.reloading.catch(() => undefined);
    await this.streamSide.close();
    await this.shared?.store.close();
    await this.log?.close();
    await this.rejectLog?.close();
  }
}

/** The in-process twin of `fti serve` (what public.ts's openLocalService loads). */
export async function openLocalService(bundle: SpecBundle, opts: LocalServiceOptions = {}): Promise<LocalService> {
  return OnlineService.open(bundle, { ...opts, watch: opts.watch ?? false });
}

// service-api.d.ts declares this function for public.ts's lazy import: it must keep that type.
openLocalService satisfies typeof import("#online-service").openLocalService;
