// Sources and entities: field types, constraints, the event-time and unique
// columns, and where the data lives.

import type { EntityDecl, Expr, FieldDecl, SourceDecl } from "../ast.ts";
import type { IrEntity, IrExpr, IrField, IrSource, IrType } from "../ir.ts";
import { DIAG } from "../messages.ts";
import { confinedPath, sourceRootsProblem } from "../../runtime/features/source-paths.ts";
import { runClauses, type ClauseCheck } from "./clauses.ts";
import type { Ctx } from "./context.ts";
import { checkExpr, type ExprScope } from "./exprs.ts";
import { externCalled } from "./functions.ts";
import { oneLine } from "../format/one-line.ts";
import { checkTimestampFormat } from "./timestamp-format.ts";
import { isStoreColumn, show } from "./types.ts";

const FORMATS = ["csv", "parquet", "ndjson"] as const;
const EXTENSIONS: Record<string, (typeof FORMATS)[number]> = {
  csv: "csv", tsv: "csv", parquet: "parquet", ndjson: "ndjson", jsonl: "ndjson", json: "ndjson",
};

/** What the source's clauses fill in, in order. */
interface SourceDraft {
  text: string;
  fields: IrField[];
  /** The fields whose type checked, by name: what `check`s and the column clauses may name. */
  columns: Map<string, IrType>;
  eventTime?: string;
  unique?: string[];
  validity?: IrSource["validity"];
  location?: IrSource["location"];
  stream?: IrSource["stream"];
}

/**
 * A source's checks, clause by clause (clauses.ts). The fields come first, so
 * the other clauses can name them; a field's own errors (a duplicate, an
 * `in` value of the wrong type, a check that is not bool) are reported but
 * keep the source, so that its users are still checked.
 */
const SOURCE_CLAUSES: ReadonlyArray<ClauseCheck<SourceDecl, SourceDraft>> = [
  { clause: "fields", check: (ctx, decl, d) => (checkFields(ctx, decl, d), true) },
  {
    clause: "event_time",
    check: (ctx, decl, d) => !decl.eventTime || (d.eventTime = checkColumnClause(ctx, decl, decl.eventTime, "event_time", d.columns, true)) !== undefined,
  },
  {
    clause: "unique",
    check: (ctx, decl, d) => !decl.unique || (d.unique = checkUnique(ctx, decl, d.columns)) !== undefined,
  },
  { clause: "valid_from / valid_to", check: (ctx, decl, d) => settle(checkValidity(ctx, decl, d.columns), (v) => (d.validity = v)) },
  { clause: "path / table", check: (ctx, decl, d) => (d.location = checkLocation(ctx, decl)) !== undefined },
  { clause: "stream", check: (ctx, decl, d) => settle(checkStream(ctx, decl), (v) => (d.stream = v)) },
];

/** A clause check's result: undefined (absent) passes and sets nothing, null (reported) fails, a value is kept. */
function settle<T>(value: T | null | undefined, keep: (v: T) => void): boolean {
  if (value === null) return false;
  if (value !== undefined) keep(value);
  return true;
}

export function checkSource(ctx: Ctx, decl: SourceDecl, text: string): IrSource | undefined {
  const d: SourceDraft = { text, fields: [], columns: new Map() };
  if (!runClauses(ctx, decl, d, SOURCE_CLAUSES)) return undefined;
  return {
    name: decl.name.name,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    location: d.location!,
    ...(d.eventTime ? { eventTime: d.eventTime } : {}),
    ...(d.validity ? { validity: d.validity } : {}),
    ...(d.unique ? { unique: d.unique } : {}),
    ...(d.stream ? { stream: d.stream } : {}),
    fields: d.fields,
  };
}

/** The fields: their types (first, so checks can refer to any field), duplicates, then each field's `in` values and `check`s. */
function checkFields(ctx: Ctx, decl: SourceDecl, d: SourceDraft): void {
  const where = `source \`${decl.name.name}\``;
  const seen = new Set<string>();
  const typed = decl.fields.map((f) => ({ f, type: ctx.scalarType(f.type, `source field \`${f.name.name}\``) }));
  for (const { f, type } of typed) {
    if (seen.has(f.name.name)) ctx.report(f.name.range, DIAG.duplicate.field(f.name.name, where));
    else if (isStoreColumn(f.name.name)) ctx.report(f.name.range, DIAG.storeColumn.field(f.name.name, decl.name.name));
    seen.add(f.name.name);
    if (!type) ctx.poisoned.add(f.name.name);
  }
  for (const x of typed) if (x.type) d.columns.set(x.f.name.name, x.type);
  const scope: ExprScope = {
    where,
    kind: "check",
    lookup: (name) => (d.columns.has(name) ? { expr: { k: "col", name, type: d.columns.get(name)! } } : undefined),
    names: () => d.columns.keys(),
  };
  const columnOwners = new Map<string, string>();
  for (const { f, type } of typed) {
    if (!type) continue;
    const field: IrField = { name: f.name.name, type, checks: [] };
    const format = checkTimestampFormat(ctx, f, type);
    if (format !== undefined) field.format = format;
    const column = fieldColumn(ctx, f, columnOwners);
    if (column !== undefined) field.column = column;
    for (const c of f.constraints) {
      if (c.kind === "in") field.allowed = [...(field.allowed ?? []), ...allowedValues(ctx, scope, f.name.name, type, c.values)];
      else {
        const expr = checkExpr(ctx, scope, c.expr);
        if (!expr) continue;
        if (expr.type.base !== "bool") {
          ctx.report(c.expr.range, DIAG.condition.check(show(expr.type)));
          continue;
        }
        const extern = externCalled(ctx, expr);
        if (extern) {
          ctx.report(c.expr.range, DIAG.externInCheck.of(extern.extern, extern.fn === extern.extern ? undefined : extern.fn));
          continue;
        }
        field.checks.push({ expr, text: oneLine(d.text.slice(c.range.start.offset, c.range.end.offset)) });
      }
    }
    d.fields.push(field);
  }
}

/** The column a field's `from "..."` names; a second `from`, or a column another field reads, is reported. */
function fieldColumn(ctx: Ctx, f: FieldDecl, owners: Map<string, string>): string | undefined {
  if (!f.columns.length) return undefined;
  const [first, ...more] = f.columns;
  for (const m of more) ctx.report(m.range, DIAG.duplicate.fieldColumn(f.name.name));
  const column = first.name.value;
  const other = owners.get(column);
  if (other !== undefined) ctx.report(first.range, DIAG.duplicate.column(column, f.name.name, other));
  else owners.set(column, f.name.name);
  return column;
}

/** The literal values of an `in (...)` constraint of a field; others are reported. */
function allowedValues(ctx: Ctx, scope: ExprScope, field: string, type: IrType, values: Expr[]): Array<string | number | boolean> {
  const allowed: Array<string | number | boolean> = [];
  for (const v of values) {
    const lit = foldNegation(checkExpr(ctx, scope, v));
    if (!lit) continue;
    if (lit.k !== "lit" || lit.value === null || !(lit.type.base === type.base || (lit.type.base === "int" && type.base === "float"))) {
      ctx.report(v.range, DIAG.literalType.allowedValue(type.base, field, lit.k === "lit" ? show(lit.type) : "an expression"));
      continue;
    }
    allowed.push(lit.value as string | number | boolean);
  }
  return allowed;
}

/**
 * `stream [lateness d]`: events arrive one by one besides (or instead of) the
 * file. A stream needs `event_time` (windows, freshness) and a `unique`,
 * one field or a combination (an event sent twice counts once) — FTI4051; `lateness` is a duration literal
 * (FTI3011), 1h when absent. Undefined without `stream`, null after an error.
 */
function checkStream(ctx: Ctx, decl: SourceDecl): IrSource["stream"] | null | undefined {
  const s = decl.stream;
  if (!s) return undefined;
  let ok = true;
  if (!decl.eventTime) {
    ctx.report(s.range, DIAG.streamClause.eventTime(decl.name.name));
    ok = false;
  }
  // One field or a combination (`unique (symbol, quoted_at)`): the stream de-duplicates by the tuple.
  if (!decl.unique) {
    ctx.report(s.range, DIAG.streamClause.unique(decl.name.name));
    ok = false;
  }
  let latenessMs = DEFAULT_LATENESS_MS;
  if (s.lateness) {
    if (s.lateness.kind !== "duration") {
      ctx.report(s.lateness.range, DIAG.durationExpected.lateness());
      return null;
    }
    latenessMs = s.lateness.ms;
  }
  return ok ? { latenessMs } : null;
}

/** How far behind the stream's newest event another may arrive and still be applied online, without `lateness`. */
export const DEFAULT_LATENESS_MS = 3_600_000;

/**
 * A source without `event_time` is reference data; `valid_from` (and
 * optionally `valid_to`) say when each of its rows holds. Returns undefined
 * when there are none, null after an error.
 */
function checkValidity(ctx: Ctx, decl: SourceDecl, columns: Map<string, IrExpr["type"]>): IrSource["validity"] | null | undefined {
  if (!decl.validFrom && !decl.validTo) return undefined;
  if (decl.eventTime) {
    const clause = (decl.validFrom ?? decl.validTo)!;
    ctx.report(clause.range, DIAG.validityOnEvents.source(decl.name.name));
    return null;
  }
  if (!decl.validFrom) {
    ctx.report(decl.validTo!.range, DIAG.missingClause.validFrom(decl.name.name));
    return null;
  }
  const from = checkColumnClause(ctx, decl, decl.validFrom, "valid_from", columns, true);
  const to = decl.validTo ? checkTimestampColumn(ctx, decl, decl.validTo, "valid_to", columns) : undefined;
  if (!from || (decl.validTo && !to)) return null;
  return { from, ...(to ? { to } : {}) };
}

/** `valid_to` may be nullable: null means the row still holds. */
function checkTimestampColumn(ctx: Ctx, decl: SourceDecl, ident: { name: string; range: SourceDecl["range"] }, clause: string, columns: Map<string, IrExpr["type"]>): string | undefined {
  if (ctx.poisoned.has(ident.name)) return undefined;
  const type = columns.get(ident.name);
  if (!type) {
    ctx.report(ident.range, DIAG.unknownName.clauseColumn(clause, ident.name, decl.name.name, columns.keys()));
    return undefined;
  }
  if (type.base !== "timestamp") {
    ctx.report(ident.range, DIAG.typeMismatch.timestampColumn(clause, ident.name, show(type)));
    return undefined;
  }
  return ident.name;
}

/** `-3` parses as a negation of 3; as an allowed value it is the literal -3. */
function foldNegation(e: IrExpr | undefined): IrExpr | undefined {
  if (e?.k === "unary" && e.op === "neg" && e.arg.k === "lit" && typeof e.arg.value === "number") {
    return { k: "lit", type: e.arg.type, value: -e.arg.value };
  }
  return e;
}

/** `unique id` / `unique (a, b)`: each a non-nullable field, each once; undefined after an error. */
function checkUnique(ctx: Ctx, decl: SourceDecl, columns: Map<string, IrExpr["type"]>): string[] | undefined {
  const fields: string[] = [];
  let ok = true;
  for (const ident of decl.unique ?? []) {
    if (fields.includes(ident.name)) {
      ctx.report(ident.range, DIAG.duplicate.uniqueField(ident.name, decl.name.name));
      ok = false;
      continue;
    }
    const name = checkColumnClause(ctx, decl, ident, "unique", columns, false);
    if (name === undefined) ok = false;
    else fields.push(name);
  }
  return ok ? fields : undefined;
}

function checkColumnClause(
  ctx: Ctx, decl: SourceDecl, ident: { name: string; range: SourceDecl["range"] } | undefined,
  clause: string, columns: Map<string, IrExpr["type"]>, mustBeTimestamp: boolean,
): string | undefined {
  if (!ident || ctx.poisoned.has(ident.name)) return undefined;
  const type = columns.get(ident.name);
  if (!type) {
    ctx.report(ident.range, DIAG.unknownName.clauseColumn(clause, ident.name, decl.name.name, columns.keys()));
    return undefined;
  }
  if (mustBeTimestamp && type.base !== "timestamp") {
    ctx.report(ident.range, DIAG.typeMismatch.timestampColumn(clause, ident.name, show(type)));
    return undefined;
  }
  if (type.nullable) {
    ctx.report(ident.range, DIAG.nullable.clauseColumn(clause, ident.name));
    return undefined;
  }
  return ident.name;
}

function checkLocation(ctx: Ctx, decl: SourceDecl): IrSource["location"] | undefined {
  const loc = decl.location;
  if (!loc) {
    ctx.report(decl.name.range, DIAG.missingClause.location(decl.name.name));
    return undefined;
  }
  if (loc.kind === "table") return { kind: "table", table: loc.table };
  if (!confinedPath(loc.path.value, ctx.specDir, ctx.sourceRoots()).inside) {
    // The message names no absolute path and no file content: only what the spec says.
    ctx.report(loc.path.range, DIAG.pathOutsideProject.source(loc.path.value, sourceRootsProblem(ctx.specDir)));
    return undefined;
  }
  let format: (typeof FORMATS)[number] | undefined;
  if (decl.format) {
    if (!(FORMATS as readonly string[]).includes(decl.format.name)) {
      ctx.report(decl.format.range, DIAG.unknownOption.format(decl.format.name, FORMATS));
      return undefined;
    }
    format = decl.format.name as (typeof FORMATS)[number];
  } else {
    const ext = loc.path.value.split(".").pop()?.toLowerCase() ?? "";
    format = EXTENSIONS[ext];
    if (!format) {
      ctx.report(loc.path.range, DIAG.unknownOption.formatOfPath(loc.path.value));
      return undefined;
    }
  }
  return { kind: "files", path: loc.path.value, format };
}

export function checkEntity(ctx: Ctx, decl: EntityDecl): IrEntity | undefined {
  if (decl.keys.length === 0) {
    ctx.report(decl.name.range, DIAG.missingClause.entityKey(decl.name.name));
    return undefined;
  }
  const keys = [];
  const seen = new Set<string>();
  for (const k of decl.keys) {
    const type = ctx.scalarType(k.type, `entity key \`${k.name.name}\``);
    if (seen.has(k.name.name)) ctx.report(k.name.range, DIAG.duplicate.key(k.name.name, decl.name.name));
    else if (isStoreColumn(k.name.name)) ctx.report(k.name.range, DIAG.storeColumn.key(k.name.name, decl.name.name));
    seen.add(k.name.name);
    if (!type) return undefined;
    if (type.nullable) {
      ctx.report(k.type.range, DIAG.nullable.entityKey(k.name.name));
      return undefined;
    }
    keys.push({ name: k.name.name, type });
  }
  return { name: decl.name.name, loc: { line: decl.name.range.start.line, column: decl.name.range.start.column }, keys };
}
