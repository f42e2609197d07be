// Enrichment of a feature group by reference values: in a feature's
// expression, `profile.hr_max` is the value of the reference group
// `profile`'s feature `hr_max` for the same entity, as it holds at the input
// row's event time (the row with the latest valid_from at or before it, and
// a valid_to after it when the group has one). Only groups over reference
// data (a source without event_time) can be looked up this way: an event
// group's value at a time is what a view's point-in-time join is for.

import type { Expr, FeatureGroupDecl, Ident } from "../ast.ts";
import type { IrExpr, IrGroup, IrGroupLookup } from "../ir.ts";
import { DIAG } from "../messages.ts";
import type { Ctx } from "./context.ts";
import type { CheckedGroup } from "./groups.ts";
import type { Checked } from "./exprs.ts";
import { withNull } from "./types.ts";

type Member = Extract<Expr, { kind: "member" }>;

/** The groups a group's features look up (`g.f`), as written: ordering edges for orderGroups. */
export function lookupRefs(decl: FeatureGroupDecl): Ident[] {
  const out: Ident[] = [];
  const walk = (e: Expr): void => {
    switch (e.kind) {
      case "member": out.push(e.object); return;
      case "call": e.args.forEach(walk); return;
      case "window": e.args.forEach(walk); return;
      case "unary": walk(e.operand); return;
      case "binary": walk(e.left); walk(e.right); return;
      case "if": walk(e.cond); walk(e.then); walk(e.else); return;
      case "in": walk(e.operand); e.values.forEach(walk); return;
      case "list": e.items.forEach(walk); return;
      default: return;
    }
  };
  for (const f of decl.features) walk(f.expr);
  return out;
}

/** The column name a looked-up value has in the group's SQL (not a name a spec can write). */
export const lookupColumn = (group: string, feature: string) => `${group}.${feature}`;

/** The lookups of one group being checked: `member` checks each `g.f`, `ir()` is what the lowering joins. */
export class GroupLookups {
  private readonly used = new Map<string, IrGroupLookup>();

  constructor(
    private readonly ctx: Ctx,
    private readonly decl: FeatureGroupDecl,
    /** null: a global group (no `for`). */
    private readonly entity: string | null,
    private readonly groups: Map<string, CheckedGroup>,
  ) {}

  /** `g.f` in a feature of the group: its value for the row's entity at the row's time, with its lineage in `deps`. */
  member(e: Member, deps: Set<string>): Checked {
    const { ctx } = this;
    const target = ctx.symbols.get(e.object.name);
    if (target?.kind !== "feature_group") {
      if (!target && ctx.silent.has(e.object.name)) return undefined;
      ctx.report(e.range, DIAG.qualifiedName.inExpression(e.object.name, e.property.name));
      return undefined;
    }
    ctx.useDecl(e.object.name);
    const g = this.groups.get(e.object.name);
    if (!g) return undefined; // it failed its own check (or is this group: a cycle, reported by orderGroups)
    const where = `feature group \`${this.decl.name.name}\``;
    if (!g.ir.reference) {
      ctx.report(e.object.range, DIAG.lookupNotReference.eventGroup(e.object.name, e.property.name, where));
      return undefined;
    }
    // A global reference group (no keys) holds one value for everyone: any group may look it up.
    if (g.ir.entity !== null && g.ir.entity !== this.entity) {
      ctx.report(e.object.range, DIAG.lookupNotReference.otherEntity(e.object.name, g.ir.entity, where, this.entity));
      return undefined;
    }
    const f = g.ir.features.find((x) => x.name === e.property.name);
    if (!f) {
      ctx.report(e.property.range, DIAG.unknownFeature.of(e.object.name, e.property.name, g.ir.features.map((x) => x.name)));
      return undefined;
    }
    (g.lineage.get(f.name) ?? new Set()).forEach((x) => deps.add(x));
    const lookup = this.lookupOf(g.ir);
    if (!lookup.features.some((x) => x.name === f.name)) lookup.features.push({ name: f.name, type: withNull(f.type) });
    const expr: IrExpr = { k: "col", name: lookupColumn(g.ir.name, f.name), type: withNull(f.type) };
    return expr;
  }

  private lookupOf(g: IrGroup): IrGroupLookup {
    let l = this.used.get(g.name);
    if (!l) {
      const ref = g.reference!;
      l = { group: g.name, table: g.table, keys: g.keys.map((k) => k.name), ...(g.rowId ? { rowId: g.rowId.name } : {}), validTo: ref.validTo, reference: { source: ref.source, validity: ref.validity }, features: [] };
      this.used.set(g.name, l);
    }
    return l;
  }

  /** The lookups used, for IrGroup.lookups (absent when none). */
  ir(): IrGroupLookup[] | undefined {
    return this.used.size ? [...this.used.values()] : undefined;
  }

}
