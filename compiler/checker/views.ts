// Views: a spine (the rows of a source, optionally filtered, each with a
// label), feature groups joined point in time on spine columns (`by`), ODTs,
// ttl and as-of mode. `view x for ENTITY` is the shorthand in which every
// group is joined by the columns named like its keys.
// This is where leakage is caught: a feature derived from the label's own
// columns, joined inclusively at the label's event time, would see the answer.

import type { Expr, FeatureRef, ViewDecl } from "../ast.ts";
import type { IrColumn, IrGroup, IrOdt, IrSource, IrType, IrView, IrViewFeature, IrViewJoin } from "../ir.ts";
import { columnsOf } from "../ir-walk.ts";
import { DIAG } from "../messages.ts";
import type { Ctx } from "./context.ts";
import { checkWhere, type CheckedGroup } from "./groups.ts";
import { checkLabel, oldLabelSource } from "./labels.ts";
import { baseAssignable, show } from "./types.ts";

export interface ViewEnv {
  sources: Map<string, IrSource>;
  entities: Map<string, { keys: IrColumn[] }>;
  groups: Map<string, CheckedGroup>;
  odts: Map<string, IrOdt>;
}

type Range = ViewDecl["range"];

export function checkView(ctx: Ctx, decl: ViewDecl, env: ViewEnv, text: string): IrView | undefined {
  const where = `view \`${decl.name.name}\``;
  const spine = checkSpine(ctx, decl, env, where);
  if (!spine) {
    // Still resolve the features, so their names count as used and their errors show.
    checkJoins(ctx, decl, env, where, undefined);
    return undefined;
  }
  const { source, entityName, entityColumns } = spine;
  // A spine source without event_time: rows without time (a static table, one row per thing).
  const untimed = !source.eventTime;
  let ok = spine.ok;
  let label: IrView["label"] | undefined;
  if (!decl.label) {
    ctx.report(decl.name.range, DIAG.missingClause.viewLabel(where, source.name));
    ok = false;
  } else {
    const labelText = text.slice(decl.label.expr.range.start.offset, decl.label.expr.range.end.offset);
    const entityCandidates = entityName ? undefined : joinedEntities(ctx, decl);
    const oneSeries = !entityName && joinsNoEntity(ctx, decl);
    label = checkLabel(ctx, { where, name: decl.label.name.name, expr: decl.label.expr, source, entity: entityName, entityCandidates, oneSeries, untimed }, labelText);
    if (!label) ok = false;
  }
  const rowInputs = { untimed, labelColumns: new Set((label?.lineage ?? []).map((c) => c.slice(c.indexOf(".") + 1))), entityColumns };
  const joined = checkJoins(ctx, decl, env, where, source, entityName ? { name: entityName, columns: entityColumns } : undefined, rowInputs);
  if (!joined.ok) ok = false;
  if (untimed && !checkUntimedJoins(ctx, decl, env, where, source, joined)) ok = false;
  // Rows without time read reference data as it holds when the table is read: no older value to warn about.
  if (!untimed) warnReferenceLeaks(ctx, where, joined.features, joined.refRanges, env);
  const odts = checkOdts(ctx, decl, env, where, joined, source, label);
  if (!odts) ok = false;
  const ttlMs = untimed ? refuseTimeClauses(ctx, decl, where, source.name) : checkTtl(ctx, decl);
  const asOf = untimed ? (ttlMs === null ? "strict" : undefined) : checkAsOf(ctx, decl);
  if (ttlMs === undefined || !asOf) ok = false;
  // Without time, a feature of the label's own row is as good as inclusive: always its own answer.
  const leakCheck = untimed ? { source: source.name } : asOf === "inclusive" ? {} : undefined;
  if (label && leakCheck && !checkLeakage(ctx, decl, env, where, label, joined.features, joined.refRanges, leakCheck.source)) ok = false;

  if (odts && !checkSpineClashes(ctx, where, entityColumns, joined, odts.requestFields)) ok = false;
  if (!ok || !label || !odts || ttlMs === undefined || !asOf) return undefined;
  const keys: IrColumn[] = [];
  for (const name of [...entityColumns, ...joined.joins.flatMap((j) => j.on.map((o) => o.column))]) {
    if (!keys.some((k) => k.name === name)) keys.push({ name, type: { ...source.fields.find((f) => f.name === name)!.type, nullable: false } });
  }
  return {
    name: decl.name.name,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    entity: entityName ?? null,
    keys,
    spine: { source: source.name, eventTime: source.eventTime ?? null, where: spine.where, entityColumns },
    label,
    joins: joined.joins,
    features: joined.features,
    odts: odts.odts.map((o) => o.name),
    requestFields: odts.requestFields,
    ttlMs,
    ttlText: ttlMs === null || decl.ttl?.kind !== "duration" ? null : decl.ttl.text,
    asOf,
  };
}

interface Spine {
  ok: boolean;
  source: IrSource;
  entityName?: string;
  entityColumns: string[];
  where: IrView["spine"]["where"];
}

/** The spine source (`from`, else the old label's source), its `where`, and the entity's columns on it. */
function checkSpine(ctx: Ctx, decl: ViewDecl, env: ViewEnv, where: string): Spine | undefined {
  let ok = true;
  const entityDecl = decl.entity ? ctx.resolve(decl.entity, ["entity"], "entity") : undefined;
  const entity = entityDecl && env.entities.get(entityDecl.name.name);
  if (decl.entity && !entity) ok = false;
  const oldSource = decl.label ? oldLabelSource(ctx, decl.label.expr) : undefined;
  const sourceIdent = decl.from ?? (oldSource && decl.label!.expr.kind === "member" ? decl.label!.expr.object : undefined);
  if (!sourceIdent) {
    if (!decl.entity && !decl.from) ctx.report(decl.name.range, DIAG.missingClause.viewSpine(where, decl.name.name));
    else ctx.report(decl.name.range, DIAG.missingClause.viewSpineSource(where, decl.entity!.name));
    return undefined;
  }
  const srcDecl = ctx.resolve(sourceIdent, ["source"], "source");
  const source = srcDecl && env.sources.get(srcDecl.name.name);
  if (!source) return undefined;
  const columns = new Map(source.fields.map((f) => [f.name, f.type]));
  const filter = decl.where ? checkWhere(ctx, `the \`where\` of ${where}`, decl.where, columns) : null;
  if (filter === undefined) ok = false;
  const entityColumns: string[] = [];
  const written = decl.entityColumns;
  if (entity && written && written.length !== entity.keys.length) {
    ctx.report(written[0]?.range ?? decl.entity!.range, DIAG.byColumnMisfit.entityCount(decl.entity!.name, entity.keys.length, written.length));
    return undefined;
  }
  (entity?.keys ?? []).forEach((key, i) => {
    const name = written ? written[i].name : key.name;
    const col = columns.get(name);
    if (!col && written) {
      ctx.report(written[i].range, DIAG.unknownByColumn.spine(source.name, where, name, columns.keys()));
      ok = false;
    } else if (!col || col.base !== key.type.base) {
      const entityName = decl.entity!.name;
      const typeArgs = [source.name, name, show(col ?? key.type), key.name, entityName, show(key.type)] as const;
      ctx.report(written ? written[i].range : sourceIdent.range, !col
        ? DIAG.labelSourceColumn.spineKey(source.name, key.name, show(key.type), entityName)
        : written ? DIAG.byColumnMisfit.spineKeyType(...typeArgs) : DIAG.labelSourceColumn.spineKeyType(...typeArgs));
      ok = false;
    } else entityColumns.push(name);
  });
  return { ok, source, entityName: entityDecl?.name.name, entityColumns, where: filter ?? null };
}

interface Joined {
  ok: boolean;
  joins: IrViewJoin[];
  features: IrViewFeature[];
  odtRefs: Array<Extract<FeatureRef, { kind: "name" }>>;
  /** `features SOURCE.column` / `SOURCE.*` on the spine source: the row's columns as inputs, each an identity ODT of its request field. */
  rowColumns: Array<{ odt: IrOdt; range: Range }>;
  /** Feature name → the `features` entry that brought it (for messages). */
  refRanges: Map<string, Range>;
}

/** Group references: each mapped onto spine columns (one join per group and mapping), named with `as`. */
/** What `features SOURCE.*` leaves out, and whether it may be used (rows without time only). */
interface RowInputs {
  untimed: boolean;
  labelColumns: Set<string>;
  entityColumns: string[];
}

function checkJoins(
  ctx: Ctx, decl: ViewDecl, env: ViewEnv, where: string, source: IrSource | undefined, spineEntity?: SpineEntity, rowInputs?: RowInputs,
): Joined {
  const out: Joined = { ok: true, joins: [], features: [], odtRefs: [], rowColumns: [], refRanges: new Map() };
  const columns = new Map((source?.fields ?? []).map((f) => [f.name, f.type]));
  const fail = () => void (out.ok = false);
  // By name: a view listing thousands of features is checked in linear time.
  const featureByName = new Map<string, IrViewFeature>();
  for (const ref of decl.features) {
    if (ref.kind === "name") {
      const d = ctx.symbols.get(ref.name.name);
      if (d?.kind === "feature_group") {
        ctx.report(ref.name.range, DIAG.wrongKind.groupAsFeature(ref.name.name));
        fail();
      } else if (ref.by || ref.prefix) {
        ctx.report(ref.by?.range ?? ref.prefix!.range, DIAG.wrongKind.byOnOdt(ref.name.name));
        fail();
      } else out.odtRefs.push(ref);
      continue;
    }
    if (source && rowInputs && ref.group.name === source.name) {
      if (!rowColumnInputs(ctx, ref, env, where, source, rowInputs, out)) fail();
      continue;
    }
    // A source whose own checks failed (reported there) is not "a source, not a feature group" again.
    if (ctx.symbols.get(ref.group.name)?.kind === "source" && !env.sources.has(ref.group.name)) {
      fail();
      continue;
    }
    const g = ctx.resolve(ref.group, ["feature_group"], "feature group");
    const group = g && env.groups.get(g.name.name);
    if (!group) { fail(); continue; }
    if (!source) continue;
    const on = mapKeys(ctx, ref, group, { columns, source, where, entity: spineEntity });
    if (!on) { fail(); continue; }
    const joinIndex = joinOf(out.joins, group.ir.name, on);
    // Vectors (embeddings) are for indexes, not model inputs: `group.*` leaves them out.
    const picked = ref.kind === "group_all" ? group.ir.features.filter((f) => f.type.base !== "vector") : featuresNamed(group.ir, ref.feature.name);
    if (ref.kind === "group_feature" && picked[0]?.type.base === "vector") {
      ctx.report(ref.range, DIAG.vectorScalar.viewFeature(`${ref.group.name}.${picked[0].name}`, show(picked[0].type)));
      fail();
      continue;
    }
    if (ref.kind === "group_feature" && picked.length === 0) {
      if (!ctx.poisoned.has(ref.feature.name)) {
        ctx.report(ref.feature.range, DIAG.unknownFeature.of(ref.group.name, ref.feature.name, group.ir.features.map((x) => x.name)));
      }
      fail();
      continue;
    }
    for (const f of picked) {
      const name = (ref.prefix?.name ?? "") + f.name;
      const prev = featureByName.get(name);
      if (prev) {
        reportCollision(ctx, ref, name, { prev, joins: out.joins, joinIndex, prevRange: out.refRanges.get(name)!, where });
        fail();
        continue;
      }
      const feature: IrViewFeature = { name, group: group.ir.name, column: f.name, join: joinIndex, type: { ...f.type, nullable: true } };
      out.features.push(feature);
      featureByName.set(name, feature);
      out.refRanges.set(name, ref.range);
    }
  }
  return out;
}

const groupFeatures = new WeakMap<IrGroup, Map<string, IrGroup["features"][number]>>();

/** The group's feature of that name (as a list: none or one), through a name index made once per group. */
function featuresNamed(group: IrGroup, name: string): IrGroup["features"] {
  let index = groupFeatures.get(group);
  if (!index) groupFeatures.set(group, (index = new Map(group.features.map((f) => [f.name, f]))));
  const f = index.get(name);
  return f ? [f] : [];
}

/**
 * `features penguins.beak_length_mm` (or `penguins.*`) in a view from
 * penguins: the row's own columns as model inputs. Each is the request field
 * of that name (read from the spine row in training, from the request when
 * serving) through an identity ODT of the same name, made here once per
 * column and shared by the views that list it. `SOURCE.*` takes every column
 * but the label's, the entity's, timestamps and a one-field `unique` (a row id:
 * each value is seen once, so it teaches a model nothing and a request would
 * have to invent one), and only on rows without time (an event's later columns
 * would leak: FTI2049).
 */
function rowColumnInputs(
  ctx: Ctx, ref: Exclude<FeatureRef, { kind: "name" }>, env: ViewEnv, where: string, source: IrSource, row: RowInputs, out: Joined,
): boolean {
  if (ref.by || ref.prefix) {
    ctx.report(ref.by?.range ?? ref.prefix!.range, DIAG.wrongKind.byOnOdt(`${source.name}.${ref.kind === "group_all" ? "*" : ref.feature.name}`));
    return false;
  }
  let fields: IrSource["fields"];
  if (ref.kind === "group_all") {
    if (!row.untimed) {
      ctx.report(ref.range, DIAG.rowColumns.starOnEvents(source.name, where));
      return false;
    }
    const rowId = source.unique?.length === 1 ? source.unique[0] : undefined;
    fields = source.fields.filter(
      (f) => !row.labelColumns.has(f.name) && !row.entityColumns.includes(f.name) && f.name !== rowId && f.type.base !== "timestamp" && f.type.base !== "vector",
    );
  } else {
    const f = source.fields.find((x) => x.name === ref.feature.name);
    if (!f) {
      ctx.report(ref.feature.range, DIAG.unknownName.sourceColumn(source.name, ref.feature.name, source.fields.map((x) => x.name)));
      return false;
    }
    fields = [f];
  }
  let ok = true;
  for (const f of fields) {
    const prev = env.odts.get(f.name);
    const declared = ctx.symbols.get(f.name);
    if (declared || (prev && (prev.requestParams.length !== 1 || prev.requestParams[0].name !== f.name || show(prev.returns) !== show(f.type)))) {
      ctx.report(ref.range, DIAG.rowColumns.clash(f.name, source.name, declared ? declared.kind.replace("_", " ") : "another column input"));
      ok = false;
      continue;
    }
    const odt: IrOdt = prev ?? {
      name: f.name,
      loc: { line: ref.range.start.line, column: ref.range.start.column },
      requestParams: [{ name: f.name, type: f.type }],
      featureParams: [],
      returns: f.type,
      body: { k: "param", name: f.name, type: f.type },
    };
    env.odts.set(odt.name, odt);
    out.rowColumns.push({ odt, range: ref.range });
  }
  return ok;
}

/** A feature named like a spine column the view reads (a key or request field) would hide it. */
function checkSpineClashes(ctx: Ctx, where: string, entityColumns: string[], joined: Joined, requestFields: IrColumn[]): boolean {
  const spineColumns = new Set([...entityColumns, ...joined.joins.flatMap((j) => j.on.map((o) => o.column)), ...requestFields.map((r) => r.name)]);
  let ok = true;
  for (const f of joined.features) {
    if (!spineColumns.has(f.name)) continue;
    ctx.report(joined.refRanges.get(f.name)!, DIAG.joinNameCollision.spineColumn(f.name, f.group, where));
    ok = false;
  }
  return ok;
}

function joinOf(joins: IrViewJoin[], group: string, on: IrViewJoin["on"]): number {
  const same = (a: IrViewJoin["on"]) => a.length === on.length && a.every((x, i) => x.key === on[i].key && x.column === on[i].column);
  const i = joins.findIndex((j) => j.group === group && same(j.on));
  if (i >= 0) return i;
  joins.push({ group, on });
  return joins.length - 1;
}

interface Collision {
  prev: IrViewFeature;
  joins: IrViewJoin[];
  joinIndex: number;
  prevRange: Range;
  where: string;
}

function reportCollision(ctx: Ctx, ref: FeatureRef, name: string, c: Collision): void {
  const { prev, joinIndex, prevRange, where } = c;
  const side = (j: IrViewJoin) => `\`${j.group}\` by ${j.on.map((o) => o.column).join(", ")}`;
  if (prev.join === joinIndex && !ref.prefix) {
    ctx.report(ref.range, DIAG.duplicate.viewFeature(name, where));
    return;
  }
  const group = ref.kind === "name" ? "" : ref.group.name;
  const feature = ref.kind === "group_feature" ? ref.feature.name : "*";
  const by = ref.by ? ` by ${ref.by.columns.length > 1 ? `(${ref.by.columns.map((c) => c.name).join(", ")})` : ref.by.columns[0].name}` : "";
  const rename = `features ${group}.${feature}${by} as ${suggestPrefix(ref)}`;
  ctx.report(ref.range, DIAG.joinNameCollision.joins(name, side(c.joins[joinIndex]), side(c.joins[prev.join]), where, rename), [ctx.relatedHere(prevRange, "first included here")]);
}

function suggestPrefix(ref: FeatureRef): string {
  const base = ref.by?.columns[0]?.name ?? (ref.kind === "name" ? ref.name.name : ref.group.name);
  return `${base}_`;
}

/** The view's entity and the spine columns holding its keys (`for account(sender)`). */
interface SpineEntity {
  name: string;
  columns: string[];
}

interface Spine2 {
  columns: Map<string, IrType>;
  source: IrSource;
  where: string;
  entity?: SpineEntity;
}

/**
 * The spine column of each of the group's keys: `by` names them; else a group
 * of the view's entity reads the entity's columns, any other the columns
 * named like its keys.
 */
function mapKeys(ctx: Ctx, ref: Exclude<FeatureRef, { kind: "name" }>, group: CheckedGroup, spine: Spine2): IrViewJoin["on"] | undefined {
  const { columns, where } = spine;
  const source = spine.source.name;
  const keys = group.ir.keys;
  // A global group (no `for`) has no keys: it is joined by time only, on every spine row.
  if (group.ir.entity === null) {
    if (!ref.by) return [];
    ctx.report(ref.by.range, DIAG.globalGroupBy.by(group.ir.name, `${ref.group.name}.${ref.kind === "group_all" ? "*" : ref.feature.name}`));
    return undefined;
  }
  const entity = group.ir.entity;
  const keyText = `${keys.map((k) => `\`${k.name}\` (${show(k.type)})`).join(", ")}`;
  if (ref.by) {
    const cols = ref.by.columns;
    if (cols.length !== keys.length) {
      ctx.report(ref.by.range, DIAG.byColumnMisfit.byCount(group.ir.name, keys.length, entity, keyText, cols.length));
      return undefined;
    }
    let ok = true;
    const on = keys.map((k, i) => {
      const type = columns.get(cols[i].name);
      if (!type) {
        ctx.report(cols[i].range, DIAG.unknownByColumn.spine(source, where, cols[i].name, columns.keys()));
        ok = false;
      } else if (!baseAssignable(type, k.type) || type.base !== k.type.base) {
        ctx.report(cols[i].range, DIAG.byColumnMisfit.byType(source, cols[i].name, show(type), k.name, entity, show(k.type)));
        ok = false;
      }
      return { key: k.name, column: cols[i].name };
    });
    return ok ? on : undefined;
  }
  if (spine.entity?.name === entity) return keys.map((k, i) => ({ key: k.name, column: spine.entity!.columns[i] }));
  const unmapped = keys.filter((k) => columns.get(k.name)?.base !== k.type.base);
  if (unmapped.length === 0) return keys.map((k) => ({ key: k.name, column: k.name }));
  // The hint: the columns the group itself reads its keys from, when it reads the spine's source; else a column of the key's type.
  const fromSpine = group.ir.input.kind === "source" && group.ir.input.name === source;
  const guess = fromSpine
    ? group.ir.keyColumns
    : keys.map((k) => [...columns.entries()].find(([n, t]) => t.base === k.type.base && !spine.source.unique?.includes(n))?.[0] ?? "<column>");
  const by = guess.length > 1 ? `(${guess.join(", ")})` : guess[0];
  const features = `${ref.group.name}.${ref.kind === "group_all" ? "*" : ref.feature.name}`;
  ctx.report(ref.range, DIAG.otherEntity.unmapped(group.ir.name, entity, keyText, source, unmapped[0].name, features, by));
  return undefined;
}

/** ODTs read stored features and request fields; both must be available to the view. */
function checkOdts(
  ctx: Ctx, decl: ViewDecl, env: ViewEnv, where: string, joined: Joined, source: IrSource, label: IrView["label"] | undefined,
): { odts: IrOdt[]; requestFields: IrColumn[] } | undefined {
  const features = joined.features;
  let ok = true;
  const odts: IrOdt[] = [];
  const ranges = new Map<string, Range>();
  for (const ref of decl.features) {
    if (ref.kind !== "name" && ref.group.name === source.name) {
      // The row's columns (`features SOURCE.x`), in their place in the list.
      for (const { odt, range } of joined.rowColumns) {
        if (range !== ref.range) continue;
        if (features.some((f) => f.name === odt.name) || odts.includes(odt)) {
          ctx.report(ref.range, DIAG.duplicate.viewFeature(odt.name, where));
          ok = false;
          continue;
        }
        odts.push(odt);
        ranges.set(odt.name, range);
      }
      continue;
    }
    if (ref.kind !== "name" || ref.by || ref.prefix || ctx.symbols.get(ref.name.name)?.kind === "feature_group") continue;
    const odtDecl = ctx.resolve(ref.name, ["on_demand"], "on-demand transformation");
    const odt = odtDecl && env.odts.get(odtDecl.name.name);
    if (!odt) { ok = false; continue; }
    if (features.some((f) => f.name === odt.name) || odts.includes(odt)) {
      ctx.report(ref.range, DIAG.duplicate.viewFeature(odt.name, where));
      ok = false;
      continue;
    }
    odts.push(odt);
    ranges.set(odt.name, ref.range);
  }
  // A model input is a number, bool or string: a timestamp has no encoding (and no plan type).
  for (const odt of odts) {
    if (odt.returns.base !== "timestamp") continue;
    ctx.report(ranges.get(odt.name)!, DIAG.typeMismatch.timestampInput(odt.name, odt.requestParams.length === 1 && odt.body.k === "param" ? odt.requestParams[0].name : undefined));
    ok = false;
  }
  // A request field leaks the label when the request fields together give every column the label reads
  // (`label y = x` with request x; `flagged = status == "fraud"` with request status). A column the label
  // only normalises by, known before the event (a planned distance), may be requested.
  const labelColumns = new Set((label?.lineage ?? []).map((c) => c.slice(c.indexOf(".") + 1)));
  const requested = new Set(odts.flatMap((o) => o.requestParams.map((p) => p.name)));
  const labelGiven = labelColumns.size > 0 && [...labelColumns].every((c) => requested.has(c));
  const requestFields = new Map<string, IrColumn>();
  for (const odt of odts) {
    const range = ranges.get(odt.name)!;
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
      if (labelGiven && labelColumns.has(rp.name)) {
        const others = [...labelColumns].filter((c) => c !== rp.name);
        // A column input (`features activities.elapsed_time_s`) is an identity ODT no one declared: say what was written.
        const column = odt.body.k === "param" && !ctx.symbols.has(odt.name) && !ctx.imported.has(odt.name);
        ctx.report(range, DIAG.labelLeakRequest.labelReads(odt.name, rp.name, label!.name, source.name, others, column));
        ok = false;
        continue;
      }
      const col = source.fields.find((f) => f.name === rp.name);
      if (!col || !baseAssignable(col.type, rp.type)) {
        ctx.report(range, col
          ? DIAG.labelSourceColumn.requestFieldType(rp.name, show(rp.type), source.name, show(col.type))
          : DIAG.labelSourceColumn.spineRequestFieldMissing(rp.name, odt.name, source.name));
        ok = false;
      }
    }
  }
  return ok ? { odts, requestFields: [...requestFields.values()] } : undefined;
}

/**
 * A view over rows without time joins reference data only (groups over
 * sources without event_time): events have no "before" to be joined as of.
 */
function checkUntimedJoins(ctx: Ctx, decl: ViewDecl, env: ViewEnv, where: string, source: IrSource, joined: Joined): boolean {
  let ok = true;
  const reported = new Set<number>();
  for (const f of joined.features) {
    const g = env.groups.get(f.group);
    if (!g || reported.has(f.join)) continue;
    reported.add(f.join);
    const range = joined.refRanges.get(f.name)!;
    if (!g.ir.reference) {
      ctx.report(range, DIAG.untimedEventJoin.group(g.ir.name, sourceOf(env, g.ir), where, source.name));
      ok = false;
    } else if (sourceOf(env, g.ir) === source.name && !identifiesRow(g.ir, source)) {
      // A group over the view's own rows whose keys several rows share: each row would read the one row the tie rule picks.
      ctx.report(range, DIAG.untimedOwnRows.group(g.ir.name, g.ir.keyColumns, where, source.name, source.unique ?? []));
      ok = false;
    }
  }
  return ok;
}

/** Whether a group's key columns hold the source's `unique` columns: one row of the source per key. */
function identifiesRow(group: IrGroup, source: IrSource): boolean {
  return !!source.unique?.length && source.unique.every((c) => group.keyColumns.includes(c));
}

/** The source a group's rows come from (through the groups it reads). */
function sourceOf(env: ViewEnv, group: IrGroup): string {
  let g: IrGroup | undefined = group;
  while (g && g.input.kind === "group") g = env.groups.get(g.input.name)?.ir;
  return g?.input.name ?? group.input.name;
}

/** `ttl` and `as_of` join features by time; rows without time have none (FTI4072). null when neither is written. */
function refuseTimeClauses(ctx: Ctx, decl: ViewDecl, where: string, source: string): null | undefined {
  let ok = true;
  if (decl.ttl) {
    ctx.report(decl.ttl.range, DIAG.untimedViewClause.clause(`ttl ${decl.ttl.kind === "duration" ? decl.ttl.text : "…"}`, where, source));
    ok = false;
  }
  if (decl.asOf) {
    ctx.report(decl.asOf.range, DIAG.untimedViewClause.clause(`as_of ${decl.asOf.name}`, where, source));
    ok = false;
  }
  return ok ? null : undefined;
}

function checkTtl(ctx: Ctx, decl: ViewDecl): number | null | undefined {
  const ttl: Expr | undefined = decl.ttl;
  if (!ttl) return null;
  if (ttl.kind !== "duration") {
    ctx.report(ttl.range, DIAG.durationExpected.ttl());
    return undefined;
  }
  if (ttl.ms <= 0) {
    ctx.report(ttl.range, DIAG.durationExpected.ttlPositive());
    return undefined;
  }
  return ttl.ms;
}

function checkAsOf(ctx: Ctx, decl: ViewDecl): IrView["asOf"] | undefined {
  if (!decl.asOf) return "strict";
  if (decl.asOf.name === "strict" || decl.asOf.name === "inclusive") return decl.asOf.name;
  ctx.report(decl.asOf.range, DIAG.unknownOption.asOf(decl.asOf.name));
  return undefined;
}

/**
 * An inclusive join at the label's event time sees the label's own row, and so
 * does any join onto rows without time (`untimedSource`): no feature may derive
 * from what the label reads.
 */
function checkLeakage(
  ctx: Ctx, decl: ViewDecl, env: ViewEnv, where: string, label: IrView["label"], features: IrViewFeature[], refRanges: Map<string, Range>, untimedSource?: string,
): boolean {
  let ok = true;
  // At the label's instant an inclusive join sees the label's own row, not the rows a forward
  // label aggregates ((t, t + w], after every row a feature reads): only the columns the label
  // reads of its own row can leak (`precipitation` in `precipitation > 0`, not in
  // `sum(precipitation) over next 1d > 0`). Without time every column of the row can.
  const ownRow = untimedSource !== undefined ? label.lineage : ownRowLineage(label);
  for (const f of features) {
    const lineage = env.groups.get(f.group)?.lineage.get(f.column);
    const hit = ownRow.find((c) => lineage?.has(c));
    if (!hit) continue;
    if (untimedSource !== undefined) {
      ctx.report(refRanges.get(f.name)!, DIAG.labelLeakFeature.untimed(f.name, hit, label.name, where, untimedSource));
      ok = false;
      continue;
    }
    const related = decl.asOf ? [ctx.relatedHere(decl.asOf.range, "inclusive as-of set here")] : [];
    ctx.report(refRanges.get(f.name)!, DIAG.labelLeakFeature.derived(f.name, hit, label.name, where), related);
    ok = false;
  }
  return ok;
}

/** The `source.column`s the label reads of its own row: its expression's columns, the forward aggregations' (`__fwd_<i>`) aside. */
function ownRowLineage(label: IrView["label"]): string[] {
  const forward = new Set(label.forward.map((a) => a.name));
  const own = new Set([...columnsOf(label.expr)].filter((c) => !forward.has(c)));
  return label.lineage.filter((c) => own.has(c.slice(c.indexOf(".") + 1)));
}

/**
 * FTI4030: a feature from reference data without `valid_from` is its current
 * value at every time, so a training row labelled before the value last
 * changed sees the newer value. Also through a group's lookup of such data
 * (the feature's lineage reaches the source). One warning per source.
 */
function warnReferenceLeaks(
  ctx: Ctx,
  where: string,
  features: IrViewFeature[],
  refs: Map<string, ViewDecl["range"]>,
  env: ViewEnv,
): void {
  // Per reference source without validity: the view's features that derive from it (directly, or through a group's lookup).
  const bySource = new Map<string, string[]>();
  const add = (source: string, name: string) => bySource.set(source, [...(bySource.get(source) ?? []), name]);
  for (const f of features) {
    const g = env.groups.get(f.group);
    const ref = g?.ir.reference;
    if (ref && !ref.validity) add(ref.source, f.name);
    for (const l of g?.ir.lookups ?? []) {
      if (!l.reference.validity && [...(g!.lineage.get(f.column) ?? [])].some((c) => c.startsWith(`${l.reference.source}.`))) add(l.reference.source, f.name);
    }
  }
  for (const [source, names] of bySource) ctx.report(refs.get(names[0])!, DIAG.referenceLeak.features(names, where, source));
}

/**
 * The `for` clauses a view's `features … by COLUMN` lines suggest, as
 * written (`account(sender)`): what a forward label without an entity could
 * mean. Only a hint: which entity's rows the label aggregates is the author's
 * choice, never inferred.
 */
/**
 * Whether the view joins no group of an entity (only global groups, or none):
 * without `for`, such a view is one series, whose forward labels aggregate
 * every spine row. Read from the declarations (a name that does not resolve
 * is the joins' check's error).
 */
function joinsNoEntity(ctx: Ctx, decl: ViewDecl): boolean {
  return decl.features.every((f) => {
    if (f.kind === "name") return true;
    const g = ctx.symbols.get(f.group.name);
    return g?.kind !== "feature_group" || !g.entity;
  });
}

function joinedEntities(ctx: Ctx, decl: ViewDecl): string[] {
  const out = new Set<string>();
  for (const f of decl.features) {
    if (f.kind === "name" || !f.by) continue;
    const g = ctx.symbols.get(f.group.name);
    if (g?.kind === "feature_group" && g.entity) out.add(`${g.entity.name}(${f.by.columns.map((c) => c.name).join(", ")})`);
  }
  return [...out];
}
