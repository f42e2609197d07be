// The online commands: materialize, serve, verify. Same deps and
// conventions as commands.ts (the compiler's CLI hands in the spec loader;
// UserErrors print as one line).

import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { storeOption, withStore, type RuntimeCliDeps } from "./commands.ts";
import { positiveNumberFlag, timeFlag, wholeNumberFlag } from "./flags.ts";
import { specMember } from "./spec-member.ts";
import { UserError } from "../errors.ts";
import type { VerifyReport } from "../online/verify.ts";
import { defaultStorePath } from "../store/paths.ts";
import { agentSettingsFromEnv } from "../agents/settings.ts";
import { embeddingSettingsFromEnv } from "../embeddings/embedder.ts";
import { parseOnlineStore } from "../online/online-store.ts";
import type { MaterializeReport } from "../online/materialize.ts";
import type { SharedMaterializeReport } from "../online/redis-sync.ts";
import { terminalText } from "../terminal-text.ts";

const ONLINE_STORE_HELP =
  "where the online rows live: memory (default: each server's own), redis://host:port[/db] or redis+cluster://host:port,host:port,… (shared by every server; ?prefix=name for the key prefix, default fti); default: $FTI_ONLINE_STORE";

const log = (line: string) => process.stderr.write(line + "\n");
const out = (line: string) => process.stdout.write(line + "\n");

/** The request log directory: --logs, else `logs/` next to the store. */
export function logsDirFor(opts: { store?: string; logs?: string }): string {
  if (opts.logs) {
    // A file there (`--logs /dev/null`) was found out at the first request: every entry lost, the server up.
    let isFile = false;
    try {
      isFile = !statSync(opts.logs).isDirectory();
    } catch {
      // Missing: the request log makes it (and its readers find nothing).
    }
    if (isFile) throw new UserError(`--logs ${opts.logs} is not a directory`, "pass the folder the request log is (or is to be) written in");
    return resolve(opts.logs);
  }
  const store = opts.store ? resolve(opts.store) : defaultStorePath();
  return join(dirname(store), "logs");
}

/**
 * The admin and API tokens of `fti serve`: files, else the environment, else a made-up admin
 * token, which `written()` writes next to the store — once the server is up: a serve that fails
 * to start (a spec that serves nothing, a port in use) leaves no file behind.
 */
async function serveAccess(opts: { store?: string; adminTokenFile?: string; tokenFile?: string }) {
  const { readTokens, newAdminToken, writeAdminToken } = await import("../online/auth.ts");
  const apiTokens = readTokens({ file: opts.tokenFile, env: process.env.FTI_TOKEN, envName: "FTI_TOKEN", what: "API" });
  const adminTokens = readTokens({ file: opts.adminTokenFile, env: process.env.FTI_ADMIN_TOKEN, envName: "FTI_ADMIN_TOKEN", what: "admin" });
  if (adminTokens.length > 0) return { access: { adminTokens, apiTokens }, written: () => {} };
  const token = newAdminToken();
  const file = join(dirname(opts.store ? resolve(opts.store) : defaultStorePath()), "admin.token");
  const written = () => {
    writeAdminToken(file, token);
    log(`admin token written to ${file} (POST /admin/reload with \`Authorization: Bearer $(cat ${file})\`)`);
  };
  return { access: { adminTokens: [token], apiTokens }, written };
}

function megabytes(v: string, flag: string): number {
  return Math.round(positiveNumberFlag(v, flag, "megabytes")! * 1024 * 1024);
}

function pct(x: number): string {
  return x === 0 ? "0%" : x < 0.001 ? "<0.1%" : `${(100 * x).toFixed(1)}%`;
}

/** What the log itself says is missing: seq gaps, torn lines, processes that did not shut down cleanly. */
function printLogIntegrity(r: VerifyReport): void {
  const g = r.integrity;
  const range = (x: { from: number; to: number }) => (x.from === x.to ? `${x.from}` : `${x.from}–${x.to}`);
  for (const x of g.gaps.filter((x) => x.retention)) log(`note: process ${x.proc}: entries ${range(x)} were deleted by the retention cap`);
  const lost = g.gaps.filter((x) => !x.retention);
  for (const x of lost.slice(0, 20)) log(`✗ missing entries: process ${x.proc}, seq ${range(x)}`);
  if (lost.length > 20) log(`✗ … ${lost.length - 20} more missing ranges`);
  for (const b of g.bad.slice(0, 20)) log(`✗ unreadable line ${b.file}:${b.line}: ${b.reason}`);
  if (g.bad.length > 20) log(`✗ … ${g.bad.length - 20} more unreadable lines`);
  for (const p of g.processes) {
    if (p.running) log(`note: process ${p.proc} is still running: its latest requests may not be in the log yet`);
    else if (!p.ended) log(`warning: process ${p.proc} did not shut down cleanly (killed?): entries of its last flush window (after seq ${p.lastSeq}) may be missing without a trace`);
  }
  if (g.missing || g.bad.length) log(`✗ request log: ${g.missing} entries missing, ${g.bad.length} unreadable lines`);
}

export function printVerifyReport(r: VerifyReport): void {
  out(`verify ${r.model} (view ${r.view}): ${r.requests} logged requests${r.since ? ` since ${r.since}` : ""} from ${r.files.length} file${r.files.length === 1 ? "" : "s"}`);
  printLogIntegrity(r);
  const w = Math.max(8, ...r.features.map((f) => f.name.length));
  out(`  ${"value".padEnd(w)}  ${"kind".padEnd(7)} ${"compared".padStart(8)} ${"mismatch".padStart(8)}  rate`);
  for (const f of r.features) {
    out(`  ${f.name.padEnd(w)}  ${f.kind.padEnd(7)} ${String(f.compared).padStart(8)} ${String(f.mismatches).padStart(8)}  ${pct(f.rate)}`);
  }
  for (const f of r.features) {
    for (const x of f.examples) {
      out(`  ✗ ${f.name} ${Object.entries(x.entity).map(([k, v]) => `${k}=${terminalText(String(v))}`).join(",")} at ${x.ts}: served ${JSON.stringify(x.logged)}${x.status ? ` (${x.status})` : ""}, recomputed ${JSON.stringify(x.recomputed)}`);
    }
  }
  const compared = r.features.reduce((n, f) => n + f.compared, 0);
  out(
    r.mismatches > 0
      ? `✗ ${r.mismatches} mismatching values in ${r.mismatchedRequests} of ${r.requests} requests`
      : compared === 0
        ? `– nothing compared: no logged value to recompute, so nothing is shown equal or not`
        : `✓ 0 mismatches: served features equal their point-in-time recomputation`,
  );
}

export function registerOnlineCommands(program: Command, deps: RuntimeCliDeps): void {
  for (const register of [registerMaterialize, registerServe, registerVerify]) register(program, deps);
}

/** `fti materialize`: the online tables. */
function registerMaterialize(program: Command, deps: RuntimeCliDeps): void {
  storeOption(
    program
      .command("materialize")
      .description("write the latest feature row per entity into the online tables (incremental: only what changed)")
      .argument("<spec>", ".fti file")
      .option("--group <name...>", "only these feature groups")
      .option("--to <time>", "only feature rows with event_time before this time")
      .option("--online-store <url>", ONLINE_STORE_HELP)
      .option("--json", "print the report as JSON"),
  ).action(async (spec: string, opts: { group?: string[]; to?: string; store?: string; json?: boolean; onlineStore?: string }) => {
    const to = timeFlag(opts.to, "--to");
    const shared = parseOnlineStore(opts.onlineStore ?? process.env.FTI_ONLINE_STORE);
    const bundle = await deps.loadSpec(spec);
    // DuckDB and the service load on first use, so other commands start fast.
    const { materialize } = await import("../online/materialize.ts");
    const { materializeShared } = await import("../online/redis-sync.ts");
    const r: MaterializeReport & { shared?: SharedMaterializeReport["shared"] } =
      shared.kind === "memory"
        ? await withStore(opts, (store) => materialize(store, bundle, { groups: opts.group, to }))
        : await materializeShared(shared, bundle, { groups: opts.group, to }, (fn) => withStore(opts, fn));
    if (opts.json) {
      out(JSON.stringify(r, null, 2));
      return;
    }
    for (const g of r.groups) {
      if (g.mode === "skipped") {
        log(`warning: group ${g.group}: ${g.note}`);
        continue;
      }
      const what = g.mode === "unchanged" ? "unchanged since the last run" : `${g.written} written, ${g.deleted} removed of ${g.candidates} checked (${g.mode})`;
      out(`group ${g.group} v${g.version} → ${g.table}: ${g.entities} entities; ${what}`);
    }
    if (r.shared) {
      for (const g of r.shared.groups) {
        if (g.mode === "skipped") continue;
        const what = g.mode === "unchanged" ? "already up to date" : `${g.written} rows written, ${g.removed} removed (${g.mode})`;
        out(`  → ${r.shared.store} ${g.table}: ${g.entities} entities; ${what}`);
      }
    }
  });
}

/** `fti serve`: the HTTP prediction service. */
function registerServe(program: Command, deps: RuntimeCliDeps): void {
  storeOption(
    program
      .command("serve")
      .description("serve the spec's online models, agents, indexes and streams over HTTP (Fastify); reloads on promote/materialize")
      .argument("<spec>", ".fti file")
      .option("--port <n>", "port", "8080")
      .option("--host <addr>", "address to listen on", "127.0.0.1")
      .option("--logs <dir>", "request log directory (default: logs/ next to the store)")
      .option("--no-request-log", "do not log requests")
      .option("--log-durable", "answer a prediction only once its request log entry is synced to disk (group commit)")
      .option("--log-required", "refuse predictions (503) while the request log cannot be written")
      .option("--log-max-file-mb <n>", "rotate a request log file at this size (MB); closed files are gzipped", "64")
      .option("--log-max-total-mb <n>", "per model, delete the oldest compressed request log files beyond this total (MB)", "1024")
      .option("--no-watch", "do not watch the store for changes (reload with POST /admin/reload)")
      .option("--now <time>", "pin the request time (demos and replays of past data): staleness and the request log use it")
      .option("--admin-token-file <path>", "admin token(s), one per line (default: $FTI_ADMIN_TOKEN, else a new random token written to admin.token next to the store)")
      .option("--token-file <path>", "require one of these bearer tokens (one per line) on the prediction and API routes (default: $FTI_TOKEN, comma-separated; none: open)")
      .option("--log-level <level>", "Fastify log level (fatal, error, warn, info, debug)", "info")
      .option("--log-requests", "also log each HTTP request and its completion at info level (off by default: it slows serving down)")
      .option("--llm-url <url>", "agents: base URL of an OpenAI-compatible chat API (default: $FTI_LLM_URL)")
      .option("--llm-api-key <key>", "agents: its API key (default: $FTI_LLM_API_KEY)")
      .option("--agent-max-steps <n>", "agents: LLM calls per chat turn (default: $FTI_AGENT_MAX_STEPS, else 6)")
      .option("--agent-max-tokens <n>", "agents: tokens per chat turn (default: $FTI_AGENT_MAX_TOKENS, else 20000)")
      .option("--agent-timeout-ms <n>", "agents: time per chat turn (default: $FTI_AGENT_TIMEOUT_MS, else 120000)")
      .option("--embed-url <url>", "index queries with an endpoint embedding (default: $FTI_EMBED_URL, else $FTI_LLM_URL)")
      .option("--redis <url>", "also read the stream sources' events from Redis Streams (key fti:<source>, group fti; default: $FTI_REDIS_URL; none: HTTP push only)")
      .option("--online-store <url>", ONLINE_STORE_HELP)
      .option("--redis-consumer <name>", "this server's name in the Redis consumer group (default: <host>-<pid>; keep it across restarts to take over its unacknowledged messages)"),
  ).action(async (spec: string, opts: ServeOptions) => {
    const server = await startServing(spec, opts, deps);
    await runUntilStopped(server, deps);
  });
}

interface ServeOptions {
  port: string;
  host: string;
  store?: string;
  logs?: string;
  requestLog: boolean;
  watch: boolean;
  logLevel: string;
  logRequests?: boolean;
  now?: string;
  logDurable?: boolean;
  logRequired?: boolean;
  logMaxFileMb: string;
  logMaxTotalMb: string;
  adminTokenFile?: string;
  tokenFile?: string;
  llmUrl?: string;
  llmApiKey?: string;
  agentMaxSteps?: string;
  agentMaxTokens?: string;
  agentTimeoutMs?: string;
  embedUrl?: string;
  redis?: string;
  redisConsumer?: string;
  onlineStore?: string;
}

/** Starts `fti serve`'s HTTP server with the command's options. */
async function startServing(spec: string, opts: ServeOptions, deps: RuntimeCliDeps) {
  const port = wholeNumberFlag(opts.port, "--port", 0, 65535);
  const pinned = timeFlag(opts.now, "--now");
  const logOptions = {
    durable: opts.logDurable ?? false,
    maxFileBytes: megabytes(opts.logMaxFileMb, "--log-max-file-mb"),
    maxTotalBytes: megabytes(opts.logMaxTotalMb, "--log-max-total-mb"),
  };
  const agentLimits = {
    agentMaxSteps: positiveNumberFlag(opts.agentMaxSteps, "--agent-max-steps"),
    agentMaxTokens: positiveNumberFlag(opts.agentMaxTokens, "--agent-max-tokens"),
    agentTimeoutMs: positiveNumberFlag(opts.agentTimeoutMs, "--agent-timeout-ms"),
  };
  const onlineStore = parseOnlineStore(opts.onlineStore ?? process.env.FTI_ONLINE_STORE);
  const bundle = await deps.loadSpec(spec);
  const { startServer } = await import("../online/http.ts");
  const { monitoringExtension } = await import("../monitor-page/extension.ts");
  const { access, written } = await serveAccess(opts);
  const redisUrl = opts.redis ?? process.env.FTI_REDIS_URL;
  const server = await startServer(bundle, {
    port,
    host: opts.host,
    store: opts.store,
    logs: opts.requestLog ? logsDirFor(opts) : false,
    watch: opts.watch,
    httpLogger: { level: opts.logLevel },
    logRequests: opts.logRequests ?? false,
    logRequired: opts.logRequired ?? false,
    logOptions,
    ...(pinned ? { asOf: pinned } : {}),
    onlineStore,
    ...(redisUrl ? { redis: { url: redisUrl, ...(opts.redisConsumer ? { consumer: opts.redisConsumer } : {}) } } : {}),
    access,
    extensions: [monitoringExtension()],
    agents: agentSettingsFromEnv(process.env, {
      llmUrl: opts.llmUrl,
      llmApiKey: opts.llmApiKey,
      ...agentLimits,
    }),
    embeddings: embeddingSettingsFromEnv(process.env, { embedUrl: opts.embedUrl ?? opts.llmUrl }),
  });
  written();
  if (pinned) log(`request time pinned to ${pinned.toISOString()} (--now)`);
  const b = server.service.bundle;
  const served = [
    ...server.service.models().map((m) => `${m.model}@${m.version}`),
    ...(b.agents ?? []).map((a) => `agent ${a.name}`),
    ...(b.indexes ?? []).map((x) => `index ${x.name}`),
    ...b.sources.filter((src) => src.stream).map((src) => `stream ${src.name}`),
  ].join(", ");
  if (redisUrl) log(`reading streams ${server.service.streams?.names().join(", ")} from Redis Streams at ${redisUrl}`);
  if (onlineStore.kind === "redis") log(`online features from ${onlineStore.display} (shared online store)`);
  log(`serving ${served} at ${server.url} (store ${server.service.storePath}${server.service.log ? `, request log ${server.service.log.dir}` : ""})`);
  return server;
}

/** Runs until SIGTERM/SIGINT: stop accepting, finish requests in flight, flush the log (exit 1 when answered requests were not logged). */
async function runUntilStopped(server: Awaited<ReturnType<typeof startServing>>, deps: RuntimeCliDeps): Promise<void> {
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      process.off("SIGTERM", onTerm);
      process.off("SIGINT", onInt);
      log(`${signal}: stopping (finishing requests in flight, flushing the request log)`);
      server.close().then(
        () => {
          const s = server.service.log?.stats();
          log(`stopped${s ? `; ${s.written} requests logged` : ""}`);
          const lost = server.service.log?.lost() ?? 0;
          if (lost > 0) {
            log(`error: ${lost} answered requests are not in the request log (${s?.lastError ?? "writes failed"})`);
            deps.exit(1);
          }
          done();
        },
        (e: unknown) => {
          log(`error while stopping: ${(e as Error).message}`);
          deps.exit(3);
          done();
        },
      );
    };
    const onTerm = () => stop("SIGTERM");
    const onInt = () => stop("SIGINT");
    process.on("SIGTERM", onTerm);
    process.on("SIGINT", onInt);
  });
}

/** `fti verify`: served features against their point-in-time recomputation. */
function registerVerify(program: Command, deps: RuntimeCliDeps): void {
  storeOption(
    program
      .command("verify")
      .description("recompute each logged request's features point-in-time and report online/offline mismatches")
      .argument("<spec>", ".fti file")
      .argument("[model]", "model name (default: the spec's only model)")
      .option("--since <time>", "only requests at or after this time")
      .option("--logs <dir>", "request log directory (default: logs/ next to the store)")
      .option("--json", "print the report as JSON"),
  ).action(async (spec: string, modelArg: string | undefined, opts: { since?: string; store?: string; logs?: string; json?: boolean }) => {
    const since = timeFlag(opts.since, "--since");
    const bundle = await deps.loadSpec(spec);
    const model = specMember(bundle, "model", modelArg);
    const logsDir = logsDirFor(opts);
    const { verifyModel } = await import("../online/verify.ts");
    const { unkeptStreamEvents } = await import("../features/stream-input.ts");
    const [r, unkept] = await withStore(opts, async (store) => {
      const report = await verifyModel(store, bundle, model, { logsDir, since });
      // Events pushed to a stream reach the offline rows only through `fti features`: until then the
      // served values include them and the recomputation does not (a mismatch that is not a bug).
      const pending: [string, number][] = [];
      for (const s of bundle.sources.filter((x) => x.stream)) pending.push([s.name, await unkeptStreamEvents(store, s.name)]);
      return [report, pending.filter(([, n]) => n > 0)] as const;
    });
    if (opts.json) out(JSON.stringify(r, null, 2));
    else printVerifyReport(r);
    for (const [source, n] of unkept) {
      log(`note: ${n} event${n === 1 ? "" : "s"} pushed to stream ${source} ${n === 1 ? "is" : "are"} not in the store's rows yet: served features include ${n === 1 ? "it" : "them"}, the recomputation does not — run \`fti features ${bundle.file}\` first`);
    }
    if (r.requests === 0 && !opts.json) log(`warning: no logged requests for ${model} in ${logsDir}`);
    if (r.mismatches > 0 || r.integrity.missing > 0 || r.integrity.bad.length > 0) deps.exit(1);
  });
}
