// The TypeScript half of the `extern fn` check: reads the real signature of a
// user's function and lists how it differs from the declared one; its answer
// is plain data, extern.ts turns it into diagnostics. A signature written out
// in simple types that matches is read from the syntax alone
// (extern-syntax.ts); any other, and every mismatch (for its message), is read
// by TypeScript's checker with the real declarations (../ts-project.ts).
//
// A signature that matched before, with the module and everything it imports
// unchanged, is not read again (../check-cache.ts).

import fs from "node:fs";
import type { Range } from "../ast.ts";
import type { IrColumn, IrType } from "../ir.ts";
import { passedBefore, recordPass, sha256, toolchainVersion } from "../check-cache.ts";
import { CHECK_OPTIONS, checkerProject, programTexts, tsMorph } from "../ts-project.ts";
import { syntacticSignature } from "./extern-syntax.ts";
import { mapTsType, signatureProblems } from "./extern-types.ts";

/** One extern fn to check: its module (absolute path), its name, its declared signature. */
export interface ExternRequest {
  abs: string;
  name: string;
  params: IrColumn[];
  returns: IrType;
}

/** The answer; `text` is the module's text, for excerpts. */
export type ExternOutcome =
  | { kind: "ok"; text: string }
  | { kind: "unreadable"; message: string }
  | { kind: "unknown"; exported: string[] }
  | { kind: "mismatch"; text: string; tsRange: Range; tsText: string; problems: string[] };

export function externKey(req: ExternRequest): string {
  return JSON.stringify([req.abs, req.name, req.params, req.returns]);
}

/** `syntax: false`: the checker only, never the syntactic reading (the tests compare the two). */
export function inspectExtern(req: ExternRequest, opts: { syntax?: boolean } = {}): ExternOutcome {
  const { abs, name, params, returns } = req;
  const scope = `extern fn ${name} in ${abs}`;
  const key = sha256(JSON.stringify([toolchainVersion(), CHECK_OPTIONS.real, params, returns]));
  if (passedBefore(scope, key)) return { kind: "ok", text: fs.readFileSync(abs, "utf8") };
  const source = opts.syntax === false ? undefined : readText(abs);
  if (source !== undefined) {
    const simple = syntacticSignature(tsMorph().ts, source, name);
    if (simple && signatureProblems(req, simple).length === 0) {
      recordPass(scope, key, new Map([[abs, source]]));
      return { kind: "ok", text: source };
    }
  }
  const p = checkerProject("real");
  let sf;
  try {
    // Re-read when already loaded: the module may have changed since (a long-lived process).
    sf = p.getSourceFile(abs);
    if (sf) sf.refreshFromFileSystemSync();
    else sf = p.addSourceFileAtPath(abs);
  } catch (e) {
    return { kind: "unreadable", message: (e as Error).message };
  }
  const exported = sf.getExportedDeclarations();
  const node = exported.get(name)?.[0];
  const signatures = node?.getType().getCallSignatures() ?? [];
  if (!node || signatures.length === 0) return { kind: "unknown", exported: [...exported.keys()] };
  const sig = signatures[0];
  const text = sf.getFullText();
  const start = node.getStart();
  const startLc = sf.getLineAndColumnAtPos(start);
  const nameNode = (node as { getNameNode?: () => { getEnd(): number } }).getNameNode?.();
  const end = nameNode ? nameNode.getEnd() : start + 1;
  const endLc = sf.getLineAndColumnAtPos(end);
  const tsRange: Range = {
    start: { offset: start, line: startLc.line, column: startLc.column },
    end: { offset: end, line: endLc.line, column: endLc.column },
  };
  const tsParams = sig.getParameters().map((s) => {
    const type = s.getTypeAtLocation(node);
    return { name: s.getName(), type: mapTsType(type), text: type.getText(node) };
  });
  const tsReturn = sig.getReturnType();
  const actual = { params: tsParams, returns: { type: mapTsType(tsReturn), text: tsReturn.getText(node) } };
  const tsText = `(${tsParams.map((p) => `${p.name}: ${p.text}`).join(", ")}): ${actual.returns.text}`;
  const problems = signatureProblems(req, actual);
  if (problems.length) return { kind: "mismatch", text, tsRange, tsText, problems };
  recordPass(scope, key, programTexts(p));
  return { kind: "ok", text };
}

/** The module's text, or undefined when it cannot be read (the checker's path reports that). */
function readText(abs: string): string | undefined {
  try {
    return fs.readFileSync(abs, "utf8");
  } catch {
    return undefined;
  }
}
