// generated/<spec>/inference.ts: per model, the function that builds its input
// vector from a request and the stored features (running the same ODT code
// training ran), and the `inference` table the runtime's predictors read.

import type { IrModel } from "../../ir.ts";
import { tsMorph } from "../../ts-project.ts";
import { cite, GENERATED_FILES, odtOf, viewOf, type EmitContext, type Statement } from "../context.ts";
import { Imports } from "../imports.ts";
import { camel, pascal } from "../names.ts";

export function inferenceModule(ctx: EmitContext): Statement[] {
  const imports = new Imports();
  const body: Statement[] = ctx.ir.models.map((model) => inputsFunction(ctx, imports, model));
  const entries = ctx.ir.models.map((m) => `  ${m.name}: { requestSchema: ${pascal(m.name)}RequestSchema, inputs: ${camel(m.name)}Inputs },`);
  body.push(`/** Per model: its request schema and input builder; the runtime's predictors use these. */\nexport const inference = {\n${entries.join("\n")}\n};`);
  return [...imports.statements(GENERATED_FILES), ...body];
}

function inputsFunction(ctx: EmitContext, imports: Imports, model: IrModel): Statement {
  const view = viewOf(ctx, model.view);
  const schemaType = (name: string) => imports.from("schema.ts", name, { type: true });
  const req = schemaType(`${pascal(model.name)}Request`);
  imports.from("schema.ts", `${req}Schema`);
  const feats = schemaType(`${pascal(view.name)}Features`);
  const vec = schemaType(`${pascal(view.name)}Vector`);
  const odtLines = view.odts.map((name) => {
    const o = odtOf(ctx, name);
    const args = [...o.requestParams.map((p) => `request.${p.name}`), ...o.featureParams.map((p) => `features.${p.name}`)];
    return `    ${o.name}: ${imports.from("transforms.ts", o.name)}(${args.join(", ")}),`;
  });
  return {
    kind: tsMorph().StructureKind.Function,
    name: `${camel(model.name)}Inputs`,
    isExported: true,
    docs: [cite(ctx, model.loc, `The input vector of model \`${model.name}\`: the stored features plus the ODTs run on the request (the same ODT code training ran)`)],
    parameters: [{ name: "request", type: req }, { name: "features", type: feats }],
    returnType: vec,
    statements: [`return {\n    ...features,\n${odtLines.join("\n")}\n  };`],
  };
}
