// On-demand transformations (ODTs): request-time inputs plus stored features.
// They run in TypeScript only (online, and over the spine in training).

import type { OnDemandDecl } from "../ast.ts";
import type { IrColumn, IrExpr, IrOdt, IrType } from "../ir.ts";
import { DIAG } from "../messages.ts";
import { runClauses, type ClauseCheck } from "./clauses.ts";
import type { Ctx } from "./context.ts";
import { checkExpr, type ExprScope } from "./exprs.ts";
import type { CheckedGroup } from "./groups.ts";
import { baseAssignable, show, withNull } from "./types.ts";

/** What an ODT's clauses fill in, in order. */
interface OdtDraft {
  groups: Map<string, CheckedGroup>;
  requestParams: IrColumn[];
  featureParams: IrOdt["featureParams"];
  /** Every parameter's type, by name: what the body may read. */
  params: Map<string, IrType>;
  paramsOk: boolean;
  returns?: IrType;
  body?: IrExpr;
}

/**
 * An ODT's checks, clause by clause (clauses.ts): its parameters (request
 * fields and stored features), its declared result type, and its body —
 * which is only checked once the parameters and the result type are known.
 */
const ODT_CLAUSES: ReadonlyArray<ClauseCheck<OnDemandDecl, OdtDraft>> = [
  { clause: "parameters", check: (ctx, decl, d) => (d.paramsOk = checkParams(ctx, decl, d)) },
  { clause: "result type", check: (ctx, decl, d) => (d.returns = ctx.scalarType(decl.returnType, `the result of on-demand transformation \`${decl.name.name}\``)) !== undefined },
  { clause: "body", check: (ctx, decl, d) => d.paramsOk && d.returns !== undefined && (d.body = checkBody(ctx, decl, d.params, d.returns)) !== undefined },
];

export function checkOdt(ctx: Ctx, decl: OnDemandDecl, groups: Map<string, CheckedGroup>): IrOdt | undefined {
  const d: OdtDraft = { groups, requestParams: [], featureParams: [], params: new Map(), paramsOk: false };
  if (!runClauses(ctx, decl, d, ODT_CLAUSES)) return undefined;
  return {
    name: decl.name.name,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    requestParams: d.requestParams,
    featureParams: d.featureParams,
    returns: withNull(d.returns!, d.body!.type.nullable),
    body: d.body!,
  };
}

/** The parameters: each named once; a request field with its type, or a group's stored feature (nullable: it can be missing). */
function checkParams(ctx: Ctx, decl: OnDemandDecl, d: OdtDraft): boolean {
  const where = `on-demand transformation \`${decl.name.name}\``;
  let ok = true;
  for (const p of decl.params) {
    const name = p.kind === "request" ? p.name : p.feature;
    if (d.params.has(name.name)) {
      ctx.report(name.range, DIAG.duplicate.odtParam(name.name, where));
      ok = false;
      continue;
    }
    if (p.kind === "request") {
      const type = ctx.scalarType(p.type, `request field \`${p.name.name}\``);
      if (!type) { ok = false; continue; }
      d.requestParams.push({ name: p.name.name, type });
      d.params.set(p.name.name, type);
    } else {
      const groupDecl = ctx.resolve(p.group, ["feature_group"], "feature group");
      const group = groupDecl && d.groups.get(groupDecl.name.name);
      if (!group) { ok = false; continue; }
      const feature = group.ir.features.find((f) => f.name === p.feature.name);
      if (!feature && ctx.poisoned.has(p.feature.name)) { ok = false; continue; }
      if (!feature) {
        ctx.report(p.feature.range, DIAG.unknownFeature.of(p.group.name, p.feature.name, group.ir.features.map((f) => f.name)));
        ok = false;
        continue;
      }
      const type = withNull(feature.type); // a stored feature can be missing
      d.featureParams.push({ name: feature.name, group: group.ir.name, type });
      d.params.set(feature.name, type);
    }
  }
  return ok;
}

/** The body over the parameters, of a type the declared result takes. */
function checkBody(ctx: Ctx, decl: OnDemandDecl, params: Map<string, IrType>, returns: IrType): IrExpr | undefined {
  const scope: ExprScope = {
    where: `on-demand transformation \`${decl.name.name}\``,
    kind: "odt",
    lookup: (name) => {
      const type = params.get(name);
      return type ? { expr: { k: "param", name, type } } : undefined;
    },
    names: () => params.keys(),
  };
  const body = checkExpr(ctx, scope, decl.body);
  if (!body) return undefined;
  if (!baseAssignable(body.type, returns)) {
    ctx.report(decl.body.range, DIAG.bodyType.of(decl.name.name, show(body.type), show(returns)));
    return undefined;
  }
  return body;
}
