// `index NAME on GROUP(COLUMN) [for ENTITY]`: makes a feature group's rows
// retrievable by the cosine similarity of a vector column. The column must be
// an embedding the runtime can also compute for a query text: `embed(...)`
// directly, or an extern fn of one string. `for ENTITY` restricts retrieval to
// the request entity's documents.

import type { IndexDecl } from "../ast.ts";
import { embedCallInfo, type IrIndex } from "../ir.ts";
import { closest } from "../diagnostics.ts";
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
      ctx.error(4012, decl.entity.range, `feature group \`${group.ir.name}\` is for entity \`${group.ir.entity}\`, but index \`${decl.name.name}\` is for \`${entity}\``);
      return undefined;
    }
  }
  if (!group) return undefined;
  const feature = group.ir.features.find((f) => f.name === decl.column.name);
  if (!feature) {
    if (ctx.poisoned.has(decl.column.name)) return undefined;
    const hint = closest(decl.column.name, group.ir.features.map((f) => f.name));
    ctx.error(2006, decl.column.range, `feature group \`${group.ir.name}\` has no feature \`${decl.column.name}\``, hint ? { hint: `did you mean \`${hint}\`?` } : {});
    return undefined;
  }
  if (feature.type.base !== "vector" || feature.kind !== "row") {
    ctx.error(4102, decl.column.range, `index \`${decl.name.name}\` needs an embedding column (float[N]); \`${feature.name}\` is ${show(feature.type)}`, {
      hint: `add a feature \`${feature.name}_embedding = embed(${feature.name}, 256)\` and index that`,
    });
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
    ctx.error(4102, decl.column.range, `index \`${decl.name.name}\` cannot embed a query the way \`${feature.name}\` was computed: the column must be \`embed(...)\` itself or a call of an extern fn taking one string`);
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
