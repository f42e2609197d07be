// A stream source's `unique`: one field (`unique event_id`) or a combination
// (`unique (symbol, quoted_at)`), each field non-nullable (the checker's
// FTI3005, so a streamed event with a null there is refused by validation, a
// 400 at its field, before it reaches de-duplication).

import type { Scalar, SourcePlan } from "../api.ts";

/** A stream's de-duplication fields (the compiler gives every stream a `unique`: FTI4051). */
export function streamUniqueFields(plan: SourcePlan): string[] {
  const fields = plan.unique;
  if (!fields?.length) throw new Error(`stream \`${plan.name}\` has no \`unique\` (the compiler refuses that: FTI4051)`);
  return fields;
}

const part = (v: unknown): Scalar => (v instanceof Date ? v.toISOString() : ((v ?? null) as Scalar));

/**
 * The de-duplication key of a validated event: one field's value as it is
 * (a timestamp as its ISO text; what admission, checkpoints and the segments
 * have always held), a combination's values each encoded so that the text
 * reads back one way only — a string as `s<length>:<characters>`, a number
 * `n<digits>;`, a timestamp `t<epoch ms>;`, a boolean `b1;`/`b0;` — so
 * ("a|b", "c") and ("a", "b|c") are `s3:a|bs1:c` and `s1:as3:b|c`, and the
 * string "1" and the number 1 differ. (JSON text of the array is as exact, and
 * cost ~0.9 µs an event with a timestamp in it; this is a few string appends.)
 * One source has one form, so a combination's key never meets a single value.
 */
export function streamUniqueKey(plan: SourcePlan): (row: Record<string, unknown>) => Scalar {
  const fields = streamUniqueFields(plan);
  if (fields.length === 1) {
    const [f] = fields;
    return (row) => part(row[f]);
  }
  return (row) => {
    let key = "";
    for (const f of fields) key += tuplePart(row[f]);
    return key;
  };
}

/** One value of a combination, self-delimiting (validated values: never null, since a unique field is not nullable). */
function tuplePart(v: unknown): string {
  if (typeof v === "string") return `s${v.length}:${v}`;
  if (typeof v === "number" || typeof v === "bigint") return `n${v};`; // an int read back from the store may be a bigint
  if (v instanceof Date) return `t${v.getTime()};`;
  if (typeof v === "boolean") return v ? "b1;" : "b0;";
  if (v === null || v === undefined) return "z;";
  // Anything else (a vector) by its JSON text, length-prefixed: two different values never share a key.
  const text = JSON.stringify(v) ?? String(v);
  return `j${text.length}:${text}`;
}
