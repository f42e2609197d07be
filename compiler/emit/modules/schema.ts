// generated/<spec>/schema.ts: per source a row type and its zod schema; per
// view the stored features and the feature vector (stored + ODT values); per
// model the online request (entity keys + the request fields of its ODTs).

import type { IrExpr, IrType, IrView } from "../../ir.ts";
import { columnsOf } from "../../lower/common.ts";
import { cite, GENERATED_FILES, moduleImport, odtOf, tsExpr, viewOf, type EmitContext, type Statement } from "../context.ts";
import { Imports } from "../imports.ts";
import { pascal, str, tsType, zodType } from "../names.ts";
import { tsMorph } from "../../ts-project.ts";

export function schemaModule(ctx: EmitContext): Statement[] {
  const imports = new Imports();
  const z = imports.rt("z");
  const out: Statement[] = [];
  for (const src of ctx.ir.sources) {
    const name = `${pascal(src.name)}Row`;
    if (src.module) {
      out.push(`export { ${name}Schema, type ${name} } from ${str(moduleImport(ctx, src.module, "schema.ts"))};`);
      continue;
    }
    out.push(objectType(name, cite(ctx, src.loc, `A row of source \`${src.name}\``), src.fields.map((f) => [f.name, f.type])));
    out.push(schemaConst(name, src.fields.map((f) => [f.name, f.type]), `${z}.object`, z));
  }
  for (const view of ctx.ir.views) {
    const stored = view.features.map((f) => [f.name, f.type] as [string, IrType]);
    // ODT functions return null on null inputs or domain errors, whatever their declared type.
    const odts = view.odts.map((o) => [o, { ...odtOf(ctx, o).returns, nullable: true }] as [string, IrType]);
    const fname = `${pascal(view.name)}Features`;
    out.push(objectType(fname, cite(ctx, view.loc, `Stored features of view \`${view.name}\`, as read from the feature store`), stored));
    out.push(schemaConst(fname, stored, `${z}.object`, z));
    const vname = `${pascal(view.name)}Vector`;
    // The vector is the stored features plus the ODT values: extend, don't repeat.
    out.push(objectType(vname, cite(ctx, view.loc, `The feature vector of view \`${view.name}\`: stored features plus ODT values`), odts, fname));
    out.push(schemaConst(vname, odts, `${fname}Schema.extend`, z));
  }
  for (const model of ctx.ir.models) {
    const fields = requestFields(viewOf(ctx, model.view));
    const name = `${pascal(model.name)}Request`;
    out.push(objectType(name, cite(ctx, model.loc, `An online request to model \`${model.name}\`: the entity keys and the request fields of its ODTs`), fields));
    out.push(schemaConst(name, fields, `${z}.strictObject`, z, requestCheckRefinement(ctx, imports, viewOf(ctx, model.view))));
  }
  return [...imports.statements(GENERATED_FILES), ...out];
}

/**
 * The spine source's `check`s on the columns that request fields come from,
 * as a zod refinement of the request schema: the same check expressions the
 * feature pipeline lowers to SQL to quarantine training rows, lowered to TS
 * for serving (a value training never saw is a 400 naming the check). Checks
 * that read columns the request does not carry, or call a `fn`, are left out.
 */
function requestCheckRefinement(ctx: EmitContext, imports: Imports, view: IrView): string {
  const source = ctx.ir.sources.find((s) => s.name === view.spine.source);
  if (!source) return "";
  const have = new Set(requestFields(view).map(([n]) => n));
  const lines: string[] = [];
  for (const r of view.requestFields) {
    const field = source.fields.find((f) => f.name === r.name);
    for (const check of field?.checks ?? []) {
      if (hasCall(check.expr) || [...columnsOf(check.expr)].some((c) => !have.has(c))) continue;
      const ts = tsExpr(ctx, imports, "schema.ts", check.expr, (n) => `r.${n}`);
      const message = `${check.text} failed: source \`${source.name}\` quarantines such rows, so the model never saw one`;
      lines.push(`    if ((${ts}) === false) c.addIssue({ code: "custom", path: [${JSON.stringify(r.name)}], message: ${JSON.stringify(message)} });`);
    }
  }
  return lines.length ? `.superRefine((r, c) => {\n${lines.join("\n")}\n  })` : "";
}

function hasCall(e: IrExpr): boolean {
  const stack: IrExpr[] = [e];
  while (stack.length) {
    const x = stack.pop()!;
    if (x.k === "call") return true;
    for (const v of Object.values(x)) {
      if (Array.isArray(v)) for (const y of v) if (y && typeof y === "object" && "k" in y) stack.push(y as IrExpr);
      if (v && typeof v === "object" && "k" in v) stack.push(v as IrExpr);
    }
  }
  return false;
}

function requestFields(view: IrView): Array<[string, IrType]> {
  const request = view.requestFields.filter((r) => !view.keys.some((k) => k.name === r.name));
  return [...view.keys.map((k) => [k.name, k.type] as [string, IrType]), ...request.map((r) => [r.name, r.type] as [string, IrType])];
}

function objectType(name: string, doc: string, fields: Array<[string, IrType]>, base?: string): Statement {
  return {
    kind: tsMorph().StructureKind.Interface,
    name,
    ...(base ? { extends: [base] } : {}),
    isExported: true,
    docs: [doc],
    properties: fields.map(([n, t]) => ({ name: n, type: tsType(t) })),
  };
}

function schemaConst(typeName: string, fields: Array<[string, IrType]>, ctor: string, z: string, refine = ""): Statement {
  return {
    kind: tsMorph().StructureKind.VariableStatement,
    isExported: true,
    declarationKind: tsMorph().VariableDeclarationKind.Const,
    declarations: [{
      name: `${typeName}Schema`,
      // no annotation: checking a zod schema against an interface costs seconds of type-checking
      initializer: `${ctor}({\n${fields.map(([n, t]) => `  ${n}: ${zodType(t, z)},`).join("\n")}\n})${refine}`,
    }],
  };
}
