// The label of a multiclass model: its values are the classes. A string or an
// int; and what the spec alone shows cannot be classes is an error here (a
// constant, a field that allows one value or more than MAX_CLASSES, the
// entity's key). The classes themselves are the train split's label values
// (runtime/training/classes.ts), checked again there against the data.

import type { Range } from "../ast.ts";
import type { IrSource, IrView } from "../ir.ts";
import { MAX_CLASSES } from "../../runtime/catalogue.ts";
import { DIAG } from "../messages.ts";
import type { Ctx } from "./context.ts";
import { show } from "./types.ts";

/** Reports at `range` what makes the view's label unfit for multiclass classification; true when it fits. */
export function checkClassLabel(ctx: Ctx, range: Range, view: IrView, source: IrSource | undefined): boolean {
  const lt = view.label.type;
  const label = `\`${view.label.name} = ${view.label.text}\``;
  if (lt.base !== "string" && lt.base !== "int") {
    ctx.report(range, DIAG.labelTaskMisfit.multiclass(label, view.name, show(lt), lt.base === "bool"));
    return false;
  }
  const expr = view.label.expr;
  if (expr.k === "lit") {
    ctx.report(range, DIAG.oneClass.label(label, view.name, `is the constant \`${view.label.text}\``));
    return false;
  }
  if (expr.k !== "col") return true;
  const key = [...view.keys.map((k) => k.name), ...view.spine.entityColumns].find((k) => k === expr.name);
  if (key !== undefined) {
    ctx.report(range, DIAG.labelIsKey.key(label, view.name, key));
    return false;
  }
  const allowed = source?.fields.find((f) => f.name === expr.name)?.allowed;
  if (allowed?.length === 1) {
    ctx.report(range, DIAG.oneClass.label(label, view.name, `reads \`${expr.name}\`, which allows only ${JSON.stringify(allowed[0])} (\`in (...)\`)`));
    return false;
  }
  if (allowed && allowed.length > MAX_CLASSES) {
    ctx.report(range, DIAG.tooManyClasses.allowed(label, view.name, expr.name, allowed.length, MAX_CLASSES));
    return false;
  }
  return true;
}
