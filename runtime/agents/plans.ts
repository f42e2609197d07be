// The plan types of indexes and agents (what generated agents.ts exports) and
// the small pure helpers generated prompt builders call. Re-exported by
// runtime/api.ts, so keep this module light: types, zod, string formatting.

import { z } from "zod";
import type { ColumnPlan, ColumnType, FeatureValue, Scalar } from "../api.ts";
import { clip } from "../clip-text.ts";
import { timestampJsonSchema } from "../timestamp-text.ts";

/** `index NAME on GROUP(COLUMN) [for ENTITY]`. */
export interface IndexPlan {
  name: string;
  line: number;
  group: string;
  /** The group's offline table. */
  table: string;
  column: string;
  dim: number;
  /** How a query text is embedded (the same way as the column). */
  embedder: { kind: "embed"; model: string | null } | { kind: "extern"; fn: string };
  /** Set: only the request entity's documents are retrieved. */
  entity: string | null;
  keys: ColumnPlan[];
  rowId?: ColumnPlan;
  /** Scalar columns returned with each document. */
  fields: ColumnPlan[];
}

/** One retrieved document: its row's keys, time and fields, and its cosine similarity to the query. */
export interface RetrievedDocument {
  /** The group row's id (the source's `unique` column), else keys + event time. */
  id: string;
  score: number;
  /** ISO-8601, UTC. */
  eventTime: string;
  keys: Record<string, Scalar>;
  fields: Record<string, Scalar>;
}

export interface AgentToolPlan {
  /** The served model the tool runs. */
  model: string;
  description: string;
  /** The entity keys filled from the chat request, not by the LLM. */
  keys: string[];
  /** JSON Schema of the arguments: the model's request schema without the keys (zod's toJSONSchema). */
  parameters: Record<string, unknown>;
  /** The model's request schema (keys included): tool arguments are checked against it before the predictor runs. */
  requestSchema: z.ZodObject;
}

/** What a generated prompt builder receives. */
export interface PromptInput {
  /** As the chat request parsed them: a timestamp key is a Date. */
  keys: Record<string, Scalar | Date>;
  features: Record<string, Scalar>;
  retrieved: Record<string, RetrievedDocument[]>;
  message: string;
  now: Date;
}

export interface AgentPlan {
  name: string;
  line: number;
  entity: string;
  keys: ColumnPlan[];
  /** The model name asked of the chat endpoint. */
  llm: string;
  context: Array<{ name: string; group: string; type: ColumnType }>;
  retrieve: Array<{ index: string; k: number }>;
  tools: AgentToolPlan[];
  /** The chat request: keys, `message`, optional earlier `messages`, optional `stream`. */
  requestSchema: z.ZodObject;
  /** The generated prompt builder (the system message). */
  buildPrompt: (input: PromptInput) => string;
}

/** One tool call of a chat turn: the arguments the LLM gave, and the predictor's answer. */
export interface ToolCallRecord {
  tool: string;
  arguments: unknown;
  /** The HTTP status /predict would have answered. */
  status: number;
  result: unknown;
  ms: number;
}

/** The answer of a chat turn (JSON, or the `done` event's data when streaming); generated agents.ts narrows it per agent. */
export interface AgentAnswer {
  agent: string;
  llm: string;
  request_time: string;
  answer: string;
  /** Per index: the documents retrieved for the message, best first. */
  retrieved: Record<string, Array<{ id: string; score: number }>>;
  /** The context features the LLM saw, with how each was found online. */
  features: Record<string, FeatureValue>;
  tool_calls: ToolCallRecord[];
  /** As the endpoint reported them (`usage.total_tokens`), over the turn. */
  tokens: number;
  /** Latency per step: features, each retrieval, each LLM call, each tool call. */
  steps: Array<{ step: string; ms: number }>;
}

/** An earlier turn of the conversation, as the chat request carries it. */
export const ChatMessageSchema = z.strictObject({
  role: z.enum(["user", "assistant"]),
  content: z.string().max(100_000),
});

/**
 * JSON Schema of a tool's arguments: the request schema without the entity keys,
 * with `hints` (the compiler's requestFieldHints: `enum`, numeric bounds, from the
 * request fields' checks) merged in so the LLM sees them. Advice only: the
 * request schema (with its checks) still decides what is accepted.
 */
export function toolParameters(requestSchema: z.ZodObject, keys: readonly string[], hints: Readonly<Record<string, Record<string, unknown>>> = {}): Record<string, unknown> {
  const shape = Object.fromEntries(Object.entries(requestSchema.shape).filter(([k]) => !keys.includes(k)));
  const override = (ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }) => timestampJsonSchema(ctx.zodSchema, ctx.jsonSchema);
  const schema = z.toJSONSchema(z.strictObject(shape), { unrepresentable: "any", io: "input", override }) as Record<string, unknown>;
  delete schema.$schema;
  const properties = schema.properties as Record<string, Record<string, unknown>>;
  for (const [name, hint] of Object.entries(hints)) {
    if (properties[name]) mergeHint(properties[name], hint);
  }
  return schema;
}

const LOWER = new Set(["minimum", "exclusiveMinimum"]);

/** A field's hint into its JSON schema: the tighter bound of the two; a nullable field's `enum` also admits null. */
function mergeHint(property: Record<string, unknown>, hint: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(hint)) {
    const had = property[key];
    if (key === "enum") {
      const nullable = Array.isArray(property.type) && property.type.includes("null");
      property.enum = nullable ? [...(value as unknown[]), null] : value;
    } else if (typeof had !== "number" || (LOWER.has(key) ? (value as number) > had : (value as number) < had)) property[key] = value;
  }
}

/**
 * A value as the prompt shows it: null → "unknown", numbers to 4 significant digits but never fewer
 * than their whole digits (98765.43 is 98765: to 4 digits it was 98770, a value the entity never had),
 * dates as ISO.
 */
export function promptValue(v: Scalar | Date | undefined): string {
  if (v === null || v === undefined) return "unknown";
  if (v instanceof Date) return v.toISOString();
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Math.abs(v) >= 1000 ? Math.round(v) : Number(v.toPrecision(4)));
  return String(v);
}

/**
 * The most characters of one field of a retrieved document in a prompt: a Debian changelog entry of
 * 104,452 characters (linux 6.1.52-1) made one document ~26,000 tokens, past the turn's whole budget
 * (--agent-max-tokens, 20,000) and most local models' context, before the LLM said anything.
 */
export const PROMPT_FIELD_CHARS = 2000;

/** Retrieved documents as prompt lines: `- [id, date, score 0.83] field: value; ...`. */
export function promptDocuments(docs: readonly RetrievedDocument[] | undefined): string {
  if (!docs || docs.length === 0) return "(none)";
  return docs
    .map((d) => {
      const fields = Object.entries(d.fields).map(([k, v]) => `${k}: ${clip(promptValue(v), PROMPT_FIELD_CHARS)}`).join("; ");
      return `- [${d.id}, ${d.eventTime.slice(0, 10)}, score ${d.score.toFixed(2)}] ${fields}`;
    })
    .join("\n");
}
