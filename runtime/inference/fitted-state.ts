// The fitted MDT state of a registry row, checked against the model's plan
// before anything encodes with it. fti writes it (training), but the registry
// is a table anyone with the store can edit: a state missing an input, a step
// or a number would otherwise surface as a TypeError in the generated encode
// (an internal error, exit 3) or silently as NaN inputs.

import type { FittedState, ModelPlan } from "../api.ts";
import { UserError } from "../errors.ts";

const isNumber = (v: unknown) => typeof v === "number" && Number.isFinite(v);

/** What each kind's fitted state must hold (kinds without state take anything). */
const STATE_FIELDS: Record<string, Record<string, (v: unknown) => boolean>> = {
  standard_scale: { mean: isNumber, std: isNumber },
  min_max_scale: { min: isNumber, max: isNumber },
  impute: { value: (v) => isNumber(v) || typeof v === "string" },
  one_hot: { categories: (v) => Array.isArray(v) && v.every((c) => typeof c === "string") },
};

/** The first place where `state` is not what training writes for `plan`, as a path and what is wrong; null when it fits. */
export function fittedStateProblem(plan: Pick<ModelPlan, "inputs">, state: unknown): string | null {
  if (state === null || typeof state !== "object" || Array.isArray(state)) return "the state is not an object";
  const s = state as Partial<FittedState>;
  if (!Number.isInteger(s.width) || (s.width as number) < 1) return `width is ${JSON.stringify(s.width)}, not a positive whole number`;
  if (s.classes !== undefined && s.classes !== null && !(Array.isArray(s.classes) && s.classes.every((c) => typeof c === "string" || isNumber(c)))) {
    return "classes is not a list of strings or numbers";
  }
  if (s.inputs === null || typeof s.inputs !== "object") return "inputs is missing";
  for (const input of plan.inputs) {
    const steps = (s.inputs as Record<string, unknown>)[input.name];
    if (!Array.isArray(steps) || steps.length !== input.steps.length) {
      return `inputs.${input.name} is ${Array.isArray(steps) ? `${steps.length} step(s)` : "missing"}; the model has ${input.steps.length}`;
    }
    for (let k = 0; k < input.steps.length; k++) {
      const fields = STATE_FIELDS[input.steps[k].kind];
      if (!fields) continue;
      const step = steps[k] as Record<string, unknown> | null;
      for (const [field, ok] of Object.entries(fields)) {
        if (step === null || typeof step !== "object" || !ok(step[field])) {
          return `inputs.${input.name}[${k}].${field} (${input.steps[k].kind}) is ${JSON.stringify(step?.[field]) ?? "missing"}`;
        }
      }
    }
  }
  return null;
}

/** Throws a UserError naming the model version and the first problem of its stored state. */
export function checkFittedState(plan: Pick<ModelPlan, "inputs">, state: unknown, model: string, version: number): asserts state is FittedState {
  const problem = fittedStateProblem(plan, state);
  if (problem) {
    throw new UserError(
      `model \`${model}\` version ${version}: its stored MDT state is not what training writes: ${problem} (was the registry table fti_models edited?)`,
      `retrain it with \`fti train\`, or promote another version with \`fti models promote\``,
    );
  }
}
