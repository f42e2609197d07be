// Views: entity + label (the spine) + features + ODTs, ttl and as-of mode.
// This is where leakage is caught: a feature derived from the label's own
// column, joined inclusively at the label's event time, would see the answer.

import type { ViewDecl } from "../ast.ts";
import type { IrColumn, IrOdt, IrSource, IrView, IrViewFeature } from "../ir.ts";
import { DIAG } from "../messages.ts";
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
    ctx.report(decl.name.range, DIAG.missingClause.label(where));
    ok = false;
  } else {
    const srcDecl = ctx.resolve(decl.label.source, ["source"], "source");
    labelSource = srcDecl && env.sources.get(srcDecl.name.name);
    if (!labelSource) ok = false;
    else {
      const field = labelSource.fields.find((f) => f.name === decl.label!.column.name);
      if (!field) {
        ctx.report(decl.label.column.range, DIAG.unknownName.sourceColumn(labelSource.name, decl.label.column.name, labelSource.fields.map((f) => f.name)));
        ok = false;
      } else if (!isNumeric(field.type) && field.type.base !== "bool") {
        ctx.report(decl.label.column.range, DIAG.typeMismatch.label(field.name, show(field.type)));
        ok = false;
      } else if (!labelSource.eventTime) {
        ctx.report(decl.label.source.range, DIAG.missingClause.labelTime(labelSource.name));
        ok = false;
      } else {
        label = { name: decl.label.name.name, source: labelSource.name, column: field.name, type: field.type, eventTime: labelSource.eventTime };
      }
      if (entity && labelSource) {
        for (const key of entity.keys) {
          if (!labelSource.fields.some((f) => f.name === key.name && baseAssignable(f.type, key.type))) {
            ctx.report(decl.label.source.range, DIAG.labelSourceColumn.key(labelSource.name, key.name, show(key.type), decl.entity.name));
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
      ctx.report(range, DIAG.duplicate.viewFeature(name, where));
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
      ctx.report(ident.range, DIAG.otherEntity.group(group.ir.name, group.ir.entity, where, entityDecl.name.name));
      return undefined;
    }
    return group;
  };
  for (const ref of decl.features) {
    if (ref.kind === "group_all") {
      const group = groupOf(ref.group);
      if (!group) { ok = false; continue; }
      for (const f of group.ir.features) {
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
        ctx.report(ref.feature.range, DIAG.unknownFeature.of(ref.group.name, ref.feature.name, group.ir.features.map((x) => x.name)));
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
        ctx.report(ref.name.range, DIAG.wrongKind.groupAsFeature(ref.name.name));
        ok = false;
        continue;
      }
      const odtDecl = ctx.resolve(ref.name, ["on_demand"], "on-demand transformation");
      const odt = odtDecl && env.odts.get(odtDecl.name.name);
      if (!odt) { ok = false; continue; }
      if (addName(odt.name, ref.range)) odts.push(odt);
    }
  }

  warnReferenceLeaks(ctx, where, features, featureRefs, env);

  // ODTs read stored features and request fields; both must be available to the view.
  const requestFields = new Map<string, IrColumn>();
  for (const odt of odts) {
    const range = names.get(odt.name)!.range;
    for (const fp of odt.featureParams) {
      const vf = features.find((f) => f.name === fp.name);
      if (!vf || vf.group !== fp.group) {
        ctx.report(range, DIAG.odtFeatureMissing.feature(odt.name, `${fp.group}.${fp.name}`, where));
        ok = false;
      }
    }
    for (const rp of odt.requestParams) {
      const prev = requestFields.get(rp.name);
      if (prev && prev.type.base !== rp.type.base) {
        ctx.report(range, DIAG.typeMismatch.requestField(rp.name, show(rp.type), odt.name, show(prev.type), where));
        ok = false;
        continue;
      }
      requestFields.set(rp.name, rp);
      if (!labelSource || !label) continue;
      if (rp.name === label.column) {
        ctx.report(range, DIAG.labelLeakRequest.field(odt.name, rp.name, `${label.source}.${label.column}`));
        ok = false;
        continue;
      }
      const col = labelSource.fields.find((f) => f.name === rp.name);
      if (!col || !baseAssignable(col.type, rp.type)) {
        ctx.report(range, col
          ? DIAG.labelSourceColumn.requestFieldType(rp.name, show(rp.type), labelSource.name, show(col.type))
          : DIAG.labelSourceColumn.requestFieldMissing(rp.name, odt.name, labelSource.name));
        ok = false;
      }
    }
  }

  let ttlMs: number | null = null;
  if (decl.ttl) {
    if (decl.ttl.kind !== "duration") {
      ctx.report(decl.ttl.range, DIAG.durationExpected.ttl());
      ok = false;
    } else if (decl.ttl.ms <= 0) {
      ctx.report(decl.ttl.range, DIAG.durationExpected.ttlPositive());
      ok = false;
    } else ttlMs = decl.ttl.ms;
  }
  let asOf: IrView["asOf"] = "strict";
  if (decl.asOf) {
    if (decl.asOf.name !== "strict" && decl.asOf.name !== "inclusive") {
      ctx.report(decl.asOf.range, DIAG.unknownOption.asOf(decl.asOf.name));
      ok = false;
    } else asOf = decl.asOf.name;
  }

  // Leakage: an inclusive join at the label's event time sees the label's own row.
  if (label && asOf === "inclusive") {
    const labelCol = `${label.source}.${label.column}`;
    for (const f of features) {
      if (env.groups.get(f.group)?.lineage.get(f.name)?.has(labelCol)) {
        ctx.report(featureRefs.get(f.name)!, DIAG.labelLeakFeature.inclusive(f.name, labelCol, where),
          decl.asOf ? [ctx.relatedHere(decl.asOf.range, "inclusive as-of set here")] : []);
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

/**
 * FTI4030: a feature from reference data without `valid_from` is its current
 * value at every time, so a training row labelled before the value last
 * changed sees the newer value. One warning per group.
 */
function warnReferenceLeaks(
  ctx: Ctx,
  where: string,
  features: IrViewFeature[],
  refs: Map<string, ViewDecl["range"]>,
  env: ViewEnv,
): void {
  const byGroup = new Map<string, string[]>();
  for (const f of features) {
    const ref = env.groups.get(f.group)?.ir.reference;
    if (ref && !ref.validity) byGroup.set(f.group, [...(byGroup.get(f.group) ?? []), f.name]);
  }
  for (const [group, names] of byGroup) {
    const source = env.groups.get(group)!.ir.reference!.source;
    ctx.report(refs.get(names[0])!, DIAG.referenceLeak.features(names, where, source));
  }
}
