// What the service serves, worked out once from the spec: per served model its
// view, joins, request fields and schemas (ServedModel, filled with a predictor
// by each load), and the feature groups whose online rows it must hold.

import { z } from "zod";
import type { ColumnPlan, ModelPlan, OdtPlan, SpecBundle, ViewPlan } from "../api.ts";
import { UserError } from "../errors.ts";
import type { Predictor } from "../inference/predictor.ts";
import type { ModelSummary } from "../registry/registry.ts";
import { viewJoins, type ResolvedJoin } from "../retrieval/view-joins.ts";
import type { BatchStats, PredictBatcher } from "./batcher.ts";
import { viewFeatureGroups, type GroupFeatures } from "./materialize.ts";
import { MAX_INSTANCES } from "./predict-request.ts";

export interface ServedModel {
  name: string;
  plan: ModelPlan;
  view: ViewPlan;
  groups: GroupFeatures[];
  /** The view's point-in-time joins: which group, on which request fields. */
  joins: ResolvedJoin[];
  /** Entity keys, then request fields. */
  fields: Array<ColumnPlan & { kind: "key" | "request" }>;
  single: z.ZodType;
  batch: z.ZodType;
  /** The names the model reads (its plan's inputs), in order. */
  inputNames: string[];
  /** The view's ODTs with the names of their feature arguments ("group.f" → "f"), worked out once. */
  odts: Array<{ odt: OdtPlan; features: string[] }>;
  predictor: Predictor | null;
  /** Batches concurrent requests into one ONNX run; swapped with the predictor. */
  batcher: PredictBatcher | null;
  scored: BatchStats;
  record: ModelSummary | null;
  loadedAt: Date | null;
  reloadError?: string;
}

/** The request schema of a served model: the one the compiler generated (schema.ts). */
export function requestSchema(plan: ModelPlan): z.ZodType {
  return plan.requestSchema;
}

/**
 * The spec's online models (not loaded yet) and the groups they and the
 * agents read, each group with the union of the features read from it. A spec
 * that serves nothing online, or names what it does not define, is a UserError.
 */
export function servingPlan(bundle: SpecBundle): { served: Map<string, ServedModel>; groups: GroupFeatures[] } {
  const online = bundle.serves.filter((s) => s.online);
  // Agents, indexes and streams are served without a model (an agent may only read and retrieve).
  if (online.length === 0 && !bundle.agents?.length && !bundle.indexes?.length && !bundle.sources.some((src) => src.stream)) {
    throw new UserError(
      `spec \`${bundle.name}\` serves nothing online: no model, agent, index or stream`,
      "add `serve <model> { online }` to the spec",
    );
  }
  const served = new Map<string, ServedModel>();
  const groups = new Map<string, GroupFeatures>();
  for (const s of online) {
    const plan = bundle.models.find((m) => m.name === s.model);
    if (!plan) throw new UserError(`spec \`${bundle.name}\` serves model \`${s.model}\`, which it does not define`);
    const view = bundle.views.find((v) => v.name === plan.view);
    if (!view) throw new UserError(`model \`${plan.name}\` reads view \`${plan.view}\`, which spec \`${bundle.name}\` does not define`);
    const viewGroups = viewFeatureGroups(bundle, view);
    for (const g of viewGroups) {
      const have = groups.get(g.plan.name);
      if (!have) groups.set(g.plan.name, { plan: g.plan, features: [...g.features] });
      else for (const f of g.features) if (!have.features.some((x) => x.name === f.name)) have.features.push(f);
    }
    const single = requestSchema(plan);
    served.set(plan.name, {
      name: plan.name,
      plan,
      view,
      groups: viewGroups,
      joins: viewJoins(bundle, view),
      fields: [
        ...view.keys.map((k) => ({ ...k, nullable: false, kind: "key" as const })),
        ...view.requestFields.filter((r) => !view.keys.some((k) => k.name === r.name)).map((r) => ({ ...r, kind: "request" as const })),
      ],
      single,
      batch: z.strictObject({ instances: z.array(single).min(1).max(MAX_INSTANCES) }),
      inputNames: [...new Set(plan.inputs.map((x) => x.name))],
      odts: view.odts.map((odt) => ({ odt, features: odt.featureParams.map((p) => (p.includes(".") ? p.split(".", 2)[1] : p)) })),
      predictor: null,
      batcher: null,
      scored: { runs: 0, rows: 0 },
      record: null,
      loadedAt: null,
    });
  }
  // Agents see their context features of the online tables too.
  for (const agent of bundle.agents ?? []) {
    for (const f of agent.context) {
      const plan = bundle.groups.find((g) => g.name === f.group);
      if (!plan) throw new UserError(`agent \`${agent.name}\` reads feature group \`${f.group}\`, which spec \`${bundle.name}\` does not define`);
      const have = groups.get(plan.name);
      if (!have) groups.set(plan.name, { plan, features: [{ name: f.name, type: f.type }] });
      else if (!have.features.some((x) => x.name === f.name)) have.features.push({ name: f.name, type: f.type });
    }
  }
  return { served, groups: [...groups.values()] };
}
