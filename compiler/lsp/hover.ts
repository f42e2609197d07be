// Hover: what a name is — its kind and type with nullability, a feature's
// MIT/ODT class, lineage (the source columns it derives from) and window
// semantics, an input's MDTs, a built-in's signature — plus its doc comment.
// Types come from the IR (the last one that checked when the spec currently
// has errors, said so).

import type { Hover } from "vscode-languageserver";
import type { FeatureGroupDecl } from "../ast.ts";
import { BUILTINS, WINDOW_AGGS } from "../builtins.ts";
import { show } from "../checker/types.ts";
import type { IrFeature, IrGroup, IrMdt, IrSpec, IrType } from "../ir.ts";
import type { Analysis } from "./analysis.ts";
import { docAt } from "./docs.ts";
import { lineageOf } from "./lineage.ts";
import { positionAt, toLsp } from "./positions.ts";
import { wordHover } from "./hover-words.ts";
import { builtinAt, definitionOf, occurrenceAt, type Occurrence } from "./symbols.ts";
import { formatDuration } from "../../runtime/duration-text.ts";

const code = (s: string) => "```fti\n" + s + "\n```";

function mdtText(m: IrMdt): string {
  switch (m.kind) {
    case "clip": return `clip(min: ${m.min ?? "none"}, max: ${m.max ?? "none"})`;
    case "impute": return m.strategy === "constant" ? `impute(constant: ${JSON.stringify(m.value)})` : `impute(${m.strategy})`;
    case "bucketize": return `bucketize(${m.boundaries.join(", ")})`;
    default: return m.kind;
  }
}

export function windowSemantics(f: Extract<IrFeature, { kind: "window" }>, group: IrGroup): string {
  const w = formatDuration(f.windowMs);
  // A global group (no `for`) windows over every row of its input.
  const whose = group.entity === null ? "all" : `the ${group.entity}'s`;
  const frame = `${whose} rows of \`${group.input.name}\` with event time in (t − ${w}, t]`;
  if (f.agg === "ewma") return `exponentially weighted mean over all earlier rows${group.entity === null ? "" : ` of the ${group.entity}`}, time constant τ = ${w} (weights e^(−Δt/τ))`;
  return `\`${f.agg}\` over ${frame}, for each row's event time t`;
}

function featureHover(ir: IrSpec, groupName: string, name: string): string[] {
  const group = ir.groups.find((g) => g.name === groupName);
  const f = group?.features.find((x) => x.name === name);
  if (!group || !f) return [];
  const out = [code(`feature ${groupName}.${name}: ${show(f.type)}`)];
  out.push(`**MIT** (model-independent, stored in \`${group.table}\`), ${f.kind === "window" ? "windowed aggregation" : "row-level"}, ${f.type.nullable ? "nullable" : "never null"}`);
  if (f.kind === "window") out.push(`Window: ${windowSemantics(f, group)}.`);
  const lineage = [...lineageOf(ir, groupName, name)].sort();
  if (lineage.length) out.push(`Lineage: ${lineage.map((c) => "`" + c + "`").join(", ")}`);
  const inputs = ir.models.flatMap((m) => m.inputs.filter((i) => i.name === name && i.from === "feature" && i.mdts.length).map((i) => `\`${m.name}\`: ${i.mdts.map(mdtText).join(" → ")}`));
  if (inputs.length) out.push(`MDTs: ${inputs.join("; ")}`);
  return out;
}

function declHover(a: Analysis, name: string): string[] {
  const decl = a.index.decls.get(name);
  if (!decl) return [];
  const ir = a.ir;
  switch (decl.kind) {
    case "source": {
      const src = ir?.sources.find((s) => s.name === name);
      const where = decl.location?.kind === "path" ? `path "${decl.location.path.value}"` : decl.location?.kind === "table" ? `table ${decl.location.table}` : "";
      const time = decl.eventTime ? `event time \`${decl.eventTime.name}\`` : decl.validFrom ? `reference data valid from \`${decl.validFrom.name}\`${decl.validTo ? ` to \`${decl.validTo.name}\`` : ""}` : "reference data (no event time)";
      return [code(`source ${name}`), `${where}; ${time}; ${src?.fields.length ?? decl.fields.length} fields`];
    }
    case "entity":
      return [code(`entity ${name} { ${decl.keys.map((k) => `key ${k.name.name}: ${k.type.name}`).join(", ")} }`)];
    case "fn":
    case "extern_fn": {
      const sig = `${decl.kind === "fn" ? "fn" : "extern fn"} ${name}(${decl.params.map((p) => `${p.name.name}: ${p.type.name}${p.type.nullable ? "?" : ""}`).join(", ")}): ${decl.returnType.name}${decl.returnType.nullable ? "?" : ""}`;
      return [code(sig), decl.kind === "extern_fn" ? `TypeScript function from \`${decl.module.value}\`` : "a pure feature function"];
    }
    case "feature_group": {
      const g = ir?.groups.find((x) => x.name === name);
      return [code(`feature_group ${name}${decl.entity ? ` for ${decl.entity.name}` : ""} from ${decl.from.name}`), `**MITs**: ${decl.features.length} features${g ? `, stored in \`${g.table}\`` : ""}`];
    }
    case "on_demand": {
      const o = ir?.onDemand.find((x) => x.name === name);
      const ret = o ? show(o.returns) : `${decl.returnType.name}${decl.returnType.nullable ? "?" : ""}`;
      const req = decl.params.filter((p) => p.kind === "request").map((p) => p.name.name);
      const feats = decl.params.filter((p) => p.kind === "feature").map((p) => `${p.group.name}.${p.feature.name}`);
      return [code(`on_demand ${name}: ${ret}`), `**ODT** (on-demand: computed at request time and over the training spine, with the same code). Request fields: ${req.map((r) => "`" + r + "`").join(", ") || "none"}; features: ${feats.map((r) => "`" + r + "`").join(", ") || "none"}`];
    }
    case "view": {
      const v = ir?.views.find((x) => x.name === name);
      const label = v ? `label \`${v.label.name}\`: ${show(v.label.type)} (\`${v.label.text}\` over \`${v.spine.source}\`)` : "";
      const header = `view ${name}${decl.entity ? ` for ${decl.entity.name}` : ""}${decl.from ? ` from ${decl.from.name}` : ""}`;
      // Rows without time (no event_time) have no as_of: say what they are joined as of instead.
      const time = v?.spine.eventTime === null ? "rows without time (joined with the reference data of when the table was read)" : `as_of ${v?.asOf}`;
      return [code(header), [label, v ? `${v.features.length} features, ${v.odts.length} ODTs, ${time}${v.ttlMs !== null ? `, ttl ${formatDuration(v.ttlMs)}` : ""}` : ""].filter(Boolean).join("; ")];
    }
    case "model": {
      const m = ir?.models.find((x) => x.name === name);
      return [code(`model ${name}`), m ? `${m.task}, ${m.algorithm.kind}, ${m.inputs.length} inputs, metrics ${m.metrics.join(", ")}` : ""];
    }
    default:
      return [code(`${decl.kind} ${name}`)];
  }
}

/**
 * A feature of a group that checks in the text as it is, while the spec has errors elsewhere:
 * its type and lineage now (Analysis.current), not the last version's. Its model inputs' MDTs
 * are left out: models are not checked while the spec has errors.
 */
function currentFeatureHover(a: Analysis, group: string, name: string): string[] | undefined {
  if (a.irIsCurrent || !a.current.groups.get(group)?.features.some((f) => f.name === name)) return undefined;
  const now = { groups: [...a.current.groups.values()], models: [] } as unknown as IrSpec;
  return [...featureHover(now, group, name), CURRENT_NOTE];
}

/** Said on a hover with current types while the spec has errors (so the stale note is not added). */
const CURRENT_NOTE = "_types of the text as it is (the spec has errors elsewhere)_";

function typeLine(kind: string, name: string, type: IrType | undefined, written?: string): string {
  return code(`${kind} ${name}: ${type ? show(type) : written ?? "?"}`);
}

function occurrenceHover(a: Analysis, occ: Occurrence): string[] {
  const [scope, name] = occ.key.slice(occ.key.indexOf(":") + 1).split(".");
  const ir = a.ir;
  switch (occ.kind) {
    case "decl": return declHover(a, occ.name);
    case "feature": {
      const now = currentFeatureHover(a, scope, name);
      if (now) return now;
      return ir ? featureHover(ir, scope, name) : [code(`feature ${scope}.${name}`)];
    }
    case "field": {
      const f = ir?.sources.find((s) => s.name === scope)?.fields.find((x) => x.name === name);
      const decl = a.index.decls.get(scope);
      const written = decl?.kind === "source" ? decl.fields.find((x) => x.name.name === name)?.type : undefined;
      return [typeLine("field", `${scope}.${name}`, f?.type, written && written.name + (written.nullable ? "?" : "")), f?.allowed ? `one of ${f.allowed.map((v) => JSON.stringify(v)).join(", ")}` : ""];
    }
    case "key": {
      const k = ir?.entities.find((e) => e.name === scope)?.keys.find((x) => x.name === name);
      return [typeLine("key", `${scope}.${name}`, k?.type)];
    }
    case "param": {
      const decl = a.index.decls.get(scope);
      const p = decl && "params" in decl ? (decl.params as Array<{ name: { name: string }; type?: { name: string; nullable: boolean }; kind?: string }>).find((x) => x.name.name === name) : undefined;
      const written = p?.type ? p.type.name + (p.type.nullable ? "?" : "") : undefined;
      return [code(`${decl?.kind === "on_demand" ? "request field" : "parameter"} ${name}: ${written ?? "?"}`)];
    }
    case "label": {
      const v = ir?.views.find((x) => x.name === scope);
      return [typeLine("label", name, v?.label.type), "the target: one training row per labelled event (the spine)"];
    }
  }
}

function builtinHover(name: string, window: boolean): string[] {
  if (window) {
    const w = WINDOW_AGGS[name as keyof typeof WINDOW_AGGS];
    return [code(`${name}(${w.maxArgs ? (w.minArgs ? "x" : "[x]") : ""}) over <duration>`), `windowed aggregation: ${w.doc} The frame of a row at time t is the entity's rows in (t − w, t].`];
  }
  const b = BUILTINS[name];
  const params = b.params.map((p) => `${p.name}${p.optional ? "?" : ""}: ${p.kind}`).join(", ") + (b.variadic ? ", …" : "");
  return [code(`${name}(${params})`), b.doc];
}

/** The feature group a definition belongs to, for the doc comment of a feature. */
function defLine(a: Analysis, occ: Occurrence): number | undefined {
  const def = definitionOf(a.index, occ.key);
  return def?.range.start.line;
}

/** Hover on the `over` of a windowed feature (or its duration): the frame it aggregates. */
function windowHover(a: Analysis, offset: number): Hover | null {
  for (const d of a.program.decls) {
    if (d.kind !== "feature_group") continue;
    for (const f of d.features) {
      if (f.expr.kind !== "window" || offset > f.expr.range.end.offset) continue;
      const last = f.expr.args[f.expr.args.length - 1];
      if (offset <= (last ?? f.expr.agg).range.end.offset + 1) continue; // the call itself, not `over …`
      const group = a.ir?.groups.find((g) => g.name === d.name.name);
      const feature = group?.features.find((x) => x.name === f.name.name);
      const text = feature?.kind === "window" && group ? `Window: ${windowSemantics(feature, group)}.` : "`over w`: the frame of a row at time t is the entity's input rows with event time in (t − w, t].";
      return { contents: { kind: "markdown", value: text }, range: toLsp({ start: f.expr.agg.range.start, end: f.expr.range.end }) };
    }
  }
  return null;
}

/** An imported name: what it is and where it comes from (its doc comment is in its own file). */
function importedHover(a: Analysis, occ: Occurrence): Hover | null {
  const imp = occ.kind === "decl" ? a.imports.get(occ.name) : undefined;
  if (!imp) return null;
  const parts = [code(`${imp.kind} ${occ.name}`), `Imported from \`${imp.from}\` (declared at line ${imp.range.start.line}).`];
  const group = a.ir?.groups.find((g) => g.name === occ.name);
  if (group) parts.push(`**MIT** group ${group.entity === null ? "over the whole series (global)" : `of \`${group.entity}\``}, stored in \`${group.table}\`: ${group.features.map((f) => `\`${f.name}\``).join(", ")}`);
  return { contents: { kind: "markdown", value: parts.join("\n\n") }, range: toLsp(occ.range) };
}

export function hover(a: Analysis, offset: number): Hover | null {
  const occ = occurrenceAt(a.index, offset);
  const imported = occ && importedHover(a, occ);
  if (imported) return imported;
  if (occ) {
    const parts = occurrenceHover(a, occ).filter(Boolean);
    const line = defLine(a, occ);
    const doc = line !== undefined ? docAt(a, line) : undefined;
    if (doc) parts.push(doc);
    const current = parts.includes(CURRENT_NOTE);
    if (current) parts.push(...parts.splice(parts.indexOf(CURRENT_NOTE), 1)); // the note last, after the doc comment
    if (a.ir && !a.irIsCurrent && !current) parts.push("_types from the last version that checked; the spec has errors now_");
    if (!a.ir && occ.kind !== "decl" && !current) parts.push("_types appear once the spec checks_");
    return parts.length ? { contents: { kind: "markdown", value: parts.join("\n\n") }, range: toLsp(occ.range) } : null;
  }
  const b = builtinAt(a.index, offset);
  if (b) return { contents: { kind: "markdown", value: builtinHover(b.name, b.window).join("\n\n") }, range: toLsp(b.range) };
  const token = a.tokens.find((t) => t.startOffset <= offset && offset <= t.startOffset + t.image.length && /^[A-Za-z_]/.test(t.image));
  const word = token && wordHover(a, token);
  if (word) {
    const start = positionAt(a.starts, token!.startOffset);
    return { contents: { kind: "markdown", value: word }, range: { start, end: { line: start.line, character: start.character + token!.image.length } } };
  }
  return windowHover(a, offset);
}

export type { FeatureGroupDecl };
