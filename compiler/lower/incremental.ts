// A feature group over a stream, lowered to its incremental form: the
// StreamGroupPlan of runtime/api.ts, as TypeScript source. It is built from the
// same IR as the group's SQL (group-sql.ts), and every expression goes through
// the same TypeScript lowering (ts.ts) as fns and ODTs; the runtime's engine
// (runtime/stream/engine.ts) applies the window semantics of CONTEXT.md per
// event. What cannot be computed this way is refused by the checker (FTI4050).

import { windowDependencies } from "./common.ts";
import type { IrExpr, IrGroup, IrSource, IrSpec, IrType } from "../ir.ts";

/** Lowers one expression to TypeScript; `col` gives a column's accessor. */
export type LowerTs = (e: IrExpr, col: (name: string) => string) => string;

const ROW = "r";

/** The TS type a row value of `type` is read as (always nullable: a computed value can be null). */
function rowValueType(type: IrType): string {
  switch (type.base) {
    case "int":
    case "float":
    case "duration":
      return "number | null";
    case "bool":
      return "boolean | null";
    case "timestamp":
      return "Date | null";
    default:
      return "string | null";
  }
}

/** Accessors of the columns an expression of the group may read: the input's columns and the group's features. */
function columnAccessor(types: Map<string, IrType>): (name: string) => string {
  return (name) => {
    const type = types.get(name);
    const at = `${ROW}[${JSON.stringify(name)}]`;
    return type ? `(${at} as ${rowValueType(type)})` : at;
  };
}

const fn = (body: string) => `(${ROW}: $rt.StreamRow) => ${body}`;

/** The StreamGroupPlan of `group` as a TS object literal (with `$rt` the runtime namespace), or undefined for a group not over a stream. */
export function groupToIncremental(group: IrGroup, spec: IrSpec, lower: LowerTs): string | undefined {
  if (!group.stream) return undefined;
  const types = new Map<string, IrType>(group.inputColumns.map((c) => [c.name, c.type]));
  for (const f of group.features) types.set(f.name, f.type);
  const col = columnAccessor(types);
  const dep = windowDependencies(group.features);
  const rows: string[] = [];
  const windows: string[] = [];
  const after: string[] = [];
  for (const f of group.features) {
    const name = JSON.stringify(f.name);
    if (f.kind === "window") {
      const arg = f.arg ? fn(lower(f.arg, col)) : "null";
      windows.push(`{ name: ${name}, agg: ${JSON.stringify(f.agg)}, windowMs: ${f.windowMs}, arg: ${arg} }`);
    } else {
      (dep.has(f.name) ? after : rows).push(`{ name: ${name}, compute: ${fn(lower(f.expr, col))} }`);
    }
  }
  const input = group.input.kind === "source" ? spec.sources.find((s) => s.name === group.input.name) : undefined;
  const timeColumn = input ? input.eventTime! : "event_time";
  const list = (items: string[]) => (items.length ? `[\n    ${items.join(",\n    ")},\n  ]` : "[]");
  return [
    "{",
    `  source: ${JSON.stringify(group.stream.source)},`,
    `  keyColumns: ${JSON.stringify(group.keyColumns)},`,
    `  timeColumn: ${JSON.stringify(timeColumn)},`,
    `  where: ${group.where ? fn(lower(group.where, col)) : "null"},`,
    `  rows: ${list(rows)},`,
    `  windows: ${list(windows)},`,
    `  after: ${list(after)},`,
    "}",
  ].join("\n");
}

/** The field checks of a stream source in TypeScript (the `stream` part of its SourcePlan), or undefined for a source that is not a stream. */
export function sourceStreamChecks(src: IrSource, lower: LowerTs): string | undefined {
  if (!src.stream) return undefined;
  const col = columnAccessor(new Map(src.fields.map((f) => [f.name, f.type])));
  const checks = src.fields.flatMap((f) =>
    f.checks.map((c) => `{ field: ${JSON.stringify(f.name)}, text: ${JSON.stringify(c.text)}, test: ${fn(lower(c.expr, col))} }`),
  );
  return `{ latenessMs: ${src.stream.latenessMs}, checks: ${checks.length ? `[\n    ${checks.join(",\n    ")},\n  ]` : "[]"} }`;
}
