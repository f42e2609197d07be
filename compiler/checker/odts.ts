// On-demand transformations (ODTs): request-time inputs plus stored features.
// They run in TypeScript only (online, and over the spine in training).

import type { OnDemandDecl } from "../ast.ts";
import type { IrColumn, IrOdt, IrType } from "../ir.ts";
import { DIAG } from "../messages.ts";
import type { Ctx } from "./context.ts";
import { checkExpr, type ExprScope } from "./exprs.ts";
import type { CheckedGroup } from "./groups.ts";
import { baseAssignable, show, withNull } from "./types.ts";

export function checkOdt(ctx: Ctx, decl: OnDemandDecl, groups: Map<string, CheckedGroup>): IrOdt | undefined {
  const where = `on-demand transformation \`${decl.name.name}\``;
  const requestParams: IrColumn[] = [];
  const featureParams: IrOdt["featureParams"] = [];
  const params = new Map<string, IrType>();
  let ok = true;
  for (const p of decl.params) {
    const name = p.kind === "request" ? p.name : p.feature;
    if (params.has(name.name)) {
      ctx.report(name.range, DIAG.duplicate.odtParam(name.name, where));
      ok = false;
      continue;
    }
    if (p.kind === "request") {
      const type = ctx.scalarType(p.type, `request field \`${p.name.name}\``);
      if (!type) { ok = false; continue; }
      requestParams.push({ name: p.name.name, type });
      params.set(p.name.name, type);
    } else {
      const groupDecl = ctx.resolve(p.group, ["feature_group"], "feature group");
      const group = groupDecl && groups.get(groupDecl.name.name);
      if (!group) { ok = false; continue; }
      const feature = group.ir.features.find((f) => f.name === p.feature.name);
      if (!feature && ctx.poisoned.has(p.feature.name)) { ok = false; continue; }
      if (!feature) {
        ctx.report(p.feature.range, DIAG.unknownFeature.of(p.group.name, p.feature.name, group.ir.features.map((f) => f.name)));
        ok = false;
        continue;
      }
      const type = withNull(feature.type); // a stored feature can be missing
      featureParams.push({ name: feature.name, group: group.ir.name, type });
      params.set(feature.name, type);
    }
  }
  const returns = ctx.scalarType(decl.returnType, `the result of on-demand transformation \`${decl.name.name}\``);
  if (!ok || !returns) return undefined;
  const scope: ExprScope = {
    where,
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
  return {
    name: decl.name.name,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    requestParams,
    featureParams,
    returns: withNull(returns, body.type.nullable),
    body,
  };
}
