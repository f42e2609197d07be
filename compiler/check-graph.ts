// Checks a spec and the modules it imports (modules.ts), each once, imported
// modules first: every file's syntax and checker errors are collected in one
// run, each at its own file:line:col. A module with errors makes its
// importers report FTI2045 at the import and stay quiet about its names.

import crypto from "node:crypto";
import path from "node:path";
import type { NamedDecl } from "./ast.ts";
import { checkProgram } from "./checker/index.ts";
import type { CheckedModule } from "./checker/imports.ts";
import type { Diagnostic } from "./diagnostics.ts";
import type { IrSpec } from "./ir.ts";
import { toPosix, type ModuleGraph, type SpecModule } from "./modules.ts";

export interface GraphCheck {
  /** Every diagnostic of every file, the import problems included. */
  diagnostics: Diagnostic[];
  /** Text of every file read (for excerpts). */
  sources: Map<string, string>;
  checked: Map<SpecModule, CheckedModule>;
  /** The IR of each module without errors (the root's too). */
  irs: Map<SpecModule, IrSpec>;
}

/** FTI2008 (unused declaration) is about the spec being compiled: a module's declarations are there for its importers. */
const UNUSED_DECLARATION = 2008;

/** `skipRoot`: check only the modules the root imports (the language server checks the root itself, syntax errors or not).*/
export function checkGraph(graph: ModuleGraph, opts: { skipRoot?: boolean } = {}): GraphCheck {
  const diagnostics: Diagnostic[] = [];
  const sources = new Map<string, string>();
  const checked = new Map<SpecModule, CheckedModule>();
  const irs = new Map<SpecModule, IrSpec>();
  for (const m of graph.order) {
    if (opts.skipRoot && m === graph.root) continue;
    sources.set(m.file, m.text);
    const own: Diagnostic[] = [...m.parseDiagnostics, ...graph.diagnostics.filter((d) => d.file === m.file)];
    const decls = new Map<string, NamedDecl>();
    for (const d of m.program.decls) if (d.kind !== "serve" && !decls.has(d.name.name)) decls.set(d.name.name, d);
    const importedFrom = new Map<string, string>();
    for (const imp of m.imports) for (const n of imp.decl.names) importedFrom.set(n.name, imp.decl.from.value);
    const entry: CheckedModule = { module: m, decls, importedFrom, errors: 0 };
    if (!m.parseDiagnostics.some((d) => d.severity === "error")) {
      const result = checkProgram({
        program: m.program,
        text: m.text,
        file: m.file,
        specDir: path.dirname(m.abs),
        name: m.name,
        specHash: specHash(m),
        modules: { spec: m, checked },
      });
      for (const d of result.ctx.diags.items) own.push(d);
      for (const [f, t] of result.ctx.extraSources) sources.set(f, t);
      entry.scope = result.scope;
      if (result.ir) irs.set(m, result.ir);
    }
    entry.errors = own.filter((d) => d.severity === "error").length;
    if (entry.errors) entry.scope = undefined;
    checked.set(m, entry);
    for (const d of own) if (m === graph.root || d.code !== UNUSED_DECLARATION) diagnostics.push(d);
  }
  return { diagnostics, sources, checked, irs };
}

/**
 * The hash a spec's generated code is stamped with (SPEC_HASH): the sha256 of
 * its text; for a spec that imports, of that and of each imported spec's own
 * SPEC_HASH (with its path), so that a change in a spec imported directly or
 * transitively makes the importer's generated code stale. Each module is
 * hashed once (memoized), its imports first: hashing every module of a chain
 * of n imports is linear in n. (Listing every transitive import in each
 * importer's hash, as before, made it quadratic: 41 s for 8,000 specs.)
 */
export function specHash(m: SpecModule): string {
  // An explicit stack: a long chain of imports overflowed the call stack.
  const todo = [m];
  while (todo.length) {
    const top = todo[todo.length - 1];
    if (hashed.get(top)?.own === top.hash) {
      todo.pop();
      continue;
    }
    const deps = importedModules(top);
    const pending = deps.filter((d) => hashed.get(d)?.own !== d.hash);
    if (pending.length) {
      todo.push(...pending);
      continue;
    }
    todo.pop();
    hashed.set(top, { own: top.hash, spec: combinedHash(top, deps) });
  }
  return hashed.get(m)!.spec;
}

/** Each module's SPEC_HASH, with the text hash it was computed from (compile.ts sets a root's hash from its bytes after loading). */
const hashed = new WeakMap<SpecModule, { own: string; spec: string }>();

/** The modules a spec imports directly, each once (the loader leaves an import in a cycle without a target). */
function importedModules(m: SpecModule): SpecModule[] {
  const deps = new Set<SpecModule>();
  for (const imp of m.imports) if (imp.target && imp.target !== m) deps.add(imp.target);
  return [...deps];
}

/** A spec that imports nothing keeps its text's hash; one that imports adds a sorted line per imported spec. */
function combinedHash(m: SpecModule, deps: SpecModule[]): string {
  if (!deps.length) return m.hash;
  const dir = path.dirname(m.abs);
  const lines = deps.map((d) => `${toPosix(path.relative(dir, d.abs))} ${hashed.get(d)!.spec}`).sort();
  return crypto.createHash("sha256").update([m.hash, ...lines].join("\n")).digest("hex");
}
