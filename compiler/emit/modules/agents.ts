// agents.ts: the spec's vector indexes and agents. Per agent: the typed chat
// request (zod schema + type) and answer, the typed prompt-builder input and the prompt
// builder itself (the template compiled to a string expression), and the
// plan the runtime serves, with each tool's JSON Schema derived from the
// model's zod request schema (zod's toJSONSchema) at load time.

import type { IrAgent, IrIndex, IrPromptPart } from "../../ir.ts";
import { blockCommentText, type EmitContext, type Statement } from "../context.ts";
import { RUNTIME_MODULE } from "../imports.ts";
import { columnType, pascal, camel, str, tsLiteral, tsType, zodType } from "../names.ts";
import { requestFieldHints } from "../request-checks.ts";

export function agentsModule(ctx: EmitContext): Statement[] {
  const indexes = ctx.ir.indexes ?? [];
  const agents = ctx.ir.agents ?? [];
  const runtime = ["type IndexPlan", "type AgentPlan"];
  if (agents.length) {
    runtime.push("z", "ChatMessageSchema", "toolParameters", "promptValue", "promptDocuments", "type RetrievedDocument", "type AgentAnswer", "type FeatureValue");
    if (agents.some((a) => a.tools.length)) runtime.push("type ToolCallRecord");
    if (agents.some((a) => a.keys.some((k) => k.type.base === "timestamp"))) runtime.push("requestTimestamp");
  }
  const out: Statement[] = [`import { ${runtime.join(", ")} } from "${RUNTIME_MODULE}";`];
  const schemas = new Set(agents.flatMap((a) => a.tools.map((t) => `${pascal(t)}RequestSchema`)));
  if (schemas.size) out.push(`import { ${[...schemas].join(", ")} } from "./schema.ts";`);
  for (const ix of indexes) out.push(indexPlan(ctx, ix));
  out.push(`/** Every vector index of the spec. */\nexport const indexes: IndexPlan[] = [${indexes.map((i) => `${camel(i.name)}Index`).join(", ")}];`);
  for (const a of agents) out.push(...agentStatements(ctx, a));
  out.push(`/** Every agent of the spec. */\nexport const agents: AgentPlan[] = [${agents.map((a) => `${camel(a.name)}Agent`).join(", ")}];`);
  return out;
}

function indexPlan(ctx: EmitContext, ix: IrIndex): string {
  const col = (c: { name: string; type: IrIndex["keys"][number]["type"] }) => ({ name: c.name, type: columnType(c.type), nullable: c.type.nullable });
  const plan = {
    name: ix.name,
    line: ix.loc.line,
    group: ix.group,
    table: ix.table,
    column: ix.column,
    dim: ix.dim,
    embedder: ix.embedder,
    entity: ix.entity,
    keys: ix.keys.map((k) => ({ ...col(k), nullable: false })),
    ...(ix.rowId ? { rowId: { ...col(ix.rowId), nullable: false } } : {}),
    fields: ix.fields.map(col),
  };
  return `\n/** index \`${ix.name}\` on ${ix.group}(${ix.column}) — ${blockCommentText(ctx.specFile)}:${ix.loc.line} */\nexport const ${camel(ix.name)}Index: IndexPlan = ${tsLiteral(plan)};`;
}

function agentStatements(ctx: EmitContext, a: IrAgent): Statement[] {
  const P = pascal(a.name);
  const keyFields = a.keys.map((k) => `  ${k.name}: ${zodType(k.type, "z", "requestTimestamp")},`).join("\n");
  const request = `\n/** The chat request of agent \`${a.name}\` (POST /v1/agents/${a.name}/chat) — ${blockCommentText(ctx.specFile)}:${a.loc.line} */
export const ${P}ChatRequestSchema = z.strictObject({
${keyFields}
  message: z.string().min(1).max(100_000),
  messages: z.array(ChatMessageSchema).max(100).optional(),
  stream: z.boolean().optional(),
});
export type ${P}ChatRequest = z.infer<typeof ${P}ChatRequestSchema>;`;
  const toolCalls = a.tools.length ? `
  tool_calls: Array<ToolCallRecord & { tool: ${a.tools.map(str).join(" | ")} }>;` : "";
  const response = `/** The answer of agent \`${a.name}\` (the JSON answer; with \`stream\`, the data of the \`done\` event). */
export interface ${P}ChatResponse extends AgentAnswer {
  features: { ${a.context.map((f) => `${f.name}: FeatureValue<${tsType(f.type, false)}>`).join("; ")} };
  retrieved: { ${a.retrieve.map((r) => `${r.index}: Array<{ id: string; score: number }>`).join("; ")} };${toolCalls}
}`;
  const input = `/** What the prompt of \`${a.name}\` is built from. */
export interface ${P}PromptInput {
  keys: { ${a.keys.map((k) => `${k.name}: ${tsType(k.type)}`).join("; ")} };
  features: { ${a.context.map((f) => `${f.name}: ${tsType(f.type)}`).join("; ")} };
  retrieved: { ${a.retrieve.map((r) => `${r.index}: RetrievedDocument[]`).join("; ")} };
  message: string;
  now: Date;
}`;
  const builder = `/** The system prompt of \`${a.name}\`: its template with every \`{name}\` filled in. */
export function build${P}Prompt(p: ${P}PromptInput): string {
  return ${promptExpr(a.prompt)};
}`;
  const tools = a.tools.map((model) => {
    const m = ctx.ir.models.find((x) => x.name === model)!;
    const view = ctx.ir.views.find((v) => v.name === m.view)!;
    // A view joining another entity's group by a request column (a film's distributor): the LLM passes that key, so say which.
    const otherKeys = [...new Set(view.joins.flatMap((j) => j.on.map((o) => o.column)).filter((c) => !a.keys.some((k) => k.name === c)))];
    const others = otherKeys.map((c) => `\`${c}\` (the ${view.joins.filter((j) => j.on.some((o) => o.column === c)).map((j) => j.group).join(", ")} features are looked up by its exact value)`);
    const desc =
      `Predicts \`${view.label.name}\` (${m.task.replace("_", " ")}) with model ${model} for the conversation's ${a.entity}; the ${a.entity}'s features are looked up by the service.` +
      (others.length ? ` Pass ${others.join(", ")}.` : "");
    const keys = a.keys.map((k) => str(k.name)).join(", ");
    const hints = requestFieldHints(ctx, view);
    const hintArg = Object.keys(hints).length ? `, ${tsLiteral(hints, "      ")}` : "";
    return `    {\n      model: ${str(model)},\n      description: ${str(desc)},\n      keys: [${keys}],\n      parameters: toolParameters(${pascal(model)}RequestSchema, [${keys}]${hintArg}),\n      requestSchema: ${pascal(model)}RequestSchema,\n    },`;
  });
  const plan = `/** agent \`${a.name}\` — ${blockCommentText(ctx.specFile)}:${a.loc.line} */
export const ${camel(a.name)}Agent: AgentPlan = {
  name: ${str(a.name)},
  line: ${a.loc.line},
  entity: ${str(a.entity)},
  keys: ${tsLiteral(a.keys.map((k) => ({ name: k.name, type: columnType(k.type), nullable: false })))},
  llm: ${str(a.llm)},
  context: ${tsLiteral(a.context.map((f) => ({ name: f.name, group: f.group, type: columnType(f.type) })), "  ")},
  retrieve: ${tsLiteral(a.retrieve)},
  tools: [\n${tools.join("\n")}\n  ],
  requestSchema: ${P}ChatRequestSchema,
  buildPrompt: build${P}Prompt as AgentPlan["buildPrompt"],
};`;
  return [request, response, input, builder, plan];
}

/** The template as one string expression: literal text and the typed values. */
function promptExpr(parts: IrPromptPart[]): string {
  if (parts.length === 0) return '""';
  return parts
    .map((p) => {
      if (p.kind === "text") return str(p.text);
      switch (p.ref) {
        case "key":
          return `promptValue(p.keys.${p.name})`;
        case "feature":
          return `promptValue(p.features.${p.name})`;
        case "retrieved":
          return `promptDocuments(p.retrieved.${p.name})`;
        case "message":
          return "p.message";
        case "now":
          return "promptValue(p.now)";
      }
    })
    .join(" +\n    ");
}
