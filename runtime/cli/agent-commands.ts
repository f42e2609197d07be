// The agentic commands: `fti search` (offline retrieval from an index, the
// reference the online index equals) and `fti mcp` (the MCP server over stdio).

import type { Command } from "commander";
import type { IndexPlan, SpecBundle } from "../api.ts";
import { embeddingSettingsFromEnv } from "../embeddings/embedder.ts";
import { UserError } from "../errors.ts";
import { withStore, type RuntimeCliDeps } from "./commands.ts";
import { keyValueFlags, timeFlag, wholeNumberFlag } from "./flags.ts";
import { MAX_K } from "../vectors/documents.ts";
import { terminalText } from "../terminal-text.ts";
import { clip } from "../clip-text.ts";

const out = (line: string) => process.stdout.write(line + "\n");
const FTI_VERSION = "0.1.0";
/** Characters of a document's field `fti search` prints (then its length); `--full` or `--json` print it whole. */
const SHOWN_FIELD_CHARS = 200;

/** The index of a bundle by name, or a UserError listing the names. */
export function findIndex(bundle: SpecBundle, name: string): IndexPlan {
  const plan = (bundle.indexes ?? []).find((i) => i.name === name);
  if (plan) return plan;
  const names = (bundle.indexes ?? []).map((i) => i.name);
  throw new UserError(`${bundle.file} has no index \`${name}\``, names.length ? `its indexes: ${names.join(", ")}` : "declare one: `index NAME on GROUP(COLUMN)`");
}

/** `--entity athlete_id=a0001` (repeatable) → keys. */
function parseEntity(pairs: string[] | undefined): Record<string, string> {
  return keyValueFlags(pairs, "--entity", "athlete_id=a0001");
}

export function registerAgentCommands(program: Command, deps: RuntimeCliDeps): void {
  program
    .command("mcp")
    .description("serve the feature store, the online models and the indexes to MCP clients over stdio")
    .argument("<spec>", ".fti file")
    .option("--store <path>", "the DuckDB store (default: $FTI_STORE or .fti/store.duckdb)")
    .option("--logs <dir>", "request log directory (default: logs/ next to the store)")
    .option("--now <time>", "pin the request time (replays of past data)")
    .action(async (spec: string, opts: { store?: string; logs?: string; now?: string }) => {
      const pinned = timeFlag(opts.now, "--now");
      const bundle = await deps.loadSpec(spec);
      const { OnlineService } = await import("../online/service.ts");
      const { serveMcpStdio } = await import("../mcp/server.ts");
      const service = await OnlineService.open(bundle, {
        store: opts.store,
        ...(opts.logs ? { logs: opts.logs } : {}),
        watch: true,
        ...(pinned ? { asOf: pinned } : {}),
      });
      try {
        await serveMcpStdio(bundle, service, FTI_VERSION);
      } finally {
        await service.close();
      }
    });

  program
    .command("search")
    .description("retrieve documents from an index by similarity to a text, point in time (offline, in DuckDB)")
    .argument("<spec>", ".fti file")
    .argument("<index>", "index name")
    .requiredOption("--query <text>", "the text to search for")
    .option("--entity <key=value...>", "the entity's keys (required for an index `for` an entity)")
    .option("--at <time>", "only documents written before this time (default: now)")
    .option("--k <n>", "how many documents", "5")
    .option("--embed-url <url>", "OpenAI-compatible API for an endpoint embedding (default: $FTI_EMBED_URL, else $FTI_LLM_URL)")
    .option("--json", "print the documents as JSON (each field whole)")
    .option("--full", `print each field whole (default: its first ${SHOWN_FIELD_CHARS} characters, then its length)`)
    .option("--store <path>", "the DuckDB store (default: $FTI_STORE or .fti/store.duckdb)")
    .action(async (spec: string, index: string, opts: { query: string; entity?: string[]; at?: string; k: string; embedUrl?: string; json?: boolean; full?: boolean; store?: string }) => {
      // Usage first (exit 2), before the spec is loaded.
      const k = wholeNumberFlag(opts.k, "--k", 1, MAX_K);
      const at = timeFlag(opts.at, "--at") ?? new Date();
      const entity = parseEntity(opts.entity);
      const bundle = await deps.loadSpec(spec);
      const plan = findIndex(bundle, index);
      const { embedQuery } = await import("../vectors/query.ts");
      const { searchOffline } = await import("../vectors/offline.ts");
      const query = await embedQuery(bundle, plan, opts.query, embeddingSettingsFromEnv(process.env, { embedUrl: opts.embedUrl }));
      const docs = await withStore(opts, (store) => searchOffline(store, plan, query, { at, k, entity }));
      if (opts.json) out(JSON.stringify(docs, null, 2));
      else if (docs.length === 0) out(`no documents in ${index} before ${at.toISOString()}`);
      else for (const d of docs) {
        // A document's text is data: its control characters are shown as escapes (terminal-text.ts),
        // and a long one is cut (a changelog entry of 100,000 characters filled the terminal for each hit).
        const shown = (v: unknown) => terminalText(opts.full ? String(v) : clip(String(v), SHOWN_FIELD_CHARS));
        const fields = Object.entries(d.fields).map(([f, v]) => `${f}: ${shown(v)}`).join("; ");
        out(`${d.score.toFixed(3)}  ${d.eventTime}  ${terminalText(String(d.id))}  ${fields}`);
      }
    });
}
