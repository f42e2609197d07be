// `embed(text, N)` and `embed(text, N, "model")`: a text embedding as a
// `float[N]` feature. The length must be a literal (it is the column's type);
// the model, when given, names the model of an OpenAI-compatible embeddings
// endpoint configured outside the spec (FTI_EMBED_URL); without it the
// runtime's built-in hashing embedding is used (runtime/embeddings/hashing.ts).
// Embeddings are computed by the feature pipeline, so `embed` is only allowed
// in a feature group.

import type { Expr, Range } from "../ast.ts";
import type { IrExpr } from "../ir.ts";
import { checkVectorDim, type Ctx } from "./context.ts";
import type { Checked, ExprScope } from "./exprs.ts";
import { show, t, vector } from "./types.ts";

export const EMBED = "embed";

export function checkEmbed(ctx: Ctx, scope: ExprScope, args: Expr[], checked: Checked[], range: Range): Checked {
  if (scope.kind !== "mit") {
    ctx.error(4101, range, `\`embed\` computes an embedding in the feature pipeline and can only be used in a feature group, not in ${scope.where}`, {
      hint: "give the embedding its own feature in a feature group and use that feature",
    });
    return undefined;
  }
  if (args.length < 2 || args.length > 3) {
    ctx.error(3003, range, `\`embed\` takes 2 or 3 arguments but ${args.length} ${args.length === 1 ? "was" : "were"} given`, {
      hint: `embed(text: string, length, "model"?), e.g. embed(note, 256)`,
    });
    return undefined;
  }
  const [text, dim, model] = checked;
  if (!text || !dim || (args.length === 3 && !model)) return undefined;
  let ok = true;
  if (text.type.base !== "string") {
    ctx.error(3004, args[0].range, `the text of \`embed\` must be a string, got ${show(text.type)}`);
    ok = false;
  }
  if (dim.k !== "lit" || dim.type.base !== "int" || typeof dim.value !== "number") {
    ctx.error(3101, args[1].range, `the length of \`embed\` must be a whole number written in the spec (it is the feature's type, float[N])`);
    ok = false;
  } else if (!checkVectorDim(ctx, dim.value, args[1].range)) ok = false;
  if (model && (model.k !== "lit" || model.type.base !== "string" || typeof model.value !== "string" || model.value.trim() === "")) {
    ctx.error(3004, args[2].range, `the model of \`embed\` must be a non-empty string literal, the name the embeddings endpoint knows it by`);
    ok = false;
  }
  if (!ok) return undefined;
  const n = (dim as { value: number }).value;
  const modelArg: IrExpr = model ?? { k: "lit", type: t("string", true), value: null };
  return { k: "builtin", name: EMBED, args: [text, dim as IrExpr, modelArg], type: vector(n, text.type.nullable) };
}
