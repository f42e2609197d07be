// One spec through the whole compiler: read → parse → check → emit →
// type-check. Diagnostics from every phase are collected; output is only
// produced when there are no errors, and written all at once (a spec with
// errors leaves generated/ exactly as it was).

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { checkGraph, specHash, type GraphCheck } from "./check-graph.ts";
import { diagnostic, type Diagnostic } from "./diagnostics.ts";
import type { EmitOptions, ModuleTarget } from "./emit/project.ts";
import { DIAG } from "./messages.ts";
import type { IrSpec } from "./ir.ts";
import { loadModuleGraph, readFailure, readSpecBytes, toPosix, usableSpecName } from "./modules.ts";
import { generatedFrom, strayFiles } from "./stray-output.ts";
import { makeDirs } from "../runtime/make-dirs.ts";

export interface CompileOptions {
  /** Output directory; default `generated/<spec name>` under the working directory. */
  outDir?: string;
  /** Stop after checking: no code generation. */
  checkOnly?: boolean;
}

export interface CompileResult {
  specPath: string;
  /** The spec path as written in diagnostics: relative to the working directory. */
  file: string;
  name: string;
  outDir: string;
  diagnostics: Diagnostic[];
  /** Text of every file the diagnostics point into (for excerpts). */
  sources: Map<string, string>;
  ir?: IrSpec;
  files?: Map<string, string>;
  /** The specs it imports, compiled with it (imported ones first): their output is written with the spec's. */
  dependencies: CompileResult[];
}

export class SpecReadError extends Error {}

export function specName(specPath: string): string {
  const name = path.basename(specPath).replace(/\.fti$/, "");
  // `...fti` named generated/.., the project's own folder: compile copied the whole project aside and replaced it.
  if (!usableSpecName(name)) {
    throw new SpecReadError(`${specPath}: a spec's file name without .fti names its generated folder, and \`${name}\` cannot (generated/${name}): rename the file, e.g. main.fti`);
  }
  return name;
}

export async function compileSpec(specPath: string, opts: CompileOptions = {}): Promise<CompileResult> {
  const abs = path.resolve(specPath);
  const file = toPosix(path.relative(process.cwd(), abs)) || abs;
  let bytes: Buffer;
  try {
    bytes = readSpecBytes(abs);
  } catch (e) {
    throw new SpecReadError(`${file}: ${readFailure(e)}`);
  }
  const name = specName(file);
  const outDir = path.resolve(opts.outDir ?? path.join("generated", name));
  const graph = loadModuleGraph(abs, bytes.toString("utf8"));
  graph.root.hash = crypto.createHash("sha256").update(bytes).digest("hex");
  const checked = checkGraph(graph);
  const diagnostics: Diagnostic[] = [];
  for (const d of checked.diagnostics) diagnostics.push(d); // a spread of >120k items overflows the stack
  const result: CompileResult = { specPath: abs, file, name, outDir, diagnostics, sources: checked.sources, dependencies: [] };
  if (diagnostics.some((d) => d.severity === "error")) return result;
  result.ir = checked.irs.get(graph.root);
  if (!result.ir || opts.checkOnly) return result;

  // Imported specs first: the spec's generated code imports theirs (beside its own output directory).
  const targets = new Map<string, ModuleTarget>();
  const moduleFiles = new Map<string, string>();
  for (const m of graph.order) {
    const ir = checked.irs.get(m)!;
    const isRoot = m === graph.root;
    const out = isRoot ? outDir : path.join(path.dirname(outDir), m.name);
    const r: CompileResult = isRoot ? result : { specPath: m.abs, file: m.file, name: m.name, outDir: out, diagnostics: [], sources: checked.sources, ir, dependencies: [] };
    const emitted = await emit(r, ir, { modules: targets, moduleFiles });
    for (const d of emitted) diagnostics.push(d);
    if (emitted.length || !r.files) return result;
    targets.set(m.name, { outDir: out, specPath: m.abs, specFile: m.file });
    for (const [f, text] of r.files) moduleFiles.set(path.join(out, f), text);
    if (!isRoot) result.dependencies.push(r);
  }
  return result;
}

/**
 * The SPEC_HASH the spec's generated code must carry to be current: of its
 * bytes, and of every spec it imports (check-graph.ts `specHash`).
 */
export function currentSpecHash(abs: string, bytes: Buffer): string {
  const graph = loadModuleGraph(abs, bytes.toString("utf8"));
  graph.root.hash = crypto.createHash("sha256").update(bytes).digest("hex");
  return specHash(graph.root);
}

/**
 * The SPEC_HASH of every generated folder the spec's code runs: its own
 * (`outDir`) and each imported spec's beside it, which its code imports. A
 * folder another importer regenerated from a newer module makes the spec's
 * compile stale though its own hash still holds.
 */
export function currentSpecHashes(abs: string, bytes: Buffer, outDir: string): Array<{ outDir: string; hash: string }> {
  const graph = loadModuleGraph(abs, bytes.toString("utf8"));
  graph.root.hash = crypto.createHash("sha256").update(bytes).digest("hex");
  return graph.order.map((m) => ({ outDir: m === graph.root ? outDir : path.join(path.dirname(outDir), m.name), hash: specHash(m) }));
}

/** Generates (in memory) and type-checks one spec's modules into `r.files`; the diagnostics when that fails. */
async function emit(r: CompileResult, ir: IrSpec, deps: Pick<EmitOptions, "modules" | "moduleFiles">): Promise<Diagnostic[]> {
  const where = { outDir: r.outDir, specPath: r.specPath, specFile: r.file };
  // Loaded on demand (with the emitters): `fti check` never pays for them.
  const { irSchema } = await import("./ir-schema.ts");
  const parsed: IrSpec = irSchema.parse(ir); // the boundary into the emitters (the schema is the IR type: ir-schema.ts)
  const { emitSpec } = await import("./emit/project.ts");
  let emitted;
  try {
    emitted = emitSpec(parsed, { ...where, ...deps });
  } catch (e) {
    // The type-check reads the output directory's surroundings on disk: an unusable one can fail here.
    if (!(e as NodeJS.ErrnoException).code) throw e;
    return [writeFailure(r, e as NodeJS.ErrnoException)];
  }
  if (!emitted.diagnostics.length) r.files = emitted.files;
  return emitted.diagnostics;
}

/** Which generated files differ from what is on disk (for `fti compile --check`). */
export function staleFiles(result: CompileResult): string[] {
  if (!result.files) return [];
  const stale: string[] = result.dependencies.flatMap(staleFiles);
  for (const [name, text] of result.files) {
    const target = path.join(result.outDir, name);
    const current = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : undefined;
    if (current !== text) stale.push(toPosix(path.relative(process.cwd(), target)));
  }
  for (const file of strayFiles(result)) stale.push(`${toPosix(path.relative(process.cwd(), file))} (not generated any more)`);
  return stale;
}

/**
 * Writes the generated files all at once: into a fresh sibling directory that
 * then replaces the output directory, so a failure never leaves a mix of old
 * and new files. Files in the directory that fti did not write are kept.
 * A file-system failure comes back as an FTI5002 diagnostic.
 */
export async function writeOutput(result: CompileResult): Promise<Diagnostic | undefined> {
  if (!result.files) throw new Error("nothing to write: the spec has errors");
  // The imported specs' output first: the spec's own imports it.
  for (const dep of result.dependencies) {
    const failure = await writeOne(dep);
    if (failure) return failure;
  }
  return writeOne(result);
}

async function writeOne(result: CompileResult & { files?: Map<string, string> }): Promise<Diagnostic | undefined> {
  const files = result.files ?? new Map<string, string>();
  const { GENERATED_FILES } = await import("./emit/project.ts");
  const dir = result.outDir;
  const tmp = `${dir}.tmp-${process.pid}`;
  // `--out .` (or a spec named `...fti`) made the project the output: it was copied whole, renamed and deleted.
  const folder = subfolder(dir);
  if (folder !== undefined) return diagnostic(result.file, fileStart(), DIAG.cannotWrite.notGenerated(displayDir(result.outDir), folder));
  // A file of the user's own under a generated file's name (`--out src`, its index.ts) would be replaced.
  const foreign = GENERATED_FILES.find((name) => !writtenByFti(path.join(dir, name)));
  if (foreign !== undefined) return diagnostic(result.file, fileStart(), DIAG.cannotWrite.notOurs(displayDir(result.outDir), foreign));
  try {
    // The parent first: when it cannot be made, that is the error to show.
    makeDirs(path.dirname(dir));
    fs.rmSync(tmp, { recursive: true, force: true });
    if (fs.existsSync(dir)) fs.cpSync(dir, tmp, { recursive: true });
    else makeDirs(tmp);
    // Every file fti wrote there goes (a module an older fti generated too); the user's own stay.
    for (const name of fs.readdirSync(tmp)) if (generatedFrom(path.join(tmp, name)) !== undefined) fs.rmSync(path.join(tmp, name));
    for (const [name, text] of files) fs.writeFileSync(path.join(tmp, name), text);
    const old = `${dir}.old-${process.pid}`;
    if (fs.existsSync(dir)) fs.renameSync(dir, old);
    fs.renameSync(tmp, dir);
    fs.rmSync(old, { recursive: true, force: true });
    return undefined;
  } catch (e) {
    // The cleanup can fail the same way (a file where the parent directory should be).
    try {
      fs.rmSync(tmp, { recursive: true, force: true });
    } catch {
      // nothing was created there
    }
    return writeFailure(result, e as NodeJS.ErrnoException);
  }
}

/** The name of a folder inside `dir` (generated code has none), or undefined; a directory that cannot be read is left to the write's own error. */
function subfolder(dir: string): string | undefined {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).find((e) => e.isDirectory())?.name;
  } catch {
    return undefined;
  }
}

/** Whether `file` is absent or begins as every file fti compile writes does (emit/project.ts's header). */
function writtenByFti(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
  } catch {
    return true; // absent (or unreadable: left to the write's own error)
  }
  return generatedFrom(file) !== undefined;
}

const displayDir = (dir: string) => toPosix(path.relative(process.cwd(), dir)) || dir;

/** A diagnostic's place when it is about the spec file as a whole. */
function fileStart() {
  const start = { offset: 0, line: 1, column: 1 };
  return { start, end: { ...start, column: 2, offset: 1 } };
}

/** FTI5002: the output directory cannot be written. */
function writeFailure(result: CompileResult, err: NodeJS.ErrnoException): Diagnostic {
  const detail = [err.code, err.syscall, err.path ? toPosix(path.relative(process.cwd(), err.path)) : ""].filter(Boolean).join(" ");
  return diagnostic(result.file, fileStart(), DIAG.cannotWrite.to(displayDir(result.outDir), detail));
}
