// A view's label: an expression over the spine source's columns
// (`label flagged = status == "fraud"`; the old `label x = source.column` is
// the expression `x`), which may aggregate the spine entity's rows in the
// window after each row (`sum(distance_km) over next 7d`). Only labels look
// forward; features never do (groups.ts, FTI4010).

import type { Expr } from "../ast.ts";
import type { IrExpr, IrForwardAgg, IrSource, IrType, IrView, WindowAgg } from "../ir.ts";
import { checkWindowAggArgs } from "../builtins.ts";
import { DIAG } from "../messages.ts";
import type { Ctx } from "./context.ts";
import { checkExpr, type ExprScope } from "./exprs.ts";
import { type CheckedIf, nullCondition } from "./label-null-if.ts";
import { isNumeric, show, withNull } from "./types.ts";

/** Aggregations a forward label may use (an empty window is 0 for count and sum, null for the others). */
export const FORWARD_AGGS: readonly WindowAgg[] = ["count", "sum", "avg", "min", "max"];

export interface LabelInput {
  where: string;
  name: string;
  expr: Expr;
  source: IrSource;
  /** The view's entity, whose rows a forward aggregation reads; undefined without `for ENTITY`. */
  entity: string | undefined;
  /** Without an entity: the `for` clauses the view's joins suggest (`account(sender)`), for the hint. */
  entityCandidates?: string[];
  /** A view of one series (no `for`, no join of an entity's group): a forward aggregation reads every spine row. */
  oneSeries?: boolean;
  /** The spine source has no event_time: its rows have no time to look forward from (FTI4071). */
  untimed?: boolean;
}

/** `label x = source.column`: the old form, when `source` names a source. */
export function oldLabelSource(ctx: Ctx, e: Expr): string | undefined {
  if (e.kind !== "member") return undefined;
  return ctx.symbols.get(e.object.name)?.kind === "source" ? e.object.name : undefined;
}

export function checkLabel(ctx: Ctx, input: LabelInput, text: string): IrView["label"] | undefined {
  const { source } = input;
  const columns = new Map(source.fields.map((f) => [f.name, f.type]));
  const used = new Set<string>();
  const forward: IrForwardAgg[] = [];
  const ifs: CheckedIf[] = [];
  let inWindow = false;
  const scope: ExprScope = {
    where: `the label of ${input.where}`,
    kind: "mit",
    lookup: (n) => {
      const type = columns.get(n);
      return type ? { expr: { k: "col", name: n, type }, onUse: () => used.add(n) } : undefined;
    },
    names: () => columns.keys(),
    window: (w) => {
      if (inWindow) {
        ctx.report(w.range, DIAG.windowNested.forward());
        return undefined;
      }
      inWindow = true;
      const agg = checkForward(ctx, input, scope, w, forward.length);
      inWindow = false;
      if (agg) forward.push(agg);
      return agg ? { k: "col", name: agg.name, type: agg.type } : undefined;
    },
    // an `if` inside a forward aggregation is per aggregated row: its null condition is no label's (FTI4090)
    onIf: (node, cond, otherwise) => {
      if (!inWindow) ifs.push({ node, cond, otherwise });
    },
  };
  let e = input.expr;
  if (e.kind === "member" && oldLabelSource(ctx, e)) {
    if (e.object.name !== source.name) {
      ctx.report(e.object.range, DIAG.labelSourceColumn.labelSource(e.object.name, input.where, source.name));
      return undefined;
    }
    if (!columns.has(e.property.name)) {
      ctx.report(e.property.range, DIAG.unknownName.sourceColumn(source.name, e.property.name, columns.keys()));
      return undefined;
    }
    e = { kind: "name", name: e.property.name, range: e.property.range };
  }
  const expr = checkExpr(ctx, scope, e);
  if (!expr) return undefined;
  // a string label's values are classes (multiclass classification)
  if (!isNumeric(expr.type) && expr.type.base !== "bool" && expr.type.base !== "string") {
    ctx.report(input.expr.range, DIAG.typeMismatch.label(input.name, show(expr.type)));
    return undefined;
  }
  const nullIf = nullCondition(ifs, expr, forward);
  if (nullIf) ctx.report(nullIf.range, DIAG.labelNullCondition.elseTaken(input.name, input.where, nullIf.names));
  return { name: input.name, type: expr.type, expr, text, forward, lineage: [...used].map((c) => `${source.name}.${c}`) };
}

function checkForward(ctx: Ctx, input: LabelInput, scope: ExprScope, w: Extract<Expr, { kind: "window" }>, index: number): IrForwardAgg | undefined {
  const agg = w.agg.name;
  if (!w.forward) {
    ctx.report(w.range, DIAG.labelLooksBack.backward(agg, w.over.kind === "duration" ? w.over.text : "...", w.over.kind === "duration" ? w.over.text : "7d"));
    return undefined;
  }
  if (input.untimed) {
    ctx.report(w.range, DIAG.untimedForward.label(agg, input.where, input.source.name));
    return undefined;
  }
  if (!input.entity && !input.oneSeries) {
    ctx.report(w.range, DIAG.labelLooksBack.noEntity(input.where, input.source.name, input.entityCandidates ?? []));
    return undefined;
  }
  if (!(FORWARD_AGGS as readonly string[]).includes(agg)) {
    ctx.report(w.agg.range, DIAG.labelLooksBack.agg(agg, FORWARD_AGGS));
    return undefined;
  }
  if (w.args.length > 1) {
    ctx.report(w.range, DIAG.arity.windowAgg(agg, w.args.length));
    return undefined;
  }
  const arg: IrExpr | null | undefined = w.args[0] ? checkExpr(ctx, scope, w.args[0]) : null;
  if (arg === undefined) return undefined;
  if (w.over.kind !== "duration" || w.over.ms <= 0) {
    ctx.report(w.over.range, DIAG.durationExpected.overNext());
    return undefined;
  }
  const result = checkWindowAggArgs(agg, arg ? [arg.type] : []);
  if (!result.ok) {
    ctx.report(w.args[0]?.range ?? w.range, result.problem);
    return undefined;
  }
  // An empty window: count and sum are 0, the others have no value.
  const type: IrType = agg === "count" || agg === "sum" ? { ...result.returns, nullable: false } : withNull(result.returns);
  return { name: `__fwd_${index}`, agg: agg as WindowAgg, arg, windowMs: w.over.ms, type };
}
