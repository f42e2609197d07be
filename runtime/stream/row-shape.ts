// The per-event row objects of one streamed group, built by functions
// generated once per group: object literals with the group's column names
// written out, so every row of a group has one hidden class and no property
// is added after creation. (Copying a row with `{ ...row }` and then storing
// features under computed names cost ~20 µs an event in V8: each store took
// the slow path.) Names enter the generated source only as JSON string
// literals; the compute functions are passed in, never turned into source.

import type { GroupPlan, Scalar, StreamGroupPlan, StreamRow } from "../api.ts";
import type { Value } from "./window-acc.ts";

type Compute = (r: StreamRow) => Value;

export interface GroupShape {
  /** The input row with the group's row features (the input itself when there are none). */
  enrich(input: StreamRow): StreamRow;
  /** The row as the group's table has it: keys named by the entity, `event_time`, row id, features. */
  output(row: StreamRow): StreamRow;
  /** The online values (plan order, timestamps as ISO strings) of an enriched row with its windows' values (plan.stream.windows order). */
  values(row: StreamRow, windows: Value[]): Scalar[];
  /** The entity's key values of an enriched row, in key order (timestamps as ISO strings). */
  keys(row: StreamRow): Scalar[];
  /** The entity's key values as one string (a Map key); null when one is null (a null key joins nothing). */
  entityKey(row: StreamRow): string | null;
  /** The row's event time, epoch ms. */
  time(row: StreamRow): number;
  /** The row id (null without one). */
  rowId(row: StreamRow): Scalar;
}

const lit = (name: string): string => JSON.stringify(name);
const unique = (names: string[]): string[] => [...new Set(names)];

/** Values as the online store holds them: timestamps as ISO strings. */
export const scalar = (v: Value | undefined): Scalar => (v instanceof Date ? v.toISOString() : (v ?? null));

/** A literal copying `cols` from `src` (those not set otherwise), then `set` (name → expression). */
function literal(src: string, cols: string[], set: Array<[string, string]>): string {
  const own = new Set(set.map(([c]) => c));
  const fields = cols.filter((c) => !own.has(c)).map((c) => `${lit(c)}: ${src}[${lit(c)}]`);
  return `{ ${[...fields, ...set.map(([c, e]) => `${lit(c)}: ${e}`)].join(", ")} }`;
}
const nulls = (names: string[]): Array<[string, string]> => names.map((n) => [n, "null"]);

/** The shape functions of a group whose input rows have `inputColumns`. */
export function groupShape(inputColumns: string[], plan: GroupPlan, sp: StreamGroupPlan): GroupShape {
  const rowNames = unique(sp.rows.map((f) => f.name));
  const enriched = unique([...inputColumns, ...rowNames]);
  const enrichSrc = sp.rows.length
    ? `return function enrich(i) {\n  const r = ${literal("i", inputColumns, nulls(rowNames))};\n${sp.rows.map((f, k) => `  r[${lit(f.name)}] = R[${k}](r);\n`).join("")}  return r;\n};`
    : "return function enrich(i) { return i; };";
  const enrich = new Function("R", enrichSrc)(sp.rows.map((f) => f.compute)) as GroupShape["enrich"];

  const out = [
    ...plan.keys.map((k, i) => `${lit(k.name)}: r[${lit(sp.keyColumns[i])}]`),
    `"event_time": r[${lit(sp.timeColumn)}]`,
    ...(plan.rowId ? [`${lit(plan.rowId.name)}: r[${lit(plan.rowId.name)}]`] : []),
    ...plan.features.map((f) => `${lit(f.name)}: r[${lit(f.name)}]`),
  ];
  const output = new Function(`return function output(r) { return { ${unique(out).join(", ")} }; };`)() as GroupShape["output"];

  // A feature's value: a window's from `w`, an `after` feature's from the assembled row, else the enriched row's.
  const windowIndex = new Map(sp.windows.map((w, i) => [w.name, i] as const));
  const afterNames = unique(sp.after.map((f) => f.name));
  const afterSet = new Set(afterNames);
  const read = (name: string, rowVar: string) => (afterSet.has(name) ? `${rowVar}[${lit(name)}]` : windowIndex.has(name) ? `w[${windowIndex.get(name)}]` : `${rowVar}[${lit(name)}]`);
  let valuesSrc: string;
  if (sp.after.length === 0) {
    valuesSrc = `return function values(row, w) { return [${plan.features.map((f) => `S(${read(f.name, "row")})`).join(", ")}]; };`;
  } else {
    const set: Array<[string, string]> = [...sp.windows.map((w, i): [string, string] => [w.name, `w[${i}]`]), ...nulls(afterNames)];
    const body = [
      `  const r = ${literal("row", enriched, set)};`,
      ...sp.after.map((f, k) => `  r[${lit(f.name)}] = A[${k}](r);`),
      `  return [${plan.features.map((f) => `S(${read(f.name, "r")})`).join(", ")}];`,
    ];
    valuesSrc = `return function values(row, w) {\n${body.join("\n")}\n};`;
  }
  const values = new Function("S", "A", valuesSrc)(scalar, sp.after.map((f) => f.compute as Compute)) as GroupShape["values"];
  return { enrich, output, values, ...accessors(plan, sp) };
}

/** Key, time and row id readers with the column names written out (a keyed read by a variable name is slow). */
function accessors(plan: GroupPlan, sp: StreamGroupPlan): Pick<GroupShape, "keys" | "entityKey" | "time" | "rowId"> {
  const keyReads = sp.keyColumns.map((c) => `S(r[${lit(c)}])`);
  const keys = new Function("S", `return function keys(r) { return [${keyReads.join(", ")}]; };`)(scalar) as GroupShape["keys"];
  // One key: its string itself; several: their JSON (a null anywhere: no entity).
  const entityKey = (
    sp.keyColumns.length === 1
      ? new Function("S", `return function entityKey(r) { const k = S(r[${lit(sp.keyColumns[0])}]); return k === null ? null : typeof k === "string" ? k : String(k); };`)(scalar)
      : new Function("keys", `return function entityKey(r) { const k = keys(r); return k.includes(null) ? null : JSON.stringify(k); };`)(keys)
  ) as GroupShape["entityKey"];
  const time = new Function("T", `return function time(r) { return T(r[${lit(sp.timeColumn)}]); };`)(timeOf) as GroupShape["time"];
  const rowId = (plan.rowId ? new Function("S", `return function rowId(r) { return S(r[${lit(plan.rowId.name)}]); };`)(scalar) : () => null) as GroupShape["rowId"];
  return { keys, entityKey, time, rowId };
}

/** An event time value → epoch ms (a Date, or an ISO string as a group's table row may carry). */
export const timeOf = (v: Value): number => (v instanceof Date ? v.getTime() : typeof v === "string" ? Date.parse(v) : NaN);
