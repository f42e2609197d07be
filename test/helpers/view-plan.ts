// Hand-written view plans in the shape tests used before views had spines and
// joins: an entity view whose label is a source column and whose groups are all
// joined by the entity's key names (what `view x for ENTITY` compiles to).

import type { ColumnType, ViewPlan } from "../../runtime/api.ts";

export interface EntityViewInput extends Omit<ViewPlan, "spine" | "label" | "joins" | "features" | "entity"> {
  entity: string;
  label: { name: string; source: string; column: string; type: ColumnType; eventTime: string };
  features: Array<{ name: string; group: string; table: string; type: ColumnType }>;
}

export function entityView(v: EntityViewInput): ViewPlan {
  const joins: ViewPlan["joins"] = [];
  const joinOf = (group: string, table: string) => {
    let i = joins.findIndex((j) => j.group === group);
    if (i < 0) {
      joins.push({ id: group, group, table, on: v.keys.map((k) => ({ key: k.name, column: k.name })) });
      i = joins.length - 1;
    }
    return i;
  };
  const features = v.features.map((f) => ({ ...f, column: f.name, join: joinOf(f.group, f.table) }));
  const col = `"${v.label.column.replace(/"/g, '""')}"`;
  return {
    ...v,
    spine: { source: v.label.source, eventTime: v.label.eventTime, where: null, entityColumns: v.keys.map((k) => k.name) },
    label: {
      name: v.label.name,
      type: v.label.type,
      text: v.label.column,
      sql: v.label.type === "bool" ? `CASE WHEN ${col} THEN 1.0 WHEN NOT ${col} THEN 0.0 END` : `CAST(${col} AS DOUBLE)`,
      forward: [],
    },
    joins,
    features,
  };
}
