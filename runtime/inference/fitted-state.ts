// The fitted MDT state of a registry row, checked against the model's plan
// before anything encodes with it. fti writes it (training), but the registry
// is a table anyone with the store can edit: a state missing an input, a step
// or a number would otherwise surface as a TypeError in the generated encode
// (an internal error, exit 3) or silently as NaN inputs. A zod schema per
// plan, as registry/row-shape.ts checks the row's other JSON columns.

import { z } from "zod";
import type { FittedState, ModelPlan } from "../api.ts";
import { UserError } from "../errors.ts";
import { pathText } from "../path-text.ts";

/** A value as a message shows it; `missing` when absent. */
const shown = (v: unknown) => JSON.stringify(v) ?? "missing";

type FieldSchema = (error: (iss: { input: unknown }) => string) => z.ZodType;
/** z.number() takes finite numbers only. */
const finite: FieldSchema = (error) => z.number({ error });

/** What each kind's fitted state must hold (kinds without state take anything). */
const STATE_FIELDS: Record<string, Record<string, FieldSchema>> = {
  standard_scale: { mean: finite, std: finite },
  min_max_scale: { min: finite, max: finite },
  impute: { value: (error) => z.union([z.number(), z.string()], { error }) },
  one_hot: { categories: (error) => z.array(z.string({ error }), { error }) },
};

/** One step's state: an object with the kind's fields, each failing as `(kind) is <value>`. */
function stepSchema(kind: string): z.ZodType {
  const fields = STATE_FIELDS[kind];
  if (!fields) return z.unknown();
  const error = (iss: { input: unknown }) => `(${kind}) is ${shown(iss.input)}`;
  const shape = Object.fromEntries(Object.entries(fields).map(([name, field]) => [name, field(error)]));
  return z.looseObject(shape, { error: (iss) => `(${kind}) is ${shown(iss.input)}, not an object` });
}

const schemas = new WeakMap<Pick<ModelPlan, "inputs">, z.ZodType>();

/** The schema of a state training writes for `plan`: its width, classes, and per input one state per step. */
function stateSchema(plan: Pick<ModelPlan, "inputs">): z.ZodType {
  let schema = schemas.get(plan);
  if (!schema) {
    const inputs = Object.fromEntries(
      plan.inputs.map((input) => {
        const n = input.steps.length;
        const steps = z.tuple(input.steps.map((s) => stepSchema(s.kind)) as [z.ZodType, ...z.ZodType[]], {
          error: (iss) => `is ${Array.isArray(iss.input) ? `${iss.input.length} step(s)` : "missing"}; the model has ${n}`,
        });
        return [input.name, steps];
      }),
    );
    schema = z.looseObject(
      {
        width: z.number({ error: (iss) => `is ${shown(iss.input)}, not a positive whole number` }).int().min(1),
        classes: z.array(z.union([z.string(), z.number()], { error: (iss) => `is ${shown(iss.input)}, not a string or number` }), { error: "is not a list of strings or numbers" }).nullish(),
        inputs: z.looseObject(inputs, { error: (iss) => (iss.input === undefined || iss.input === null ? "is missing" : `is ${shown(iss.input)}, not an object`) }),
      },
      { error: "the state is not an object" },
    );
    schemas.set(plan, schema);
  }
  return schema;
}

/** The first place where `state` is not what training writes for `plan`, as a path and what is wrong; null when it fits. */
export function fittedStateProblem(plan: Pick<ModelPlan, "inputs">, state: unknown): string | null {
  const r = stateSchema(plan).safeParse(state);
  if (r.success) return null;
  const issue = r.error.issues[0];
  return issue.path.length ? `${pathText(issue.path)} ${issue.message}` : issue.message;
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
