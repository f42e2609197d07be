// Sources and entities: field types, constraints, the event-time and unique
// columns, and where the data lives.

import type { EntityDecl, SourceDecl } from "../ast.ts";
import type { IrEntity, IrExpr, IrField, IrSource } from "../ir.ts";
import { closest } from "../diagnostics.ts";
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
      ctx.error(2007, f.name.range, `field \`${f.name.name}\` is declared twice in ${where}`);
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
    names: () => [...columns.keys()],
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
            ctx.error(3009, v.range, `\`in\` value must be ${type.base === "int" ? "an" : "a"} ${type.base} literal for field \`${f.name.name}\`, got ${lit.k === "lit" ? show(lit.type) : "an expression"}`);
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
          ctx.error(3007, c.expr.range, `a check must be a bool expression, got ${show(expr.type)}`);
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
  if (!decl.eventTime) {
    ctx.error(2014, decl.name.range, `${where} has no \`event_time\`: every source needs the column that says when each row happened`);
    ok = false;
  }
  const location = checkLocation(ctx, decl);
  // Field-level errors are already reported; keep the source so its users are still checked.
  void ok;
  if (!eventTime || !location || (decl.unique && !unique)) return undefined;
  return {
    name: decl.name.name,
    loc: { line: decl.name.range.start.line, column: decl.name.range.start.column },
    location,
    eventTime,
    ...(unique ? { unique } : {}),
    fields,
  };
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
    const hint = closest(ident.name, columns.keys());
    ctx.error(2002, ident.range, `\`${clause}\` column \`${ident.name}\` is not a field of source \`${decl.name.name}\``, hint ? { hint: `did you mean \`${hint}\`?` } : {});
    return undefined;
  }
  if (mustBeTimestamp && type.base !== "timestamp") {
    ctx.error(3002, ident.range, `\`event_time\` column \`${ident.name}\` must be a timestamp, got ${show(type)}`);
    return undefined;
  }
  if (type.nullable) {
    ctx.error(3005, ident.range, `\`${clause}\` column \`${ident.name}\` is nullable; it must always have a value`);
    return undefined;
  }
  return ident.name;
}

function checkLocation(ctx: Ctx, decl: SourceDecl): IrSource["location"] | undefined {
  const loc = decl.location;
  if (!loc) {
    ctx.error(2014, decl.name.range, `source \`${decl.name.name}\` says nowhere where its data is: add \`path "..."\` or \`table schema.name\``);
    return undefined;
  }
  if (loc.kind === "table") return { kind: "table", table: loc.table };
  if (!confinedPath(loc.path.value, ctx.specDir).inside) {
    // The message names no absolute path and no file content: only what the spec says.
    ctx.error(2015, loc.path.range, `source path \`${loc.path.value}\` leads outside the project`, {
      hint: "keep the data inside the project (the folder of the nearest fti.json, package.json or .git above the spec), or add its folder to `sourceRoots` in fti.json",
    });
    return undefined;
  }
  let format: (typeof FORMATS)[number] | undefined;
  if (decl.format) {
    if (!(FORMATS as readonly string[]).includes(decl.format.name)) {
      const hint = closest(decl.format.name, FORMATS);
      ctx.error(2012, decl.format.range, `unknown format \`${decl.format.name}\`; use one of ${FORMATS.join(", ")}`, hint ? { hint: `did you mean \`${hint}\`?` } : {});
      return undefined;
    }
    format = decl.format.name as (typeof FORMATS)[number];
  } else {
    const ext = loc.path.value.split(".").pop()?.toLowerCase() ?? "";
    format = EXTENSIONS[ext];
    if (!format) {
      ctx.error(2012, loc.path.range, `cannot tell the format of \`${loc.path.value}\` from its extension`, { hint: "add `format csv`, `format parquet` or `format ndjson`" });
      return undefined;
    }
  }
  return { kind: "files", path: loc.path.value, format };
}

export function checkEntity(ctx: Ctx, decl: EntityDecl): IrEntity | undefined {
  if (decl.keys.length === 0) {
    ctx.error(2014, decl.name.range, `entity \`${decl.name.name}\` has no key: add \`key <name>: <type>\``);
    return undefined;
  }
  const keys = [];
  const seen = new Set<string>();
  for (const k of decl.keys) {
    const type = ctx.scalarType(k.type, `entity key \`${k.name.name}\``);
    if (seen.has(k.name.name)) ctx.error(2007, k.name.range, `key \`${k.name.name}\` is declared twice in entity \`${decl.name.name}\``);
    seen.add(k.name.name);
    if (!type) return undefined;
    if (type.nullable) {
      ctx.error(3005, k.type.range, `entity key \`${k.name.name}\` cannot be nullable`);
      return undefined;
    }
    keys.push({ name: k.name.name, type });
  }
  return { name: decl.name.name, loc: { line: decl.name.range.start.line, column: decl.name.range.start.column }, keys };
}
