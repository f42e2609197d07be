// Whether an imported group's table is already up to date, so that a spec
// that imports a group (spec modules, docs/language.md §3.13) does not compute
// again what another spec's run computed from the same definition and the
// same input. A computation is recorded in the run log (`fti_runs`, the
// group's entry of the run's stats, `freshness`): the group's definition
// hash, a content fingerprint of each table its SQL reads (input and
// lookups), and a stamp of its own table after the write (row count and
// latest ingested_at). A later whole-range run skips the group while all three
// still hold: the stamp catches any other writer of the table (a range run, a
// stream, the owning spec's own run).

import { createHash } from "node:crypto";
import { z } from "zod";
import type { GroupPlan, SpecBundle } from "../api.ts";
import { ident, tableRef } from "../store/sql.ts";
import type { Store } from "../store/store.ts";
import { rawTable } from "./sources.ts";

export interface GroupFreshness {
  /** sha256 of the plan fields that decide the table's rows. */
  definition: string;
  /** Content fingerprint of every table the SQL reads, `table=rows:hashsum`. */
  input: string;
  /** The group's table after the write: `rows|max(ingested_at)`. */
  table: string;
}

/** Where an up-to-date table came from. */
export interface UpToDate {
  runId: string;
  spec: string;
}

/**
 * True when a group's table may be reused: an imported group, in a
 * whole-range run, whose rows depend on the store alone (extern fns and
 * embedding models are code or services whose changes the store cannot see).
 */
export function mayReuse(plan: GroupPlan, opts: { from?: Date; to?: Date; force?: boolean }): boolean {
  if (!plan.declaredIn || opts.force) return false;
  if ((opts.from || opts.to) && !plan.reference) return false;
  return plan.externs.length === 0 && !(plan.embeddings ?? []).length;
}

/** The definition hash and input fingerprint of a group now (its table's stamp is added after the write). */
export async function currentFreshness(store: Store, bundle: SpecBundle, plan: GroupPlan): Promise<Omit<GroupFreshness, "table">> {
  const { name, version, table, keys, input, rowId, reference, lookups, features, lookbackMs, sql } = plan;
  const definition = createHash("sha256")
    .update(JSON.stringify({ name, version, table, keys, input, rowId, reference, lookups, features, lookbackMs, sql }))
    .digest("hex");
  const inputTable = input.kind === "source" ? rawTable(input.name) : bundle.groups.find((g) => g.name === input.name)?.table;
  const read = [inputTable ?? "", ...(lookups ?? []).map((l) => l.table)];
  const parts: string[] = [];
  for (const t of read) parts.push(`${t}=${await contentFingerprint(store, t)}`);
  return { definition, input: parts.join(";") };
}

/** Row count and an order-independent sum of row hashes, `ingested_at` left out (every run restamps it). */
async function contentFingerprint(store: Store, table: string): Promise<string> {
  const cols = (await store.tableColumns(table)).filter((c) => c.name.toLowerCase() !== "ingested_at");
  if (!cols.length) return "missing";
  const [r] = await store.all<{ n: unknown; h: unknown }>(
    `SELECT count(*) AS n, coalesce(sum(hash(${cols.map((c) => ident(c.name)).join(", ")})::HUGEINT), 0)::VARCHAR AS h FROM ${tableRef(table)}`,
  );
  return `${String(r.n)}:${String(r.h)}`;
}

/** The group's table as it stands: row count and latest ingested_at. */
export async function tableStamp(store: Store, table: string): Promise<string> {
  if (!(await store.tableExists(table))) return "missing";
  const [r] = await store.all<{ n: unknown; at: unknown }>(`SELECT count(*) AS n, max(ingested_at)::VARCHAR AS at FROM ${tableRef(table)}`);
  return `${String(r.n)}|${String(r.at ?? "-")}`;
}

/**
 * The run that last computed the group's table, when that computation had the
 * same definition and input and nothing has written the table since; else null.
 */
export async function findUpToDate(store: Store, plan: GroupPlan, now: Omit<GroupFreshness, "table">): Promise<UpToDate | null> {
  const last = await lastComputation(store, plan.table);
  if (!last || last.freshness.definition !== now.definition || last.freshness.input !== now.input) return null;
  if (last.freshness.table !== (await tableStamp(store, plan.table))) return null;
  return { runId: last.runId, spec: last.spec };
}

/**
 * A run's stats as far as freshness reads them. `fti_runs` is a table anyone with the store can edit: a
 * record of another shape (`"groups": 5`, a group `null`) was a TypeError (exit 3); now it matches nothing.
 */
const RUN_STATS = z.looseObject({
  groups: z
    .array(
      z.looseObject({
        table: z.string().optional(),
        skipped: z.boolean().optional(),
        freshness: z.looseObject({ definition: z.string(), input: z.string(), table: z.string() }).optional(),
      }),
    )
    .optional(),
});

/** The run's recorded groups, or null when its stats are not what fti writes. */
function recordedGroups(stats: unknown): z.infer<typeof RUN_STATS>["groups"] | null {
  let value: unknown;
  try {
    value = JSON.parse(String(stats));
  } catch {
    return null;
  }
  const r = RUN_STATS.safeParse(value);
  return r.success ? (r.data.groups ?? []) : null;
}

/** The latest ok feature run that computed `table` with a freshness record (skips are not computations). */
async function lastComputation(store: Store, table: string): Promise<(UpToDate & { freshness: GroupFreshness }) | null> {
  const runs = await store.all<{ run_id: string; spec: string; stats: unknown }>(
    `SELECT run_id, spec, stats::VARCHAR AS stats FROM fti_runs
      WHERE kind = 'features' AND status = 'ok' AND stats::VARCHAR LIKE ?
      ORDER BY started_at DESC`,
    [`%${JSON.stringify(table)}%`],
  );
  for (const run of runs) {
    const groups = recordedGroups(run.stats);
    if (!groups) return null; // a damaged record cannot vouch for the table: compute it again
    const entry = groups.find((g) => g.table === table && !g.skipped);
    if (!entry) continue;
    // The latest computation decides; one without a record cannot be matched.
    return entry.freshness ? { runId: run.run_id, spec: run.spec, freshness: entry.freshness } : null;
  }
  return null;
}
