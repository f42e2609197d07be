// One analysis of one document: the parser and the checker of `fti compile`
// (no second implementation), run on every edit. Syntax errors do not stop
// the checker here: the parser's recovery keeps every declaration it could
// read, so a typo in one declaration still leaves the errors of the others
// visible. Checker diagnostics inside a declaration with a syntax error are
// dropped (they would only describe the hole the parser left).

import type { IToken } from "chevrotain";
import type { Decl, Program, Range } from "../ast.ts";
import { checkProgram } from "../checker/index.ts";
import type { Diagnostic } from "../diagnostics.ts";
import type { IrGroup, IrSpec, IrView } from "../ir.ts";
import path from "node:path";
import { checkGraph } from "../check-graph.ts";
import type { CheckedModule } from "../checker/imports.ts";
import { kindLabel } from "../checker/context.ts";
import { diskFiles, loadModuleGraph, type ModuleFiles, type SpecModule } from "../modules.ts";
import * as T from "../parser/lexer.ts";
import { lineStarts } from "./positions.ts";
import { buildIndex, type SymbolIndex } from "./symbols.ts";

export interface Analysis {
  text: string;
  file: string;
  program: Program;
  diagnostics: Diagnostic[];
  /** The IR when the spec has no errors; else the last good one of this document (types for hover). */
  ir?: IrSpec;
  irIsCurrent: boolean;
  /** Offsets where lines start, for LSP positions. */
  starts: number[];
  tokens: IToken[];
  comments: IToken[];
  index: SymbolIndex;
  /** Imported names: where they are declared (absolute file, range), their kind, the import's path as written. */
  imports: Map<string, ImportedName>;
  /** The spec modules the document reads (absolute paths), transitively. */
  reads: Set<string>;
  /** Types of this text only (never of an earlier version): every group and view when the spec checks, else those that checked now. */
  current: { groups: Map<string, IrGroup>; views: Map<string, IrView> };
  /** The folder of the spec (imports and source paths are relative to it). */
  dir: string;
  /** The declarations of each module read (by absolute path): what an import may name, for completion. */
  modules: Map<string, Decl[]>;
}

function importedDecls(spec: SpecModule, checked: Map<SpecModule, CheckedModule>): Map<string, Decl> {
  const out = new Map<string, Decl>();
  for (const { decl, target } of spec.imports) {
    const mod = target && checked.get(target);
    for (const n of decl.names) {
      const d = mod?.decls.get(n.name);
      if (d && !out.has(n.name)) out.set(n.name, d);
    }
  }
  return out;
}

export interface ImportedName {
  file: string;
  range: Range;
  kind: string;
  from: string;
}

function importedDeclarations(spec: SpecModule, checked: Map<SpecModule, CheckedModule>): Map<string, ImportedName> {
  const out = new Map<string, ImportedName>();
  for (const { decl, target } of spec.imports) {
    const mod = target && checked.get(target);
    for (const n of decl.names) {
      const d = mod?.decls.get(n.name);
      if (d && !out.has(n.name)) out.set(n.name, { file: target!.abs, range: d.name.range, kind: kindLabel(d.kind), from: decl.from.value });
    }
  }
  return out;
}

const within = (r: Range, outer: Range) => r.start.offset >= outer.start.offset && r.start.offset <= outer.end.offset;

/** Analyses `text`; `previousIr` is kept for hover when the new text does not check. */
export function analyze(text: string, file: string, specDir: string, previousIr?: IrSpec, files: ModuleFiles = diskFiles): Analysis {
  const abs = path.resolve(specDir, path.basename(file));
  // The spec's imports, read through `files` (open documents first) and checked as `fti check` does.
  const graph = loadModuleGraph(abs, text, files, file);
  const parsed = { program: graph.root.program, diagnostics: graph.root.parseDiagnostics };
  const syntaxErrors = parsed.diagnostics.filter((d) => d.severity === "error");
  let checked: ReturnType<typeof checkProgram> | undefined;
  let internal: Diagnostic | undefined;
  const importErrors = graph.diagnostics.filter((d) => d.file === file);
  let modules: ReturnType<typeof checkGraph> = { diagnostics: [], sources: new Map(), checked: new Map(), irs: new Map() };
  try {
    modules = checkGraph(graph, { skipRoot: true });
    checked = checkProgram({ program: parsed.program, text, file, specDir, name: "spec", specHash: "", modules: { spec: graph.root, checked: modules.checked } });
  } catch (e) {
    // A checker bug on a half-typed spec must not take the editor's diagnostics down with it.
    const at = { offset: 0, line: 1, column: 1 };
    internal = { code: 1001, severity: "error", file, range: { start: at, end: at }, message: `internal checker error (a bug in fti; please report it): ${(e as Error)?.message ?? String(e)}` };
  }
  const broken = parsed.program.decls.filter((d) => syntaxErrors.some((e) => within(e.range, d.range) || (e.range.start.offset >= d.range.end.offset && e.range.start.offset - d.range.end.offset <= 1)));
  const checkerDiags = (checked?.ctx.diags.items ?? []).filter((d) => d.file === file && !broken.some((b) => within(d.range, b.range)));
  if (internal) checkerDiags.push(internal);
  const { tokens, comments } = T.lex(text);
  const ir = checked?.ir && !syntaxErrors.length ? checked.ir : previousIr;
  // A declaration with a syntax error checked as the hole the parser left: its types are not shown.
  const whole = (name: string) => !broken.some((b) => b.kind !== "serve" && b.name.name === name);
  const parts = checked?.ir && !syntaxErrors.length ? { groups: checked.ir.groups, views: checked.ir.views } : (checked?.checkedParts ?? { groups: [], views: [] });
  const current = { groups: new Map(parts.groups.filter((g) => whole(g.name)).map((g) => [g.name, g])), views: new Map(parts.views.filter((v) => whole(v.name)).map((v) => [v.name, v])) };
  return {
    text,
    file,
    program: parsed.program,
    diagnostics: [...parsed.diagnostics, ...importErrors, ...checkerDiags],
    imports: importedDeclarations(graph.root, modules.checked),
    reads: new Set(graph.order.filter((m) => m !== graph.root).map((m) => m.abs)),
    dir: specDir,
    modules: new Map(graph.order.filter((m) => m !== graph.root).map((m) => [m.abs, m.program.decls])),
    ir,
    irIsCurrent: !!checked?.ir && !syntaxErrors.length,
    current,
    starts: lineStarts(text),
    tokens,
    comments,
    index: buildIndex(parsed.program, importedDecls(graph.root, modules.checked)),
  };
}
