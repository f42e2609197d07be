// generated/<spec>/features.ts: the source plans (with their row checks as
// DuckDB SQL) and the feature group plans (each group as one SELECT, and the
// extern fns it calls).

import type { IrGroup, IrType } from "../../ir.ts";
import { embedCallInfo } from "../../builtins.ts";
import { exprNodes } from "../../ir-walk.ts";
import { groupDefinition } from "../../lower/group-definition.ts";
import { groupToSql } from "../../lower/group-sql.ts";
import { groupToIncremental, sourceStreamChecks, type LowerTs } from "../../lower/incremental.ts";
import { checkToSql } from "../../lower/sql.ts";
import { cite, constStatement, GENERATED_FILES, moduleImport, tsExpr, type EmitContext, type Statement } from "../context.ts";
import { Imports } from "../imports.ts";
import { camel, columnType, str, tsLiteral } from "../names.ts";

export function featuresModule(ctx: EmitContext): Statement[] {
  const imports = new Imports();
  const SourcePlan = imports.rt("SourcePlan");
  const GroupPlan = imports.rt("GroupPlan");
  const out: Statement[] = [];
  const sourceRefs: string[] = [];
  for (const src of ctx.ir.sources) {
    const ref = `${camel(src.name)}Source`;
    if (src.module) {
      // Generated once, in the spec that declares it; its path stays relative to that spec's folder.
      imports.fromModule(moduleImport(ctx, src.module, "features.ts"), ref);
      const m = ctx.modules.get(src.module)!;
      const declaredIn = `{ file: ${str(m.file)}, specDir: ${imports.rt("specDirFrom")}(import.meta.url, ${str(m.specDir)}) }`;
      sourceRefs.push(`{ ...${ref}, declaredIn: ${declaredIn} }`);
      continue;
    }
    sourceRefs.push(ref);
    const plan = {
      name: src.name,
      line: src.loc.line,
      location: src.location,
      ...(src.eventTime ? { eventTime: src.eventTime } : {}),
      ...(src.validity ? { validFrom: src.validity.from, ...(src.validity.to ? { validTo: src.validity.to } : {}) } : {}),
      ...(src.unique ? { unique: src.unique } : {}),
      fields: src.fields.map((f) => ({ name: f.name, type: columnType(f.type), nullable: f.type.nullable, ...(f.allowed ? { allowed: f.allowed } : {}), ...(f.format !== undefined ? { format: f.format } : {}), ...(f.column !== undefined ? { column: f.column } : {}) })),
      checks: src.fields.flatMap((f) => f.checks.map((c) => ({ field: f.name, text: c.text, sql: checkToSql(c.expr, ctx.ir.functions) }))),
    };
    const stream = sourceStreamChecks(src, lowerIn(ctx, imports));
    const literal = stream ? withField(tsLiteral(plan), "stream", stream) : tsLiteral(plan);
    out.push(constStatement(`${camel(src.name)}Source`, SourcePlan, literal, cite(ctx, src.loc, src.stream ? `source \`${src.name}\` (a stream)` : `source \`${src.name}\``)));
  }
  for (const g of ctx.ir.groups) {
    if (g.module) {
      imports.fromModule(moduleImport(ctx, g.module, "features.ts"), `${camel(g.name)}Group`);
      continue;
    }
    const how = g.stream ? `computed in DuckDB and incrementally over stream \`${g.stream.source}\`` : "computed in DuckDB";
    out.push(constStatement(`${camel(g.name)}Group`, GroupPlan, groupPlan(ctx, g, lowerIn(ctx, imports)), cite(ctx, g.loc, `feature group \`${g.name}\` (MITs), ${how}`)));
  }
  out.push(`export const sources: ${SourcePlan}[] = [${sourceRefs.join(", ")}];`);
  // An imported group carries its module's file: the runtime may reuse its table (features/group-freshness.ts).
  const groupRefs = ctx.ir.groups.map((g) => (g.module ? `{ ...${camel(g.name)}Group, declaredIn: { file: ${str(ctx.modules.get(g.module)!.file)} } }` : `${camel(g.name)}Group`));
  out.push(`/** In dependency order: a group comes after the group it reads from. */\nexport const groups: ${GroupPlan}[] = [${groupRefs.join(", ")}];`);
  return [...imports.statements(GENERATED_FILES), ...out];
}

/** Expressions of features.ts in TypeScript (the incremental form), recording the helpers and fns they use. */
function lowerIn(ctx: EmitContext, imports: Imports): LowerTs {
  return (e, col) => tsExpr(ctx, imports, "features.ts", e, col);
}

/** Adds `name: code` as the last field of a printed object literal. */
function withField(literal: string, name: string, code: string): string {
  return literal.replace(/,\n}$/, `,\n  ${name}: ${code.replace(/\n/g, "\n  ")},\n}`);
}

function groupPlan(ctx: EmitContext, g: IrGroup, lower: LowerTs): string {
  // The extern fns the SQL calls, as the lowering names them (the runtime registers them with DuckDB).
  const called = new Set<string>();
  const sql = groupToSql(g, ctx.ir, { externName: (fn) => (called.add(fn), fn) });
  const column = (name: string, t: IrType) => ({ name, type: columnType(t), nullable: t.nullable });
  const externs = ctx.ir.functions
    .filter((f) => f.extern && called.has(f.name))
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
    ...(g.reference ? { reference: g.reference } : {}),
    ...(g.lookups ? { lookups: g.lookups.map((l) => ({ group: l.group, table: l.table })) } : {}),
    features: g.features.map((f) => ({ name: f.name, type: columnType(f.type), nullable: f.type.nullable })),
    lookbackMs: g.lookbackMs,
    ...(g.schedule ? { schedule: g.schedule } : {}),
    definition: groupDefinition(g, ctx.ir),
  };
  const embeddings = embedUses(g);
  const embedText = embeddings.length ? `\n  embeddings: ${tsLiteral(embeddings)},` : "";
  const stream = groupToIncremental(g, ctx.ir, lower);
  const literal = tsLiteral(plan).replace(/,\n}$/, `,\n  sql: ${templateLiteral(sql)},\n  externs: ${tsLiteral(externs)},${embedText}\n}`);
  return stream ? withField(literal, "stream", stream) : literal;
}

/** The distinct (length, model) pairs of the group's `embed` calls (only ever in row features). */
function embedUses(g: IrGroup): Array<{ dim: number; model: string | null }> {
  const seen = new Map<string, { dim: number; model: string | null }>();
  for (const f of g.features) {
    if (f.kind !== "row") continue;
    for (const e of exprNodes(f.expr)) {
      if (e.k !== "builtin" || e.name !== "embed") continue;
      const use = embedCallInfo(e.args);
      seen.set(`${use.dim}:${use.model}`, use);
    }
  }
  return [...seen.values()];
}

function templateLiteral(sql: string): string {
  return "`" + sql.replace(/\\/g, "\\\\").replace(/`/g, "\\`").replace(/\$\{/g, "\\${") + "`";
}
