// The point-in-time joins of a view, resolved against its bundle: per join,
// the group's plan, the spine columns its keys are read from, and the stored
// columns it gives (with their names in the feature vector). Training, batch
// and online inference and verification all read a view's features through
// this one list, so they join the same groups on the same keys.

import type { ColumnType, GroupPlan, SpecBundle, ViewJoinPlan, ViewPlan } from "../api.ts";

export interface ResolvedJoin {
  join: ViewJoinPlan;
  plan: GroupPlan;
  /** `name`: the feature's name in the vector; `column`: its column in the group's table. */
  features: Array<{ name: string; column: string; type: ColumnType }>;
}

export function viewJoins(bundle: SpecBundle, view: ViewPlan): ResolvedJoin[] {
  return view.joins.map((join, i) => {
    const plan = bundle.groups.find((g) => g.name === join.group);
    if (!plan) throw new Error(`view \`${view.name}\` joins feature group \`${join.group}\`, which the bundle does not define`);
    const features = view.features.filter((f) => f.join === i).map((f) => ({ name: f.name, column: f.column, type: f.type }));
    return { join, plan, features };
  });
}
