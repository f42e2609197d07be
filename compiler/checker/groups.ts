// Feature groups (MITs): row-level expressions and windowed aggregations over
// a source or another group, per entity. Also computes each feature's lineage
// (the source columns it is derived from), which the leakage check reads.

import type { FeatureDef, FeatureGroupDecl } from "../ast.ts";
import type { IrColumn, IrFeature, IrGroup, IrSource } from "../ir.ts";
import { DIAG } from "../messages.ts";
import type { Ctx } from "./context.ts";
import { checkWindowAggArgs } from "../builtins.ts";
import { checkExpr, WINDOW_AGG_NAMES, type ExprScope } from "./exprs.ts";
import { baseAssignable, show, t, withNull } from "./types.ts";

export interface CheckedGroup {
  ir: IrGroup;
  /** feature name → the "source.column" names it is derived from */
  lineage: Map<string, Set<string>>;
  /** columns other groups may read from this one */
  outputColumns: IrColumn[];
}

export interface GroupEnv {
  sources: Map<string, IrSource>;
  entities: Map<string, { keys: IrColumn[] }>;
  groups: Map<string, CheckedGroup>;
}

/** Orders groups so each comes after the group it reads from; reports `from` cycles. */
export function orderGroups(ctx: Ctx, decls: FeatureGroupDecl[]): FeatureGroupDecl[] {
  const byName = new Map(decls.map((d) => [d.name.name, d]));
  const order: FeatureGroupDecl[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (d: FeatureGroupDecl, path: string[]) => {
    const s = state.get(d.name.name);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = [...path.slice(path.indexOf(d.name.name)), d.name.name];
      ctx.report(d.from.range, DIAG.cycle.groups(cycle));
      return;
    }
    state.set(d.name.name, "visiting");
    const dep = byName.get(d.from.name);
    if (dep) visit(dep, [...path, d.name.name]);
    state.set(d.name.name, "done");
    order.push(d);
  };
  for (const d of decls) visit(d, []);
  return order;
}

export function checkGroup(ctx: Ctx, decl: FeatureGroupDecl, env: GroupEnv): CheckedGroup | undefined {
  const where = `feature group \`${decl.name.name}\``;
  const entityDecl = ctx.resolve(decl.entity, ["entity"], "entity");
  const inputDecl = ctx.resolve(decl.from, ["source", "feature_group"], "source or feature group");
  const entity = entityDecl && env.entities.get(entityDecl.name.name);
  if (!entity || !inputDecl) return undefined;

  // The input's columns and where each one comes from.
  let inputColumns: IrColumn[];
  let inputLineage: (col: string) => Set<string>;
  let rowId: IrColumn | undefined;
  let reference: IrGroup["reference"];
  if (inputDecl.kind === "source") {
    const src = env.sources.get(inputDecl.name.name);
    if (!src) return undefined;
    inputColumns = src.fields.map((f) => ({ name: f.name, type: f.type }));
    inputLineage = (col) => new Set([`${src.name}.${col}`]);
    if (src.unique) rowId = inputColumns.find((c) => c.name === src.unique);
    if (!src.eventTime) reference = { source: src.name, validity: src.validity !== undefined, validTo: src.validity?.to !== undefined };
  } else {
    const g = env.groups.get(inputDecl.name.name);
    if (!g) return undefined;
    inputColumns = g.outputColumns;
    inputLineage = (col) => g.lineage.get(col) ?? new Set();
    rowId = g.ir.rowId;
    reference = g.ir.reference;
  }
  const columnTypes = new Map(inputColumns.map((c) => [c.name, c.type]));

  let ok = true;
  for (const key of entity.keys) {
    const col = columnTypes.get(key.name);
    if (!col || !baseAssignable(col, key.type)) {
      ctx.report(decl.from.range, col
        ? DIAG.entityKeyMissing.type(key.name, show(key.type), decl.from.name, show(col))
        : DIAG.entityKeyMissing.missing(decl.from.name, key.name, decl.entity.name));
      ok = false;
    }
  }

  const defs = new Map<string, FeatureDef>();
  for (const f of decl.features) {
    if (defs.has(f.name.name)) {
      ctx.report(f.name.range, DIAG.duplicate.feature(f.name.name, where));
      ok = false;
      continue;
    }
    if (columnTypes.has(f.name.name)) {
      ctx.report(f.name.range, DIAG.shadowsColumn.feature(f.name.name, decl.from.name));
      ok = false;
      continue;
    }
    defs.set(f.name.name, f);
  }

  const checked = new Map<string, IrFeature | null>();
  const lineage = new Map<string, Set<string>>();
  const order: IrFeature[] = [];
  const visiting: string[] = [];

  const checkFeature = (name: string): IrFeature | undefined => {
    if (checked.has(name)) return checked.get(name) ?? undefined;
    const def = defs.get(name)!;
    if (visiting.includes(name)) {
      const cycle = [...visiting.slice(visiting.indexOf(name)), name];
      ctx.report(def.name.range, DIAG.cycle.features(where, cycle));
      checked.set(name, null);
      return undefined;
    }
    visiting.push(name);
    const deps = new Set<string>();
    const scope: ExprScope = {
      where,
      kind: "mit",
      lookup: (n) => {
        const colType = columnTypes.get(n);
        if (colType) return { expr: { k: "col", name: n, type: colType }, onUse: () => inputLineage(n).forEach((x) => deps.add(x)) };
        if (defs.has(n)) {
          const f = checkFeature(n);
          if (!f) return { expr: { k: "col", name: n, type: t("float", true) } }; // already reported
          return { expr: { k: "col", name: n, type: f.type }, onUse: () => (lineage.get(n) ?? new Set()).forEach((x) => deps.add(x)) };
        }
        return undefined;
      },
      names: () => [...columnTypes.keys(), ...defs.keys()],
    };
    const feature = def.expr.kind === "window" ? checkWindow(ctx, scope, def) : checkRow(ctx, scope, def);
    visiting.pop();
    if (checked.has(name)) return undefined; // failed inside a cycle
    checked.set(name, feature ?? null);
    if (feature) {
      lineage.set(name, deps);
      order.push(feature);
    }
    return feature;
  };
  for (const name of defs.keys()) if (!checkFeature(name)) ctx.poisoned.add(name);
  if (reference) {
    for (const f of order.filter((x) => x.kind === "window")) {
      const input = decl.from.name === reference.source ? `source \`${reference.source}\` is` : `\`${decl.from.name}\` comes from source \`${reference.source}\`,`;
      ctx.report(defs.get(f.name)!.expr.range, DIAG.windowOverReference.feature(f.name, input));
      ok = false;
    }
  }
  if (!ok) return undefined;

  const windows = order.filter((f) => f.kind === "window");
  const lookbackMs = windows.some((w) => w.agg === "ewma") ? null : Math.max(0, ...windows.map((w) => w.windowMs));
  const version = decl.version?.value ?? 1;
  const keys = entity.keys;
  const ir: IrGroup = {
    name: decl.name.name,
    version,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    table: `fg_${decl.name.name}_v${version}`,
    entity: decl.entity.name,
    keys,
    input: { kind: inputDecl.kind === "source" ? "source" : "group", name: inputDecl.name.name },
    ...(rowId ? { rowId } : {}),
    ...(reference ? { reference } : {}),
    inputColumns,
    features: order,
    lookbackMs,
  };
  // Stored features can always be missing for some entity and time: readers see them as nullable.
  const outputColumns: IrColumn[] = [
    ...keys,
    { name: "event_time", type: t("timestamp") },
    ...(rowId && !keys.some((k) => k.name === rowId!.name) ? [rowId] : []),
    ...order.map((f) => ({ name: f.name, type: f.type })),
  ];
  lineage.set("event_time", new Set());
  return { ir, lineage, outputColumns };
}

function loc(def: FeatureDef) {
  return { line: def.name.range.start.line, column: def.name.range.start.column };
}

function checkRow(ctx: Ctx, scope: ExprScope, def: FeatureDef): IrFeature | undefined {
  const expr = checkExpr(ctx, scope, def.expr);
  if (!expr) return undefined;
  if (expr.type.base === "duration" || expr.type.base === "list") {
    ctx.report(def.expr.range, DIAG.typeMismatch.featureValue(show(expr.type)));
    return undefined;
  }
  return { kind: "row", name: def.name.name, loc: loc(def), type: expr.type, expr };
}

function checkWindow(ctx: Ctx, scope: ExprScope, def: FeatureDef): IrFeature | undefined {
  const w = def.expr as Extract<FeatureDef["expr"], { kind: "window" }>;
  const agg = w.agg.name;
  if (!(WINDOW_AGG_NAMES as readonly string[]).includes(agg)) {
    ctx.report(w.agg.range, DIAG.unknownName.windowAgg(agg, WINDOW_AGG_NAMES));
    return undefined;
  }
  if (w.args.length > 1) {
    ctx.report(w.range, DIAG.arity.windowAgg(agg, w.args.length));
    return undefined;
  }
  const arg = w.args[0] ? checkExpr(ctx, scope, w.args[0]) : null;
  if (arg === undefined) return undefined;
  const over = w.over;
  if (over.kind !== "duration") {
    if (over.kind === "unary" && over.op === "-" && over.operand.kind === "duration") {
      ctx.report(over.range, DIAG.windowDirection.negative(over.operand.text));
    } else {
      ctx.report(over.range, DIAG.durationExpected.over(over.kind === "number" ? over.value : undefined));
    }
    return undefined;
  }
  if (over.ms <= 0) {
    ctx.report(over.range, DIAG.windowDirection.empty(over.text));
    return undefined;
  }
  const result = checkWindowAggArgs(agg, arg ? [arg.type] : []);
  if (!result.ok) {
    ctx.report(w.args[0]?.range ?? w.range, result.problem);
    return undefined;
  }
  return {
    kind: "window",
    name: def.name.name,
    loc: loc(def),
    type: result.returns,
    agg: agg as (typeof WINDOW_AGG_NAMES)[number],
    arg,
    windowMs: over.ms,
    windowText: over.text,
  };
}
