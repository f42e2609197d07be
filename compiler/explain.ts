// `fti explain`: each model's lineage — model → view → inputs → groups →
// sources — with every transformation marked MIT, ODT or MDT, and each
// agent's: its context features, the indexes it retrieves from and the models
// it calls. As a text tree or as Graphviz dot.

import type { IrAgent, IrFeature, IrGroup, IrModel, IrSpec } from "./ir.ts";

/** A window as written: `count() over 24h`, `avg(pace) over 28d` (an argument that is not a plain column shows as `…`). */
function featureText(f: IrFeature): string {
  if (f.kind !== "window") return "row expression";
  const arg = f.arg === null ? "" : f.arg.k === "col" ? f.arg.name : "…";
  return `${f.agg}(${arg}) over ${f.windowText}`;
}

/** How a source's rows are joined when it is reference data (no event_time). */
function referenceNote(ir: IrSpec, sourceName: string): string {
  const src = ir.sources.find((s) => s.name === sourceName);
  if (!src || src.eventTime) return "";
  if (!src.validity) return "  (reference data: the current value at any time)";
  return `  (reference data: valid from ${src.validity.from}${src.validity.to ? ` to ${src.validity.to}` : ""})`;
}

function groupChain(ir: IrSpec, group: IrGroup): string[] {
  const chain = [`group ${group.name} v${group.version} (${group.table})`];
  let input = group.input;
  while (input.kind === "group") {
    const g = ir.groups.find((x) => x.name === input.name)!;
    chain.push(`group ${g.name} v${g.version} (${g.table})`);
    input = g.input;
  }
  chain.push(`source ${input.name}${referenceNote(ir, input.name)}`);
  return chain;
}

export function explainText(ir: IrSpec): string {
  const out: string[] = [];
  for (const model of ir.models) out.push(...modelTree(ir, model), "");
  if (!ir.models.length) out.push("(no models)");
  for (const agent of ir.agents ?? []) out.push(...agentTree(ir, agent), "");
  return out.join("\n").trimEnd() + "\n";
}

function modelTree(ir: IrSpec, model: IrModel): string[] {
  const view = ir.views.find((v) => v.name === model.view)!;
  const lines = [
    `model ${model.name}  (${model.task}, ${model.algorithm.kind})`,
    `└─ view ${view.name}  from ${view.spine.source}${view.spine.where ? " (filtered)" : ""}${view.spine.eventTime === null ? " (rows without time)" : ` at ${view.spine.eventTime}`}; label ${view.label.name} = ${view.label.text}${view.spine.eventTime === null ? "" : `; as_of ${view.asOf}`}${view.ttlText ? `; ttl ${view.ttlText}` : ""}`,
  ];
  model.inputs.forEach((input, i) => {
    const last = i === model.inputs.length - 1;
    const branch = last ? "   └─ " : "   ├─ ";
    const cont = last ? "      " : "   │  ";
    const mdts = input.mdts.length ? `  →  MDT ${input.mdts.map((m) => m.kind).join(" → ")}` : "";
    if (input.from === "odt") {
      const odt = ir.onDemand.find((o) => o.name === input.name)!;
      const reads = [...odt.requestParams.map((p) => `request ${p.name}`), ...odt.featureParams.map((p) => `${p.group}.${p.name}`)];
      lines.push(`${branch}${input.name}  ODT(${reads.join(", ")})${mdts}`);
      return;
    }
    const vf = view.features.find((f) => f.name === input.name)!;
    const group = ir.groups.find((g) => g.name === vf.group)!;
    const feature = group.features.find((f) => f.name === vf.column)!;
    const on = view.joins[vf.join].on;
    const by = on.every((o) => o.key === o.column) ? "" : `  by ${on.map((o) => o.column).join(", ")}`;
    lines.push(`${branch}${input.name}  MIT ${featureText(feature)}${by}${mdts}`);
    groupChain(ir, group).forEach((step, j, all) => lines.push(`${cont}${j === all.length - 1 ? "└─ " : "├─ "}${step}`));
  });
  return lines;
}

/** An agent: what it sees (context groups, retrieved indexes down to their sources) and which models it may call. */
function agentTree(ir: IrSpec, agent: IrAgent): string[] {
  const items: Array<{ head: string; chain: string[] }> = [];
  for (const name of [...new Set(agent.context.map((f) => f.group))]) {
    const group = ir.groups.find((g) => g.name === name)!;
    const features = agent.context.filter((f) => f.group === name).map((f) => f.name);
    items.push({ head: `context ${features.join(", ")}  (looked up online, with statuses)`, chain: groupChain(ir, group) });
  }
  for (const r of agent.retrieve) {
    const ix = (ir.indexes ?? []).find((i) => i.name === r.index)!;
    const group = ir.groups.find((g) => g.name === ix.group)!;
    const embedder = ix.embedder.kind === "extern" ? `extern ${ix.embedder.fn}` : ix.embedder.model === null ? "built-in hashing" : `endpoint model ${ix.embedder.model}`;
    const scope = ix.entity ? `the ${ix.entity}'s documents` : "all documents";
    items.push({ head: `retrieve ${ix.name} top ${r.k}  (${ix.group}.${ix.column} float[${ix.dim}], ${embedder}; ${scope} written before the request)`, chain: groupChain(ir, group) });
  }
  for (const t of agent.tools) items.push({ head: `tool ${t}  (the served model, through the /predict predictor)`, chain: [] });
  const lines = [`agent ${agent.name}  (${agent.entity}; llm "${agent.llm}")`];
  items.forEach((item, i) => {
    const last = i === items.length - 1;
    lines.push(`${last ? "└─ " : "├─ "}${item.head}`);
    item.chain.forEach((step, j, all) => lines.push(`${last ? "   " : "│  "}${j === all.length - 1 ? "└─ " : "├─ "}${step}`));
  });
  return lines;
}

export function explainDot(ir: IrSpec): string {
  const out = ["digraph fti {", "  rankdir=LR;", '  node [fontname="Helvetica", fontsize=10];'];
  const q = (s: string) => JSON.stringify(s);
  for (const s of ir.sources) out.push(`  ${q(`source:${s.name}`)} [label=${q(`source ${s.name}`)}, shape=cylinder];`);
  for (const g of ir.groups) {
    out.push(`  ${q(`group:${g.name}`)} [label=${q(`group ${g.name} v${g.version}\\n(MIT)`)}, shape=box];`);
    out.push(`  ${q(`${g.input.kind}:${g.input.name}`)} -> ${q(`group:${g.name}`)};`);
  }
  for (const model of ir.models) {
    const view = ir.views.find((v) => v.name === model.view)!;
    out.push(`  ${q(`view:${view.name}`)} [label=${q(`view ${view.name}`)}, shape=folder];`);
    out.push(`  ${q(`source:${view.spine.source}`)} -> ${q(`view:${view.name}`)} [label="spine", style=dashed];`);
    out.push(`  ${q(`model:${model.name}`)} [label=${q(`model ${model.name}\\n${model.algorithm.kind}`)}, shape=doubleoctagon];`);
    for (const input of model.inputs) {
      const id = `input:${model.name}:${input.name}`;
      const kind = input.from === "odt" ? "ODT" : "MIT";
      out.push(`  ${q(id)} [label=${q(`${input.name}\\n${kind}${input.mdts.length ? `\\nMDT ${input.mdts.map((m) => m.kind).join(", ")}` : ""}`)}, shape=ellipse];`);
      if (input.from === "odt") {
        const odt = ir.onDemand.find((o) => o.name === input.name)!;
        for (const fp of odt.featureParams) out.push(`  ${q(`group:${fp.group}`)} -> ${q(id)};`);
        if (odt.requestParams.length) {
          out.push(`  ${q(`request:${model.name}`)} [label="request", shape=note];`);
          out.push(`  ${q(`request:${model.name}`)} -> ${q(id)};`);
        }
      } else {
        const vf = view.features.find((f) => f.name === input.name)!;
        out.push(`  ${q(`group:${vf.group}`)} -> ${q(id)};`);
      }
      out.push(`  ${q(id)} -> ${q(`model:${model.name}`)};`);
    }
    out.push(`  ${q(`view:${view.name}`)} -> ${q(`model:${model.name}`)};`);
  }
  for (const ix of ir.indexes ?? []) {
    out.push(`  ${q(`index:${ix.name}`)} [label=${q(`index ${ix.name}\nfloat[${ix.dim}]`)}, shape=component];`);
    out.push(`  ${q(`group:${ix.group}`)} -> ${q(`index:${ix.name}`)};`);
  }
  for (const agent of ir.agents ?? []) {
    out.push(`  ${q(`agent:${agent.name}`)} [label=${q(`agent ${agent.name}\nllm ${agent.llm}`)}, shape=hexagon];`);
    for (const g of new Set(agent.context.map((f) => f.group))) out.push(`  ${q(`group:${g}`)} -> ${q(`agent:${agent.name}`)} [label="context"];`);
    for (const r of agent.retrieve) out.push(`  ${q(`index:${r.index}`)} -> ${q(`agent:${agent.name}`)} [label="retrieve"];`);
    for (const t of agent.tools) out.push(`  ${q(`model:${t}`)} -> ${q(`agent:${agent.name}`)} [label="tool"];`);
  }
  out.push("}");
  return out.join("\n") + "\n";
}
