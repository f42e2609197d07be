// On-demand transformations (ODTs): request-time inputs plus stored features.
// They run in TypeScript only (online, and over the spine in training).

import type { OnDemandDecl } from "../ast.ts";
import type { IrColumn, IrOdt, IrType } from "../ir.ts";
import { closest } from "../diagnostics.ts";
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
      ctx.error(2007, name.range, `parameter \`${name.name}\` appears twice in ${where}`);
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
        const hint = closest(p.feature.name, group.ir.features.map((f) => f.name));
        ctx.error(2006, p.feature.range, `feature group \`${p.group.name}\` has no feature \`${p.feature.name}\``, hint ? { hint: `did you mean \`${hint}\`?` } : {});
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
    names: () => [...params.keys()],
  };
  const body = checkExpr(ctx, scope, decl.body);
  if (!body) return undefined;
  if (!baseAssignable(body.type, returns)) {
    ctx.error(3006, decl.body.range, `the body of \`${decl.name.name}\` is ${show(body.type)} but it is declared to return ${show(returns)}`);
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
