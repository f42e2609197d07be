// What every module emitter (modules/*.ts) shares: the IR and where the spec
// is, the statement type ts-morph prints, citations of spec lines, and small
// code builders.

import path from "node:path";
import type { StatementStructures, WriterFunction } from "ts-morph";
import type { IrExpr, IrOdt, IrSpec, IrView, Loc } from "../ir.ts";
import { lowerTs } from "../lower/ts.ts";
import { RUNTIME_NS, type Imports } from "./imports.ts";

export type Statement = string | WriterFunction | StatementStructures;

/** The generated modules, in the order they are written and their imports listed. */
export const GENERATED_FILES = ["schema.ts", "functions.ts", "transforms.ts", "features.ts", "training.ts", "inference.ts", "agents.ts", "client.ts", "index.ts"] as const;
export type GeneratedFile = (typeof GENERATED_FILES)[number];
export { GENERATED_HEADER } from "../stray-output.ts";

export interface EmitContext {
  ir: IrSpec;
  /** The spec file as cited in comments: "specs/athlete.fti". */
  specFile: string;
  /** From the output directory to the spec's directory, for import.meta-relative paths. */
  outToSpecDir: string;
  /** Imported specs by name (IR `module` tags): where their generated code and their spec are. */
  modules: Map<string, ModuleOutput>;
}

/** An imported spec as seen from the output directory: `out` its generated directory, `specDir` its folder (relative paths), `file` as cited. */
export interface ModuleOutput {
  out: string;
  specDir: string;
  file: string;
}

/** The generated module `file` of the spec an imported declaration comes from, as an import path. */
export function moduleImport(ctx: EmitContext, module: string, file: GeneratedFile): string {
  const m = ctx.modules.get(module);
  if (!m) throw new Error(`no output directory for imported spec \`${module}\``);
  return `${m.out}/${file}`;
}

/**
 * A spec's path as written into a `//` comment: its line breaks (`\n`, `\r`, U+2028, U+2029) as `\u` escapes.
 * Written as they were, they ended the comment and the rest of the path was code (a folder named
 * `a⏎throw 7;` put that statement into every module).
 */
export function lineCommentText(text: string): string {
  return text.replace(/[\n\r\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A spec's path as written into a `/** … *\/` comment: line breaks escaped, and `*\/`, which would end it, as `*\\/`. */
export function blockCommentText(text: string): string {
  return lineCommentText(text).replace(/\*\//g, "*\\/");
}

/** "what — specs/athlete.fti:12" (for a `/** … *\/` comment); `module`: the imported spec the declaration is in (IR `module`). */
export function cite(ctx: EmitContext, loc: Loc, what: string, module?: string): string {
  return `${what} — ${blockCommentText(module ? ctx.modules.get(module)!.file : ctx.specFile)}:${loc.line}`;
}

/** An exported, documented const, as code (structures would re-indent the initializer). */
export function constStatement(name: string, type: string, initializer: string, doc: string): string {
  return `\n/** ${doc} */\nexport const ${name}: ${type} = ${initializer};`;
}

/** A module path relative to the spec, as imported from the output directory. */
export function relativeImport(ctx: EmitContext, moduleFromSpec: string): string {
  const rel = path.posix.join(ctx.outToSpecDir, moduleFromSpec);
  return rel.startsWith(".") ? rel : `./${rel}`;
}

/**
 * A TS expression for `e` in the module `here`, recording what it needs in
 * `imports`: runtime helpers (through the runtime namespace) and declared fns
 * (from functions.ts, unless `here` is functions.ts). `names` maps a column or
 * parameter to its accessor.
 */
export function tsExpr(ctx: EmitContext, imports: Imports, here: GeneratedFile, e: IrExpr, names: (name: string) => string): string {
  const lowered = lowerTs(e, { col: names, param: names, call: (n) => n, helper: (n) => `${RUNTIME_NS}.${n}`, functions: ctx.ir.functions });
  for (const h of lowered.helpers) imports.rt(h);
  for (const fn of lowered.functions) {
    // A name that is not declared stays unimported: the type-check reports it (FTI5001) where it is used.
    if (here !== "functions.ts" && ctx.ir.functions.some((f) => f.name === fn)) imports.from("functions.ts", fn);
  }
  return lowered.code;
}

export function viewOf(ctx: EmitContext, name: string): IrView {
  return ctx.ir.views.find((v) => v.name === name)!;
}

export function odtOf(ctx: EmitContext, name: string): IrOdt {
  return ctx.ir.onDemand.find((o) => o.name === name)!;
}
