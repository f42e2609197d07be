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

import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { z } from "zod";
import type { ColumnPlan, GroupPlan, ModelPlan, OdtPlan, Scalar, SpecBundle, ViewPlan } from "../api.ts";
import { UserError } from "../errors.ts";
import { createPredictor, type Predictor } from "../inference/predictor.ts";
import { classAnswer } from "../inference/class-output.ts";
import { inTurns, INSTANCES_PER_TURN, whenReady } from "./turns.ts";
import { rejectedLogDir, type RejectedRequestEntry } from "./rejections.ts";
import { getModel, listModels, productionWarnings, servedVersion, type ModelSummary } from "../registry/registry.ts";
import { defaultStorePath, openStore, type Store } from "../store/store.ts";
import { MAX_BATCH_ROWS, PredictBatcher, type BatchStats } from "./batcher.ts";
import { entityJoin, entityKey, loadGroup, lookup, type CachedGroup, type JoinLookup, type LateMark, type LookupResult, type MissingStatus, type StreamedRow } from "./cache.ts";
import { STREAM_MAX_AHEAD_MS, StreamService } from "../stream/service.ts";
import { withTypedStreamEvents } from "../features/stream-input.ts";
import type { StreamUpdate } from "../stream/engine.ts";
import type { IngestOutcome } from "../stream/service.ts";
import type { RedisConsumerOptions } from "../stream/redis-consumer.ts";
import type { ConsumerStats, EventConsumer } from "../stream/transport.ts";
import { INGEST_PHASES, SLOW_REQUEST_MS } from "../stream/slow-requests.ts";
import { HistogramSet } from "./metrics.ts";
import { viewJoins, type ResolvedJoin } from "../retrieval/view-joins.ts";
import type { ServiceExtension } from "./extension.ts";
import { echo } from "./json-body.ts";
import { capKey, zodIssues } from "./request-issues.ts";
import { RequestLog, SerializedEntry, type RequestLogOptions } from "./log.ts";
import { PredictionJson } from "./answer-json.ts";
import { onlineTable, readOnlineState, viewFeatureGroups, type GroupFeatures } from "./materialize.ts";
import type { OnlineStoreConfig } from "./online-store.ts";
import type { JoinSpec, RedisOnlineStore, RemoteGroupInfo } from "./redis-store.ts";
import { embeddingSettingsFromEnv, type EmbeddingSettings } from "../embeddings/embedder.ts";
import { OnlineIndexes } from "../vectors/online.ts";
import { runAgentChat, type AgentEvents, type AgentHost } from "../agents/chat.ts";
import { agentSettingsFromEnv, type AgentSettings } from "../agents/settings.ts";
import type {
  ApiErrorBody,
  ApiIssue,
  FeatureValue,
  LocalResponse,
  LocalService,
  LocalServiceOptions,
  OnlineBatchPrediction,
  OnlineInstanceResult,
  OnlinePrediction,
  ServedModelInfo,
} from "./types.ts";

/** Most instances one request may carry (the 1 MB body limit usually bites first). */
export const MAX_INSTANCES = 10_000;

export { INSTANCES_PER_TURN };

/** A batch's envelope alone: its instances are then validated a slice at a time (turns.ts). */
const BATCH_ENVELOPE = z.strictObject({ instances: z.array(z.unknown()).min(1).max(MAX_INSTANCES) });
/** Most events one request may carry (the body limit usually bites first). */
export const MAX_EVENTS = 100_000;

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

interface ServedModel {
  name: string;
  plan: ModelPlan;
  view: ViewPlan;
  groups: GroupFeatures[];
  /** The view's point-in-time joins: which group, on which request fields. */
  joins: ResolvedJoin[];
  /** Entity keys, then request fields. */
  fields: Array<ColumnPlan & { kind: "key" | "request" }>;
  single: z.ZodType;
  batch: z.ZodType;
  /** The names the model reads (its plan's inputs), in order. */
  inputNames: string[];
  /** The view's ODTs with the names of their feature arguments ("group.f" → "f"), worked out once. */
  odts: Array<{ odt: OdtPlan; features: string[] }>;
  predictor: Predictor | null;
  /** Batches concurrent requests into one ONNX run; swapped with the predictor. */
  batcher: PredictBatcher | null;
  scored: BatchStats;
  record: ModelSummary | null;
  loadedAt: Date | null;
  reloadError?: string;
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


export { zodIssues };

/** The request schema of a served model: the one the compiler generated (schema.ts). */
export function requestSchema(plan: ModelPlan): z.ZodType {
  return plan.requestSchema;
}

/**
 * The key of a body that wraps its events in an object (`{"events": [...]}`, `{"records": [...]}`, as
 * other APIs take them), or null. One field holding an array of objects is never an event (an event's
 * values are scalars, or a vector's numbers); it was answered as one event with an unknown field and
 * every field missing (the newuser lane's first push of a month of unemployment rows).
 */
function wrappedEvents(body: unknown): string | null {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return null;
  const keys = Object.keys(body);
  if (keys.length !== 1) return null;
  const v = (body as Record<string, unknown>)[keys[0]];
  return Array.isArray(v) && v.length > 0 && v.every((e) => e !== null && typeof e === "object" && !Array.isArray(e)) ? keys[0] : null;
}

/**
 * Issues a 400 lists at most: a 1 MB body of 60,000 unknown fields would
 * otherwise be answered with a 3 MB list (the message still counts them all).
 */
const MAX_LISTED_ISSUES = 1000;

function apiError(status: number, code: string, message: string, issues?: ApiIssue[]): LocalResponse<never> {
  const body: ApiErrorBody = { error: { status, code, message, ...(issues ? { issues } : {}) } };
  return { status, body };
}

function plain(v: unknown): Scalar {
  if (v instanceof Date) return v.toISOString();
  return (v ?? null) as Scalar;
}

type ParsedInstances = { isBatch: boolean; instances: Array<Record<string, unknown>> } | LocalResponse;

/**
 * The request's instances, validated by the model's request schema (one
 * instance, or `{"instances": [...]}`); a 400 otherwise. A batch is validated
 * INSTANCES_PER_TURN instances per turn of the event loop, with the issues
 * validating it whole gives (same paths, same order). At once (no promise)
 * when it fits in one turn (turns.ts inTurns).
 */
function parseInstances(m: ServedModel, modelName: string, body: unknown): ParsedInstances | Promise<ParsedInstances> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return apiError(400, "invalid_request", "the request body must be a JSON object: the entity keys and request fields, or {\"instances\": [...]}", [
      { path: [], message: "expected an object" },
    ]);
  }
  const isBatch = Object.prototype.hasOwnProperty.call(body, "instances");
  if (!isBatch) {
    const one = m.single.safeParse(body);
    return one.success ? { isBatch, instances: [one.data as Record<string, unknown>] } : invalidRequest(modelName, zodIssues(one.error, [], body, m.single));
  }
  const envelope = BATCH_ENVELOPE.safeParse(body);
  if (!envelope.success) {
    // a bad envelope: the whole batch's issues, as one validation gives them
    const whole = m.batch.safeParse(body);
    return invalidRequest(modelName, zodIssues(whole.success ? envelope.error : whole.error));
  }
  const items = envelope.data.instances;
  const instances: Array<Record<string, unknown>> = [];
  const issues: ApiIssue[] = [];
  const validated = inTurns(0, items.length, (i) => {
    const one = m.single.safeParse(items[i]);
    if (one.success) instances.push(one.data as Record<string, unknown>);
    else issues.push(...zodIssues(one.error, ["instances", i], items[i], m.single));
  });
  return whenReady(validated, () => (issues.length ? invalidRequest(modelName, issues) : { isBatch, instances }));
}

/**
 * The 400 of a request that fails the schema. A function of the module, not a closure made per request: run
 * from TypeScript through tsx, each closure a function creates is named by a call (esbuild's keepNames), ~1 %
 * of the server's CPU per answer when parseInstances made one.
 */
function invalidRequest(modelName: string, issues: ApiIssue[]): LocalResponse<never> {
  return apiError(
    400,
    "invalid_request",
    `invalid request for model \`${modelName}\`: ${issues.length} issue${issues.length === 1 ? "" : "s"}${issues.length > MAX_LISTED_ISSUES ? ` (the first ${MAX_LISTED_ISSUES} listed)` : ""}`,
    issues.slice(0, MAX_LISTED_ISSUES),
  );
}

/**
 * Per instance: the ODT values, and the model's inputs by name (what
 * `{...request, ...features, ...odts}` gives for each input the model reads:
 * an ODT value, else the feature's value, else the request field). Only the
 * model's inputs are copied (the predictor reads nothing else), into objects
 * of one shape.
 */
type ModelInputs = { rows: Array<Record<string, Scalar>>; odtValues: Array<Record<string, Scalar>> };

function modelInputs(m: ServedModel, requests: Array<Record<string, Scalar>>, looked: Array<ReturnType<typeof lookup>>): ModelInputs | Promise<ModelInputs> {
  const rows: Array<Record<string, Scalar>> = [];
  const odtValues: Array<Record<string, Scalar>> = [];
  const inputs = m.inputNames;
  const built = inTurns(0, requests.length, (i) => {
    const features = looked[i].features;
    const request = requests[i];
    const odts: Record<string, Scalar> = {};
    for (const { odt, features: names } of m.odts) {
      const req: Record<string, Scalar> = {};
      for (const p of odt.requestParams) req[p.name] = request[p.name] ?? null;
      const args: Record<string, Scalar> = {};
      for (const name of names) args[name] = (hasOwn(features, name) ? features[name].value : undefined) ?? null;
      const v = odt.compute(req, args);
      odts[odt.name] = v === undefined ? null : v;
    }
    odtValues.push(odts);
    const row: Record<string, Scalar> = {};
    for (const name of inputs) row[name] = hasOwn(odts, name) ? odts[name] : hasOwn(features, name) ? features[name].value : request[name];
    rows.push(row);
  });
  return whenReady(built, () => ({ rows, odtValues }));
}

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** What a request has scored so far: the answer objects, or their texts, and the log lines. */
interface Scored {
  results: OnlineInstanceResult[];
  texts: string[];
  entries: SerializedEntry[];
}

type LookedUp = { requests: Array<Record<string, Scalar>>; looked: LookupResult[] };

/**
 * Online lookup of instances `from` to `to` (a slice per turn of the event
 * loop; at once when they fit in one): the request fields as served, and the
 * features; an instance that misses features the model cannot impute adds its
 * issue to `missing`.
 */
function lookupChunk(
  m: ServedModel,
  joins: JoinLookup[],
  instances: Array<Record<string, unknown>>,
  from: number,
  to: number,
  nowMs: number,
  isBatch: boolean,
  missing: ApiIssue[],
): LookedUp | Promise<LookedUp> {
  const requests: Array<Record<string, Scalar>> = [];
  const looked: LookupResult[] = [];
  const done = inTurns(from, to, (i) => {
    const req: Record<string, Scalar> = {};
    for (const f of m.fields) req[f.name] = plain(instances[i][f.name]);
    const l = lookup(joins, req, nowMs, m.view.ttlMs);
    if (l.missing.length && !m.plan.canImpute) missing.push({ path: isBatch ? ["instances", i] : [], message: missingMessage(l, m.view, req) });
    if (missing.length) return; // nothing more is scored: keep only the issues
    requests.push(req);
    looked.push(l);
  });
  return whenReady(done, () => ({ requests, looked }));
}

function isBusy(e: unknown): boolean {
  const m = (e as Error)?.message ?? "";
  return /in use by another fti process|already open in this process|Could not set lock|Conflicting lock/i.test(m);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

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
  private readonly served = new Map<string, ServedModel>();
  private groups = new Map<string, CachedGroup>();
  private readonly neededGroups: GroupFeatures[];
  private readonly now: () => number;
  private reloading: Promise<ReloadReport> | null = null;
  private queued: Promise<ReloadReport> | null = null;
  private lastReload: ReloadReport | null = null;
  private watchTimer: NodeJS.Timeout | null = null;
  private fileSig = "";
  private dirtySince: number | null = null;
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
  /** Per group, the entities' rows as the stream computed them (served before the online table's older rows). */
  private readonly streamed = new Map<string, Map<string, StreamedRow>>();
  /** Per group, the entities whose streamed row misses late events (cleared by the rebuild that applies them). */
  private readonly lateMarks = new Map<string, Map<string, LateMark>>();
  /** Seconds from an events request's arrival to its events being durable and applied, per source. */
  /** Logs the streams are read from (Redis Streams), besides HTTP push. */
  private readonly consumers: EventConsumer[] = [];
  private consumerStats: ConsumerStats[] = [];
  /** The shared online store (Redis) the rows are read from per request, instead of `groups`; null: in memory. */
  private remote: RedisOnlineStore | null = null;
  /** Per group: what the shared store holds (refreshed at each reload), and whether it is behind the store file's online table. */
  private remoteInfo = new Map<string, RemoteGroupInfo & { group: string; missing: boolean; behind: boolean; loadedAt: Date }>();
  readonly applyLatency = new HistogramSet("fti_stream_apply_seconds", "Events requests: arrival to durable and applied (validation, fsync, incremental update), per source.", "source");

  private constructor(bundle: SpecBundle, opts: ServiceOptions) {
    this.bundle = bundle;
    this.storePath = opts.store ? resolve(opts.store) : defaultStorePath();
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

    const online = bundle.serves.filter((s) => s.online);
    // Agents, indexes and streams are served without a model (an agent may only read and retrieve).
    if (online.length === 0 && !bundle.agents?.length && !bundle.indexes?.length && !bundle.sources.some((src) => src.stream)) {
      throw new UserError(
        `spec \`${bundle.name}\` serves nothing online: no model, agent, index or stream`,
        "add `serve <model> { online }` to the spec",
      );
    }
    const groups = new Map<string, GroupFeatures>();
    for (const s of online) {
      const plan = bundle.models.find((m) => m.name === s.model);
      if (!plan) throw new UserError(`spec \`${bundle.name}\` serves model \`${s.model}\`, which it does not define`);
      const view = bundle.views.find((v) => v.name === plan.view);
      if (!view) throw new UserError(`model \`${plan.name}\` reads view \`${plan.view}\`, which spec \`${bundle.name}\` does not define`);
      const viewGroups = viewFeatureGroups(bundle, view);
      for (const g of viewGroups) {
        const have = groups.get(g.plan.name);
        if (!have) groups.set(g.plan.name, { plan: g.plan, features: [...g.features] });
        else for (const f of g.features) if (!have.features.some((x) => x.name === f.name)) have.features.push(f);
      }
      const single = requestSchema(plan);
      this.served.set(plan.name, {
        name: plan.name,
        plan,
        view,
        groups: viewGroups,
        joins: viewJoins(bundle, view),
        fields: [
          ...view.keys.map((k) => ({ ...k, nullable: false, kind: "key" as const })),
          ...view.requestFields.filter((r) => !view.keys.some((k) => k.name === r.name)).map((r) => ({ ...r, kind: "request" as const })),
        ],
        single,
        batch: z.strictObject({ instances: z.array(single).min(1).max(MAX_INSTANCES) }),
        inputNames: [...new Set(plan.inputs.map((x) => x.name))],
        odts: view.odts.map((odt) => ({ odt, features: odt.featureParams.map((p) => (p.includes(".") ? p.split(".", 2)[1] : p)) })),
        predictor: null,
        batcher: null,
        scored: { runs: 0, rows: 0 },
        record: null,
        loadedAt: null,
      });
    }
    // Agents see their context features of the online tables too.
    for (const agent of bundle.agents ?? []) {
      for (const f of agent.context) {
        const plan = bundle.groups.find((g) => g.name === f.group);
        if (!plan) throw new UserError(`agent \`${agent.name}\` reads feature group \`${f.group}\`, which spec \`${bundle.name}\` does not define`);
        const have = groups.get(plan.name);
        if (!have) groups.set(plan.name, { plan, features: [{ name: f.name, type: f.type }] });
        else if (!have.features.some((x) => x.name === f.name)) have.features.push({ name: f.name, type: f.type });
      }
    }
    this.neededGroups = [...groups.values()];
    this.streams = bundle.sources.some((src) => src.stream) ? new StreamService(bundle, this.storePath, { typedEvents: withTypedStreamEvents, maxAheadMs: STREAM_MAX_AHEAD_MS }) : null;

    this.agentHost = {
      bundle,
      settings: opts.agents ?? agentSettingsFromEnv(),
      now: () => this.now(),
      lookup: (agent, keys, nowMs) => {
        if (this.remote) return this.remoteEntityFeatures([...new Set(agent.context.map((f) => f.group))], keys, nowMs, agent.context);
        const joins = [...new Set(agent.context.map((f) => f.group))]
          .map((g) => this.groups.get(g))
          .filter((g): g is CachedGroup => g !== undefined)
          .map((g) => entityJoin(g, agent.context.filter((f) => f.group === g.plan.name).map((f) => f.name)));
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
      svc.remote = await RedisOnlineStore.connect(opts.onlineStore);
    }
    let report: ReloadReport;
    try {
      await svc.claimStreams(Boolean(opts.redis));
      report = await svc.load("start", { waitMs: opts.openTimeoutMs ?? 30_000, strict: true });
    } catch (e) {
      await svc.streams?.close();
      await svc.remote?.close();
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
        await svc.startConsumer(consumer);
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
   * One writer per stream (stream/writer-lock.ts): the lock file in its
   * segment directory and, with a shared store, its lease there. A stream
   * another process writes is served from what that writer materialized and
   * (shared store) streamed; its events are refused here. Reading a broker
   * (`--redis`) needs every stream: refused at start.
   */
  private async claimStreams(consumer: boolean): Promise<void> {
    if (!this.streams) return;
    const { FileWriterLock } = await import("../stream/writer-lock.ts");
    const refused = await this.streams.claim((source, dir) => [new FileWriterLock(dir), ...(this.remote ? [this.remote.lease(source)] : [])]);
    for (const r of refused) {
      if (consumer) throw new UserError(`stream \`${r.source}\` already has a writer: ${r.holder}`, "one process reads a stream's events; stop that one, or start this server without --redis to serve predictions only");
      this.logger.warn(`stream \`${r.source}\`: its writer is ${r.holder}; this server serves predictions and refuses its events (409)`);
    }
  }

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

  private async openReadOnly(waitMs: number): Promise<Store> {
    const deadline = Date.now() + waitMs;
    let delay = 25;
    for (;;) {
      try {
        return await openStore({ path: this.storePath, readOnly: true });
      } catch (e) {
        if (!isBusy(e) || Date.now() + delay > deadline) throw e;
        await sleep(delay);
        delay = Math.min(delay * 2, 500);
      }
    }
  }

  private async load(reason: string, opts: { waitMs: number; strict: boolean }): Promise<ReloadReport> {
    const t0 = performance.now();
    const report: ReloadReport = { ok: true, reason, at: new Date().toISOString(), ms: 0, models: [], groups: [], indexes: [], errors: [] };
    const nextModels = new Map<string, { predictor: Predictor; record: ModelSummary }>();
    const nextGroups = new Map(this.groups);
    const sigBefore = this.fileSignature();
    let store: Store;
    try {
      store = await this.openReadOnly(opts.waitMs);
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
      if (reason === "start" && this.streams) await this.rebuildStreams(store);
      else if (this.lateMarks.size && this.streams) await this.rebuildStreams(store, true);
    } catch (e) {
      report.ok = false;
      report.errors.push((e as Error).message);
      if (opts.strict) throw e;
    } finally {
      await store.close();
    }
    this.swapIn(nextModels, nextGroups);
    if (report.ok) this.fileSig = sigBefore;
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
    if (this.remote) return this.loadRemoteInfo(state, report);
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

  /** With a shared store: what it holds per group (rows are read per request), and whether it is behind the store file's online table. */
  private async loadRemoteInfo(state: Awaited<ReturnType<typeof readOnlineState>>, report: ReloadReport): Promise<void> {
    const next = new Map(this.remoteInfo);
    for (const g of this.neededGroups) {
      const table = onlineTable(g.plan);
      const info = await this.remote!.groupInfo(table);
      const local = state.find((s) => s.online_table === table);
      const localChanged = local?.changed_at ? local.changed_at.getTime() : null;
      const behind = local !== undefined && info.changedAt !== localChanged;
      const prev = this.remoteInfo.get(g.plan.name);
      next.set(g.plan.name, { ...info, group: g.plan.name, missing: info.changedAt === null && info.entities === 0, behind, loadedAt: new Date() });
      if (!prev || prev.changedAt !== info.changedAt || prev.behind !== behind) {
        report.groups.push({ group: g.plan.name, table: `${this.remote!.display} ${table}`, entities: info.entities, missing: info.changedAt === null && info.entities === 0 });
        if (behind) this.logger.warn(`the online store ${this.remote!.display} is behind ${table} of the store file: run \`fti materialize ${this.bundle.file} --online-store …\` to copy it`);
      }
    }
    this.remoteInfo = next;
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

  /**
   * At start: the streams' state from their checkpoints and the events after
   * them, or from the offline store and the segments (docs/streaming.md).
   * `again`: at a reload while late events are marked, the entities they
   * belong to are recomputed (they are in the store or the segments): their marks clear.
   */
  private async rebuildStreams(store: Store, again = false): Promise<void> {
    // With a shared store, only each entity's final row is written, once the rebuild is done.
    const latest = new Map<string, StreamUpdate>();
    // In memory, a replica also rebuilds the streams it does not write: it serves their state as of its start (their new
    // events go to the writer). With a shared store it reads the writer's rows there instead.
    const onUpdate = (u: StreamUpdate) => {
      if (again) this.lateMarks.get(u.group)?.delete(entityKey(u.keys));
      if (this.remote) latest.set(`${u.group}\u0000${entityKey(u.keys)}`, u);
      else this.applyStreamUpdate(u);
    };
    this.streams!.onCheckpointError = (m) => this.logger.error(m);
    if (again) {
      for (const c of await this.streams!.correctLate(store, onUpdate)) this.logger.info(`stream ${c.source}: ${c.entities} entities with late events recomputed (${c.rowsRead} of their offline rows read)`);
    }
    const reports = again ? [] : await this.streams!.rebuild(store, onUpdate, { refused: !this.remote });
    // From now on late events are corrected by themselves, in the background (stream/service.ts `autoCorrect`).
    if (!again) {
      this.streams!.autoCorrect(
        () => this.openReadOnly(5_000),
        (updates) => this.applyCorrected(updates),
        // Busy while `fti features` writes the store: expected, the next try comes later.
        (e, source) => isBusy(e) || this.logger.warn(`stream ${source}: late events not corrected yet (${e.message}); tried again later`),
      );
    }
    if (this.remote && latest.size) {
      // Every entity rebuilt or recomputed has every stored event applied: its late-event mark in Redis goes (a killed writer's included).
      const cleared = [...latest.values()].map((u) => ({ group: u.group, key: entityKey(u.keys), mark: null }));
      await this.remote.writeStreamed(this.bundle, [...latest.values()], cleared).catch((e) => this.logger.error(`stream rows not yet in the online store (retried every second): ${(e as Error).message}`));
    }
    for (const r of reports) {
      const how = r.from === "checkpoint" ? `from its checkpoint and ${r.segmentEvents} segment events after it (${r.corrected} entities with late events recomputed)` : `(${r.offlineRows} offline rows, ${r.segmentEvents} segment events)`;
      this.logger.info(`stream ${r.source}: ${r.applied} events ${how} applied in ${r.ms} ms`);
      if (r.fallback && r.fallbackMissing) this.logger.info(`stream ${r.source}: rebuilt from its whole history: ${r.fallback}`);
      else if (r.fallback) this.logger.warn(`stream ${r.source}: rebuilt from its whole history: ${r.fallback}`);
      if (r.invalidLines) this.logger.warn(`stream ${r.source}: ${r.invalidLines} segment lines are not valid events of the spec as it is now; they were skipped`);
    }
  }

  /** Rows recomputed for late events (in the background): their marks clear; with a shared store they are written there, marks cleared. */
  private async applyCorrected(updates: StreamUpdate[]): Promise<void> {
    for (const u of updates) this.lateMarks.get(u.group)?.delete(entityKey(u.keys));
    if (!this.remote) {
      for (const u of updates) this.applyStreamUpdate(u);
      return;
    }
    const cleared = updates.map((u) => ({ group: u.group, key: entityKey(u.keys), mark: null }));
    await this.remote.writeStreamed(this.bundle, updates, cleared).catch((e) => this.logger.error(`stream rows not yet in the online store (retried every second): ${(e as Error).message}`));
  }

  /** The rows the stream computed for a group, by entity key (what lookups serve before the table's older rows). */
  streamedRows(group: string): ReadonlyMap<string, StreamedRow> {
    return this.streamed.get(group) ?? new Map();
  }

  private markLate(group: string, key: string, eventMs: number): void {
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
  private applyStreamUpdate(u: StreamUpdate): void {
    let rows = this.streamed.get(u.group);
    if (!rows) this.streamed.set(u.group, (rows = new Map()));
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

  private readonly featureNamesOf = new Map<string, string[]>();
  private featureNames(group: string): string[] {
    let names = this.featureNamesOf.get(group);
    if (!names) this.featureNamesOf.set(group, (names = this.bundle.groups.find((g) => g.name === group)!.features.map((f) => f.name)));
    return names;
  }

  /**
   * `POST /v1/sources/<source>/events`: one event (an object), or several (an
   * array, or NDJSON lines), all or nothing; answered once they are durable
   * and applied.
   */
  async pushEvents(source: string, body: unknown): Promise<LocalResponse> {
    const t0 = performance.now();
    if (!this.streams) return apiError(404, "unknown_stream", `spec \`${this.bundle.name}\` has no stream source (declare \`stream\` in a source)`);
    const batch = Array.isArray(body);
    const events = batch ? (body as unknown[]) : [body];
    if (events.length === 0) return apiError(400, "invalid_events", "no events: send an event object, an array of them, or NDJSON lines");
    const wrapper = wrappedEvents(body);
    if (wrapper !== null) {
      return apiError(400, "invalid_events", `the body is an object whose one field ${echo(wrapper)} holds an array: send the events themselves, an event object, an array of them, or NDJSON lines`, [
        { path: [capKey(wrapper)], message: "an array of events inside an object; post the array itself" },
      ]);
    }
    if (events.length > MAX_EVENTS) return apiError(413, "too_many_events", `at most ${MAX_EVENTS} events per request, got ${events.length}`);
    const r = await this.ingestEvents(source, events, (i) => (batch ? [i] : []), t0);
    if (!r.ok) return apiError(r.status, r.code, r.message, r.issues);
    return { status: 200, body: r.result };
  }

  /** Every transport's way in (HTTP push above, a log consumer): stored, applied, the latency observed. */
  private async ingestEvents(source: string, events: unknown[], at: (i: number) => Array<string | number>, t0 = performance.now()): Promise<IngestOutcome> {
    const r = await this.streams!.ingest(source, events, at);
    if (!r.ok) return r;
    for (const l of r.late) this.markLate(l.group, entityKey(l.keys), l.eventMs);
    if (this.remote) {
      try {
        const marks = r.late.map((l) => ({ group: l.group, key: entityKey(l.keys), mark: this.lateMarks.get(l.group)!.get(entityKey(l.keys))! }));
        await this.remote.writeStreamed(this.bundle, r.updates, marks);
      } catch (e) {
        const message = `${(e as Error).message}; the events are stored durably and applied to this server's stream state, and their rows reach the online store when it is back (sending them again is safe: they are recognised as duplicates)`;
        return { ok: false, status: 503, code: "online_store_unavailable", message };
      }
    } else for (const u of r.updates) this.applyStreamUpdate(u);
    this.applyLatency.observe(source, (performance.now() - t0) / 1000);
    return r;
  }

  /** Starts reading the streams from a log (Redis Streams) as well: acknowledged there only once durable and applied here. */
  private async startConsumer(consumer: EventConsumer): Promise<void> {
    await consumer.start({ ingest: (source, events) => this.ingestEvents(source, events, (i) => [i]) });
    this.consumers.push(consumer);
  }

  private fileSignature(): string {
    const sig = (p: string) => {
      try {
        const s = statSync(p);
        return `${s.size}:${s.mtimeMs}`;
      } catch {
        return "-";
      }
    };
    return `${sig(this.storePath)}|${sig(this.storePath + ".wal")}`;
  }

  /**
   * Polls the store file (and its WAL) and reloads once it has been quiet for
   * one interval; while another process holds the store, retries next time.
   */
  private watch(intervalMs: number): void {
    this.fileSig = this.fileSignature();
    const tick = async () => {
      if (this.closed) return;
      const sig = this.fileSignature();
      if (sig !== this.fileSig) {
        if (this.dirtySince === null || sig !== this.pendingSig) {
          this.dirtySince = Date.now();
          this.pendingSig = sig;
          return;
        }
        const wait = Math.min(intervalMs * 2 ** this.watchFailures, 30_000);
        if (Date.now() - this.dirtySince < wait || this.reloading) return;
        const r = await this.reload("store changed", { waitMs: 0 });
        if (r.ok) {
          this.dirtySince = null;
          this.watchFailures = 0;
        } else {
          // Busy (another process writes): retry soon; anything else: back off.
          this.dirtySince = Date.now();
          this.watchFailures = r.errors.every((e) => isBusy({ message: e })) ? 0 : Math.min(this.watchFailures + 1, 6);
        }
      }
    };
    this.watchTimer = setInterval(() => void tick().catch((e) => this.logger.error(`watch: ${(e as Error).message}`)), intervalMs);
    this.watchTimer.unref();
  }
  private pendingSig = "";
  private watchFailures = 0;

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
    if (this.remote) {
      for (const g of this.neededGroups) {
        if (g.plan.entity !== entity) continue;
        const features = g.features.map((f) => ({ group: g.plan.name, name: f.name }));
        out[g.plan.name] = await this.remoteEntityFeatures([g.plan.name], keys, this.now(), features);
      }
      return out;
    }
    for (const g of this.neededGroups) {
      if (g.plan.entity !== entity) continue;
      const cached = this.groups.get(g.plan.name);
      if (!cached) continue;
      out[g.plan.name] = lookup([entityJoin(cached)], keys, this.now(), null).features;
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
    const joins = this.remote ? await this.remoteJoins(m, instances) : this.joinLookups(m);
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
        `model \`${modelName}\` cannot predict without these features: its MDTs do not impute every input` +
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

  /** The served view's joins, fetched from the shared store for these instances (the rows they name); a 503 when it cannot be read. */
  private async remoteJoins(m: ServedModel, instances: Array<Record<string, unknown>>): Promise<JoinLookup[] | LocalResponse> {
    const requests = instances.map((inst) => Object.fromEntries(m.fields.map((f) => [f.name, plain(inst[f.name])])) as Record<string, Scalar>);
    try {
      return await this.remote!.joins(m.joins.map((j) => ({ ...j.join, features: j.features })), this.remoteGroups(), requests);
    } catch (e) {
      return this.remoteError(e);
    }
  }

  /** A 503 for a shared store that cannot be read (anything else is a bug, thrown on). */
  private remoteError(e: unknown): LocalResponse<never> {
    if ((e as Error)?.name !== "OnlineStoreUnavailable") throw e;
    return apiError(503, "online_store_unavailable", (e as Error).message);
  }

  /** The groups the served views and agents read: plan and features, by name. */
  private remoteGroups(): Map<string, { plan: GroupPlan; features: string[] }> {
    return new Map(this.neededGroups.map((g) => [g.plan.name, { plan: g.plan, features: g.features.map((f) => f.name) }]));
  }

  /** An entity's features of some groups from the shared store (agents, MCP); unavailable → every feature not_found. */
  private async remoteEntityFeatures(groups: string[], keys: Record<string, Scalar>, nowMs: number, features: ReadonlyArray<{ group: string; name: string }>): Promise<Record<string, FeatureValue>> {
    const specs: JoinSpec[] = [];
    for (const name of groups) {
      const plan = this.bundle.groups.find((g) => g.name === name);
      if (!plan) continue;
      const on = plan.keys.map((k) => ({ key: k.name, column: k.name }));
      specs.push({ id: name, group: name, on, features: features.filter((f) => f.group === name).map((f) => ({ name: f.name, column: f.name })) });
    }
    try {
      const l = lookup(await this.remote!.joins(specs, this.remoteGroups(), [keys]), keys, nowMs, null);
      return Object.fromEntries(features.map((f) => [f.name, l.features[f.name] ?? { value: null, status: "not_found" as const }]));
    } catch (e) {
      this.logger.error((e as Error).message);
      return Object.fromEntries(features.map((f) => [f.name, { value: null, status: "not_found" as const }]));
    }
  }

  /** The served view's joins against the groups loaded now (a reload swaps the groups as a whole). */
  private joinLookups(m: ServedModel): JoinLookup[] {
    const out: JoinLookup[] = [];
    for (const j of m.joins) {
      const group = this.groups.get(j.join.group);
      if (group) out.push({ id: j.join.id, group, on: j.join.on, features: j.features, streamed: this.streamed.get(j.join.group), late: this.lateMarks.get(j.join.group) });
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
      if (this.remote) {
        const j = m!.joins.find((x) => x.join.on.length === 1 && x.join.on[0].column === key.name);
        const samples = j ? this.remoteInfo.get(j.join.group)?.samples : undefined;
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
    const online = this.remote
      ? [...this.remoteInfo.values()].map((g) => ({
          group: g.group,
          table: g.table,
          entities: g.entities,
          missing: g.missing,
          loaded_at: g.loadedAt.toISOString(),
          store: this.remote!.display,
          ...(g.behind ? { behind: true } : {}),
        }))
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
        values: this.remote
          ? [...this.remoteInfo.values()].map((g) => ({ labels: { table: g.table }, value: g.entities }))
          : [...this.groups.values()].map((g) => ({ labels: { table: g.table }, value: g.index.size })),
      },
      ...(this.remote
        ? [{ name: "fti_online_store_pending_rows", help: "Stream rows waiting for the shared online store to be reachable again.", values: [{ labels: {}, value: this.remote.pendingRows }] }]
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
      ...this.streamGauges(),
      { name: "fti_request_log_refused_total", help: "Durable-mode requests refused because their entry could not be written.", type: "counter" as const, values: [{ labels: {}, value: log?.refused ?? 0 }] },
      ...this.extensions.flatMap((ext) => ext.gauges?.() ?? []),
    ];
  }

  /** Asks the brokers for their lag (before a /metrics scrape renders the gauges). */
  async refreshConsumerStats(): Promise<void> {
    const all: ConsumerStats[] = [];
    for (const c of this.consumers) all.push(...(await c.stats()));
    this.consumerStats = all;
  }

  /**
   * What the start read into memory: the online entities loaded and the stream
   * events rebuilt (from the offline store, segments or a checkpoint). Either
   * leaves its temporaries in the old space (http.ts collects them before listening).
   */
  loadedAtStart(): number {
    const entities = this.health().online.reduce((n, g) => n + g.entities, 0);
    const events = (this.streams?.stats() ?? []).reduce((n, s) => n + (s.rebuilt?.events ?? 0), 0);
    return entities + events;
  }

  /** The streams' counters and state for /metrics. */
  private streamGauges() {
    const stats = this.streams?.stats() ?? [];
    const now = this.now();
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
        values: this.consumerStats.filter((c) => c.lag !== null).map((c) => ({ labels: { source: c.source, transport: c.transport }, value: c.lag! })),
      },
      {
        name: "fti_stream_consumer_pending",
        help: "Messages delivered but not yet acknowledged (being applied, or left by a crash and read again), per source and transport.",
        values: this.consumerStats.filter((c) => c.pending !== null).map((c) => ({ labels: { source: c.source, transport: c.transport }, value: c.pending! })),
      },
      {
        name: "fti_stream_consumer_messages_total",
        help: "Messages read from a stream's log, per source, transport and outcome: acked (durable and applied) or rejected (invalid, set aside).",
        type: "counter" as const,
        values: this.consumerStats.flatMap((c) => [
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
        values: (this.streams?.engine.stats() ?? []).map((g) => ({ labels: { group: g.group }, value: g.entities })),
      },
      {
        name: "fti_stream_state_rows",
        help: "Input rows held for the windows, per streamed feature group (the rows of each entity's longest frame).",
        values: (this.streams?.engine.stats() ?? []).map((g) => ({ labels: { group: g.group }, value: g.rows })),
      },
    ];
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = null;
    if (this.reloading) await this.reloading.catch(() => undefined);
    for (const c of this.consumers) await c.stop();
    await this.streams?.close();
    await this.remote?.close();
    await this.log?.close();
    await this.rejectLog?.close();
  }
}

/** The in-process twin of `fti serve` (what public.ts's openLocalService loads). */
export async function openLocalService(bundle: SpecBundle, opts: LocalServiceOptions = {}): Promise<LocalService> {
  return OnlineService.open(bundle, { ...opts, watch: opts.watch ?? false });
}

/**
 * Why a request has no features: the request's key values, per status the
 * features, then the joins (`group` or `group(column)`) whose row is missing,
 * stale or later, with the key values they looked up.
 */
function missingMessage(l: LookupResult, view: ViewPlan, req: Record<string, Scalar>): string {
  // The key values of the joins that found nothing: an unknown receiver does not make the sender's keys "no features".
  const missingColumns = new Set(l.missingJoins.flatMap((j) => Object.keys(j.keys)));
  const entity = view.keys.filter((k) => missingColumns.has(k.name)).map((k) => `${k.name}=${echo(req[k.name])}`).join(", ");
  const part = (status: MissingStatus, label: string) => {
    const names = l.missing.filter((f) => l.features[f].status === status);
    return names.length ? `${label}: ${names.join(", ")}` : "";
  };
  const parts = [
    part("not_found", "not found"),
    part("stale", "stale (older than the view's ttl)"),
    part("future", "only rows after the request time"),
  ].filter(Boolean);
  // A global join (no keys) names its group alone; a view with only those has no entity to name.
  const joins = (status: MissingStatus, label: string) => {
    const named = l.missingJoins
      .filter((j) => j.status === status)
      .map((j) => {
        const keys = Object.entries(j.keys).map(([k, v]) => `${k}=${echo(v)}`).join(", ");
        return keys ? `${j.id} ${keys}` : j.id;
      });
    return named.length ? `${label} ${named.join(", ")}` : "";
  };
  // A stale join has a row, only an old one: "no row in" would say it has none (as batch-rejects.ts writes it).
  const where = [joins("not_found", "no row in"), joins("stale", "no row within the ttl in"), joins("future", "only rows after the request time in")].filter(Boolean);
  return `no online features${entity ? ` for ${entity}` : ""}; ${parts.join("; ")}; ${where.join("; ")}`;
}

// service-api.d.ts declares this function for public.ts's lazy import: it must keep that type.
openLocalService satisfies typeof import("#online-service").openLocalService;
