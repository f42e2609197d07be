// `fti mcp <spec>`: the feature store and the served models as an MCP server
// over stdio (the official TypeScript SDK), for any MCP-capable agent. The
// tools run in process on the same OnlineService as `fti serve`: the same
// lookups, predictor, indexes and request log. stdout carries only the
// protocol; everything else goes to stderr.

import { PassThrough } from "node:stream";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";
import type { ColumnPlan, Scalar, SpecBundle } from "../api.ts";
import { pollutingKey } from "../online/json-body.ts";
import { echo } from "../request-issues.ts";
import type { OnlineService } from "../online/service.ts";
import { typedValue } from "../stream/validate.ts";
import { isoOrValue } from "../timestamp-text.ts";
import { cappedStdioTransport } from "./stdio-lines.ts";

type ToolResult = { content: Array<{ type: "text"; text: string }>; isError?: boolean };

const result = (data: unknown, isError = false): ToolResult => ({ content: [{ type: "text", text: JSON.stringify(data, null, 2) }], ...(isError ? { isError } : {}) });
const fromResponse = (r: { status: number; body: unknown }): ToolResult => result(r.body, r.status >= 400);
const keyValue = z.union([z.string(), z.number(), z.boolean()]);

/**
 * The given keys checked by their columns' types (stream/validate.ts typedValue, as an event's
 * fields are checked), as the online tables key them (a timestamp in any ISO spelling → its
 * `toISOString`, as a prediction request's), or what is wrong with them.
 */
export function checkedKeys(columns: readonly ColumnPlan[], keys: Readonly<Record<string, unknown>>): { keys: Record<string, Scalar> } | { problems: string[] } {
  const problems: string[] = [];
  const typed: Record<string, Scalar> = {};
  for (const c of columns) {
    const t = typedValue(c.type, keys[c.name]);
    if ("problem" in t) problems.push(`key \`${c.name}\`: ${t.problem}`);
    else typed[c.name] = isoOrValue(t.value);
  }
  return problems.length ? { problems } : { keys: typed };
}

/**
 * A JSON object argument. A `__proto__` key (or `constructor.prototype`) at any depth is
 * refused at its path, as `fti serve` refuses it: zod builds a record by assignment, which
 * would drop such a key silently (and set the new object's prototype).
 */
const jsonObject = <T extends z.ZodType>(value: T) =>
  z.preprocess((raw, ctx) => {
    const path = pollutingKey(raw);
    if (path) ctx.addIssue({ code: "custom", path, message: `the field ${echo(path.at(-1))} is not allowed in a request`, input: raw });
    return raw;
  }, z.record(z.string(), value));

/** Builds the server (tools registered, not connected). */
export function createMcpServer(bundle: SpecBundle, service: OnlineService, version: string): McpServer {
  const server = new McpServer({ name: `fti-${bundle.name}`, version });
  server.registerTool(
    "list_models",
    { description: `The models ${bundle.file} serves online: versions, metrics, and each model's request fields (entity keys + request fields).`, inputSchema: {} },
    async () => result(service.models()),
  );
  server.registerTool(
    "list_features",
    { description: "The spec's entities, feature groups with their features and types, views, indexes and agents.", inputSchema: {} },
    async () => result(catalogue(bundle)),
  );
  server.registerTool(
    "get_online_features",
    {
      description:
        "The online feature values of one entity, per feature group, each with its status (present, null, not_found, stale, future). Without `entity`: the global groups (a feature_group without `for`: one series, no keys).",
      inputSchema: {
        entity: z.string().optional().describe("entity name, e.g. athlete; omit it for the global groups"),
        keys: jsonObject(keyValue).optional().describe("the entity's keys, e.g. {\"athlete_id\": \"a0001\"}"),
      },
    },
    async ({ entity, keys = {} }) => {
      const entities = [...new Set(bundle.groups.flatMap((g) => (g.entity === null ? [] : [g.entity])))];
      const groups = bundle.groups.filter((g) => g.entity === (entity ?? null));
      if (groups.length === 0) {
        const known = `entities: ${entities.join(", ") || "none"}${bundle.groups.some((g) => g.entity === null) ? " (or no entity: the global groups)" : ""}`;
        // Keys named as exactly one entity's: say which entity to name (the newuser lane sent a distributor's key alone).
        const given = Object.keys(keys).sort().join(",");
        const owner = entities.filter((e) => bundle.groups.find((g) => g.entity === e)!.keys.map((k) => k.name).sort().join(",") === given);
        const keysWithout =
          entity === undefined && Object.keys(keys).length
            ? ` (\`keys\` were given without \`entity\`${owner.length === 1 ? `: they are ${owner[0]}'s, add "entity": ${JSON.stringify(owner[0])}` : ""})`
            : "";
        return result({ error: entity === undefined ? `no global feature group (a group without \`for\`) in ${bundle.file}${keysWithout}; ${known}` : `no feature group is for entity ${echo(entity)}; ${known}` }, true);
      }
      const missing = groups[0].keys.filter((k) => keys[k.name] === undefined).map((k) => k.name);
      if (missing.length) return result({ error: `missing entity keys: ${missing.join(", ")}` }, true);
      // As a prediction request is checked: a key of another type, or one the entity does not have, is an error, not "not_found".
      const unknown = Object.keys(keys).filter((k) => !groups[0].keys.some((c) => c.name === k));
      if (unknown.length) return result({ error: `unknown entity keys: ${unknown.map((k) => echo(k)).join(", ")}; \`${entity}\` has ${groups[0].keys.map((k) => k.name).join(", ")}` }, true);
      const checked = checkedKeys(groups[0].keys, keys);
      if ("problems" in checked) return result({ error: checked.problems.join("; ") }, true);
      return result({ ...(entity === undefined ? {} : { entity, keys }), features: await service.onlineFeatures(entity ?? null, checked.keys) });
    },
  );
  server.registerTool(
    "predict",
    {
      description: "Predict with a served model (the same path as POST /v1/models/<model>/predict): `request` holds the entity keys and request fields; see list_models.",
      inputSchema: { model: z.string(), request: jsonObject(z.unknown()) },
    },
    async ({ model, request }) => fromResponse(await service.predict(model, request)),
  );
  server.registerTool(
    "retrieve",
    {
      description: "Retrieve documents from an index by similarity to a text, point in time (only documents written before now). An index `for` an entity needs its keys.",
      inputSchema: {
        index: z.string(),
        query: z.string(),
        k: z.number().int().min(1).max(100).optional(),
        keys: jsonObject(keyValue).optional().describe("the entity's keys, for an index restricted to one entity"),
      },
    },
    async ({ index, query, k, keys }) => fromResponse(await service.searchIndex(index, { query, ...(k !== undefined ? { k } : {}), ...(keys ?? {}) })),
  );
  return server;
}

function catalogue(bundle: SpecBundle) {
  return {
    spec: bundle.file,
    groups: bundle.groups.map((g) => ({ group: g.name, entity: g.entity, keys: g.keys.map((k) => k.name), features: g.features.map((f) => ({ name: f.name, type: f.type, nullable: f.nullable })) })),
    views: bundle.views.map((v) => ({ view: v.name, entity: v.entity, label: v.label.name, features: v.features.map((f) => f.name), odts: v.odts.map((o) => o.name) })),
    indexes: (bundle.indexes ?? []).map((i) => ({ index: i.name, group: i.group, column: i.column, dim: i.dim, entity: i.entity, fields: i.fields.map((f) => f.name) })),
    agents: (bundle.agents ?? []).map((a) => ({ agent: a.name, entity: a.entity, llm: a.llm, tools: a.tools.map((t) => t.model), retrieve: a.retrieve })),
  };
}

/**
 * Serves MCP over stdin/stdout until the client closes the connection. A client that closes stdin after
 * its last request (a script piping a file of requests) still gets every answer: the requests read are
 * answered before the server closes (it closed at once, and a `predict` still running was never answered).
 */
export async function serveMcpStdio(bundle: SpecBundle, service: OnlineService, version: string): Promise<void> {
  const server = createMcpServer(bundle, service, version);
  let ended: () => void = () => {};
  // stdin flows only once the requests are counted: the transport reads whatever is piped as soon as it starts.
  const input = new PassThrough();
  const transport = cappedStdioTransport(input, process.stdout, undefined, () => ended());
  const closed = new Promise<void>((done) => {
    transport.onclose = () => done();
    ended = done;
  });
  await server.connect(transport);
  answerUnreadableLines(transport);
  const inFlight = trackRequests(transport);
  process.stdin.pipe(input);
  await closed;
  await inFlight.answered();
  await server.close();
}

/** The requests read and not yet answered (call after `server.connect`, which sets onmessage): `answered()` waits for none. */
export function trackRequests(transport: StdioServerTransport): { answered: () => Promise<void> } {
  type Message = Parameters<StdioServerTransport["send"]>[0];
  const open = new Set<string | number>();
  let waiting: Array<() => void> = [];
  const receive = transport.onmessage;
  transport.onmessage = (message: Message) => {
    if ("method" in message && "id" in message && message.id !== null && message.id !== undefined) open.add(message.id);
    receive?.(message);
  };
  const send = transport.send.bind(transport);
  transport.send = async (message: Message) => {
    try {
      return await send(message);
    } finally {
      if (!("method" in message) && "id" in message && open.delete(message.id as string | number) && open.size === 0) for (const w of waiting.splice(0)) w();
    }
  };
  return { answered: () => (open.size === 0 ? Promise.resolve() : new Promise<void>((done) => waiting.push(done))) };
}

/**
 * A line that is not JSON gets JSON-RPC's parse error (-32700), and JSON that
 * is not a JSON-RPC message (`null`, `[]`, `{}`) its invalid-request error
 * (-32600), both with id null: the SDK's transport only reported them to
 * onerror and answered nothing, so a client waited for an answer for ever.
 * Call after `server.connect` (which sets onerror; it is kept).
 */
export function answerUnreadableLines(transport: StdioServerTransport): void {
  const prior = transport.onerror;
  transport.onerror = (error: Error) => {
    prior?.(error);
    const parse = error instanceof SyntaxError;
    const invalid = !parse && Array.isArray((error as { issues?: unknown }).issues);
    if (!parse && !invalid) return;
    const answer = {
      jsonrpc: "2.0" as const,
      id: null,
      error: parse ? { code: -32700, message: "Parse error: the line is not JSON" } : { code: -32600, message: "Invalid Request: the line is not a JSON-RPC 2.0 message" },
    };
    transport.send(answer as unknown as Parameters<StdioServerTransport["send"]>[0]).catch(() => {});
  };
}
