// Type-checks the generated modules against the runtime API (runtime/api.ts,
// and what it imports) in the compiler's shared TypeScript project, with the
// light declarations of zod and of the ES library (../ts-project.ts: the same
// verdicts as the real ones, test/check-lib.test.ts). A TypeScript error in
// generated code is a compiler bug; it is reported (FTI5001) at the spec line
// the offending code was generated from.
//
// A check that passed is remembered (../check-cache.ts): the same generated
// text, checked against unchanged declarations, is not checked again.

import path from "node:path";
import type { Range } from "../ast.ts";
import { passedBefore, recordPass, sha256, toolchainVersion } from "../check-cache.ts";
import { diagnostic, type Diagnostic } from "../diagnostics.ts";
import { DIAG } from "../messages.ts";
import type { Project } from "ts-morph";
import { CHECK_OPTIONS, checkerProject, programTexts, setInMemoryOnly, type Declarations } from "../ts-project.ts";

/**
 * `files`: generated file name → text, all in `outDir`. `moduleFiles`: the
 * generated files of imported specs made in the same run (absolute path →
 * text), which the spec's modules import: checked from memory too, and part
 * of the cache key, so a changed import checks the spec again.
 * `declarations`: "light" (what a compile uses) or "real" (zod's own and the
 * whole ES2023 library: the tests' cross-check).
 */
export function typeCheckGenerated(
  files: Map<string, string>,
  opts: { outDir: string; specFile: string; moduleFiles?: Map<string, string>; declarations?: Declarations },
): Diagnostic[] {
  const declarations = opts.declarations ?? "light";
  const scope = `generated modules in ${path.resolve(opts.outDir)} (${declarations})`;
  const moduleFiles = opts.moduleFiles ?? new Map<string, string>();
  const key = sha256(JSON.stringify([toolchainVersion(), CHECK_OPTIONS[declarations], [...files], [...moduleFiles].sort(([a], [b]) => a.localeCompare(b))]));
  if (passedBefore(scope, key)) return [];

  const project = checkerProject(declarations);
  const paths = [...files.keys()].map((name) => path.join(opts.outDir, name));
  const all = [...paths, ...moduleFiles.keys()];
  setInMemoryOnly(all, true);
  const others = [...moduleFiles].map(([p, text]) => project.createSourceFile(p, text, { overwrite: true }));
  try {
    return check(project, files, paths, { ...opts, scope, key, inKey: all });
  } finally {
    for (const sf of others) project.removeSourceFile(sf);
    setInMemoryOnly(all, false);
  }
}

function check(project: Project, files: Map<string, string>, paths: string[], opts: { outDir: string; specFile: string; scope: string; key: string; inKey: string[] }): Diagnostic[] {
  const sourceFiles = paths.map((p) => project.createSourceFile(p, files.get(path.basename(p))!, { overwrite: true }));
  const diagnostics: Diagnostic[] = [];
  for (const sf of sourceFiles) {
    const name = path.basename(sf.getFilePath());
    for (const d of sf.getPreEmitDiagnostics()) {
      const file = d.getSourceFile();
      if (!file || file.getFilePath() !== sf.getFilePath()) continue;
      const line = d.getLineNumber() ?? 1;
      const text = d.getMessageText();
      const message = typeof text === "string" ? text : text.getMessageText();
      const range = lineRange(citedLine(files.get(name)!, line, opts.specFile));
      diagnostics.push(diagnostic(opts.specFile, range, DIAG.generatedTypeError.at(name, line, message)));
    }
  }
  if (!diagnostics.length) {
    const read = programTexts(project);
    for (const p of opts.inKey) read.delete(path.normalize(p)); // their text is in the key
    recordPass(opts.scope, opts.key, read);
  }
  // The next spec's check should not carry these along.
  for (const sf of sourceFiles) project.removeSourceFile(sf);
  return diagnostics;
}

/** The spec line cited by the nearest `<spec>:<line>` comment at or above a generated line. */
function citedLine(text: string, line: number, specFile: string): number {
  const lines = text.split("\n");
  const re = new RegExp(`${specFile.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:(\\d+)`);
  for (let i = Math.min(line, lines.length) - 1; i >= 0; i--) {
    const m = re.exec(lines[i]);
    if (m) return Number(m[1]);
  }
  return 1;
}

function lineRange(line: number): Range {
  return { start: { offset: 0, line, column: 1 }, end: { offset: 0, line, column: 2 } };
}
