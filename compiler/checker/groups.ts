// Feature groups (MITs): row-level expressions and windowed aggregations over
// a source or another group, per entity. Also computes each feature's lineage
// (the source columns it is derived from), which the leakage check reads.

import type { Expr, FeatureDef, FeatureGroupDecl } from "../ast.ts";
import type { IrColumn, IrExpr, IrFeature, IrGroup, IrSource, IrType } from "../ir.ts";
import { DIAG } from "../messages.ts";
import { runClauses, type ClauseCheck } from "./clauses.ts";
import type { Ctx } from "./context.ts";
import { checkWindowAggArgs } from "../builtins.ts";
import { checkExpr, concat, WINDOW_AGG_NAMES, type Checked, type ExprScope, type NameBinding } from "./exprs.ts";
import { checkOrder, forEachReference } from "./order.ts";
import { baseAssignable, isStoreColumn, show, t, withNull } from "./types.ts";
import { GroupLookups, lookupRefs } from "./lookups.ts";
import { checkIncremental } from "./streams.ts";

export interface CheckedGroup {
  ir: IrGroup;
  /** feature name → the "source.column" names it is derived from */
  lineage: Map<string, Set<string>>;
  /** columns other groups may read from this one */
  outputColumns: IrColumn[];
}

/** The entity of a group without `for`: no keys, so the whole input is one series. */
const GLOBAL_ENTITY: { keys: IrColumn[] } = { keys: [] };

export interface GroupEnv {
  sources: Map<string, IrSource>;
  entities: Map<string, { keys: IrColumn[] }>;
  groups: Map<string, CheckedGroup>;
}

/**
 * Orders groups so each comes after the groups it reads: its input (`from`)
 * and the reference groups it looks up (`profile.hr_max`); reports cycles.
 * An iterative depth-first walk (a chain of 20,000 groups declared
 * last-first overflowed the stack of a recursive one); each group is
 * visited once.
 */
export function orderGroups(ctx: Ctx, decls: FeatureGroupDecl[]): FeatureGroupDecl[] {
  const byName = new Map(decls.map((d) => [d.name.name, d]));
  const depsOf = (d: FeatureGroupDecl) => [d.from, ...lookupRefs(d)].filter((ref) => byName.has(ref.name));
  const order: FeatureGroupDecl[] = [];
  const state = new Map<FeatureGroupDecl, "visiting" | "done">();
  for (const start of decls) {
    if (state.has(start)) continue;
    // Each frame: a group, its dependencies, the next one to visit.
    const stack: Array<{ d: FeatureGroupDecl; deps: ReturnType<typeof depsOf>; next: number }> = [{ d: start, deps: depsOf(start), next: 0 }];
    state.set(start, "visiting");
    while (stack.length) {
      const top = stack[stack.length - 1];
      if (top.next === top.deps.length) {
        stack.pop();
        state.set(top.d, "done");
        order.push(top.d);
        continue;
      }
      const dep = byName.get(top.deps[top.next++].name)!;
      const s = state.get(dep);
      if (s === "done") continue;
      if (s === "visiting") {
        const from = stack.findIndex((x) => x.d === dep);
        // Reported at the edge that leaves the first group of the cycle (its `from`, or its lookup).
        const edge = stack[from].deps[stack[from].next - 1];
        ctx.report(edge.range, DIAG.cycle.groups([...stack.slice(from).map((x) => x.d.name.name), dep.name.name]));
        continue;
      }
      state.set(dep, "visiting");
      stack.push({ d: dep, deps: depsOf(dep), next: 0 });
    }
  }
  return order;
}

/** What a group reads: its input's columns, where each comes from, the row id and whether it is reference data. */
interface GroupInput {
  decl: NonNullable<ReturnType<Ctx["resolve"]>>;
  columns: IrColumn[];
  lineage: (col: string) => Set<string>;
  rowId?: IrColumn;
  reference?: IrGroup["reference"];
  /** The stream source the input's rows come from, if any (with the input group, when it is one). */
  stream?: { source: string; group?: IrGroup };
}

function groupInput(ctx: Ctx, decl: FeatureGroupDecl, env: GroupEnv): GroupInput | undefined {
  const inputDecl = ctx.resolve(decl.from, ["source", "feature_group"], "source or feature group");
  if (!inputDecl) return undefined;
  if (inputDecl.kind === "source") {
    const src = env.sources.get(inputDecl.name.name);
    if (!src) return undefined;
    const columns = src.fields.map((f) => ({ name: f.name, type: f.type }));
    return {
      decl: inputDecl,
      columns,
      lineage: (col) => new Set([`${src.name}.${col}`]),
      // A row id is one column: a combination of fields (`unique (a, b)`) identifies rows but gives none.
      rowId: src.unique?.length === 1 ? columns.find((c) => c.name === src.unique![0]) : undefined,
      reference: src.eventTime ? undefined : { source: src.name, validity: src.validity !== undefined, validTo: src.validity?.to !== undefined },
      stream: src.stream ? { source: src.name } : undefined,
    };
  }
  const g = env.groups.get(inputDecl.name.name);
  if (!g) return undefined;
  return {
    decl: inputDecl,
    columns: g.outputColumns,
    lineage: (col) => g.lineage.get(col) ?? new Set(),
    rowId: g.ir.rowId,
    reference: g.ir.reference,
    stream: g.ir.stream ? { source: g.ir.stream.source, group: g.ir } : undefined,
  };
}

/**
 * The input columns carrying the entity's keys: `for account(sender)` names
 * them, else each key is the input column of the same name (FTI4011).
 */
function groupKeyColumns(ctx: Ctx, decl: FeatureGroupDecl, keys: IrColumn[], columnTypes: Map<string, IrType>): string[] | undefined {
  const written = decl.keyColumns;
  if (written && written.length !== keys.length) {
    ctx.report(written[0]?.range ?? decl.entity!.range, DIAG.entityKeyMissing.count(decl.entity!.name, keys.map((k) => k.name), written.length));
    return undefined;
  }
  let ok = true;
  const out = keys.map((key, i) => {
    const name = written ? written[i].name : key.name;
    const col = columnTypes.get(name);
    if (col && baseAssignable(col, key.type)) return name;
    ok = false;
    if (!written) {
      ctx.report(decl.from.range, col
        ? DIAG.entityKeyMissing.type(key.name, show(key.type), decl.from.name, show(col))
        : DIAG.entityKeyMissing.missing(decl.from.name, key.name, decl.entity!.name, columnTypes.keys()));
    } else {
      ctx.report(written[i].range, col
        ? DIAG.entityKeyMissing.writtenType(key.name, show(key.type), decl.from.name, name, show(col))
        : DIAG.entityKeyMissing.writtenMissing(decl.from.name, name, columnTypes.keys()));
    }
    return name;
  });
  return ok ? out : undefined;
}

/** A `where` filter: a bool expression over the input's columns (FTI3007 otherwise). */
export function checkWhere(
  ctx: Ctx,
  where: string,
  e: Expr,
  columnTypes: Map<string, IrType>,
  lineage?: (col: string) => Set<string>,
  deps?: Set<string>,
): IrExpr | undefined {
  const scope: ExprScope = {
    where,
    kind: "mit",
    lookup: (n) => {
      const type = columnTypes.get(n);
      if (!type) return undefined;
      return { expr: { k: "col", name: n, type }, onUse: () => lineage?.(n).forEach((x) => deps?.add(x)) };
    },
    names: () => columnTypes.keys(),
  };
  const expr = checkExpr(ctx, scope, e);
  if (!expr) return undefined;
  if (expr.type.base !== "bool") {
    ctx.report(e.range, DIAG.condition.where(show(expr.type)));
    return undefined;
  }
  return expr;
}

/** The feature definitions by name; a name declared twice or shadowing an input column is an error. */
function featureDefs(ctx: Ctx, decl: FeatureGroupDecl, where: string, columnTypes: Map<string, IrType>, keyNames: string[]): { defs: Map<string, FeatureDef>; ok: boolean } {
  const defs = new Map<string, FeatureDef>();
  let ok = true;
  for (const f of decl.features) {
    if (defs.has(f.name.name)) ctx.report(f.name.range, DIAG.duplicate.feature(f.name.name, where));
    else if (columnTypes.has(f.name.name)) ctx.report(f.name.range, DIAG.shadowsColumn.feature(f.name.name, decl.from.name));
    else if (isStoreColumn(f.name.name)) ctx.report(f.name.range, DIAG.storeColumn.feature(f.name.name, decl.name.name));
    // The table names the keys by the entity (`for account(sender)` stores `account_id`): a feature may not take that name.
    else if (keyNames.includes(f.name.name)) {
      ctx.report(f.name.range, DIAG.shadowsColumn.keyColumn(f.name.name, decl.entity!.name));
    } else {
      defs.set(f.name.name, f);
      continue;
    }
    ok = false;
  }
  return { defs, ok };
}

/**
 * Checks a group's features, each after the features it reads (order.ts: at
 * any chain length, in any declaration order), with each one's lineage; a
 * cycle is reported where first use meets it and fails the feature it names.
 * Features that fail are poisoned so their users stay quiet.
 */
function checkFeatures(ctx: Ctx, where: string, defs: Map<string, FeatureDef>, columnTypes: Map<string, IrType>, input: GroupInput, whereDeps: Set<string>, lookups: GroupLookups) {
  const features = new FeatureChecker(ctx, where, defs, columnTypes, input, whereDeps, lookups);
  const readsOf = (name: string) => {
    const out: string[] = [];
    forEachReference(defs.get(name)!.expr, (n) => out.push(n), () => undefined);
    return out;
  };
  const { order, cycles } = checkOrder([...defs.keys()], readsOf);
  for (const cycle of cycles) ctx.report(defs.get(cycle[0])!.name.range, DIAG.cycle.features(where, cycle));
  const failedInCycle = new Set(cycles.map((cycle) => cycle[0]));
  for (const name of order) features.check(name, failedInCycle.has(name));
  for (const name of defs.keys()) if (!features.checked.get(name)) ctx.poisoned.add(name);
  return { order: features.order, lineage: features.lineage };
}

/**
 * The scope of a group's feature expressions, and the check of each feature.
 * One object per group (not closures per feature): `deps` is the lineage of
 * the feature being checked.
 */
class FeatureChecker implements ExprScope {
  readonly kind = "mit";
  readonly order: IrFeature[] = [];
  readonly lineage = new Map<string, Set<string>>();
  /** Each feature checked so far: null when it failed. */
  readonly checked = new Map<string, IrFeature | null>();
  private deps = new Set<string>();
  /** The lineage of the name `lookup` found last, which `onUse` adds to `deps`. */
  private found: Set<string> | undefined;
  private readonly useFound = () => this.found?.forEach((x) => this.deps.add(x));

  constructor(
    private readonly ctx: Ctx,
    readonly where: string,
    private readonly defs: Map<string, FeatureDef>,
    private readonly columnTypes: Map<string, IrType>,
    private readonly input: GroupInput,
    private readonly whereDeps: Set<string>,
    private readonly lookups: GroupLookups,
  ) {}

  lookup(n: string): NameBinding | undefined {
    const colType = this.columnTypes.get(n);
    if (colType) {
      this.found = this.input.lineage(n);
      return { expr: { k: "col", name: n, type: colType }, onUse: this.useFound };
    }
    if (!this.defs.has(n)) return undefined;
    // Checked before its readers (order.ts); not checked yet only when reading back into a cycle.
    const f = this.checked.get(n);
    if (!f) return { expr: { k: "col", name: n, type: t("float", true) } }; // already reported
    this.found = this.lineage.get(n) ?? new Set();
    return { expr: { k: "col", name: n, type: f.type }, onUse: this.useFound };
  }

  names(): Iterable<string> {
    return concat(this.columnTypes.keys(), this.defs.keys());
  }

  member(e: Extract<Expr, { kind: "member" }>): Checked {
    return this.lookups.member(e, this.deps);
  }

  /** Checks one feature, after the features it reads; `failedInCycle`: a cycle was reported at it. */
  check(name: string, failedInCycle: boolean): void {
    const def = this.defs.get(name)!;
    const deps = (this.deps = new Set<string>());
    const checked = def.expr.kind === "window" ? checkWindow(this.ctx, this, def) : checkRow(this.ctx, this, def);
    const feature = failedInCycle ? undefined : checked;
    this.checked.set(name, feature ?? null);
    if (feature) {
      // Rows kept by the group's `where` depend on its columns (leakage checks).
      this.whereDeps.forEach((x) => deps.add(x));
      this.lineage.set(name, deps);
      this.order.push(feature);
    }
  }
}

/** FTI4031: reference data has no event time to look back over. */
function checkNoWindowOverReference(ctx: Ctx, decl: FeatureGroupDecl, defs: Map<string, FeatureDef>, order: IrFeature[], reference: IrGroup["reference"]): boolean {
  if (!reference) return true;
  const windows = order.filter((x) => x.kind === "window");
  const input = decl.from.name === reference.source ? `source \`${reference.source}\` is` : `\`${decl.from.name}\` comes from source \`${reference.source}\`,`;
  for (const f of windows) ctx.report(defs.get(f.name)!.expr.range, DIAG.windowOverReference.feature(f.name, input));
  return windows.length === 0;
}

/** What a group's clauses fill in, in order (its entity and input are known before they run). */
interface GroupDraft {
  where: string;
  env: GroupEnv;
  entity: string | null;
  keys: IrColumn[];
  input: GroupInput;
  columnTypes: Map<string, IrType>;
  /** The input columns the `where` reads (every feature's lineage includes them). */
  whereDeps: Set<string>;
  keyColumns?: string[];
  filter?: IrExpr | null;
  defs?: Map<string, FeatureDef>;
  lookups?: GroupLookups;
  order?: IrFeature[];
  lineage?: Map<string, Set<string>>;
}

/** A group's checks, clause by clause (clauses.ts), once its entity and input are resolved. */
const GROUP_CLAUSES: ReadonlyArray<ClauseCheck<FeatureGroupDecl, GroupDraft>> = [
  { clause: "for ENTITY(columns)", check: (ctx, decl, d) => (d.keyColumns = groupKeyColumns(ctx, decl, d.keys, d.columnTypes)) !== undefined },
  {
    clause: "where",
    check: (ctx, decl, d) =>
      (d.filter = decl.where ? checkWhere(ctx, `the \`where\` of ${d.where}`, decl.where, d.columnTypes, d.input.lineage, d.whereDeps) : null) !== undefined,
  },
  {
    clause: "features",
    check: (ctx, decl, d) => {
      const { defs, ok } = featureDefs(ctx, decl, d.where, d.columnTypes, d.keys.map((k) => k.name));
      d.defs = defs;
      d.lookups = new GroupLookups(ctx, decl, d.entity, d.env.groups);
      ({ order: d.order, lineage: d.lineage } = checkFeatures(ctx, d.where, defs, d.columnTypes, d.input, d.whereDeps, d.lookups));
      return ok;
    },
  },
  { clause: "windows over reference data", check: (ctx, decl, d) => checkNoWindowOverReference(ctx, decl, d.defs!, d.order!, d.input.reference) },
  { clause: "stream", check: (ctx, decl, d) => !d.input.stream || checkIncremental(ctx, decl, d.defs!, d.order!, d.input.stream) },
];

export function checkGroup(ctx: Ctx, decl: FeatureGroupDecl, env: GroupEnv): CheckedGroup | undefined {
  const where = `feature group \`${decl.name.name}\``;
  // Without `for`, a global group: the whole input is one series, with zero keys.
  const entityDecl = decl.entity ? ctx.resolve(decl.entity, ["entity"], "entity") : undefined;
  const input = groupInput(ctx, decl, env);
  const entity = decl.entity ? entityDecl && env.entities.get(entityDecl.name.name) : GLOBAL_ENTITY;
  if (!entity || !input) return undefined;
  const columnTypes = new Map(input.columns.map((c) => [c.name, c.type]));
  const d: GroupDraft = { where, env, entity: entityDecl?.name.name ?? null, keys: entity.keys, input, columnTypes, whereDeps: new Set() };
  if (!runClauses(ctx, decl, d, GROUP_CLAUSES)) return undefined;
  const result = groupResult(decl, { keys: entity.keys, keyColumns: d.keyColumns!, where: d.filter ?? null }, input, d.order!, d.lineage!);
  const used = d.lookups!.ir();
  if (used) result.ir.lookups = used;
  return result;
}

/** The group's IR, and what other groups may read from it. */
function groupResult(
  decl: FeatureGroupDecl,
  k: { keys: IrColumn[]; keyColumns: string[]; where: IrExpr | null },
  input: GroupInput,
  order: IrFeature[],
  lineage: Map<string, Set<string>>,
): CheckedGroup {
  const keys = k.keys;
  const windows = order.filter((f) => f.kind === "window");
  const lookbackMs = windows.some((w) => w.agg === "ewma") ? null : Math.max(0, ...windows.map((w) => w.windowMs));
  const version = decl.version?.value ?? 1;
  const { reference } = input;
  // A `unique` that is the entity's key is carried as the key: one row per entity, nothing to tell apart.
  const rowId = input.rowId && !keys.some((key) => key.name === input.rowId!.name) ? input.rowId : undefined;
  const ir: IrGroup = {
    name: decl.name.name,
    version,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    table: `fg_${decl.name.name}_v${version}`,
    entity: decl.entity?.name ?? null,
    keys,
    keyColumns: k.keyColumns,
    where: k.where,
    input: { kind: input.decl.kind === "source" ? "source" : "group", name: input.decl.name.name },
    ...(rowId ? { rowId } : {}),
    ...(reference ? { reference } : {}),
    ...(input.stream ? { stream: { source: input.stream.source } } : {}),
    inputColumns: input.columns,
    features: order,
    lookbackMs,
  };
  // Stored features can always be missing for some entity and time: readers see them as nullable.
  const outputColumns: IrColumn[] = [
    ...keys,
    { name: "event_time", type: t("timestamp") },
    ...(rowId ? [rowId] : []),
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
  if (w.forward) {
    ctx.report(w.range, DIAG.windowDirection.forward(over.kind === "duration" ? over.text : "7d"));
    return undefined;
  }
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
