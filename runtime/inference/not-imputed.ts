// The inputs a missing entity can leave null that have no `impute` step: why a model cannot predict
// for an unknown or stale entity (the 422, and the note of `fti train`). The rule is the compiler's
// `canImpute` (compiler/emit/modules/training.ts): an input needs an impute step unless it is an ODT
// over request fields alone. Named so that a model whose numbers are all imputed and whose string
// feature only ends in one_hot (null → all zeros, which logistic takes) says which input is missing one.

import type { ModelPlan, ViewPlan } from "../api.ts";

/** The model's inputs without an `impute` step that a missing entity can leave null, in input order. */
export function notImputedInputs(plan: Pick<ModelPlan, "inputs">, view: Pick<ViewPlan, "odts">): string[] {
  const requestOnly = (name: string) => view.odts.find((o) => o.name === name)?.featureParams.length === 0;
  return plan.inputs.filter((i) => !i.steps.some((s) => s.kind === "impute") && !(i.from === "odt" && requestOnly(i.name))).map((i) => i.name);
}

/** `last_genre` or `a, b, c, … (12 inputs)`: the names, the first 8. */
export function notImputedText(names: string[]): string {
  const shown = names.slice(0, 8).join(", ");
  return names.length > 8 ? `${shown}, … (${names.length} inputs)` : shown;
}
