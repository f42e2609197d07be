// generated/<spec>/functions.ts: each `fn` as a TypeScript function, and each
// `extern fn` imported from the user's module and exported again (so that
// fns here can call it).

import type { IrFunction } from "../../ir.ts";
import { tsMorph } from "../../ts-project.ts";
import { cite, GENERATED_FILES, moduleImport, relativeImport, tsExpr, type EmitContext, type Statement } from "../context.ts";
import { Imports } from "../imports.ts";
import { str, tsType } from "../names.ts";

export function functionsModule(ctx: EmitContext): Statement[] {
  const imports = new Imports();
  const bodies: Statement[] = [];
  for (const fn of ctx.ir.functions) {
    // Imported into scope, then exported: a fn of this module may call it (a bare `export … from` binds no local name).
    if (fn.module) {
      bodies.push(`/** ${cite(ctx, fn.loc, `fn \`${fn.name}\``, fn.module)} */\nimport { ${fn.name} } from ${str(moduleImport(ctx, fn.module, "functions.ts"))};\nexport { ${fn.name} };`);
      continue;
    }
    if (fn.extern) {
      const rel = relativeImport(ctx, fn.extern.module);
      const imported = fn.extern.exportName === fn.name ? fn.name : `${fn.extern.exportName} as ${fn.name}`;
      bodies.push(`/** ${cite(ctx, fn.loc, `extern fn \`${fn.name}\``)} */\nimport { ${imported} } from ${str(rel)};\nexport { ${fn.name} };`);
      continue;
    }
    bodies.push(fnStructure(ctx, imports, fn));
  }
  const empty = ctx.ir.functions.length ? [] : ["export {};"];
  return [...imports.statements(GENERATED_FILES), ...empty, ...bodies];
}

function fnStructure(ctx: EmitContext, imports: Imports, fn: IrFunction): Statement {
  return {
    kind: tsMorph().StructureKind.Function,
    name: fn.name,
    isExported: true,
    docs: [cite(ctx, fn.loc, `fn \`${fn.name}\``)],
    // Any argument can be null at run time (SQL semantics: a division by zero upstream), so every parameter admits it.
    parameters: fn.params.map((p) => ({ name: p.name, type: tsType(p.type, true) })),
    returnType: tsType(fn.returns, true), // null arguments give null, whatever the declared type
    statements: [`return ${tsExpr(ctx, imports, "functions.ts", fn.body!, (n) => n)};`],
  };
}
