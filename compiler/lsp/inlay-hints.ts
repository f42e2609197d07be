// Inlay hints: the type the checker inferred where the spec does not write
// one — after each feature of a group (`pace_28d: float?`) and after a view's
// label. Only types of the text as it is now (Analysis.current): a
// declaration that does not check shows none, rather than an old type.

import { InlayHintKind, type InlayHint, type Range as LspRange } from "vscode-languageserver";
import type { FeatureGroupDecl, Ident } from "../ast.ts";
import { show } from "../checker/types.ts";
import type { IrType } from "../ir.ts";
import type { Analysis } from "./analysis.ts";
import { toLsp } from "./positions.ts";

const before = (a: { line: number; character: number }, b: { line: number; character: number }) => a.line < b.line || (a.line === b.line && a.character < b.character);

/**
 * The features of `group` that did not check, and those reading one: the checker types a
 * failed feature's readers with a stand-in (it reported the failure once), not their real type.
 */
function failedFeatures(a: Analysis, group: FeatureGroupDecl, checked: Set<string>): Set<string> {
  const failed = new Set(group.features.map((f) => f.name.name).filter((n) => !checked.has(n)));
  const prefix = `feature:${group.name.name}.`;
  for (let grew = failed.size > 0; grew; ) {
    grew = false;
    for (const f of group.features) {
      if (failed.has(f.name.name)) continue;
      const { start, end } = f.expr.range;
      const reads = a.index.occurrences.some((o) => !o.def && o.key.startsWith(prefix) && failed.has(o.name) && o.range.start.offset >= start.offset && o.range.end.offset <= end.offset);
      if (reads) failed.add(f.name.name), (grew = true);
    }
  }
  return failed;
}

/** The hints inside `range` (the visible part of the document), or all of them. */
export function inlayHints(a: Analysis, range?: LspRange): InlayHint[] {
  const out: InlayHint[] = [];
  const hint = (name: Ident, type: IrType | undefined, tooltip: string) => {
    if (!type || !name.name) return;
    const position = toLsp(name.range).end;
    if (range && (before(position, range.start) || before(range.end, position))) return;
    out.push({ position, label: `: ${show(type)}`, kind: InlayHintKind.Type, paddingLeft: false, tooltip });
  };
  for (const d of a.program.decls) {
    if (d.kind === "feature_group") {
      const g = a.current.groups.get(d.name.name);
      const failed = failedFeatures(a, d, new Set(g?.features.map((x) => x.name)));
      for (const f of d.features) {
        const irf = failed.has(f.name.name) ? undefined : g?.features.find((x) => x.name === f.name.name);
        hint(f.name, irf?.type, irf ? `${irf.kind === "window" ? "windowed" : "row-level"} feature, ${irf.type.nullable ? "nullable" : "never null"}` : "");
      }
    } else if (d.kind === "view" && d.label) {
      const v = a.current.views.get(d.name.name);
      hint(d.label.name, v?.label.type, "the label's type (the model's task follows from it)");
    }
  }
  return out;
}
