// Views: entity + label (the spine) + features + ODTs, ttl and as-of mode.
// This is where leakage is caught: a feature derived from the label's own
// column, joined inclusively at the label's event time, would see the answer.

import type { ViewDecl } from "../ast.ts";
import type { IrColumn, IrOdt, IrSource, IrView, IrViewFeature } from "../ir.ts";
import { closest } from "../diagnostics.ts";
import type { Ctx } from "./context.ts";
import type { CheckedGroup } from "./groups.ts";
import { baseAssignable, isNumeric, show, withNull } from "./types.ts";

export interface ViewEnv {
  sources: Map<string, IrSource>;
  entities: Map<string, { keys: IrColumn[] }>;
  groups: Map<string, CheckedGroup>;
  odts: Map<string, IrOdt>;
}

export function checkView(ctx: Ctx, decl: ViewDecl, env: ViewEnv): IrView | undefined {
  const where = `view \`${decl.name.name}\``;
  const entityDecl = ctx.resolve(decl.entity, ["entity"], "entity");
  const entity = entityDecl && env.entities.get(entityDecl.name.name);
  let ok = !!entity;

  // The label: a column of a source, at that source's event time.
  let label: IrView["label"] | undefined;
  let labelSource: IrSource | undefined;
  if (!decl.label) {
    ctx.error(2014, decl.name.range, `${where} has no label: add \`label <name> = <source>.<column>\``);
    ok = false;
  } else {
    const srcDecl = ctx.resolve(decl.label.source, ["source"], "source");
    labelSource = srcDecl && env.sources.get(srcDecl.name.name);
    if (!labelSource) ok = false;
    else {
      const field = labelSource.fields.find((f) => f.name === decl.label!.column.name);
      if (!field) {
        const hint = closest(decl.label.column.name, labelSource.fields.map((f) => f.name));
        ctx.error(2002, decl.label.column.range, `source \`${labelSource.name}\` has no column \`${decl.label.column.name}\``, hint ? { hint: `did you mean \`${hint}\`?` } : {});
        ok = false;
      } else if (!isNumeric(field.type) && field.type.base !== "bool") {
        ctx.error(3002, decl.label.column.range, `a label must be a number or a bool, \`${field.name}\` is ${show(field.type)}`);
        ok = false;
      } else {
        label = { name: decl.label.name.name, source: labelSource.name, column: field.name, type: field.type, eventTime: labelSource.eventTime };
      }
      if (entity && labelSource) {
        for (const key of entity.keys) {
          if (!labelSource.fields.some((f) => f.name === key.name && baseAssignable(f.type, key.type))) {
            ctx.error(4013, decl.label.source.range, `label source \`${labelSource.name}\` has no column \`${key.name}\` (${show(key.type)}), the key of entity \`${decl.entity.name}\``);
            ok = false;
          }
        }
      }
    }
  }

  // Features: group.*, group.feature, or an ODT by name.
  const features: IrViewFeature[] = [];
  const odts: IrOdt[] = [];
  const names = new Map<string, { range: ViewDecl["range"] }>();
  const featureRefs = new Map<string, ViewDecl["range"]>();
  const addName = (name: string, range: ViewDecl["range"]) => {
    if (names.has(name)) {
      ctx.error(2007, range, `\`${name}\` appears twice in the features of ${where}`);
      ok = false;
      return false;
    }
    names.set(name, { range });
    return true;
  };
  const groupOf = (ident: { name: string; range: ViewDecl["range"] }) => {
    const g = ctx.resolve(ident, ["feature_group"], "feature group");
    const group = g && env.groups.get(g.name.name);
    if (group && entityDecl && group.ir.entity !== entityDecl.name.name) {
      ctx.error(4012, ident.range, `feature group \`${group.ir.name}\` is for entity \`${group.ir.entity}\`, but ${where} is for \`${entityDecl.name.name}\``);
      return undefined;
    }
    return group;
  };
  for (const ref of decl.features) {
    if (ref.kind === "group_all") {
      const group = groupOf(ref.group);
      if (!group) { ok = false; continue; }
      // Vectors (embeddings) are for indexes, not model inputs: `group.*` leaves them out.
      for (const f of group.ir.features) {
        if (f.type.base === "vector") continue;
        if (addName(f.name, ref.range)) {
          features.push({ name: f.name, group: group.ir.name, type: withNull(f.type) });
          featureRefs.set(f.name, ref.range);
        }
      }
    } else if (ref.kind === "group_feature") {
      const group = groupOf(ref.group);
      if (!group) { ok = false; continue; }
      const f = group.ir.features.find((x) => x.name === ref.feature.name);
      if (!f && ctx.poisoned.has(ref.feature.name)) { ok = false; continue; }
      if (!f) {
        const hint = closest(ref.feature.name, group.ir.features.map((x) => x.name));
        ctx.error(2006, ref.feature.range, `feature group \`${ref.group.name}\` has no feature \`${ref.feature.name}\``, hint ? { hint: `did you mean \`${hint}\`?` } : {});
        ok = false;
        continue;
      }
      if (f.type.base === "vector") {
        ctx.error(3102, ref.range, `\`${ref.group.name}.${f.name}\` is a vector (${show(f.type)}); a view's features are model inputs and must be scalars`, {
          hint: "retrieve by similarity with an `index` on the group instead",
        });
        ok = false;
        continue;
      }
      if (addName(f.name, ref.range)) {
        features.push({ name: f.name, group: group.ir.name, type: withNull(f.type) });
        featureRefs.set(f.name, ref.range);
      }
    } else {
      const decl2 = ctx.symbols.get(ref.name.name);
      if (decl2?.kind === "feature_group") {
        ctx.error(2004, ref.name.range, `\`${ref.name.name}\` is a feature group; list its features as \`${ref.name.name}.*\` or \`${ref.name.name}.<feature>\``);
        ok = false;
        continue;
      }
      const odtDecl = ctx.resolve(ref.name, ["on_demand"], "on-demand transformation");
      const odt = odtDecl && env.odts.get(odtDecl.name.name);
      if (!odt) { ok = false; continue; }
      if (addName(odt.name, ref.range)) odts.push(odt);
    }
  }

  // ODTs read stored features and request fields; both must be available to the view.
  const requestFields = new Map<string, IrColumn>();
  for (const odt of odts) {
    const range = names.get(odt.name)!.range;
    for (const fp of odt.featureParams) {
      const vf = features.find((f) => f.name === fp.name);
      if (!vf || vf.group !== fp.group) {
        ctx.error(4018, range, `ODT \`${odt.name}\` reads \`${fp.group}.${fp.name}\`, which ${where} does not include`, { hint: `add \`${fp.group}.${fp.name}\` to its features` });
        ok = false;
      }
    }
    for (const rp of odt.requestParams) {
      const prev = requestFields.get(rp.name);
      if (prev && prev.type.base !== rp.type.base) {
        ctx.error(3002, range, `request field \`${rp.name}\` is ${show(rp.type)} in \`${odt.name}\` but ${show(prev.type)} in another ODT of ${where}`);
        ok = false;
        continue;
      }
      requestFields.set(rp.name, rp);
      if (!labelSource || !label) continue;
      if (rp.name === label.column) {
        ctx.error(4009, range, `ODT \`${odt.name}\` takes request field \`${rp.name}\`, which is the label column \`${label.source}.${label.column}\`: the model would be given the answer`);
        ok = false;
        continue;
      }
      const col = labelSource.fields.find((f) => f.name === rp.name);
      if (!col || !baseAssignable(col.type, rp.type)) {
        ctx.error(4013, range, col
          ? `request field \`${rp.name}\` is ${show(rp.type)} but \`${labelSource.name}.${rp.name}\` is ${show(col.type)}`
          : `request field \`${rp.name}\` of \`${odt.name}\` has no column of the same name in label source \`${labelSource.name}\`; training takes request fields from the label's rows`);
        ok = false;
      }
    }
  }

  let ttlMs: number | null = null;
  if (decl.ttl) {
    if (decl.ttl.kind !== "duration") {
      ctx.error(3011, decl.ttl.range, `\`ttl\` needs a duration literal such as \`90d\``);
      ok = false;
    } else if (decl.ttl.ms <= 0) {
      ctx.error(3011, decl.ttl.range, `\`ttl\` must be positive`);
      ok = false;
    } else ttlMs = decl.ttl.ms;
  }
  let asOf: IrView["asOf"] = "strict";
  if (decl.asOf) {
    if (decl.asOf.name !== "strict" && decl.asOf.name !== "inclusive") {
      const hint = closest(decl.asOf.name, ["strict", "inclusive"]);
      ctx.error(2012, decl.asOf.range, `\`as_of\` is \`strict\` or \`inclusive\`, not \`${decl.asOf.name}\``, hint ? { hint: `did you mean \`${hint}\`?` } : {});
      ok = false;
    } else asOf = decl.asOf.name;
  }

  // Leakage: an inclusive join at the label's event time sees the label's own row.
  if (label && asOf === "inclusive") {
    const labelCol = `${label.source}.${label.column}`;
    for (const f of features) {
      if (env.groups.get(f.group)?.lineage.get(f.name)?.has(labelCol)) {
        ctx.error(4008, featureRefs.get(f.name)!, `feature \`${f.name}\` is derived from the label \`${labelCol}\` and ${where} joins features inclusively at the label's event time: each training row would see its own answer`, {
          hint: "use `as_of strict` (features strictly before the label), or drop the feature",
          related: decl.asOf ? [{ file: ctx.file, range: decl.asOf.range, message: "inclusive as-of set here" }] : [],
        });
        ok = false;
      }
    }
  }

  if (!ok || !entity || !label) return undefined;
  return {
    name: decl.name.name,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    entity: entityDecl!.name.name,
    keys: entity.keys,
    label,
    features,
    odts: odts.map((o) => o.name),
    requestFields: [...requestFields.values()],
    ttlMs,
    ttlText: ttlMs === null || decl.ttl?.kind !== "duration" ? null : decl.ttl.text,
    asOf,
  };
}
