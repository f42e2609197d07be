// Views: entity + label (the spine) + features + ODTs, ttl and as-of mode.
// This is where leakage is caught: a feature derived from the label's own
// column, joined inclusively at the label's event time, would see the answer.

import type { ViewDecl } from "../ast.ts";
import type { IrColumn, IrOdt, IrSource, IrType, IrView, IrViewFeature } from "../ir.ts";
import { DIAG } from "../messages.ts";
import { runClauses, type ClauseCheck } from "./clauses.ts";
import type { Ctx } from "./context.ts";
import type { CheckedGroup } from "./groups.ts";
import { baseAssignable, isNumeric, show, withNull } from "./types.ts";

export interface ViewEnv {
  sources: Map<string, IrSource>;
  entities: Map<string, { keys: IrColumn[] }>;
  groups: Map<string, CheckedGroup>;
  odts: Map<string, IrOdt>;
}

/** What the clause checks of one view find, filled in clause order. */
interface ViewDraft {
  env: ViewEnv;
  where: string;
  entityName?: string;
  entity?: { keys: IrColumn[] };
  label?: IrView["label"];
  labelSource?: IrSource;
  features: IrViewFeature[];
  odts: IrOdt[];
  /** Every name of the feature vector, with the reference that brought it in. */
  names: Map<string, ViewDecl["range"]>;
  /** Stored features, by name, with the reference that brought each in. */
  featureRefs: Map<string, ViewDecl["range"]>;
  requestFields: Map<string, IrColumn>;
  ttlMs: number | null;
  asOf: IrView["asOf"];
}

type ViewClause = ClauseCheck<ViewDecl, ViewDraft>;

const entityClause: ViewClause = {
  clause: "for ENTITY",
  check(ctx, decl, d) {
    const entityDecl = ctx.resolve(decl.entity, ["entity"], "entity");
    d.entityName = entityDecl?.name.name;
    d.entity = entityDecl && d.env.entities.get(entityDecl.name.name);
    return !!d.entity;
  },
};

/** The label: a column of an event source, at that source's event time. */
const labelClause: ViewClause = {
  clause: "label",
  check(ctx, decl, d) {
    if (!decl.label) {
      ctx.report(decl.name.range, DIAG.missingClause.label(d.where));
      return false;
    }
    const srcDecl = ctx.resolve(decl.label.source, ["source"], "source");
    const source = srcDecl && d.env.sources.get(srcDecl.name.name);
    if (!source) return false;
    d.labelSource = source;
    let ok = true;
    const field = source.fields.find((f) => f.name === decl.label!.column.name);
    if (!field) {
      ctx.report(decl.label.column.range, DIAG.unknownName.sourceColumn(source.name, decl.label.column.name, source.fields.map((f) => f.name)));
      ok = false;
    } else if (!isNumeric(field.type) && field.type.base !== "bool") {
      ctx.report(decl.label.column.range, DIAG.typeMismatch.label(field.name, show(field.type)));
      ok = false;
    } else if (!source.eventTime) {
      ctx.report(decl.label.source.range, DIAG.missingClause.labelTime(source.name));
      ok = false;
    } else {
      d.label = { name: decl.label.name.name, source: source.name, column: field.name, type: field.type, eventTime: source.eventTime };
    }
    for (const key of d.entity?.keys ?? []) {
      if (!source.fields.some((f) => f.name === key.name && baseAssignable(f.type, key.type))) {
        ctx.report(decl.label.source.range, DIAG.labelSourceColumn.key(source.name, key.name, show(key.type), decl.entity.name));
        ok = false;
      }
    }
    return ok;
  },
};

/** Features: `group.*`, `group.feature`, or an ODT by name; each name once. */
const featuresClause: ViewClause = {
  clause: "features",
  check(ctx, decl, d) {
    let ok = true;
    const add = (name: string, range: ViewDecl["range"]): boolean => {
      if (!d.names.has(name)) return void d.names.set(name, range), true;
      ctx.report(range, DIAG.duplicate.viewFeature(name, d.where));
      ok = false;
      return false;
    };
    const addFeature = (f: { name: string; type: IrType }, group: string, range: ViewDecl["range"]) => {
      if (!add(f.name, range)) return;
      d.features.push({ name: f.name, group, type: withNull(f.type) });
      d.featureRefs.set(f.name, range);
    };
    for (const ref of decl.features) {
      if (ref.kind === "name") {
        const odt = viewOdt(ctx, ref.name, d);
        if (!odt) ok = false;
        else if (add(odt.name, ref.range)) d.odts.push(odt);
        continue;
      }
      const group = groupOf(ctx, ref.group, d);
      if (!group) { ok = false; continue; }
      if (ref.kind === "group_all") {
        // Vectors (embeddings) are for indexes, not model inputs: `group.*` leaves them out.
        for (const f of group.ir.features) if (f.type.base !== "vector") addFeature(f, group.ir.name, ref.range);
        continue;
      }
      const f = group.ir.features.find((x) => x.name === ref.feature.name);
      if (f?.type.base === "vector") {
        ctx.error(3102, ref.range, `\`${ref.group.name}.${f.name}\` is a vector (${show(f.type)}); a view's features are model inputs and must be scalars`, {
          hint: "retrieve by similarity with an `index` on the group instead",
        });
        ok = false;
      } else if (f) addFeature(f, group.ir.name, ref.range);
      else {
        if (!ctx.poisoned.has(ref.feature.name)) {
          ctx.report(ref.feature.range, DIAG.unknownFeature.of(ref.group.name, ref.feature.name, group.ir.features.map((x) => x.name)));
        }
        ok = false;
      }
    }
    warnReferenceLeaks(ctx, d.where, d.features, d.featureRefs, d.env);
    return ok;
  },
};

/** A feature group of the view's entity. */
function groupOf(ctx: Ctx, ident: { name: string; range: ViewDecl["range"] }, d: ViewDraft): CheckedGroup | undefined {
  const g = ctx.resolve(ident, ["feature_group"], "feature group");
  const group = g && d.env.groups.get(g.name.name);
  if (group && d.entityName && group.ir.entity !== d.entityName) {
    ctx.report(ident.range, DIAG.otherEntity.group(group.ir.name, group.ir.entity, d.where, d.entityName));
    return undefined;
  }
  return group;
}

/** An ODT listed by name (a bare group name is the wrong kind). */
function viewOdt(ctx: Ctx, name: { name: string; range: ViewDecl["range"] }, d: ViewDraft): IrOdt | undefined {
  if (ctx.symbols.get(name.name)?.kind === "feature_group") {
    ctx.report(name.range, DIAG.wrongKind.groupAsFeature(name.name));
    return undefined;
  }
  const odtDecl = ctx.resolve(name, ["on_demand"], "on-demand transformation");
  return odtDecl && d.env.odts.get(odtDecl.name.name);
}

/** ODTs read stored features and request fields: both must be available to the view. */
const odtInputsClause: ViewClause = {
  clause: "features (ODT inputs)",
  check(ctx, _decl, d) {
    let ok = true;
    for (const odt of d.odts) {
      const range = d.names.get(odt.name)!;
      for (const fp of odt.featureParams) {
        const vf = d.features.find((f) => f.name === fp.name);
        if (!vf || vf.group !== fp.group) {
          ctx.report(range, DIAG.odtFeatureMissing.feature(odt.name, `${fp.group}.${fp.name}`, d.where));
          ok = false;
        }
      }
      for (const rp of odt.requestParams) if (!checkRequestField(ctx, d, odt, rp, range)) ok = false;
    }
    return ok;
  },
};

/** One request field of an ODT: one type across the view's ODTs, a column of the label source, not the label. */
function checkRequestField(ctx: Ctx, d: ViewDraft, odt: IrOdt, rp: IrColumn, range: ViewDecl["range"]): boolean {
  const prev = d.requestFields.get(rp.name);
  if (prev && prev.type.base !== rp.type.base) {
    ctx.report(range, DIAG.typeMismatch.requestField(rp.name, show(rp.type), odt.name, show(prev.type), d.where));
    return false;
  }
  d.requestFields.set(rp.name, rp);
  const { labelSource, label } = d;
  if (!labelSource || !label) return true;
  if (rp.name === label.column) {
    ctx.report(range, DIAG.labelLeakRequest.field(odt.name, rp.name, `${label.source}.${label.column}`));
    return false;
  }
  const col = labelSource.fields.find((f) => f.name === rp.name);
  if (col && baseAssignable(col.type, rp.type)) return true;
  ctx.report(range, col
    ? DIAG.labelSourceColumn.requestFieldType(rp.name, show(rp.type), labelSource.name, show(col.type))
    : DIAG.labelSourceColumn.requestFieldMissing(rp.name, odt.name, labelSource.name));
  return false;
}

const ttlClause: ViewClause = {
  clause: "ttl",
  check(ctx, decl, d) {
    if (!decl.ttl) return true;
    if (decl.ttl.kind !== "duration") ctx.report(decl.ttl.range, DIAG.durationExpected.ttl());
    else if (decl.ttl.ms <= 0) ctx.report(decl.ttl.range, DIAG.durationExpected.ttlPositive());
    else return (d.ttlMs = decl.ttl.ms), true;
    return false;
  },
};

const asOfClause: ViewClause = {
  clause: "as_of",
  check(ctx, decl, d) {
    if (!decl.asOf) return true;
    if (decl.asOf.name === "strict" || decl.asOf.name === "inclusive") return (d.asOf = decl.asOf.name), true;
    ctx.report(decl.asOf.range, DIAG.unknownOption.asOf(decl.asOf.name));
    return false;
  },
};

/** Leakage: an inclusive join at the label's event time sees the label's own row. */
const leakageClause: ViewClause = {
  clause: "as_of inclusive (leakage)",
  check(ctx, decl, d) {
    if (!d.label || d.asOf !== "inclusive") return true;
    let ok = true;
    const labelCol = `${d.label.source}.${d.label.column}`;
    for (const f of d.features) {
      if (!d.env.groups.get(f.group)?.lineage.get(f.name)?.has(labelCol)) continue;
      const related = decl.asOf ? [ctx.relatedHere(decl.asOf.range, "inclusive as-of set here")] : [];
      ctx.report(d.featureRefs.get(f.name)!, DIAG.labelLeakFeature.inclusive(f.name, labelCol, d.where), related);
      ok = false;
    }
    return ok;
  },
};

/** A view's clause checks, in order (later ones read what earlier ones found). */
export const VIEW_CLAUSES: readonly ViewClause[] = [entityClause, labelClause, featuresClause, odtInputsClause, ttlClause, asOfClause, leakageClause];

export function checkView(ctx: Ctx, decl: ViewDecl, env: ViewEnv): IrView | undefined {
  const d: ViewDraft = {
    env,
    where: `view \`${decl.name.name}\``,
    features: [],
    odts: [],
    names: new Map(),
    featureRefs: new Map(),
    requestFields: new Map(),
    ttlMs: null,
    asOf: "strict",
  };
  if (!runClauses(ctx, decl, d, VIEW_CLAUSES) || !d.entity || !d.label) return undefined;
  return {
    name: decl.name.name,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    entity: d.entityName!,
    keys: d.entity.keys,
    label: d.label,
    features: d.features,
    odts: d.odts.map((o) => o.name),
    requestFields: [...d.requestFields.values()],
    ttlMs: d.ttlMs,
    ttlText: d.ttlMs === null || decl.ttl?.kind !== "duration" ? null : decl.ttl.text,
    asOf: d.asOf,
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
