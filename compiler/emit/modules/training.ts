// generated/<spec>/training.ts: the view plans (spine, joins, features, ODTs)
// and the model plans (algorithm, inputs with their MDT steps, encoder, split,
// metrics, gates). Each ODT's plan (with the function that computes it over a
// training row) is declared once and shared by the views that use it; a
// view's features name only their join (`$rt.joinedFeatures` fills in the
// group and table).

import { spineToSql } from "../../lower/view-sql.ts";
import { odtToSql } from "../../lower/odt-sql.ts";
import type { IrModel, IrOdt, IrType, IrView } from "../../ir.ts";
import { cite, constStatement, GENERATED_FILES, type EmitContext, type Statement } from "../context.ts";
import { Imports } from "../imports.ts";
import { hasRequestChecks, requestCheckName } from "../request-checks.ts";
import { camel, columnType, pascal, str, tsLiteral, tsType } from "../names.ts";

export function trainingModule(ctx: EmitContext): Statement[] {
  const imports = new Imports();
  const body: Statement[] = [];
  const used = new Set(ctx.ir.views.flatMap((v) => v.odts));
  for (const odt of ctx.ir.onDemand) if (used.has(odt.name)) body.push(odtStatement(ctx, imports, odt));
  for (const view of ctx.ir.views) body.push(viewStatement(ctx, imports, view));
  for (const model of ctx.ir.models) body.push(modelStatement(ctx, imports, model));
  body.push(`export const views: ${imports.rt("ViewPlan")}[] = [${ctx.ir.views.map((v) => `${camel(v.name)}View`).join(", ")}];`);
  body.push(`export const models: ${imports.rt("ModelPlan")}[] = [${ctx.ir.models.map((m) => `${camel(m.name)}Model`).join(", ")}];`);
  return [...imports.statements(GENERATED_FILES), ...body];
}

/** `(r, f) => r.x === null ? null : odt(r.x as number, f.pace as number | null)`: request fields declared non-null short-circuit to null. */
export function odtCompute(imports: Imports, odt: IrOdt): string {
  const arg = (row: string, p: { name: string; type: IrType }) =>
    p.type.base === "timestamp" ? `${imports.rt("asDate")}(${row}.${p.name})` : `${row}.${p.name} as ${tsType(p.type, true)}`;
  const args = [...odt.requestParams.map((p) => arg("r", p)), ...odt.featureParams.map((p) => arg("f", p))];
  const guards = odt.requestParams.filter((p) => !p.type.nullable).map((p) => `r.${p.name} === null || r.${p.name} === undefined`);
  const call = `${imports.from("transforms.ts", odt.name)}(${args.join(", ")})`;
  const row = `Record<string, ${imports.rt("Scalar")}>`;
  return `(r: ${row}, f: ${row}) => ${guards.length ? `(${guards.join(" || ")} ? null : ${call})` : call}`;
}

function odtName(name: string): string {
  return `${camel(name)}Odt`;
}

/** One ODT's plan, shared by every view that uses it; `sql` when its body has a bit-exact DuckDB form (lower/odt-sql.ts). */
function odtStatement(ctx: EmitContext, imports: Imports, o: IrOdt): string {
  const requestParams = o.requestParams.map((p) => ({ name: p.name, type: columnType(p.type), nullable: p.type.nullable }));
  const lowered = odtToSql(o, ctx.ir.functions);
  const sql = "sql" in lowered ? `\n  sql: ${tsLiteral(lowered.sql, "  ")},` : "";
  const init = `{
  name: ${str(o.name)},
  line: ${o.loc.line},
  requestParams: ${tsLiteral(requestParams, "  ")},
  featureParams: ${tsLiteral(o.featureParams.map((p) => p.name))},
  returns: ${tsLiteral({ name: o.name, type: columnType(o.returns), nullable: true })},
  compute: ${odtCompute(imports, o)},${sql}
}`;
  const doc = cite(ctx, o.loc, `ODT \`${o.name}\` over a training row (its function is in transforms.ts, shared with inference)`);
  return `\n/** ${doc} */\nconst ${odtName(o.name)}: ${imports.rt("OdtPlan")} = ${init};`;
}

/** `{ name, join, type }`, and `column` when it is not the name: the join names the group and table. */
function featureEntry(f: IrView["features"][number]): string {
  return tsLiteral({ name: f.name, join: f.join, type: columnType(f.type), ...(f.column === f.name ? {} : { column: f.column }) }, "    ");
}

function viewStatement(ctx: EmitContext, imports: Imports, view: IrView): string {
  const groupTable = (g: string) => ctx.ir.groups.find((x) => x.name === g)!.table;
  const spineSql = spineToSql(view, ctx.ir.functions);
  const spine = { source: view.spine.source, eventTime: view.spine.eventTime, where: spineSql.where, entityColumns: view.spine.entityColumns };
  const label = { name: view.label.name, type: columnType(view.label.type), text: view.label.text, sql: spineSql.label, forward: spineSql.forward };
  // A join on the columns named like the group's keys is named by the group; one `by` other columns names them too.
  const joinId = (j: IrView["joins"][number]) => (j.on.every((o) => o.key === o.column) ? j.group : `${j.group}(${j.on.map((o) => o.column).join(", ")})`);
  const joins = view.joins.map((j) => ({ id: joinId(j), group: j.group, table: groupTable(j.group), on: j.on }));
  const joinsName = `${camel(view.name)}Joins`;
  const joinsConst = `\n/** The point-in-time joins of view \`${view.name}\`. */\nconst ${joinsName}: ${imports.rt("ViewJoinPlan")}[] = [\n${joins.map((j) => `  ${tsLiteral(j, "  ")},`).join("\n")}\n];`;
  const init = `{
  name: ${str(view.name)},
  line: ${view.loc.line},
  entity: ${view.entity === null ? "null" : str(view.entity)},
  keys: ${tsLiteral(view.keys.map((k) => ({ name: k.name, type: columnType(k.type), nullable: false })), "  ")},
  spine: ${tsLiteral(spine, "  ")},
  label: ${tsLiteral(label, "  ")},
  joins: ${joinsName},
  features: ${imports.rt("joinedFeatures")}(${joinsName}, [
${view.features.map((f) => `    ${featureEntry(f)},`).join("\n")}
  ]),
  odts: [${view.odts.map(odtName).join(", ")}],
  requestFields: ${tsLiteral(view.requestFields.map((r) => ({ name: r.name, type: columnType(r.type), nullable: r.type.nullable })), "  ")},
  ttlMs: ${view.ttlMs},
  asOf: ${str(view.asOf)},${hasRequestChecks(ctx, view) ? `\n  checkRequest: ${imports.from("schema.ts", requestCheckName(view))},` : ""}
}`;
  const doc = cite(ctx, view.loc, `view \`${view.name}\`: one row per \`${view.spine.source}\` row ${view.spine.eventTime === null ? "(no event time: at the time the table was read)" : `at \`${view.spine.eventTime}\``}, labelled \`${view.label.name} = ${view.label.text.replace(/\*\//g, "* /")}\``);
  return joinsConst + "\n" + constStatement(`${camel(view.name)}View`, imports.rt("ViewPlan"), init, doc);
}

function modelStatement(ctx: EmitContext, imports: Imports, model: IrModel): string {
  // A missing entity leaves the stored features null, so every input they reach needs `impute`; an ODT that
  // reads request fields only is computed from the request whatever the store holds.
  const requestOnly = (name: string) => ctx.ir.onDemand.find((o) => o.name === name)?.featureParams.length === 0;
  const canImpute = model.inputs.every((i) => i.mdts.some((m) => m.kind === "impute") || (i.from === "odt" && requestOnly(i.name)));
  const steps = imports.from("transforms.ts", `${model.name}_steps`);
  const init = `{
  name: ${str(model.name)},
  line: ${model.loc.line},
  view: ${str(model.view)},
  task: ${str(model.task)},
  algorithm: ${tsLiteral(model.algorithm)},
  inputs: [
${model.inputs.map((i) => `    { name: ${str(i.name)}, from: ${str(i.from)}, type: ${str(columnType(i.type))}, steps: ${steps}.${i.name} },`).join("\n")}
  ],
  encode: ${imports.from("transforms.ts", `encode_${model.name}`)},
  split: ${tsLiteral(model.split)},
  metrics: ${tsLiteral(model.metrics)},
  requires: ${tsLiteral(model.requires)},
  canImpute: ${canImpute},
  requestSchema: ${imports.from("schema.ts", `${pascal(model.name)}RequestSchema`)},${model.retrain ? `\n  retrain: ${tsLiteral(model.retrain).replace(/\n/g, "\n  ")},` : ""}
}`;
  const doc = cite(ctx, model.loc, `model \`${model.name}\` (${model.task}, ${model.algorithm.kind})`);
  return constStatement(`${camel(model.name)}Model`, imports.rt("ModelPlan"), init, doc);
}
