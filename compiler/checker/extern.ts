// `extern fn`: checks the user's TypeScript function against the declared
// signature. A mismatch points at both places: the declaration in the spec
// and the function in the module. The TypeScript half is extern-inspect.ts;
// here the paths are checked and its answer becomes diagnostics.
//
// A spec without extern functions never loads TypeScript for this.

import path from "node:path";
import fs from "node:fs";
import type { ExternFnDecl } from "../ast.ts";
import type { IrColumn, IrType } from "../ir.ts";
import { DIAG } from "../messages.ts";
import type { Ctx } from "./context.ts";
import { inspectExtern, type ExternRequest } from "./extern-inspect.ts";
import { confinedPath, realPathInside } from "../../runtime/features/source-paths.ts";

export function checkExternSignature(ctx: Ctx, decl: ExternFnDecl, params: IrColumn[], returns: IrType): boolean {
  const abs = path.resolve(ctx.specDir, decl.module.value);
  const roots = ctx.sourceRoots();
  if (!confinedPath(decl.module.value, ctx.specDir, roots).inside) {
    ctx.report(decl.module.range, DIAG.pathOutsideProject.externModule(decl.module.value));
    return false;
  }
  if (!fs.existsSync(abs)) {
    ctx.report(decl.module.range, DIAG.moduleNotFound.missing(decl.module.value, path.relative(process.cwd(), abs) || abs));
    return false;
  }
  // The module runs in the pipelines: a symlink inside the project to code outside it is refused as imports are.
  if (!realPathInside(abs, roots)) {
    ctx.report(decl.module.range, DIAG.pathOutsideProject.externModule(decl.module.value, true));
    return false;
  }
  const relFile = path.relative(process.cwd(), abs) || abs;
  const name = decl.name.name;
  const req: ExternRequest = { abs, name, params, returns };
  const outcome = inspectExtern(req);
  switch (outcome.kind) {
    case "ok":
      ctx.extraSources.set(relFile, outcome.text);
      return true;
    case "unreadable":
      ctx.report(decl.module.range, DIAG.moduleNotFound.unreadable(decl.module.value, outcome.message));
      return false;
    case "unknown":
      ctx.report(decl.name.range, DIAG.unknownExtern.function(decl.module.value, name, outcome.exported));
      return false;
    case "mismatch":
      ctx.extraSources.set(relFile, outcome.text);
      ctx.report(decl.name.range, DIAG.externSignature.mismatch(name, outcome.problems), [
        { file: relFile, range: outcome.tsRange, message: `declared here as ${name}${outcome.tsText}` },
      ]);
      return false;
  }
}
