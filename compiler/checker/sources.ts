// Sources and entities: field types, constraints, the event-time and unique
// columns, and where the data lives.

import type { EntityDecl, SourceDecl } from "../ast.ts";
import type { IrEntity, IrExpr, IrField, IrSource } from "../ir.ts";
import { DIAG } from "../messages.ts";
import { confinedPath } from "../../runtime/features/source-paths.ts";
import type { Ctx } from "./context.ts";
import { checkExpr, type ExprScope } from "./exprs.ts";
import { show } from "./types.ts";

const FORMATS = ["csv", "parquet", "ndjson"] as const;
const EXTENSIONS: Record<string, (typeof FORMATS)[number]> = {
  csv: "csv", tsv: "csv", parquet: "parquet", ndjson: "ndjson", jsonl: "ndjson", json: "ndjson",
};

export function checkSource(ctx: Ctx, decl: SourceDecl, text: string): IrSource | undefined {
  const where = `source \`${decl.name.name}\``;
  const fields: IrField[] = [];
  const seen = new Set<string>();
  let ok = true;

  // Types first, so checks can refer to any field.
  const typed = decl.fields.map((f) => ({ f, type: ctx.scalarType(f.type, `source field \`${f.name.name}\``) }));
  for (const { f, type } of typed) {
    if (seen.has(f.name.name)) {
      ctx.report(f.name.range, DIAG.duplicate.field(f.name.name, where));
      ok = false;
    }
    seen.add(f.name.name);
    if (!type) ctx.poisoned.add(f.name.name);
  }
  const columns = new Map(typed.filter((x) => x.type).map((x) => [x.f.name.name, x.type!]));
  const scope: ExprScope = {
    where,
    kind: "check",
    lookup: (name) => (columns.has(name) ? { expr: { k: "col", name, type: columns.get(name)! } } : undefined),
    names: () => columns.keys(),
  };

  for (const { f, type } of typed) {
    if (!type) continue;
    const field: IrField = { name: f.name.name, type, checks: [] };
    for (const c of f.constraints) {
      if (c.kind === "in") {
        const allowed: Array<string | number | boolean> = [];
        for (const v of c.values) {
          const lit = foldNegation(checkExpr(ctx, scope, v));
          if (!lit) continue;
          if (lit.k !== "lit" || lit.value === null || !(lit.type.base === type.base || (lit.type.base === "int" && type.base === "float"))) {
            ctx.report(v.range, DIAG.literalType.allowedValue(type.base, f.name.name, lit.k === "lit" ? show(lit.type) : "an expression"));
            ok = false;
            continue;
          }
          allowed.push(lit.value as string | number | boolean);
        }
        field.allowed = [...(field.allowed ?? []), ...allowed];
      } else {
        const expr = checkExpr(ctx, scope, c.expr);
        if (!expr) { ok = false; continue; }
        if (expr.type.base !== "bool") {
          ctx.report(c.expr.range, DIAG.condition.check(show(expr.type)));
          ok = false;
          continue;
        }
        field.checks.push({ expr, text: text.slice(c.range.start.offset, c.range.end.offset) });
      }
    }
    fields.push(field);
  }

  const eventTime = checkColumnClause(ctx, decl, decl.eventTime, "event_time", columns, true);
  const unique = decl.unique ? checkColumnClause(ctx, decl, decl.unique, "unique", columns, false) : undefined;
  const validity = checkValidity(ctx, decl, columns);
  const location = checkLocation(ctx, decl);
  const stream = checkStream(ctx, decl);
  // Field-level errors are already reported; keep the source so its users are still checked.
  void ok;
  if ((decl.eventTime && !eventTime) || validity === null || !location || (decl.unique && !unique) || stream === null) return undefined;
  return {
    name: decl.name.name,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    location,
    ...(eventTime ? { eventTime } : {}),
    ...(validity ? { validity } : {}),
    ...(unique ? { unique } : {}),
    ...(stream ? { stream } : {}),
    fields,
  };
}

/**
 * `stream [lateness d]`: events arrive one by one besides (or instead of) the
 * file. A stream needs `event_time` (windows, freshness) and `unique` (an
 * event sent twice counts once) — FTI4051; `lateness` is a duration literal
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
  if (!confinedPath(loc.path.value, ctx.specDir).inside) {
    // The message names no absolute path and no file content: only what the spec says.
    ctx.report(loc.path.range, DIAG.pathOutsideProject.source(loc.path.value));
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
