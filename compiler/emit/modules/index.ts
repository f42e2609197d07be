// generated/<spec>/index.ts: the `SpecBundle` the runtime loads (plans,
// generated functions, hashes), and the schema and inference exports.

import type { IrOdt } from "../../ir.ts";
import { fnsCalledFrom } from "../../ir-walk.ts";
import { blockCommentText, GENERATED_FILES, relativeImport, type EmitContext, type Statement } from "../context.ts";
import { Imports } from "../imports.ts";
import { modelOdts } from "./transforms.ts";
import { str, tsLiteral } from "../names.ts";

export function indexModule(ctx: EmitContext): Statement[] {
  const imports = new Imports();
  const externs = ctx.ir.functions.filter((f) => f.extern).map((f) => imports.from("functions.ts", f.name));
  // The modules of the extern fns ODTs reach: they run at training and at serving, so their text is part of a model's identity.
  const odtExternModules = externModules(ctx, ctx.ir.onDemand);
  const files = (modules: string[]) => `[${modules.map((m) => `${imports.rt("moduleFile")}(import.meta.url, ${str(m)})`).join(", ")}]`;
  const odtExternFiles = odtExternModules.length ? `\n  odtExternFiles: ${files(odtExternModules)},` : "";
  // Per model, the extern modules its ODTs reach (the ODTs its transforms hash covers): part of that model's identity only.
  const perModel = ctx.ir.models
    .map((m) => ({ model: m.name, modules: externModules(ctx, modelOdts(ctx.ir, m)) }))
    .filter((m) => m.modules.length);
  const modelExternFiles = perModel.length ? `\n  modelExternFiles: {\n${perModel.map((m) => `    ${m.model}: ${files(m.modules)},`).join("\n")}\n  },` : "";
  const serves = ctx.ir.serves.map((s) => ({ model: s.model, online: s.online, ...(s.batchTable ? { batchTable: s.batchTable } : {}) }));
  // Plain names: the shorthand properties below are these imports.
  imports.from("features.ts", "groups");
  imports.from("features.ts", "sources");
  imports.from("training.ts", "models");
  imports.from("training.ts", "views");
  imports.from("agents.ts", "indexes");
  imports.from("agents.ts", "agents");
  const bundle = `/** Everything the runtime executes for this spec. */
export const spec: ${imports.rt("SpecBundle")} = {
  name: ${str(ctx.ir.name)},
  file: ${str(ctx.specFile)},
  specDir: ${imports.rt("specDirFrom")}(import.meta.url, ${str(ctx.outToSpecDir)}),
  specHash: SPEC_HASH,
  transformsHash: ${imports.from("transforms.ts", "TRANSFORMS_HASH")},
  modelTransformsHashes: ${imports.from("transforms.ts", "MODEL_TRANSFORMS_HASHES")},
  transformsFile: ${imports.rt("moduleFile")}(import.meta.url, "./transforms.ts"),${odtExternFiles}${modelExternFiles}
  sources,
  groups,
  views,
  models,
  serves: ${tsLiteral(serves)},
  externs: { ${externs.join(", ")} },
  indexes,
  agents,
};`;
  return [
    ...imports.statements(GENERATED_FILES),
    `/** sha256 of ${blockCommentText(ctx.specFile)}: runtime commands refuse to run a stale compile. */\nexport const SPEC_HASH = ${str(ctx.ir.specHash)};`,
    bundle,
    `export * from "./schema.ts";`,
    `export * from "./inference.ts";`,
    `export * from "./agents.ts";`,
  ];
}

/** The modules (relative to the output) of the extern fns `odts` call, directly or through fns, sorted. */
function externModules(ctx: EmitContext, odts: readonly IrOdt[]): string[] {
  const reached = fnsCalledFrom(odts.map((o) => o.body), ctx.ir.functions);
  return [...new Set(ctx.ir.functions.filter((f) => f.extern && reached.has(f.name)).map((f) => relativeImport(ctx, f.extern!.module)))].sort();
}
