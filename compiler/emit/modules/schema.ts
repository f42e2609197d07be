// generated/<spec>/schema.ts: per source a row type and its zod schema; per
// view the stored features and the feature vector (stored + ODT values); per
// model the online request (entity keys + the request fields of its ODTs).

import type { IrType } from "../../ir.ts";
import { cite, GENERATED_FILES, moduleImport, odtOf, viewOf, type EmitContext, type Statement } from "../context.ts";
import { Imports } from "../imports.ts";
import { hasRequestChecks, requestCheckFunction, requestCheckName, requestFieldTypes } from "../request-checks.ts";
import { pascal, str, tsType, zodType } from "../names.ts";
import { tsMorph } from "../../ts-project.ts";

export function schemaModule(ctx: EmitContext): Statement[] {
  const imports = new Imports();
  const z = imports.rt("z");
  const ts = imports.rt("requestTimestamp");
  const out: Statement[] = [];
  for (const src of ctx.ir.sources) {
    const name = `${pascal(src.name)}Row`;
    if (src.module) {
      out.push(`export { ${name}Schema, type ${name} } from ${str(moduleImport(ctx, src.module, "schema.ts"))};`);
      continue;
    }
    out.push(objectType(name, cite(ctx, src.loc, `A row of source \`${src.name}\``), src.fields.map((f) => [f.name, f.type])));
    out.push(schemaConst(name, src.fields.map((f) => [f.name, f.type]), `${z}.object`, z, ts));
  }
  for (const view of ctx.ir.views) {
    const stored = view.features.map((f) => [f.name, f.type] as [string, IrType]);
    // ODT functions return null on null inputs or domain errors, whatever their declared type.
    const odts = view.odts.map((o) => [o, { ...odtOf(ctx, o).returns, nullable: true }] as [string, IrType]);
    const fname = `${pascal(view.name)}Features`;
    // No stored feature (a view of ODTs only, e.g. over rows without time): z.infer of an empty
    // object is Record<string, never>, which the vector's fields cannot extend; the vector then stands alone.
    const none = stored.length === 0;
    out.push(objectType(fname, cite(ctx, view.loc, `Stored features of view \`${view.name}\`, as read from the feature store`), stored, undefined, none));
    out.push(schemaConst(fname, stored, `${z}.object`, z, ts));
    const vname = `${pascal(view.name)}Vector`;
    // The vector is the stored features plus the ODT values: extend, don't repeat.
    out.push(objectType(vname, cite(ctx, view.loc, `The feature vector of view \`${view.name}\`: stored features plus ODT values`), odts, none ? undefined : fname));
    out.push(schemaConst(vname, odts, `${fname}Schema.extend`, z, ts));
    const check = requestCheckFunction(ctx, imports, view);
    if (check) out.push(check);
  }
  for (const model of ctx.ir.models) {
    const view = viewOf(ctx, model.view);
    const fields = requestFieldTypes(view);
    const name = `${pascal(model.name)}Request`;
    out.push(objectType(name, cite(ctx, model.loc, `An online request to model \`${model.name}\`: the entity keys and the request fields of its ODTs`), fields, undefined, true));
    // The view's request checks (request-checks.ts) as a refinement: a value training never saw is a 400 at its field.
    // It runs after type errors too (skipping the checks of fields that failed), so one 400 lists every failure.
    const refine = hasRequestChecks(ctx, view)
      ? `.superRefine(${imports.rt("refineRequest")}(${requestCheckName(view)}), ${imports.rt("REQUEST_CHECKS_AFTER_TYPE_ERRORS")})`
      : "";
    out.push(schemaConst(name, fields, `${z}.strictObject`, z, ts, refine));
  }
  return [...imports.statements(GENERATED_FILES), ...out];
}

/** `empty`: with no field, the type z.infer gives an empty object schema (a request without fields, no stored features). */
function objectType(name: string, doc: string, fields: Array<[string, IrType]>, base?: string, empty = false): Statement {
  // No field at all (a model of one series without request fields, a view of ODTs only): what
  // z.infer gives an empty (strict)object, so the type and its schema stay one type.
  if (fields.length === 0 && empty) {
    return { kind: tsMorph().StructureKind.TypeAlias, name, isExported: true, docs: [doc], type: "Record<string, never>" };
  }
  return {
    kind: tsMorph().StructureKind.Interface,
    name,
    ...(base ? { extends: [base] } : {}),
    isExported: true,
    docs: [doc],
    properties: fields.map(([n, t]) => ({ name: n, type: tsType(t) })),
  };
}

function schemaConst(typeName: string, fields: Array<[string, IrType]>, ctor: string, z: string, ts: string, refine = ""): Statement {
  return {
    kind: tsMorph().StructureKind.VariableStatement,
    isExported: true,
    declarationKind: tsMorph().VariableDeclarationKind.Const,
    declarations: [{
      name: `${typeName}Schema`,
      // no annotation: checking a zod schema against an interface costs seconds of type-checking
      initializer: `${ctor}({\n${fields.map(([n, t]) => `  ${n}: ${zodType(t, z, ts)},`).join("\n")}\n})${refine}`,
    }],
  };
}
