// Lineage from the IR: the `source.column`s a feature is derived from,
// following earlier features of its group and the features of input groups.

import type { IrGroup, IrSpec } from "../ir.ts";
import { columnsOf } from "../ir-walk.ts";

function columnLineage(ir: IrSpec, group: IrGroup, column: string, seen: Set<string>): Set<string> {
  const key = `${group.name}.${column}`;
  if (seen.has(key)) return new Set();
  seen.add(key);
  const feature = group.features.find((f) => f.name === column);
  if (!feature) {
    if (group.input.kind === "source") return new Set([`${group.input.name}.${column}`]);
    const input = ir.groups.find((g) => g.name === group.input.name);
    return input ? columnLineage(ir, input, column, seen) : new Set();
  }
  const cols = new Set<string>();
  const read = feature.kind === "row" ? feature.expr : feature.arg;
  if (read) columnsOf(read, cols);
  const out = new Set<string>();
  for (const c of cols) {
    // A feature's own name in its expression is the input's column.
    const next = c === column ? (group.input.kind === "source" ? new Set([`${group.input.name}.${c}`]) : inputLineage(ir, group, c, seen)) : columnLineage(ir, group, c, seen);
    next.forEach((x) => out.add(x));
  }
  return out;
}

function inputLineage(ir: IrSpec, group: IrGroup, column: string, seen: Set<string>): Set<string> {
  const input = ir.groups.find((g) => g.name === group.input.name);
  return input ? columnLineage(ir, input, column, seen) : new Set();
}

export function lineageOf(ir: IrSpec, groupName: string, feature: string): Set<string> {
  const group = ir.groups.find((g) => g.name === groupName);
  return group ? columnLineage(ir, group, feature, new Set()) : new Set();
}
