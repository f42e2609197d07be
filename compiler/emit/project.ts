// Prints the generated modules with ts-morph, then type-checks them
// (type-check.ts). Printing needs no project: it never reads the output
// directory, never parses what it printed, never loads the TypeScript library
// files; only the check does.

import crypto from "node:crypto";
import path from "node:path";
import type { Diagnostic } from "../diagnostics.ts";
import type { IrSpec } from "../ir.ts";
import { tsMorph } from "../ts-project.ts";
import { GENERATED_FILES, GENERATED_HEADER, lineCommentText, type EmitContext, type GeneratedFile, type ModuleOutput, type Statement } from "./context.ts";
import { agentsModule } from "./modules/agents.ts";
import { clientModule } from "./modules/client.ts";
import { featuresModule } from "./modules/features.ts";
import { functionsModule } from "./modules/functions.ts";
import { indexModule } from "./modules/index.ts";
import { inferenceModule } from "./modules/inference.ts";
import { schemaModule } from "./modules/schema.ts";
import { trainingModule } from "./modules/training.ts";
import { HASH_PLACEHOLDER, MODEL_HASH_PLACEHOLDERS, modelTransformUnits, transformsModule } from "./modules/transforms.ts";
import { typeCheckGenerated } from "./type-check.ts";
import { modelTransformsHashes, transformsHash } from "../../runtime/transforms-hash.ts";

export { GENERATED_FILES, GENERATED_HEADER };

/** One emitter per generated module (modules/<file>). */
const EMITTERS: Record<GeneratedFile, (ctx: EmitContext) => Statement[]> = {
  "schema.ts": schemaModule,
  "functions.ts": functionsModule,
  "transforms.ts": transformsModule,
  "features.ts": featuresModule,
  "training.ts": trainingModule,
  "inference.ts": inferenceModule,
  "agents.ts": agentsModule,
  "client.ts": clientModule,
  "index.ts": indexModule,
};

export interface EmitResult {
  files: Map<string, string>;
  diagnostics: Diagnostic[];
}

/**
 * ts-morph's printing of a module's statements. printStructure only prints:
 * creating a source file from structures would also parse the text, which
 * costs more than the printing (seconds for a large spec).
 */
function print(statements: Statement[]): string {
  const { printStructure, StructureKind } = tsMorph();
  return printStructure({ kind: StructureKind.SourceFile, statements }, { indentNumberOfSpaces: 2, newLine: "\n", useSingleQuote: false });
}

function header(ir: IrSpec, specFile: string): string {
  return `${GENERATED_HEADER}${lineCommentText(specFile)}\` — do not edit.\n// spec sha256: ${ir.specHash}\n`;
}

/** An imported spec's generated output: where it is written, the spec's path and its file as cited. */
export interface ModuleTarget {
  outDir: string;
  specPath: string;
  specFile: string;
}

export interface EmitOptions {
  outDir: string;
  specPath: string;
  specFile: string;
  typeCheck?: boolean;
  /** Imported specs by name (IR `module` tags), whose generated code the spec's imports. */
  modules?: Map<string, ModuleTarget>;
  /** Their generated files (absolute path → text), generated in this run: the type-check reads them. */
  moduleFiles?: Map<string, string>;
}

/** Generates every module of a spec into `outDir` (in memory) and type-checks them. */
export function emitSpec(ir: IrSpec, opts: EmitOptions): EmitResult {
  const rel = (to: string) => toPosix(path.relative(opts.outDir, to)) || ".";
  const modules = new Map<string, ModuleOutput>();
  for (const [name, m] of opts.modules ?? []) {
    const out = rel(m.outDir);
    modules.set(name, { out: out.startsWith(".") ? out : `./${out}`, specDir: rel(path.dirname(m.specPath)), file: m.specFile });
  }
  const ctx: EmitContext = { ir, specFile: opts.specFile, outToSpecDir: rel(path.dirname(opts.specPath)), modules };
  const files = new Map<string, string>();
  for (const name of GENERATED_FILES) {
    let text = header(ir, opts.specFile) + "\n" + print(EMITTERS[name](ctx)).trimEnd() + "\n";
    if (name === "transforms.ts") text = stampTransforms(ir, text);
    files.set(name, text);
  }
  const diagnostics = opts.typeCheck === false ? [] : typeCheckGenerated(files, { outDir: opts.outDir, specFile: opts.specFile, moduleFiles: opts.moduleFiles });
  return { files, diagnostics };
}

/** Fills in each model's hash (over its own code), then the whole file's (over all of it, the models' hashes included). */
function stampTransforms(ir: IrSpec, text: string): string {
  const hashes = modelTransformsHashes(text, modelTransformUnits(ir));
  text = text.replace(MODEL_HASH_PLACEHOLDERS, (whole, model: string) => (hashes.has(model) ? `"${hashes.get(model)}"` : whole));
  return text.replace(HASH_PLACEHOLDER, transformsHash(text));
}

export { transformsHash } from "../../runtime/transforms-hash.ts";

function toPosix(p: string): string {
  return p.split(path.sep).join("/");
}
