// `index NAME on GROUP(COLUMN) [for ENTITY]`: makes a feature group's rows
// retrievable by the cosine similarity of a vector column. The column must be
// an embedding the runtime can also compute for a query text: `embed(...)`
// directly, or an extern fn of one string. `for ENTITY` restricts retrieval to
// the request entity's documents.

import type { IndexDecl } from "../ast.ts";
import type { IrIndex } from "../ir.ts";
import { embedCallInfo } from "../builtins.ts";
import { DIAG } from "../messages.ts";
import type { Ctx } from "./context.ts";
import type { CheckedGroup } from "./groups.ts";
import { show } from "./types.ts";

export function checkIndex(ctx: Ctx, decl: IndexDecl, groups: Map<string, CheckedGroup>): IrIndex | undefined {
  const gDecl = ctx.resolve(decl.group, ["feature_group"], "feature group");
  const group = gDecl && groups.get(gDecl.name.name);
  let entity: string | null = null;
  if (decl.entity) {
    const e = ctx.resolve(decl.entity, ["entity"], "entity");
    if (!e) return undefined;
    entity = e.name.name;
    if (group && group.ir.entity !== entity) {
      ctx.report(decl.entity.range, DIAG.otherEntity.group(group.ir.name, group.ir.entity, `index \`${decl.name.name}\``, entity));
      return undefined;
    }
  }
  if (!group) return undefined;
  const feature = group.ir.features.find((f) => f.name === decl.column.name);
  if (!feature) {
    if (ctx.poisoned.has(decl.column.name)) return undefined;
    ctx.report(decl.column.range, DIAG.unknownFeature.of(group.ir.name, decl.column.name, group.ir.features.map((f) => f.name)));
    return undefined;
  }
  if (feature.type.base !== "vector" || feature.kind !== "row") {
    ctx.report(decl.column.range, DIAG.indexColumn.notVector(decl.name.name, feature.name, show(feature.type), feature.type.base === "string"));
    return undefined;
  }
  const e = feature.expr;
  let embedder: IrIndex["embedder"] | undefined;
  if (e.k === "builtin" && e.name === "embed") embedder = { kind: "embed", model: embedCallInfo(e.args).model };
  else if (e.k === "call") {
    const fn = ctx.functionSignature(e.fn);
    const isExtern = ctx.symbols.get(e.fn)?.kind === "extern_fn";
    if (isExtern && fn && fn.params.length === 1 && fn.params[0].type.base === "string") embedder = { kind: "extern", fn: e.fn };
  }
  if (!embedder) {
    ctx.report(decl.column.range, DIAG.indexColumn.noQueryEmbedding(decl.name.name, feature.name));
    return undefined;
  }
  ctx.useDecl(group.ir.name);
  return {
    name: decl.name.name,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    group: group.ir.name,
    table: group.ir.table,
    column: feature.name,
    dim: feature.type.dim!,
    embedder,
    entity,
    keys: group.ir.keys,
    ...(group.ir.rowId ? { rowId: group.ir.rowId } : {}),
    fields: group.ir.features.filter((f) => f.type.base !== "vector").map((f) => ({ name: f.name, type: f.type })),
  };
}
