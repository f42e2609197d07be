// A stream source's `unique` (a file source's may be a combination of fields, `unique (symbol, date)`).

import type { SourcePlan } from "../api.ts";

/** A stream's de-duplication field: the compiler lets a stream have a one-field `unique` only (FTI4051). */
export function streamUniqueField(plan: SourcePlan): string {
  const fields = plan.unique;
  if (fields?.length !== 1) throw new Error(`stream \`${plan.name}\` has no one-field \`unique\` (the compiler refuses that: FTI4051)`);
  return fields[0];
}
