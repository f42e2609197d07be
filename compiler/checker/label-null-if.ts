// A label's `if` whose condition can be null (FTI4090, a warning). A null
// condition takes the `else` branch (SQL's CASE WHEN, §4.4), so
// `label result = if home_score > away_score then "H" else "A"` labels a match
// without scores "A": the row is trained on, where a null label would have
// left it out (§3.7). A column the label tests itself (`is_null`, `coalesce`)
// counts as handled: the spec has said what its nulls mean.

import type { Expr, Range } from "../ast.ts";
import type { IrExpr, IrForwardAgg } from "../ir.ts";
import { exprNodes } from "../ir-walk.ts";

export interface CheckedIf {
  node: Extract<Expr, { kind: "if" }>;
  cond: IrExpr;
  otherwise: IrExpr;
}

export interface NullCondition {
  /** The condition of the outermost such `if`. */
  range: Range;
  /** What can make it null: the nullable columns (and forward aggregations) it reads. */
  names: string[];
}

const HANDLES_NULL = new Set(["is_null", "coalesce"]);

/** The first `if` of a label whose condition can be null from a value the label leaves untested, while its `else` cannot be null. */
export function nullCondition(ifs: readonly CheckedIf[], label: IrExpr, forward: readonly IrForwardAgg[]): NullCondition | undefined {
  const handled = new Set<string>();
  for (const x of exprNodes(label)) {
    if (x.k !== "builtin" || !HANDLES_NULL.has(x.name)) continue;
    for (const arg of x.args) for (const y of exprNodes(arg)) if (y.k === "col") handled.add(y.name);
  }
  const found = ifs
    .filter((f) => f.cond.type.nullable && !f.otherwise.type.nullable)
    .map((f) => ({ range: f.node.cond.range, names: nullableReads(f.cond, handled, forward) }))
    .filter((f) => f.names.length > 0)
    .sort((a, b) => a.range.start.offset - b.range.start.offset);
  return found[0];
}

function nullableReads(cond: IrExpr, handled: ReadonlySet<string>, forward: readonly IrForwardAgg[]): string[] {
  const names = new Set<string>();
  for (const x of exprNodes(cond)) {
    if (x.k !== "col" || !x.type.nullable || handled.has(x.name)) continue;
    const agg = forward.find((f) => f.name === x.name);
    names.add(agg ? `${agg.agg}(…) over next` : x.name);
  }
  return [...names];
}
