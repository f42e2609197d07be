// `agent NAME for ENTITY { llm "model"  context ...  retrieve IDX top K  tool M, ...  prompt "..." }`:
// an LLM that answers a user about one entity, seeing that entity's features,
// documents retrieved point in time from indexes, and calling served models
// as tools. The prompt is a typed template: `{name}` must be the user's
// `message`, `now`, an entity key, a context feature or a retrieved index.

import type { AgentDecl, FeatureRef, Range, StringLit } from "../ast.ts";
import type { IrAgent, IrIndex, IrModel, IrPromptPart, IrServe, IrView, IrAgentFeature } from "../ir.ts";
import { DIAG } from "../messages.ts";
import type { Ctx } from "./context.ts";
import type { CheckedGroup } from "./groups.ts";
import { show, withNull } from "./types.ts";

export interface AgentEnv {
  entities: Map<string, { keys: IrAgent["keys"] }>;
  groups: Map<string, CheckedGroup>;
  indexes: Map<string, IrIndex>;
  models: Map<string, IrModel>;
  views: Map<string, IrView>;
  serves: IrServe[];
}

export const MAX_RETRIEVE = 100;

export function checkAgent(ctx: Ctx, decl: AgentDecl, env: AgentEnv): IrAgent | undefined {
  const where = `agent \`${decl.name.name}\``;
  const entityDecl = ctx.resolve(decl.entity, ["entity"], "entity");
  const entity = entityDecl && env.entities.get(entityDecl.name.name);
  let ok = !!entity;
  if (!decl.llm) {
    ctx.report(decl.name.range, DIAG.missingClause.agentLlm(where));
    ok = false;
  } else if (decl.llm.value.trim() === "") {
    ctx.report(decl.llm.range, DIAG.missingClause.agentLlmEmpty(where));
    ok = false;
  }
  const context = checkContext(ctx, decl, env, where);
  if (!context) ok = false;
  const retrieve: IrAgent["retrieve"] = [];
  for (const r of decl.retrieve) {
    const idx = ctx.resolve(r.index, ["index"], "index");
    const ir = idx && env.indexes.get(idx.name.name);
    if (!ir) { ok = false; continue; }
    if (ir.entity !== null && entityDecl && ir.entity !== entityDecl.name.name) {
      ctx.report(r.index.range, DIAG.otherEntity.index(ir.name, ir.entity, where, entityDecl.name.name));
      ok = false;
    }
    if (!Number.isInteger(r.k.value) || r.k.value < 1 || r.k.value > MAX_RETRIEVE) {
      ctx.report(r.k.range, DIAG.hyperparameter.retrieveTop(MAX_RETRIEVE));
      ok = false;
    }
    if (retrieve.some((x) => x.index === ir.name)) {
      ctx.report(r.index.range, DIAG.duplicate.agentRetrieve(ir.name, where));
      ok = false;
    }
    retrieve.push({ index: ir.name, k: r.k.value });
  }
  const tools: string[] = [];
  for (const t of decl.tools) {
    const m = ctx.resolve(t, ["model"], "model");
    const model = m && env.models.get(m.name.name);
    if (!model) { ok = false; continue; }
    const view = env.views.get(model.view);
    if (!env.serves.some((s) => s.model === model.name && s.online)) {
      ctx.report(t.range, DIAG.agentTool.notServed(model.name, where));
      ok = false;
    } else if (view && entityDecl && view.entity !== entityDecl.name.name) {
      ctx.report(t.range, DIAG.agentTool.otherEntity(model.name, view.entity, where, entityDecl.name.name));
      ok = false;
    } else if (tools.includes(model.name)) {
      ctx.report(t.range, DIAG.duplicate.agentTool(model.name, where));
      ok = false;
    } else tools.push(model.name);
  }
  // An index that failed its own checks: its `{name}` in the prompt is not another error.
  const failed = new Set(decl.retrieve.map((r) => r.index.name).filter((n) => !retrieve.some((x) => x.index === n)));
  const prompt = entity && context ? checkPrompt(ctx, decl, entity.keys.map((k) => k.name), context, retrieve.map((r) => r.index), failed) : undefined;
  if (!ok || !entity || !context || !prompt || !decl.llm) return undefined;
  return {
    name: decl.name.name,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    entity: entityDecl!.name.name,
    keys: entity.keys,
    llm: decl.llm.value,
    context,
    retrieve,
    tools,
    prompt,
  };
}

function checkContext(ctx: Ctx, decl: AgentDecl, env: AgentEnv, where: string): IrAgentFeature[] | undefined {
  const out: IrAgentFeature[] = [];
  let ok = true;
  const add = (f: { name: string; type: IrAgentFeature["type"] }, group: string, range: Range) => {
    if (out.some((x) => x.name === f.name)) {
      ctx.report(range, DIAG.duplicate.agentContext(f.name, where));
      ok = false;
    } else out.push({ name: f.name, group, type: withNull(f.type) });
  };
  for (const ref of decl.context) {
    const group = contextGroup(ctx, ref, env, decl, where);
    if (!group) { ok = false; continue; }
    if (ref.kind === "group_all") {
      for (const f of group.ir.features) if (f.type.base !== "vector") add(f, group.ir.name, ref.range);
      continue;
    }
    if (ref.kind !== "group_feature") continue;
    const f = group.ir.features.find((x) => x.name === ref.feature.name);
    if (!f) {
      ctx.report(ref.feature.range, DIAG.unknownFeature.of(group.ir.name, ref.feature.name, group.ir.features.map((x) => x.name)));
      ok = false;
    } else if (f.type.base === "vector") {
      ctx.report(ref.range, DIAG.vectorScalar.agentContext(`${group.ir.name}.${f.name}`, show(f.type)));
      ok = false;
    } else add(f, group.ir.name, ref.range);
  }
  return ok ? out : undefined;
}

function contextGroup(ctx: Ctx, ref: FeatureRef, env: AgentEnv, decl: AgentDecl, where: string): CheckedGroup | undefined {
  if (ref.kind === "name") {
    ctx.report(ref.name.range, DIAG.wrongKind.agentContext(ref.name.name));
    return undefined;
  }
  const g = ctx.resolve(ref.group, ["feature_group"], "feature group");
  const group = g && env.groups.get(g.name.name);
  // A global group (no `for`: one series) is read with no keys, beside the entity's groups.
  if (group && group.ir.entity !== null && group.ir.entity !== decl.entity.name) {
    ctx.report(ref.group.range, DIAG.otherEntity.group(group.ir.name, group.ir.entity, where, decl.entity.name));
    return undefined;
  }
  return group;
}

/** The template's parts; `{name}` resolved, `{{` and `}}` literal braces. Without a prompt: a default listing everything. */
function checkPrompt(ctx: Ctx, decl: AgentDecl, keys: string[], context: IrAgentFeature[], indexes: string[], failed: ReadonlySet<string>): IrPromptPart[] | undefined {
  const known = new Map<string, IrPromptPart & { kind: "ref" }>();
  const addRef = (name: string, ref: (IrPromptPart & { kind: "ref" })["ref"]) => known.set(name, { kind: "ref", name, ref });
  addRef("message", "message");
  addRef("now", "now");
  for (const k of keys) addRef(k, "key");
  for (const f of context) addRef(f.name, "feature");
  for (const i of indexes) addRef(i, "retrieved");
  if (!decl.prompt) return defaultPrompt(keys, context, indexes);
  const parts: IrPromptPart[] = [];
  let ok = true;
  decl.prompt.parts.forEach((lit, i) => {
    if (i > 0) parts.push({ kind: "text", text: "\n" });
    const r = parseTemplate(lit.value);
    for (const p of r.parts) {
      if (p.kind === "text") parts.push({ kind: "text", text: p.text });
      else {
        const ref = known.get(p.name);
        if (ref) parts.push(ref);
        else if (ctx.poisoned.has(p.name) || failed.has(p.name)) ok = false; // its declaration already failed: that error is the one to fix
        else {
          ctx.report(spanIn(lit, p.at, p.name.length + 2), DIAG.promptName.unknown(p.name, decl.name.name, [...known.keys()]));
          ok = false;
        }
      }
    }
    for (const bad of r.errors) {
      ctx.report(spanIn(lit, bad.at, 1), DIAG.promptName.brace(bad.problem, decl.name.name));
      ok = false;
    }
  });
  return ok ? mergeText(parts) : undefined;
}

interface Template {
  parts: Array<{ kind: "text"; text: string } | { kind: "ref"; name: string; at: number }>;
  errors: Array<{ at: number; problem: "open" | "close" }>;
}

export function parseTemplate(s: string): Template {
  const out: Template = { parts: [], errors: [] };
  let text = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if ((c === "{" || c === "}") && s[i + 1] === c) {
      text += c;
      i++;
    } else if (c === "{") {
      const m = /^\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}/.exec(s.slice(i));
      if (!m) {
        out.errors.push({ at: i, problem: "open" });
        continue;
      }
      if (text) out.parts.push({ kind: "text", text });
      text = "";
      out.parts.push({ kind: "ref", name: m[1], at: i });
      i += m[0].length - 1;
    } else if (c === "}") {
      out.errors.push({ at: i, problem: "close" });
    } else text += c;
  }
  if (text) out.parts.push({ kind: "text", text });
  return out;
}

/** The range of characters [at, at + len) of a string literal's value, when it maps 1:1 onto the source (no escapes, one line). */
function spanIn(lit: StringLit, at: number, len: number): Range {
  const { start, end } = lit.range;
  if (start.line !== end.line || end.offset - start.offset !== lit.value.length + 2) return lit.range;
  const pos = (k: number) => ({ offset: start.offset + 1 + k, line: start.line, column: start.column + 1 + k });
  return { start: pos(at), end: pos(at + len) };
}

function mergeText(parts: IrPromptPart[]): IrPromptPart[] {
  const out: IrPromptPart[] = [];
  for (const p of parts) {
    const last = out[out.length - 1];
    if (p.kind === "text" && last?.kind === "text") last.text += p.text;
    else out.push({ ...p });
  }
  return out;
}

function defaultPrompt(keys: string[], context: IrAgentFeature[], indexes: string[]): IrPromptPart[] {
  const parts: IrPromptPart[] = [{ kind: "text", text: "You answer questions about one entity. Use only the data below and the tools.\n" }];
  for (const k of keys) parts.push({ kind: "text", text: `${k}: ` }, { kind: "ref", name: k, ref: "key" }, { kind: "text", text: "\n" });
  parts.push({ kind: "text", text: "Request time: " }, { kind: "ref", name: "now", ref: "now" }, { kind: "text", text: "\n" });
  if (context.length) parts.push({ kind: "text", text: "Features:\n" });
  for (const f of context) parts.push({ kind: "text", text: `- ${f.name}: ` }, { kind: "ref", name: f.name, ref: "feature" }, { kind: "text", text: "\n" });
  for (const i of indexes) parts.push({ kind: "text", text: `Retrieved from ${i}:\n` }, { kind: "ref", name: i, ref: "retrieved" }, { kind: "text", text: "\n" });
  return mergeText(parts);
}
