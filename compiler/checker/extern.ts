// `extern fn`: reads the real signature of a user's TypeScript function with
// ts-morph and compares it with the declared one. A mismatch points at both
// places: the declaration in the spec and the function in the module.

import path from "node:path";
import fs from "node:fs";
import type { Type } from "ts-morph";
import type { ExternFnDecl, Range } from "../ast.ts";
import type { IrColumn, IrType } from "../ir.ts";
import { passedBefore, recordPass, sha256, toolchainVersion } from "../check-cache.ts";
import { DIAG } from "../messages.ts";
import { CHECK_OPTIONS, checkerProject, programTexts } from "../ts-project.ts";
import type { Ctx } from "./context.ts";
import { show } from "./types.ts";
import { confinedPath } from "../../runtime/features/source-paths.ts";

// The compiler's shared TypeScript project (../ts-project.ts) is loaded on
// first use, so specs without extern functions never pay for it here. A
// signature that matched before, with the module and everything it imports
// unchanged, is not read again (../check-cache.ts).

export function checkExternSignature(ctx: Ctx, decl: ExternFnDecl, params: IrColumn[], returns: IrType): boolean {
  const abs = path.resolve(ctx.specDir, decl.module.value);
  if (!confinedPath(decl.module.value, ctx.specDir, ctx.sourceRoots()).inside) {
    ctx.report(decl.module.range, DIAG.pathOutsideProject.externModule(decl.module.value));
    return false;
  }
  if (!fs.existsSync(abs)) {
    ctx.report(decl.module.range, DIAG.moduleNotFound.missing(decl.module.value, path.relative(process.cwd(), abs) || abs));
    return false;
  }
  const relFile = path.relative(process.cwd(), abs) || abs;
  const scope = `extern fn ${decl.name.name} in ${abs}`;
  const key = sha256(JSON.stringify([toolchainVersion(), CHECK_OPTIONS, params, returns]));
  if (passedBefore(scope, key)) {
    ctx.extraSources.set(relFile, fs.readFileSync(abs, "utf8"));
    return true;
  }
  const p = checkerProject();
  let sf;
  try {
    // Re-read when already loaded: the module may have changed since (a long-lived process).
    sf = p.getSourceFile(abs);
    if (sf) sf.refreshFromFileSystemSync();
    else sf = p.addSourceFileAtPath(abs);
  } catch (e) {
    ctx.report(decl.module.range, DIAG.moduleNotFound.unreadable(decl.module.value, (e as Error).message));
    return false;
  }
  const name = decl.name.name;
  const exported = sf.getExportedDeclarations();
  const node = exported.get(name)?.[0];
  const signatures = node?.getType().getCallSignatures() ?? [];
  if (!node || signatures.length === 0) {
    ctx.report(decl.name.range, DIAG.unknownExtern.function(decl.module.value, name, exported.keys()));
    return false;
  }
  const sig = signatures[0];
  const text = sf.getFullText();
  ctx.extraSources.set(relFile, text);
  const start = node.getStart();
  const startLc = sf.getLineAndColumnAtPos(start);
  const nameNode = (node as { getNameNode?: () => { getEnd(): number } }).getNameNode?.();
  const end = nameNode ? nameNode.getEnd() : start + 1;
  const endLc = sf.getLineAndColumnAtPos(end);
  const tsRange: Range = {
    start: { offset: start, line: startLc.line, column: startLc.column },
    end: { offset: end, line: endLc.line, column: endLc.column },
  };
  const tsParams = sig.getParameters().map((s) => ({ name: s.getName(), type: s.getTypeAtLocation(node) }));
  const tsReturn = sig.getReturnType();
  const tsText = `(${tsParams.map((p) => `${p.name}: ${p.type.getText(node)}`).join(", ")}): ${tsReturn.getText(node)}`;
  const problems: string[] = [];
  if (tsParams.length !== params.length) {
    problems.push(`it takes ${tsParams.length} parameter${tsParams.length === 1 ? "" : "s"}, the spec declares ${params.length}`);
  } else {
    params.forEach((p, i) => {
      const actual = mapTsType(tsParams[i].type);
      if (!actual.bases.includes(p.type.base)) problems.push(`parameter ${i + 1} (\`${p.name}\`) is ${tsParams[i].type.getText(node)} in TypeScript but ${show(p.type)} in the spec`);
      else if (p.type.nullable && !actual.nullable) problems.push(`parameter \`${p.name}\` is declared ${show(p.type)} but the TypeScript function does not accept null`);
    });
  }
  const ret = mapTsType(tsReturn);
  if (!ret.bases.includes(returns.base)) problems.push(`it returns ${tsReturn.getText(node)} in TypeScript but ${show(returns)} in the spec`);
  else if (!returns.nullable && ret.nullable) problems.push(`it can return null in TypeScript but the spec declares ${show(returns)}`);
  if (problems.length) {
    ctx.report(decl.name.range, DIAG.externSignature.mismatch(name, problems), [
      { file: relFile, range: tsRange, message: `declared here as ${name}${tsText}` },
    ]);
    return false;
  }
  recordPass(scope, key, programTexts(p));
  return true;
}

/** The fti base types a TS type can stand for, and whether it admits null. */
function mapTsType(type: Type): { bases: string[]; nullable: boolean } {
  const parts = type.isUnion() ? type.getUnionTypes() : [type];
  let nullable = false;
  const bases = new Set<string>();
  for (const p of parts) {
    if (p.isNull() || p.isUndefined()) nullable = true;
    else if (p.isNumber() || p.isNumberLiteral()) { bases.add("float"); bases.add("int"); }
    else if (p.isString() || p.isStringLiteral()) bases.add("string");
    else if (p.isBoolean() || p.isBooleanLiteral()) bases.add("bool");
    else if (p.getText() === "Date") bases.add("timestamp");
    // float[N]: an array of numbers or a Float32Array/Float64Array (the length is checked at run time)
    else if ((p.isArray() || p.isReadonlyArray()) && p.getArrayElementType()?.isNumber()) bases.add("vector");
    else if (p.getText() === "Float32Array" || p.getText() === "Float64Array" || /^Float(32|64)Array<.*>$/.test(p.getText())) bases.add("vector");
    else bases.add("?" + p.getText());
  }
  // `number | null` must not match a base the union doesn't cover entirely.
  if ([...bases].some((b) => b.startsWith("?"))) return { bases: [], nullable };
  return { bases: [...bases], nullable };
}
