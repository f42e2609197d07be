// The indexes `fti serve` holds in memory: loaded with the service (the
// store open read-only), reloaded when their group table changed (row count
// or latest ingested_at), searched per request at the request time.

import { z } from "zod";
import type { IndexPlan, SpecBundle } from "../api.ts";
import type { EmbeddingSettings } from "../embeddings/embedder.ts";
import { UserError } from "../errors.ts";
import { EndpointError } from "../llm/http.ts";
import type { Store } from "../store/store.ts";
import { tableRef } from "../store/sql.ts";
import { MAX_K } from "./documents.ts";
import { MemoryIndex } from "./memory-index.ts";
import { embedQuery } from "./query.ts";

/** The shapes of online/types.ts (LocalResponse, ApiIssue), restated: online/ imports this folder, not the reverse. */
interface Issue {
  path: Array<string | number>;
  message: string;
}
export interface IndexResponse {
  status: number;
  body: unknown;
}

interface Held {
  index: MemoryIndex | null;
  sig: string;
  error?: string;
}

export interface IndexLoadReport {
  index: string;
  documents: number;
  missing: boolean;
}

export class OnlineIndexes {
  private readonly held = new Map<string, Held>();
  private readonly schemas = new Map<string, z.ZodObject>();

  constructor(
    private readonly bundle: SpecBundle,
    private readonly embeddings: EmbeddingSettings,
  ) {
    for (const plan of bundle.indexes ?? []) {
      // The entity's keys, typed as declared (a key of the wrong type is a 400 naming it).
      const keys = Object.fromEntries(plan.entity ? plan.keys.map((k) => [k.name, k.type === "int" ? z.number().int() : k.type === "float" ? z.number() : z.string()]) : []);
      this.schemas.set(plan.name, z.strictObject({ query: z.string().min(1).max(100_000), k: z.number().int().min(1).max(MAX_K).optional(), ...keys }));
    }
  }

  get names(): string[] {
    return (this.bundle.indexes ?? []).map((i) => i.name);
  }

  /** (Re)loads the indexes whose table changed; returns what was loaded. */
  async load(store: Store): Promise<IndexLoadReport[]> {
    const out: IndexLoadReport[] = [];
    for (const plan of this.bundle.indexes ?? []) {
      const sig = await tableSignature(store, plan);
      const cur = this.held.get(plan.name);
      if (cur && cur.sig === sig) continue;
      const index = sig === "missing" ? null : await MemoryIndex.load(store, plan);
      this.held.set(plan.name, { index, sig });
      out.push({ index: plan.name, documents: index?.size ?? 0, missing: index === null });
    }
    return out;
  }

  plan(name: string): IndexPlan | undefined {
    return (this.bundle.indexes ?? []).find((i) => i.name === name);
  }

  /** Searches an index for a query text at `at`; throws UserError (caller: 4xx/503) or EndpointError. */
  async search(name: string, text: string, opts: { at: Date; k: number; entity?: Record<string, string | number> }) {
    const plan = this.plan(name);
    const held = this.held.get(name);
    if (!plan) throw new UserError(`no index \`${name}\``);
    if (!held?.index) throw new UserError(`index \`${name}\` has no documents yet: its table ${plan.table} does not exist (run \`fti features\`)`);
    const query = await embedQuery(this.bundle, plan, text, this.embeddings);
    return held.index.search(query, opts);
  }

  /** POST /v1/indexes/<index>/search: {query, k?, <entity keys>}. */
  async handle(name: string, body: unknown, at: Date): Promise<IndexResponse> {
    const schema = this.schemas.get(name);
    if (!schema) return error(404, "unknown_index", `index \`${name}\` does not exist; indexes: ${this.names.join(", ") || "none"}`);
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issues: Issue[] = parsed.error.issues.map((i) => ({ path: i.path as Array<string | number>, message: i.message }));
      return error(400, "invalid_request", `invalid search of index \`${name}\`: ${issues.length} issue${issues.length === 1 ? "" : "s"}`, issues);
    }
    const { query, k, ...entity } = parsed.data as { query: string; k?: number } & Record<string, string | number>;
    const plan = this.plan(name)!;
    if (plan.embedder.kind === "embed" && plan.embedder.model !== null && !this.embeddings.endpoint) {
      return error(503, "embedding_not_configured", `index \`${name}\` embeds queries with model \`${plan.embedder.model}\` and no embeddings endpoint is configured: set FTI_EMBED_URL (or FTI_LLM_URL), or pass --embed-url to fti serve`);
    }
    try {
      const documents = await this.search(name, query, { at, k: k ?? 10, entity });
      return { status: 200, body: { index: name, at: at.toISOString(), documents } };
    } catch (e) {
      if (e instanceof EndpointError) return error(e.kind === "timeout" ? 504 : 502, "embedding_endpoint", e.message);
      if (e instanceof UserError) return error(/has no documents yet/.test(e.message) ? 503 : 502, "index_unavailable", e.message);
      throw e;
    }
  }
}

async function tableSignature(store: Store, plan: IndexPlan): Promise<string> {
  if (!(await store.tableExists(plan.table))) return "missing";
  const [r] = await store.all<{ n: number; m: Date | null }>(`SELECT count(*) AS n, max(ingested_at) AS m FROM ${tableRef(plan.table)}`);
  return `${r.n}:${r.m?.getTime() ?? "-"}`;
}

function error(status: number, code: string, message: string, issues?: Issue[]): IndexResponse {
  return { status, body: { error: { status, code, message, ...(issues ? { issues } : {}) } } };
}
