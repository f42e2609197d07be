// The definition each group table was written under (`fti_group_definitions`):
// a group version's rows are what models trained on it saw, so a run whose
// spec computes the same table otherwise (a window of 7d made 90d, a fn's body
// edited, another spec declaring a group of that name) is refused before it
// writes, naming what changed; the fix is a new `version` (its own table).
// The definitions are the compiler's hashes (compiler/lower/group-definition.ts).

import type { GroupPlan, SpecBundle } from "../api.ts";
import { z } from "zod";
import { UserError } from "../errors.ts";
import { pathText } from "../path-text.ts";
import type { Store } from "../store/store.ts";

const TABLE = "fti_group_definitions";

/** Where a group is declared, for messages: its own spec's file when it is imported. */
export const groupSite = (bundle: SpecBundle, plan: GroupPlan): string => `${plan.declaredIn?.file ?? bundle.file}:${plan.line}`;

type Definition = NonNullable<GroupPlan["definition"]>;

/**
 * Before a run writes `plan.table`: a table just created (`created`) or not
 * recorded yet (written before definitions were recorded) takes this
 * definition; a recorded one must be the same. Inside the run's transaction.
 */
export async function checkGroupDefinition(store: Store, bundle: SpecBundle, plan: GroupPlan, created: boolean): Promise<void> {
  const definition = plan.definition;
  if (!definition) return;
  await store.run(`CREATE TABLE IF NOT EXISTS ${TABLE} (table_name VARCHAR PRIMARY KEY, definition VARCHAR NOT NULL, spec VARCHAR NOT NULL, recorded_at TIMESTAMP NOT NULL)`);
  const recorded = created ? undefined : await recordedDefinitionOf(store, plan);
  if (recorded) {
    const changed = changedSince(bundle, plan, definition, recorded);
    if (!changed) return;
    throw new UserError(
      `${changed}: its rows would no longer be what models trained on this version saw; a published group version is never rewritten`,
      `bump its \`version\` in the spec (to ${plan.version + 1}): the new version gets its own table and the old one stays for models trained on it`,
    );
  }
  await store.run(`INSERT OR REPLACE INTO ${TABLE} VALUES (?, ?, ?, now())`, [plan.table, JSON.stringify(definition), bundle.name]);
}

/**
 * Before a command reads `plan.table` (a view's rows for training, export or batch scoring; materialize): its
 * rows must be what the spec computes. A spec edited after \`fti features\` (a window of 7d made 90d, without a
 * new \`version\`) trained its model on the old values, while a stream computed the new ones online. Read only:
 * no record (a store from before definitions were recorded) is nothing to compare.
 */
export async function checkReadDefinition(store: Store, bundle: SpecBundle, plan: GroupPlan): Promise<void> {
  const definition = plan.definition;
  if (!definition || !(await store.tableExists(TABLE))) return;
  const recorded = await recordedDefinitionOf(store, plan);
  const changed = recorded && changedSince(bundle, plan, definition, recorded);
  if (!changed) return;
  throw new UserError(
    `${changed}: its rows are not what the spec computes now`,
    `bump its \`version\` in the spec (to ${plan.version + 1}) and run \`fti features ${bundle.file}\`, or undo the edit`,
  );
}

/** The record of the definition `plan.table` was written under, if any. */
async function recordedDefinitionOf(store: Store, plan: GroupPlan): Promise<{ definition: string; spec: string } | undefined> {
  const [row] = await store.all<{ definition: string; spec: string }>(`SELECT definition, spec FROM ${TABLE} WHERE table_name = ?`, [plan.table]);
  return row;
}

/** "feature group `g` (site) changed since <table> was written by spec s (what differs)", or undefined when nothing differs. */
function changedSince(bundle: SpecBundle, plan: GroupPlan, definition: Definition, row: { definition: string; spec: string }): string | undefined {
  const changed = recordedDifferences(row, plan, definition);
  if (changed.length === 0) return undefined;
  return `feature group \`${plan.name}\` (${groupSite(bundle, plan)}) changed since ${plan.table} was written by spec ${row.spec} (${changed.join("; ")})`;
}

/** What differs between a recorded definition and the spec's (none: the same); a damaged record is a UserError. */
function recordedDifferences(row: { definition: string }, plan: GroupPlan, definition: Definition): string[] {
  const was = recordedDefinition(row.definition);
  if (typeof was === "string") {
    throw new UserError(
      `the definition fti recorded for ${plan.table} (in ${TABLE}) is damaged: ${was}`,
      `if ${plan.table} was written under the spec's current definition of \`${plan.name}\`, delete the record (DELETE FROM ${TABLE} WHERE table_name = '${plan.table}') and run again; otherwise bump the group's \`version\``,
    );
  }
  return differences(was, definition);
}

/** What a recorded definition must hold; each message says what is wrong in the damaged-record error. */
const DEFINITION = z.object(
  {
    group: z.string({ error: "its `group` is not a hash" }),
    features: z.record(z.string(), z.string({ error: "its `features` are not hashes by feature name" }), {
      error: "its `features` are not hashes by feature name",
    }),
  },
  { error: "it is not an object" },
);

/** A recorded definition, or what is wrong with it (a hand edit or damage made it a TypeError, exit 3). */
function recordedDefinition(text: string): Definition | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "it is not JSON";
  }
  const r = DEFINITION.safeParse(value);
  if (r.success) return value as Definition; // as parsed: zod's copy would give a feature named __proto__ to the prototype
  const issue = r.error.issues[0];
  // Where inside `features` (`features.km_7d`): the group-level words name the column only.
  return issue.path.length > 1 ? `${issue.message} (at ${pathText(issue.path)})` : issue.message;
}

/** What differs, in words: the group's shape, then each feature computed otherwise (added or dropped ones are the column check's). */
function differences(was: Definition, now: Definition): string[] {
  const out: string[] = [];
  if (was.group !== now.group) out.push("its keys, input, `where` or lookups differ");
  const recomputed = Object.keys(now.features).filter((f) => was.features[f] !== undefined && was.features[f] !== now.features[f]);
  if (recomputed.length) out.push(`${recomputed.map((f) => `\`${f}\``).join(", ")} ${recomputed.length === 1 ? "is" : "are"} computed otherwise`);
  return out;
}
