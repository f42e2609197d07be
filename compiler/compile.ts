// One spec through the whole compiler: read → parse → check → emit →
// type-check. Diagnostics from every phase are collected; output is only
// produced when there are no errors, and written all at once (a spec with
// errors leaves generated/ exactly as it was).

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { checkProgram } from "./checker/index.ts";
import { diagnostic, type Diagnostic } from "./diagnostics.ts";
import { DIAG } from "./messages.ts";
import type { IrSpec } from "./ir.ts";
import { parse } from "./parser/index.ts";

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
}

export class SpecReadError extends Error {}

export function specName(specPath: string): string {
  return path.basename(specPath).replace(/\.fti$/, "");
}

export async function compileSpec(specPath: string, opts: CompileOptions = {}): Promise<CompileResult> {
  const abs = path.resolve(specPath);
  const file = toPosix(path.relative(process.cwd(), abs)) || abs;
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SpecReadError(
      code === "ENOENT" ? `${file}: no such file` : code === "EISDIR" ? `${file}: is a directory, not a spec` : `${file}: cannot read (${code ?? (e as Error).message})`,
    );
  }
  const text = bytes.toString("utf8");
  const name = specName(abs);
  const outDir = path.resolve(opts.outDir ?? path.join("generated", name));
  const specHash = crypto.createHash("sha256").update(bytes).digest("hex");
  const sources = new Map([[file, text]]);

  const parsed = parse(text, file);
  const diagnostics: Diagnostic[] = [...parsed.diagnostics];
  const result: CompileResult = { specPath: abs, file, name, outDir, diagnostics, sources };
  // Checking a program with syntax errors would report holes the parser left; stop here.
  if (parsed.diagnostics.some((d) => d.severity === "error")) return result;

  const checked = checkProgram({ program: parsed.program, text, file, specDir: path.dirname(abs), name, specHash });
  for (const d of checked.ctx.diags.items) diagnostics.push(d); // a spread of >120k items overflows the stack
  for (const [f, t] of checked.ctx.extraSources) sources.set(f, t);
  if (!checked.ir) return result;
  result.ir = checked.ir;
  if (opts.checkOnly) return result;

  // Loaded on demand (with the emitters): `fti check` never pays for them.
  const { irSchema } = await import("./ir-schema.ts");
  const ir: IrSpec = irSchema.parse(checked.ir); // the boundary into the emitters (the schema is the IR type: ir-schema.ts)
  const { emitSpec } = await import("./emit/project.ts");
  let emitted;
  try {
    emitted = emitSpec(ir, { outDir, specPath: abs, specFile: file });
  } catch (e) {
    // The type-check reads the output directory's surroundings on disk: an unusable one can fail here.
    if (!(e as NodeJS.ErrnoException).code) throw e;
    diagnostics.push(writeFailure(result, e as NodeJS.ErrnoException));
    return result;
  }
  for (const d of emitted.diagnostics) diagnostics.push(d);
  if (!emitted.diagnostics.length) result.files = emitted.files;
  return result;
}

/** Which generated files differ from what is on disk (for `fti compile --check`). */
export function staleFiles(result: CompileResult): string[] {
  if (!result.files) return [];
  const stale: string[] = [];
  for (const [name, text] of result.files) {
    const target = path.join(result.outDir, name);
    const current = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : undefined;
    if (current !== text) stale.push(toPosix(path.relative(process.cwd(), target)));
  }
  return stale;
}

/**
 * Writes the generated files all at once: into a fresh sibling directory that
 * then replaces the output directory, so a failure never leaves a mix of old
 * and new files. Files in the directory that fti does not generate are kept.
 * A file-system failure comes back as an FTI5002 diagnostic.
 */
export async function writeOutput(result: CompileResult): Promise<Diagnostic | undefined> {
  if (!result.files) throw new Error("nothing to write: the spec has errors");
  const { GENERATED_FILES } = await import("./emit/project.ts");
  const dir = result.outDir;
  const tmp = `${dir}.tmp-${process.pid}`;
  try {
    // The parent first: when it cannot be made, that is the error to show.
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    fs.rmSync(tmp, { recursive: true, force: true });
    if (fs.existsSync(dir)) fs.cpSync(dir, tmp, { recursive: true });
    else fs.mkdirSync(tmp, { recursive: true });
    for (const name of GENERATED_FILES) fs.rmSync(path.join(tmp, name), { force: true });
    for (const [name, text] of result.files) fs.writeFileSync(path.join(tmp, name), text);
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

/** FTI5002: the output directory cannot be written. */
function writeFailure(result: CompileResult, err: NodeJS.ErrnoException): Diagnostic {
  const where = toPosix(path.relative(process.cwd(), result.outDir)) || result.outDir;
  const start = { offset: 0, line: 1, column: 1 };
  const detail = [err.code, err.syscall, err.path ? toPosix(path.relative(process.cwd(), err.path)) : ""].filter(Boolean).join(" ");
  return diagnostic(result.file, { start, end: { ...start, column: 2, offset: 1 } }, DIAG.cannotWrite.to(where, detail));
}

function toPosix(p: string): string {
  return p.split(path.sep).join("/");
}
