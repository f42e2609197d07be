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
 * its text; for a spec that imports, of that and of every module it reads
 * (transitively), so that a change in an imported spec makes the importer's
 * generated code stale.
 */
export function specHash(m: SpecModule): string {
  const deps = new Set<SpecModule>();
  // An explicit stack: a long chain of imports overflowed the call stack.
  const todo = [m];
  while (todo.length) {
    for (const imp of todo.pop()!.imports) {
      if (imp.target && !deps.has(imp.target) && imp.target !== m) {
        deps.add(imp.target);
        todo.push(imp.target);
      }
    }
  }
  if (!deps.size) return m.hash;
  const dir = path.dirname(m.abs);
  const lines = [...deps].map((d) => `${toPosix(path.relative(dir, d.abs))} ${d.hash}`).sort();
  return crypto.createHash("sha256").update([m.hash, ...lines].join("\n")).digest("hex");
}
