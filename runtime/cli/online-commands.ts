// The online commands: materialize, serve, verify. Same deps and
// conventions as commands.ts (the compiler's CLI hands in the spec loader;
// UserErrors print as one line).

import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { parseTime, withStore, type RuntimeCliDeps } from "./commands.ts";
import { UserError } from "../errors.ts";
import type { VerifyReport } from "../online/verify.ts";
import { defaultStorePath } from "../store/paths.ts";
import { agentSettingsFromEnv } from "../agents/settings.ts";
import { embeddingSettingsFromEnv } from "../embeddings/embedder.ts";

const log = (line: string) => process.stderr.write(line + "\n");
const out = (line: string) => process.stdout.write(line + "\n");

/** The request log directory: --logs, else `logs/` next to the store. */
export function logsDirFor(opts: { store?: string; logs?: string }): string {
  if (opts.logs) return resolve(opts.logs);
  const store = opts.store ? resolve(opts.store) : defaultStorePath();
  return join(dirname(store), "logs");
}

function pct(x: number): string {
  return x === 0 ? "0%" : x < 0.001 ? "<0.1%" : `${(100 * x).toFixed(1)}%`;
}

export function printVerifyReport(r: VerifyReport): void {
  out(`verify ${r.model} (view ${r.view}): ${r.requests} logged requests${r.since ? ` since ${r.since}` : ""} from ${r.files.length} file${r.files.length === 1 ? "" : "s"}`);
  if (r.badLines) log(`warning: ${r.badLines} unreadable log lines skipped`);
  const w = Math.max(8, ...r.features.map((f) => f.name.length));
  out(`  ${"value".padEnd(w)}  ${"kind".padEnd(7)} ${"compared".padStart(8)} ${"mismatch".padStart(8)}  rate`);
  for (const f of r.features) {
    out(`  ${f.name.padEnd(w)}  ${f.kind.padEnd(7)} ${String(f.compared).padStart(8)} ${String(f.mismatches).padStart(8)}  ${pct(f.rate)}`);
  }
  for (const f of r.features) {
    for (const x of f.examples) {
      out(`  ✗ ${f.name} ${Object.entries(x.entity).map(([k, v]) => `${k}=${v}`).join(",")} at ${x.ts}: served ${JSON.stringify(x.logged)}${x.status ? ` (${x.status})` : ""}, recomputed ${JSON.stringify(x.recomputed)}`);
    }
  }
  out(
    r.mismatches === 0
      ? `✓ 0 mismatches: served features equal their point-in-time recomputation`
      : `✗ ${r.mismatches} mismatching values in ${r.mismatchedRequests} of ${r.requests} requests`,
  );
}

function positive(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`${flag} ${v}: expected a positive number`);
  return n;
}

export function registerOnlineCommands(program: Command, deps: RuntimeCliDeps): void {
  const storeOption = (c: Command) => c.option("--store <path>", "the DuckDB store (default: $FTI_STORE or .fti/store.duckdb)");

  storeOption(
    program
      .command("materialize")
      .description("write the latest feature row per entity into the online tables (incremental: only what changed)")
      .argument("<spec>", ".fti file")
      .option("--group <name...>", "only these feature groups")
      .option("--to <time>", "only feature rows with event_time before this time")
      .option("--json", "print the report as JSON"),
  ).action(async (spec: string, opts: { group?: string[]; to?: string; store?: string; json?: boolean }) => {
    const bundle = await deps.loadSpec(spec);
    const to = parseTime(opts.to, "--to");
    // DuckDB and the service load on first use, so other commands start fast.
    const { materialize } = await import("../online/materialize.ts");
    const r = await withStore(opts, (store) => materialize(store, bundle, { groups: opts.group, to }));
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
  });

  storeOption(
    program
      .command("serve")
      .description("serve the spec's online models over HTTP (Fastify); reloads on promote/materialize")
      .argument("<spec>", ".fti file")
      .option("--port <n>", "port", "8080")
      .option("--host <addr>", "address to listen on", "127.0.0.1")
      .option("--logs <dir>", "request log directory (default: logs/ next to the store)")
      .option("--no-request-log", "do not log requests")
      .option("--no-watch", "do not watch the store for changes (reload with POST /admin/reload)")
      .option("--now <time>", "pin the request time (demos and replays of past data): staleness and the request log use it")
      .option("--log-level <level>", "Fastify log level (fatal, error, warn, info, debug)", "info")
      .option("--log-requests", "also log each HTTP request and its completion at info level (off by default: it slows serving down)")
      .option("--llm-url <url>", "agents: base URL of an OpenAI-compatible chat API (default: $FTI_LLM_URL)")
      .option("--llm-api-key <key>", "agents: its API key (default: $FTI_LLM_API_KEY)")
      .option("--agent-max-steps <n>", "agents: LLM calls per chat turn (default: $FTI_AGENT_MAX_STEPS, else 6)")
      .option("--agent-max-tokens <n>", "agents: tokens per chat turn (default: $FTI_AGENT_MAX_TOKENS, else 20000)")
      .option("--agent-timeout-ms <n>", "agents: time per chat turn (default: $FTI_AGENT_TIMEOUT_MS, else 120000)")
      .option("--embed-url <url>", "index queries with an endpoint embedding (default: $FTI_EMBED_URL, else $FTI_LLM_URL)"),
  ).action(
    async (
      spec: string,
      opts: {
        port: string;
        host: string;
        store?: string;
        logs?: string;
        requestLog: boolean;
        watch: boolean;
        logLevel: string;
        logRequests?: boolean;
        now?: string;
        llmUrl?: string;
        llmApiKey?: string;
        agentMaxSteps?: string;
        agentMaxTokens?: string;
        agentTimeoutMs?: string;
        embedUrl?: string;
      },
    ) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UserError(`--port ${opts.port}: not a port number`);
      const pinned = parseTime(opts.now, "--now");
      const bundle = await deps.loadSpec(spec);
      const { startServer } = await import("../online/http.ts");
      const server = await startServer(bundle, {
        port,
        host: opts.host,
        store: opts.store,
        logs: opts.requestLog ? logsDirFor(opts) : false,
        watch: opts.watch,
        httpLogger: { level: opts.logLevel },
        logRequests: opts.logRequests ?? false,
        ...(pinned ? { now: () => pinned.getTime() } : {}),
        agents: agentSettingsFromEnv(process.env, {
          llmUrl: opts.llmUrl,
          llmApiKey: opts.llmApiKey,
          agentMaxSteps: positive(opts.agentMaxSteps, "--agent-max-steps"),
          agentMaxTokens: positive(opts.agentMaxTokens, "--agent-max-tokens"),
          agentTimeoutMs: positive(opts.agentTimeoutMs, "--agent-timeout-ms"),
        }),
        embeddings: embeddingSettingsFromEnv(process.env, { embedUrl: opts.embedUrl ?? opts.llmUrl }),
      });
      if (pinned) log(`request time pinned to ${pinned.toISOString()} (--now)`);
      const models = server.service.models().map((m) => `${m.model}@${m.version}`).join(", ");
      log(`serving ${models} at ${server.url} (store ${server.service.storePath}${server.service.log ? `, request log ${server.service.log.dir}` : ""})`);
      // Runs until SIGTERM/SIGINT: stop accepting, finish requests in flight, flush the log, exit 0.
      await new Promise<void>((done) => {
        const stop = (signal: string) => {
          process.off("SIGTERM", onTerm);
          process.off("SIGINT", onInt);
          log(`${signal}: stopping (finishing requests in flight, flushing the request log)`);
          server.close().then(
            () => {
              const s = server.service.log?.stats();
              log(`stopped${s ? `; ${s.written} requests logged` : ""}`);
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
    },
  );

  storeOption(
    program
      .command("verify")
      .description("recompute each logged request's features point-in-time and report online/offline mismatches")
      .argument("<spec>", ".fti file")
      .argument("<model>", "model name")
      .option("--since <time>", "only requests at or after this time")
      .option("--logs <dir>", "request log directory (default: logs/ next to the store)")
      .option("--json", "print the report as JSON"),
  ).action(async (spec: string, model: string, opts: { since?: string; store?: string; logs?: string; json?: boolean }) => {
    const bundle = await deps.loadSpec(spec);
    const since = parseTime(opts.since, "--since");
    const logsDir = logsDirFor(opts);
    const { verifyModel } = await import("../online/verify.ts");
    const r = await withStore(opts, (store) => verifyModel(store, bundle, model, { logsDir, since }));
    if (opts.json) out(JSON.stringify(r, null, 2));
    else printVerifyReport(r);
    if (r.requests === 0 && !opts.json) log(`warning: no logged requests for ${model} in ${logsDir}`);
    if (r.mismatches > 0) deps.exit(1);
  });
}
