// Finding a view or a model of a compiled spec (a SpecBundle) by name, with
// the one-line errors the CLI prints. Shared by retrieval, training, batch
// and online inference, so none of them imports another for a lookup.

import type { ModelPlan, SpecBundle, ViewPlan } from "./api.ts";
import { UserError } from "./errors.ts";

export function findView(bundle: SpecBundle, viewName: string): ViewPlan {
  const view = bundle.views.find((v) => v.name === viewName);
  if (!view) {
    const names = bundle.views.map((v) => v.name);
    throw new UserError(
      `spec \`${bundle.name}\` has no view \`${viewName}\`` + (names.length ? `; its views: ${names.join(", ")}` : "; it declares no views"),
    );
  }
  return view;
}

export function findModel(bundle: SpecBundle, modelName: string): { plan: ModelPlan; view: ViewPlan } {
  const plan = bundle.models.find((m) => m.name === modelName);
  if (!plan) {
    const names = bundle.models.map((m) => m.name);
    throw new UserError(
      `spec \`${bundle.name}\` has no model \`${modelName}\`` +
        (names.length ? `; its models: ${names.join(", ")}` : "; it declares no models"),
    );
  }
  const view = bundle.views.find((v) => v.name === plan.view);
  if (!view) throw new Error(`model \`${modelName}\` reads view \`${plan.view}\`, which the bundle does not have`);
  return { plan, view };
}
