// Spec modules: a spec and the specs it imports (`import { a } from
// "./common.fti"`), read and parsed once each, in dependency order. Import
// paths are relative to the importing spec's folder and confined to the
// project of the spec being compiled: an absolute path, a path that leaves
// the project (`..`), and a symbolic link whose real path leaves it are
// refused with a diagnostic, before anything is read. Cycles are reported
// with the whole cycle. Checking is not done here (checker/imports.ts).

import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { isInside, projectRoot } from "../runtime/features/source-paths.ts";
import type { ImportDecl, Program } from "./ast.ts";
import { diagnostic, type Diagnostic } from "./diagnostics.ts";
import { DIAG, type Message } from "./messages.ts";
import { parse } from "./parser/index.ts";

/** How the loader reads files: the disk, or (the language server) open documents first. */
export interface ModuleFiles {
  /** The file's text; throws a NodeJS.ErrnoException like fs.readFileSync. */
  read(abs: string): string;
  /** The real path (symbolic links followed); throws when the file does not exist. */
  realpath(abs: string): string;
}

/**
 * A spec file's bytes; a directory throws EISDIR and anything else that is
 * not a regular file (a FIFO, /dev/zero) throws ENOTREG instead of being
 * read: reading one would wait for a writer or never end (`fti check`, and
 * the language server reading an import on every keystroke, would hang).
 */
export function readSpecBytes(abs: string): Buffer {
  const stat = fs.statSync(abs);
  if (stat.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
  if (!stat.isFile()) throw Object.assign(new Error("is not a regular file"), { code: "ENOTREG" });
  // Past ~512 MB its text cannot be one JS string (an internal error, exit 3); no spec comes near this.
  if (stat.size > SPEC_LIMIT_BYTES) throw Object.assign(new Error("is too large"), { code: "ETOOLARGE" });
  return fs.readFileSync(abs);
}

/** The largest spec read, from a file or (`fti fmt -`) from stdin (the checker's goal is 10 MB in 5 s). */
export const SPEC_LIMIT_BYTES = 100 * 1024 * 1024;

/** Why a spec over SPEC_LIMIT_BYTES is refused, said after what was read: `big.fti: `, `<stdin>: `, `it `. */
export function specTooLarge(): string {
  return `is larger than ${SPEC_LIMIT_BYTES / (1024 * 1024)} MB, too large for a spec`;
}

/** Why a spec file could not be read, for messages: "no such file", "is a directory", ... */
export function readFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EISDIR") return "is a directory, not a spec";
  if (code === "ENOTREG") return "is not a regular file (a pipe or a device), not a spec";
  if (code === "ETOOLARGE") return specTooLarge();
  return `cannot read (${code ?? (e as Error)?.message ?? String(e)})`;
}

export const diskFiles: ModuleFiles = {
  read: (abs) => readSpecBytes(abs).toString("utf8"),
  realpath: (abs) => fs.realpathSync(abs),
};

export interface SpecModule {
  abs: string;
  /** As written in diagnostics: relative to the working directory. */
  file: string;
  /** The spec name (file name without `.fti`): its generated code goes to generated/<name>/. */
  name: string;
  text: string;
  /** sha256 of the file's text. */
  hash: string;
  program: Program;
  parseDiagnostics: Diagnostic[];
  /** One per import line: the module it names, when the path resolved (and is not part of a cycle). */
  imports: Array<{ decl: ImportDecl; target?: SpecModule }>;
}

export interface ModuleGraph {
  root: SpecModule;
  /** Every module, each after the modules it imports; the root last. */
  order: SpecModule[];
  /** Import problems: paths, missing files, cycles, two modules with one name. */
  diagnostics: Diagnostic[];
}

export function toPosix(p: string): string {
  return p.split(path.sep).join("/");
}

export function displayPath(abs: string): string {
  return toPosix(path.relative(process.cwd(), abs)) || abs;
}

function sha256(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

function parseModule(abs: string, text: string, file = displayPath(abs)): SpecModule {
  const parsed = parse(text, file);
  return {
    abs,
    file,
    name: path.basename(abs).replace(/\.fti$/, ""),
    text,
    hash: sha256(text),
    program: parsed.program,
    parseDiagnostics: parsed.diagnostics,
    imports: parsed.program.imports.map((decl) => ({ decl })),
  };
}

/** Loads `rootAbs` (whose text the caller read) and every spec it imports, transitively. `rootFile`: its name in diagnostics. */
export function loadModuleGraph(rootAbs: string, rootText: string, files: ModuleFiles = diskFiles, rootFile?: string): ModuleGraph {
  const root = parseModule(rootAbs, rootText, rootFile);
  const projectDir = projectRoot(path.dirname(rootAbs));
  const realProject = realOr(files, projectDir);
  const diagnostics: Diagnostic[] = [];
  const byReal = new Map<string, SpecModule>([[realOr(files, rootAbs), root]]);
  const byName = new Map<string, SpecModule>([[root.name, root]]);
  const state = new Map<SpecModule, "visiting" | "done">();
  const order: SpecModule[] = [];
  const stack: SpecModule[] = [];
  const report = (m: SpecModule, decl: ImportDecl, msg: Message) => diagnostics.push(diagnostic(m.file, decl.from.range, msg));

  /** The module an import names, read and parsed once; undefined (reported) when it cannot be used. */
  const resolveImport = (from: SpecModule, decl: ImportDecl): SpecModule | undefined => {
    const raw = decl.from.value;
    const bad = pathProblem(raw);
    if (bad) return void report(from, decl, bad);
    const abs = path.resolve(path.dirname(from.abs), raw);
    if (!isInside(abs, projectDir)) return void report(from, decl, DIAG.pathOutsideProject.specModule(raw, false));
    let real: string;
    try {
      real = files.realpath(abs);
    } catch {
      return void report(from, decl, DIAG.moduleNotFound.spec(raw, displayPath(abs)));
    }
    if (!isInside(real, realProject)) return void report(from, decl, DIAG.pathOutsideProject.specModule(raw, true));
    const known = byReal.get(real);
    if (known) return known;
    let text: string;
    try {
      text = files.read(abs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return void report(from, decl, code === "ENOENT" ? DIAG.moduleNotFound.spec(raw, displayPath(abs)) : DIAG.moduleNotFound.unreadable(raw, code === "EISDIR" ? "it is a directory" : code === "ENOTREG" ? "it is not a regular file" : code === "ETOOLARGE" ? `it ${specTooLarge()}` : (code ?? "unreadable")));
    }
    const m = parseModule(abs, text);
    byReal.set(real, m);
    const other = byName.get(m.name);
    if (other) report(from, decl, DIAG.moduleNameClash.of(m.name, other.file, m.file));
    else byName.set(m.name, m);
    return m;
  };

  // Depth first, imported modules before their importers (`order`), with an explicit stack: a chain of
  // ~6,000 specs each importing the next overflowed the call stack (an internal error).
  const next: number[] = [];
  const enter = (m: SpecModule): void => {
    state.set(m, "visiting");
    stack.push(m);
    next.push(0);
  };
  enter(root);
  while (stack.length) {
    const m = stack[stack.length - 1];
    const i = next[next.length - 1]++;
    if (i === m.imports.length) {
      stack.pop();
      next.pop();
      state.set(m, "done");
      order.push(m);
      continue;
    }
    const imp = m.imports[i];
    const target = resolveImport(m, imp.decl);
    if (!target) continue;
    const s = state.get(target);
    if (s === "visiting") {
      const cycle = [...stack.slice(stack.indexOf(target)), target].map((x) => x.file);
      report(m, imp.decl, DIAG.importCycle.of(cycle));
      continue;
    }
    imp.target = target;
    if (!s) enter(target);
  }
  return { root, order, diagnostics };
}

/** A spec's name (its file name without .fti) can name a folder beside others: not empty, `.` or `..`. */
export function usableSpecName(name: string): boolean {
  return name !== "" && name !== "." && name !== "..";
}

/** What is wrong with an import path as written, before it is resolved. */
function pathProblem(raw: string): Message | undefined {
  if (raw.includes("\\")) return DIAG.importPath.backslash(raw);
  if (path.posix.isAbsolute(raw) || path.win32.isAbsolute(raw)) return DIAG.importPath.absolute(raw);
  if (!raw.startsWith("./") && !raw.startsWith("../")) return DIAG.importPath.notRelative(raw);
  if (!raw.endsWith(".fti")) return DIAG.importPath.notSpec(raw);
  if (!usableSpecName(path.posix.basename(raw).replace(/\.fti$/, ""))) return DIAG.importPath.folderName(raw);
  return undefined;
}

function realOr(files: ModuleFiles, p: string): string {
  try {
    return files.realpath(p);
  } catch {
    return p;
  }
}
