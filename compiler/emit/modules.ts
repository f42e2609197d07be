// The generated modules, one function per file. Each returns ts-morph
// statements (structures and code strings) that project.ts prints into a
// source file. Emitters read only the IR.
//
// Import rules: generated code imports "fti/runtime" and its sibling files,
// and, for `extern fn` only, the user's own module.

import path from "node:path";
import type { StatementStructures, WriterFunction } from "ts-morph";
import { embedCallInfo, type IrExpr, type IrFunction, type IrGroup, type IrModel, type IrModelInput, type IrMdt, type IrOdt, type IrSpec, type IrType, type IrView, type Loc } from "../ir.ts";
import { checkToSql } from "../lower/sql.ts";
import { groupToSql } from "../lower/group-sql.ts";
import { exprToTs } from "../lower/ts.ts";
import { tsMorph } from "../ts-project.ts";
import { camel, columnType, pascal, str, tsLiteral, tsType, zodType } from "./names.ts";

// ts-morph's enums are read from the lazily required module (tsMorph()), not
// imported: Node's ESM import of a CommonJS package scans its source for
// export names, about 0.3 s of every compile for ts-morph.

export type Statement = string | WriterFunction | StatementStructures;

export interface EmitContext {
  ir: IrSpec;
  /** The spec file as cited in comments: "specs/athlete.fti". */
  specFile: string;
  /** From the output directory to the spec's directory, for import.meta-relative paths. */
  outToSpecDir: string;
}

/** The runtime helpers a TS expression may reference; imported wholesale from "fti/runtime". */
export const RUNTIME_IMPORT = "fti/runtime";

function cite(ctx: EmitContext, loc: Loc, what: string): string {
  return `${what} — ${ctx.specFile}:${loc.line}`;
}

function tsOf(ctx: EmitContext, e: IrExpr, names: (name: string) => string): string {
  return exprToTs(e, { col: names, param: names, call: (n) => n, functions: ctx.ir.functions });
}

/** Every helper name a TS expression might use, found by scanning the generated text. */
export function usedHelpers(code: string, helpers: readonly string[]): string[] {
  // Sorted: the order of a module namespace's keys is not the same under every loader.
  return helpers.filter((h) => new RegExp(`\\b${h}\\(`).test(code)).sort();
}

// ------------------------------------------------------------------ schema.ts

export function schemaModule(ctx: EmitContext): Statement[] {
  const out: Statement[] = [`import { z } from "${RUNTIME_IMPORT}";`];
  for (const src of ctx.ir.sources) {
    const name = `${pascal(src.name)}Row`;
    out.push(objectType(name, cite(ctx, src.loc, `A row of source \`${src.name}\``), src.fields.map((f) => [f.name, f.type])));
    out.push(schemaConst(name, src.fields.map((f) => [f.name, f.type]), "z.object"));
  }
  for (const view of ctx.ir.views) {
    const stored = view.features.map((f) => [f.name, f.type] as [string, IrType]);
    // ODT functions return null on null inputs or domain errors, whatever their declared type.
    const odts = view.odts.map((o) => [o, { ...odtOf(ctx, o).returns, nullable: true }] as [string, IrType]);
    const fname = `${pascal(view.name)}Features`;
    out.push(objectType(fname, cite(ctx, view.loc, `Stored features of view \`${view.name}\`, as read from the feature store`), stored));
    out.push(schemaConst(fname, stored, "z.object"));
    const vname = `${pascal(view.name)}Vector`;
    // The vector is the stored features plus the ODT values: extend, don't repeat.
    out.push(objectType(vname, cite(ctx, view.loc, `The feature vector of view \`${view.name}\`: stored features plus ODT values`), odts, fname));
    out.push(schemaConst(vname, odts, `${fname}Schema.extend`));
  }
  for (const model of ctx.ir.models) {
    const view = viewOf(ctx, model.view);
    const fields = requestFields(view);
    const name = `${pascal(model.name)}Request`;
    out.push(objectType(name, cite(ctx, model.loc, `An online request to model \`${model.name}\`: the entity keys and the request fields of its ODTs`), fields));
    out.push(schemaConst(name, fields, "z.strictObject"));
  }
  return out;
}

function requestFields(view: IrView): Array<[string, IrType]> {
  return [...view.keys.map((k) => [k.name, k.type] as [string, IrType]), ...view.requestFields.map((r) => [r.name, r.type] as [string, IrType])];
}

function objectType(name: string, doc: string, fields: Array<[string, IrType]>, base?: string): StatementStructures {
  return {
    kind: tsMorph().StructureKind.Interface,
    name,
    ...(base ? { extends: [base] } : {}),
    isExported: true,
    docs: [doc],
    properties: fields.map(([n, t]) => ({ name: n, type: tsType(t) })),
  };
}

function schemaConst(typeName: string, fields: Array<[string, IrType]>, ctor: string): StatementStructures {
  return {
    kind: tsMorph().StructureKind.VariableStatement,
    isExported: true,
    declarationKind: tsMorph().VariableDeclarationKind.Const,
    declarations: [{
      name: `${typeName}Schema`,
      // no annotation: checking a zod schema against an interface costs seconds of type-checking
      initializer: `${ctor}({\n${fields.map(([n, t]) => `  ${n}: ${zodType(t)},`).join("\n")}\n})`,
    }],
  };
}

// ------------------------------------------------------------------ functions.ts

export function functionsModule(ctx: EmitContext, helpers: readonly string[]): Statement[] {
  const out: Statement[] = [];
  const bodies: Statement[] = [];
  for (const fn of ctx.ir.functions) {
    if (fn.extern) {
      const rel = relativeImport(ctx, fn.extern.module);
      bodies.push(`/** ${cite(ctx, fn.loc, `extern fn \`${fn.name}\``)} */\nexport { ${fn.extern.exportName === fn.name ? fn.name : `${fn.extern.exportName} as ${fn.name}`} } from ${str(rel)};`);
      continue;
    }
    bodies.push(fnStructure(ctx, fn));
  }
  const code = bodies.map((b) => (typeof b === "string" ? b : JSON.stringify(b))).join("\n");
  const used = usedHelpers(code, helpers);
  if (used.length) out.push(`import { ${used.join(", ")} } from "${RUNTIME_IMPORT}";`);
  if (!ctx.ir.functions.length) out.push("export {};");
  return [...out, ...bodies];
}

function relativeImport(ctx: EmitContext, moduleFromSpec: string): string {
  const rel = path.posix.join(ctx.outToSpecDir, moduleFromSpec);
  return rel.startsWith(".") ? rel : `./${rel}`;
}

function fnStructure(ctx: EmitContext, fn: IrFunction): StatementStructures {
  return {
    kind: tsMorph().StructureKind.Function,
    name: fn.name,
    isExported: true,
    docs: [cite(ctx, fn.loc, `fn \`${fn.name}\``)],
    // Any argument can be null at run time (SQL semantics: a division by zero upstream), so every parameter admits it.
    parameters: fn.params.map((p) => ({ name: p.name, type: tsType(p.type, true) })),
    returnType: tsType(fn.returns, true), // null arguments give null, whatever the declared type
    statements: [`return ${tsOf(ctx, fn.body!, (n) => n)};`],
  };
}

// ------------------------------------------------------------------ transforms.ts

export const HASH_PLACEHOLDER = "__FTI_TRANSFORMS_HASH__";

export function transformsModule(ctx: EmitContext, helpers: readonly string[]): Statement[] {
  const body: Statement[] = [];
  body.push(`/** sha256 of this file's text with this constant's value blanked: the registry stores it with every model, and inference refuses a model whose hash differs. */\nexport const TRANSFORMS_HASH = "${HASH_PLACEHOLDER}";`);
  for (const odt of ctx.ir.onDemand) body.push(odtStructure(ctx, odt));
  for (const model of ctx.ir.models) {
    body.push(stepsConst(ctx, model));
    body.push(encodeFunction(ctx, model));
  }
  const code = body.map((b) => (typeof b === "string" ? b : JSON.stringify(b))).join("\n");
  const used = usedHelpers(code, helpers);
  const fnNames = ctx.ir.functions.map((f) => f.name).filter((n) => new RegExp(`\\b${n}\\(`).test(code));
  const stateTypes = STATE_TYPES.filter((t) => code.includes(t)).map((t) => `type ${t}`);
  const imports: Statement[] = [
    `import { ${[...used, "type FittedState", "type MdtStep", "type Scalar", ...stateTypes].join(", ")} } from "${RUNTIME_IMPORT}";`,
  ];
  if (fnNames.length) imports.push(`import { ${fnNames.join(", ")} } from "./functions.ts";`);
  return [...imports, ...body];
}

function odtStructure(ctx: EmitContext, odt: IrOdt): StatementStructures {
  const params = [...odt.requestParams, ...odt.featureParams].map((p) => ({ name: p.name, type: tsType(p.type, true) }));
  return {
    kind: tsMorph().StructureKind.Function,
    name: odt.name,
    isExported: true,
    docs: [cite(ctx, odt.loc, `ODT \`${odt.name}\`: runs online and over the training spine`)],
    parameters: params,
    returnType: tsType(odt.returns, true),
    statements: [`return ${tsOf(ctx, odt.body, (n) => n)};`],
  };
}

/** The one implementation of each MDT step, as `apply(value, fittedState)`. */
function stepCode(mdt: IrMdt): { params: string; apply: string } {
  switch (mdt.kind) {
    case "standard_scale":
      return { params: "{}", apply: "(v, s: StandardScaleState) => (v === null ? null : ((v as number) - s.mean) / s.std)" };
    case "min_max_scale":
      return { params: "{}", apply: "(v, s: MinMaxScaleState) => (v === null ? null : s.max === s.min ? 0 : ((v as number) - s.min) / (s.max - s.min))" };
    case "log1p":
      return { params: "{}", apply: "(v) => (v === null || (v as number) <= -1 ? null : Math.log1p(v as number))" };
    case "clip": {
      const lo = mdt.min === null ? "v as number" : `Math.max(v as number, ${mdt.min})`;
      const hi = mdt.max === null ? lo : `Math.min(${lo}, ${mdt.max})`;
      return { params: tsLiteral({ min: mdt.min, max: mdt.max }), apply: `(v) => (v === null ? null : ${hi})` };
    }
    case "impute":
      return { params: tsLiteral({ strategy: mdt.strategy, ...(mdt.value !== undefined ? { value: mdt.value } : {}) }), apply: "(v, s: ImputeState) => (v === null ? s.value : v)" };
    case "bucketize":
      return {
        params: tsLiteral({ boundaries: mdt.boundaries }),
        apply: `(v) => {\n  if (v === null) return null;\n  const b = ${tsLiteral(mdt.boundaries)};\n  let i = 0;\n  while (i < b.length && (v as number) >= b[i]) i++;\n  return i;\n}`,
      };
    case "one_hot":
      return { params: tsLiteral(mdt.categories ? { categories: mdt.categories } : {}), apply: "(v) => v" };
  }
}

function stepsConst(ctx: EmitContext, model: IrModel): Statement {
  const entries = model.inputs.map((input) => {
    const steps = input.mdts.map((m) => {
      const c = stepCode(m);
      return `{ kind: "${m.kind}", params: ${c.params.replace(/\n\s*/g, " ")}, apply: ${c.apply} }`;
    });
    return `  ${input.name}: [${steps.length ? `\n    ${steps.join(",\n    ")},\n  ` : ""}],`;
  });
  return `/** ${cite(ctx, model.loc, `MDT steps of model \`${model.name}\`, per input, applied left to right`)} */\nexport const ${model.name}_steps: Record<string, MdtStep[]> = {\n${entries.join("\n")}\n};`;
}

function encodeFunction(ctx: EmitContext, model: IrModel): Statement {
  const lines: string[] = ["let o = offset;", "let v: Scalar;"];
  for (const input of model.inputs) lines.push(...encodeInput(model, input));
  return `/** ${cite(ctx, model.loc, `Encodes one row of model \`${model.name}\`'s inputs into its matrix with the fitted MDT state; null becomes NaN`)} */\nexport function encode_${model.name}(row: Record<string, Scalar>, state: FittedState, out: Float32Array, offset: number): void {\n${lines.map((l) => "  " + l).join("\n")}\n}`;
}

function encodeInput(model: IrModel, input: IrModelInput): string[] {
  const lines = [`// ${input.name}${input.mdts.length ? ": " + input.mdts.map((m) => m.kind).join(" → ") : ""}`, `v = row.${input.name} ?? null;`];
  input.mdts.forEach((m, i) => {
    if (m.kind !== "one_hot") lines.push(`v = ${model.name}_steps.${input.name}[${i}].apply(v, state.inputs.${input.name}[${i}]);`);
  });
  if (input.mdts.at(-1)?.kind === "one_hot") {
    const i = input.mdts.length - 1;
    lines.push(
      `{`,
      `  const categories = (state.inputs.${input.name}[${i}] as OneHotState).categories;`,
      `  const hit = v === null ? -1 : categories.indexOf(String(v));`,
      `  for (let j = 0; j < categories.length; j++) out[o + j] = j === hit ? 1 : 0;`,
      `  o += categories.length;`,
      `}`,
    );
  } else {
    lines.push(`out[o++] = v === null ? NaN : typeof v === "boolean" ? (v ? 1 : 0) : (v as number);`);
  }
  return lines;
}

/** State types the step code annotates with; imported only when used. */
export const STATE_TYPES = ["StandardScaleState", "MinMaxScaleState", "ImputeState", "OneHotState"] as const;

// ------------------------------------------------------------------ features.ts

export function featuresModule(ctx: EmitContext): Statement[] {
  const out: Statement[] = [`import type { GroupPlan, SourcePlan } from "${RUNTIME_IMPORT}";`];
  for (const src of ctx.ir.sources) {
    const plan = {
      name: src.name,
      line: src.loc.line,
      location: src.location,
      eventTime: src.eventTime,
      ...(src.unique ? { unique: src.unique } : {}),
      fields: src.fields.map((f) => ({ name: f.name, type: columnType(f.type), nullable: f.type.nullable, ...(f.allowed ? { allowed: f.allowed } : {}) })),
      checks: src.fields.flatMap((f) => f.checks.map((c) => ({ field: f.name, text: c.text, sql: checkToSql(c.expr, ctx.ir.functions) }))),
    };
    out.push(constStatement(`${camel(src.name)}Source`, "SourcePlan", tsLiteral(plan), cite(ctx, src.loc, `source \`${src.name}\``)));
  }
  for (const g of ctx.ir.groups) {
    const sql = groupToSql(g, ctx.ir);
    const column = (name: string, t: IrType) => ({ name, type: columnType(t), nullable: t.nullable });
    const externs = ctx.ir.functions
      .filter((f) => f.extern && new RegExp(`\\b${f.name}\\(`).test(sql))
      .map((f) => ({ name: f.name, params: f.params.map((p) => column(p.name, p.type)), returns: column("result", f.returns) }));
    const plan = {
      name: g.name,
      version: g.version,
      line: g.loc.line,
      table: g.table,
      entity: g.entity,
      keys: g.keys.map((k) => ({ name: k.name, type: columnType(k.type), nullable: false })),
      input: g.input,
      ...(g.rowId ? { rowId: { name: g.rowId.name, type: columnType(g.rowId.type), nullable: false } } : {}),
      features: g.features.map((f) => ({ name: f.name, type: columnType(f.type), nullable: f.type.nullable })),
      lookbackMs: g.lookbackMs,
    };
    const embeddings = embedUses(g);
    const embedText = embeddings.length ? `\n  embeddings: ${tsLiteral(embeddings)},` : "";
    const text = tsLiteral(plan).replace(/,\n}$/, `,\n  sql: ${templateLiteral(sql)},\n  externs: ${tsLiteral(externs)},${embedText}\n}`);
    out.push(constStatement(`${camel(g.name)}Group`, "GroupPlan", text, cite(ctx, g.loc, `feature group \`${g.name}\` (MITs), computed in DuckDB`)));
  }
  out.push(`export const sources: SourcePlan[] = [${ctx.ir.sources.map((s) => `${camel(s.name)}Source`).join(", ")}];`);
  out.push(`/** In dependency order: a group comes after the group it reads from. */\nexport const groups: GroupPlan[] = [${ctx.ir.groups.map((g) => `${camel(g.name)}Group`).join(", ")}];`);
  return out;
}

/** The distinct (length, model) pairs of the group's `embed` calls (they are only ever a row feature's expression or inside it). */
function embedUses(g: IrGroup): Array<{ dim: number; model: string | null }> {
  const seen = new Map<string, { dim: number; model: string | null }>();
  const visit = (e: IrExpr): void => {
    if (e.k === "builtin" && e.name === "embed") {
      const use = embedCallInfo(e.args);
      seen.set(`${use.dim}:${use.model}`, use);
    }
    for (const child of childExprs(e)) visit(child);
  };
  for (const f of g.features) if (f.kind === "row") visit(f.expr);
  return [...seen.values()];
}

function childExprs(e: IrExpr): IrExpr[] {
  switch (e.k) {
    case "call":
    case "builtin":
      return e.args;
    case "unary":
      return [e.arg];
    case "binary":
      return [e.left, e.right];
    case "if":
      return [e.cond, e.then, e.else];
    case "in":
      return [e.arg, ...e.values];
    default:
      return [];
  }
}

function templateLiteral(sql: string): string {
  return "`" + sql.replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${") + "`";
}

/** An exported, documented const, as code (structures would re-indent the initializer). */
function constStatement(name: string, type: string, initializer: string, doc: string): string {
  return `\n/** ${doc} */\nexport const ${name}: ${type} = ${initializer};`;
}

// ------------------------------------------------------------------ training.ts

export function trainingModule(ctx: EmitContext): Statement[] {
  const odtNames = ctx.ir.onDemand.filter((o) => ctx.ir.views.some((v) => v.odts.includes(o.name))).map((o) => o.name);
  const usesDates = ctx.ir.onDemand.some((o) => [...o.requestParams, ...o.featureParams].some((p) => p.type.base === "timestamp"));
  const out: Statement[] = [
    `import { ${usesDates ? "asDate, " : ""}type ModelPlan, type Scalar, type ViewPlan } from "${RUNTIME_IMPORT}";`,
    `import { ${[...odtNames, ...ctx.ir.models.flatMap((m) => [`${m.name}_steps`, `encode_${m.name}`])].join(", ") || "TRANSFORMS_HASH as _unused"} } from "./transforms.ts";`,
  ];
  for (const view of ctx.ir.views) out.push(viewStatement(ctx, view));
  for (const model of ctx.ir.models) out.push(modelStatement(ctx, model));
  if (ctx.ir.models.length) out.splice(2, 0, `import { ${ctx.ir.models.map((m) => `${pascal(m.name)}RequestSchema`).join(", ")} } from "./schema.ts";`);
  out.push(`export const views: ViewPlan[] = [${ctx.ir.views.map((v) => `${camel(v.name)}View`).join(", ")}];`);
  out.push(`export const models: ModelPlan[] = [${ctx.ir.models.map((m) => `${camel(m.name)}Model`).join(", ")}];`);
  return out;
}

/** `(r, f) => r.x === null ? null : odt(r.x as number, f.pace as number | null)`: request fields declared non-null short-circuit to null. */
function odtCompute(odt: IrOdt): string {
  const arg = (row: string, p: { name: string; type: IrType }) =>
    p.type.base === "timestamp" ? `asDate(${row}.${p.name})` : `${row}.${p.name} as ${tsType(p.type, true)}`;
  const args = [...odt.requestParams.map((p) => arg("r", p)), ...odt.featureParams.map((p) => arg("f", p))];
  const guards = odt.requestParams.filter((p) => !p.type.nullable).map((p) => `r.${p.name} === null || r.${p.name} === undefined`);
  const call = `${odt.name}(${args.join(", ")})`;
  return `(r: Record<string, Scalar>, f: Record<string, Scalar>) => ${guards.length ? `(${guards.join(" || ")} ? null : ${call})` : call}`;
}

function viewStatement(ctx: EmitContext, view: IrView): string {
  const odts = view.odts.map((name) => {
    const o = odtOf(ctx, name);
    return `    {\n      name: ${str(o.name)},\n      line: ${o.loc.line},\n      requestParams: ${tsLiteral(o.requestParams.map((p) => ({ name: p.name, type: columnType(p.type), nullable: p.type.nullable })), "      ")},\n      featureParams: ${tsLiteral(o.featureParams.map((p) => p.name))},\n      returns: ${tsLiteral({ name: o.name, type: columnType(o.returns), nullable: true })},\n      compute: ${odtCompute(o)},\n    }`;
  });
  const groupTable = (g: string) => ctx.ir.groups.find((x) => x.name === g)!.table;
  const init = `{
  name: ${str(view.name)},
  line: ${view.loc.line},
  entity: ${str(view.entity)},
  keys: ${tsLiteral(view.keys.map((k) => ({ name: k.name, type: columnType(k.type), nullable: false })))},
  label: ${tsLiteral({ ...view.label, type: columnType(view.label.type) }, "  ")},
  features: [
${view.features.map((f) => `    ${tsLiteral({ name: f.name, group: f.group, table: groupTable(f.group), type: columnType(f.type) })},`).join("\n")}
  ],
  odts: [${odts.length ? `\n${odts.join(",\n")},\n  ` : ""}],
  requestFields: ${tsLiteral(view.requestFields.map((r) => ({ name: r.name, type: columnType(r.type), nullable: r.type.nullable })))},
  ttlMs: ${view.ttlMs},
  asOf: ${str(view.asOf)},
}`;
  return constStatement(`${camel(view.name)}View`, "ViewPlan", init, cite(ctx, view.loc, `view \`${view.name}\`: the spine is \`${view.label.source}.${view.label.column}\` at \`${view.label.eventTime}\``));
}

function modelStatement(ctx: EmitContext, model: IrModel): string {
  const canImpute = model.inputs.every((i) => i.mdts.some((m) => m.kind === "impute"));
  const init = `{
  name: ${str(model.name)},
  line: ${model.loc.line},
  view: ${str(model.view)},
  task: ${str(model.task)},
  algorithm: ${tsLiteral(model.algorithm)},
  inputs: [
${model.inputs.map((i) => `    { name: ${str(i.name)}, from: ${str(i.from)}, type: ${str(columnType(i.type))}, steps: ${model.name}_steps.${i.name} },`).join("\n")}
  ],
  encode: encode_${model.name},
  split: ${tsLiteral(model.split)},
  metrics: ${tsLiteral(model.metrics)},
  requires: ${tsLiteral(model.requires)},
  canImpute: ${canImpute},
  requestSchema: ${pascal(model.name)}RequestSchema,
}`;
  return constStatement(`${camel(model.name)}Model`, "ModelPlan", init, cite(ctx, model.loc, `model \`${model.name}\` (${model.task}, ${model.algorithm.kind})`));
}

// ------------------------------------------------------------------ inference.ts

export function inferenceModule(ctx: EmitContext): Statement[] {
  const out: Statement[] = [];
  const schemaImports = new Set<string>();
  const transformImports = new Set<string>();
  const body: Statement[] = [];
  for (const model of ctx.ir.models) {
    const view = viewOf(ctx, model.view);
    const req = `${pascal(model.name)}Request`;
    const feats = `${pascal(view.name)}Features`;
    const vec = `${pascal(view.name)}Vector`;
    [req, `${req}Schema`, feats, vec].forEach((n) => schemaImports.add(n));
    const odtLines = view.odts.map((name) => {
      const o = odtOf(ctx, name);
      transformImports.add(o.name);
      const args = [...o.requestParams.map((p) => `request.${p.name}`), ...o.featureParams.map((p) => `features.${p.name}`)];
      return `    ${o.name}: ${o.name}(${args.join(", ")}),`;
    });
    body.push({
      kind: tsMorph().StructureKind.Function,
      name: `${camel(model.name)}Inputs`,
      isExported: true,
      docs: [cite(ctx, model.loc, `The input vector of model \`${model.name}\`: the stored features plus the ODTs run on the request (the same ODT code training ran)`)],
      parameters: [{ name: "request", type: req }, { name: "features", type: feats }],
      returnType: vec,
      statements: [`return {\n    ...features,\n${odtLines.join("\n")}\n  };`],
    });
  }
  body.push(`/** Per model: its request schema and input builder; the runtime's predictors use these. */\nexport const inference = {\n${ctx.ir.models
    .map((m) => `  ${m.name}: { requestSchema: ${pascal(m.name)}RequestSchema, inputs: ${camel(m.name)}Inputs },`)
    .join("\n")}\n};`);
  if (schemaImports.size) out.push(`import { ${[...schemaImports].map((n) => (n.endsWith("Schema") ? n : `type ${n}`)).join(", ")} } from "./schema.ts";`);
  if (transformImports.size) out.push(`import { ${[...transformImports].join(", ")} } from "./transforms.ts";`);
  return [...out, ...body];
}

// ------------------------------------------------------------------ index.ts

export function indexModule(ctx: EmitContext): Statement[] {
  const externs = ctx.ir.functions.filter((f) => f.extern).map((f) => f.name);
  const serves = ctx.ir.serves.map((s) => ({ model: s.model, online: s.online, ...(s.batchTable ? { batchTable: s.batchTable } : {}) }));
  return [
    `import { specDirFrom, type SpecBundle } from "${RUNTIME_IMPORT}";`,
    `import { groups, sources } from "./features.ts";`,
    `import { models, views } from "./training.ts";`,
    `import { agents, indexes } from "./agents.ts";`,
    `import { TRANSFORMS_HASH } from "./transforms.ts";`,
    ...(externs.length ? [`import { ${externs.join(", ")} } from "./functions.ts";`] : []),
    `/** sha256 of ${ctx.specFile}: runtime commands refuse to run a stale compile. */\nexport const SPEC_HASH = ${str(ctx.ir.specHash)};`,
    `/** Everything the runtime executes for this spec. */
export const spec: SpecBundle = {
  name: ${str(ctx.ir.name)},
  file: ${str(ctx.specFile)},
  specDir: specDirFrom(import.meta.url, ${str(ctx.outToSpecDir)}),
  specHash: SPEC_HASH,
  transformsHash: TRANSFORMS_HASH,
  sources,
  groups,
  views,
  models,
  serves: ${tsLiteral(serves)},
  externs: { ${externs.join(", ")} },
  indexes,
  agents,
};`,
    `export * from "./schema.ts";`,
    `export * from "./inference.ts";`,
    `export * from "./agents.ts";`,
  ];
}

// ------------------------------------------------------------------ lookups

function viewOf(ctx: EmitContext, name: string): IrView {
  return ctx.ir.views.find((v) => v.name === name)!;
}

function odtOf(ctx: EmitContext, name: string): IrOdt {
  return ctx.ir.onDemand.find((o) => o.name === name)!;
}
