// The online store: per feature group, the latest row of each entity, in
// `online_<group>_v<version>` next to the offline table it comes from.
//
// Materialisation is incremental. `fti_online_state` keeps, per online table,
// the offline table's max(ingested_at) and row count at the last run (the
// watermark). A run:
//   1. nothing to do when the watermark, the row count and the --to bound are
//      unchanged (no scan beyond max/count);
//   2. else the candidate entities are those with offline rows ingested after
//      the watermark, plus those whose online row no longer exists offline (a
//      re-run range that replaced it); a full pass over every entity when the
//      table is new, its layout or the --to bound changed, or rows appeared
//      without moving the watermark;
//   3. the latest row of each candidate is recomputed from the whole offline
//      table (the same tie-break as the point-in-time join: event_time, then
//      ingested_at, row id, feature values), and only rows that differ from the
//      online ones are written (delete + insert, one transaction).
// Each written row carries `materialized_at`; the state row's `changed_at`
// tells a running service which tables to re-read.

import type { ColumnType, GroupPlan, SpecBundle, ViewPlan } from "../api.ts";
import { UserError } from "../errors.ts";
import { checkReadDefinition } from "../features/group-definitions.ts";
import { groupTableColumns } from "../features/pipeline.ts";
import { viewJoins } from "../retrieval/view-joins.ts";
import { type Store } from "../store/store.ts";
import { ident, partitionBy, sqlTimestamp, tableRef } from "../store/sql.ts";

export const ONLINE_STATE_TABLE = "fti_online_state";

/** `online_<group>_v<version>`. */
export function onlineTable(group: Pick<GroupPlan, "name" | "version">): string {
  return `online_${group.name}_v${group.version}`;
}

/** Column layout of an online table: the offline layout plus `materialized_at`. */
/** The order that puts an entity's latest offline row first: the point-in-time join's tie-breaks. */
export function latestRowOrder(plan: GroupPlan, alias: string): string[] {
  return [
    `${alias}.event_time DESC`,
    `${alias}.ingested_at DESC NULLS LAST`,
    ...(plan.rowId ? [`${alias}.${ident(plan.rowId.name)} DESC NULLS LAST`] : []),
    ...plan.features.map((f) => `${alias}.${ident(f.name)} DESC NULLS LAST`),
  ];
}

export function onlineTableColumns(plan: GroupPlan): Array<{ name: string; type: string }> {
  return [...groupTableColumns(plan), { name: "materialized_at", type: "TIMESTAMP" }];
}

export interface GroupFeatures {
  plan: GroupPlan;
  features: Array<{ name: string; type: ColumnType }>;
}

/**
 * The stored columns a view reads, by feature group (a group joined twice, on
 * different keys, is read once): the same columns the point-in-time joins fetch.
 */
export function viewFeatureGroups(bundle: SpecBundle, view: ViewPlan): GroupFeatures[] {
  const out = new Map<string, GroupFeatures>();
  for (const { plan, features } of viewJoins(bundle, view)) {
    let g = out.get(plan.name);
    if (!g) out.set(plan.name, (g = { plan, features: [] }));
    for (const f of features) if (!g.features.some((x) => x.name === f.column)) g.features.push({ name: f.column, type: f.type });
  }
  return [...out.values()];
}

export interface MaterializeOptions {
  /** Only these groups (default: every group of the spec). */
  groups?: string[];
  /** Only offline rows with event_time < to (the online store as of that instant). Default: no bound. */
  to?: Date;
  /** The run's timestamp (default: now); written as `materialized_at`. */
  now?: Date;
}

export interface GroupMaterializeReport {
  group: string;
  version: number;
  table: string;
  /** unchanged: nothing was read; incremental: candidates only; full: every entity; skipped: no offline table. */
  mode: "unchanged" | "incremental" | "full" | "skipped";
  /** Entities whose latest row was recomputed. */
  candidates: number;
  /** Rows written (entities whose online row changed or is new). */
  written: number;
  /** Entities removed (no offline row left). */
  deleted: number;
  /** Entities in the online table after the run. */
  entities: number;
  /** max(ingested_at) of the offline table (ISO), null when empty. */
  watermark: string | null;
  ms: number;
  note?: string;
}

export interface MaterializeReport {
  at: string;
  to: string | null;
  groups: GroupMaterializeReport[];
  ms: number;
}

interface StateRow {
  online_table: string;
  watermark: Date | null;
  offline_rows: number;
  to_time: Date | null;
  changed_at: Date | null;
}

export async function ensureOnlineState(store: Store): Promise<void> {
  await store.run(
    `CREATE TABLE IF NOT EXISTS ${ONLINE_STATE_TABLE} (
       online_table VARCHAR NOT NULL,
       group_name VARCHAR NOT NULL,
       version INTEGER NOT NULL,
       offline_table VARCHAR NOT NULL,
       watermark TIMESTAMP,
       offline_rows BIGINT NOT NULL,
       to_time TIMESTAMP,
       entities BIGINT NOT NULL,
       materialized_at TIMESTAMP NOT NULL,
       changed_at TIMESTAMP
     )`,
  );
}

/** Writes the latest row per entity of each group into its online table, incrementally. */
export async function materialize(store: Store, bundle: SpecBundle, opts: MaterializeOptions = {}): Promise<MaterializeReport> {
  const t0 = performance.now();
  const now = opts.now ?? new Date();
  if (opts.to && Number.isNaN(opts.to.getTime())) throw new UserError("--to is not a valid date");
  let groups = bundle.groups;
  if (opts.groups && opts.groups.length) {
    const unknown = opts.groups.filter((g) => !bundle.groups.some((p) => p.name === g));
    if (unknown.length) {
      throw new UserError(
        `spec \`${bundle.name}\` has no feature group ${unknown.map((u) => `\`${u}\``).join(", ")}` +
          (bundle.groups.length ? `; its groups: ${bundle.groups.map((g) => g.name).join(", ")}` : ""),
      );
    }
    groups = bundle.groups.filter((g) => opts.groups!.includes(g.name));
  }
  if (store.readOnly) throw new UserError("materialize needs a writable store");
  const reports: GroupMaterializeReport[] = [];
  // Before anything is written: online rows from a table the spec no longer computes would be served as its features.
  for (const plan of groups) await checkReadDefinition(store, bundle, plan);
  await store.transaction(async () => {
    await ensureOnlineState(store);
    for (const plan of groups) reports.push(await materializeGroup(store, plan, now, opts.to ?? null));
  });
  return {
    at: now.toISOString(),
    to: opts.to ? opts.to.toISOString() : null,
    groups: reports,
    ms: Math.round(performance.now() - t0),
  };
}

function sameTime(a: Date | null, b: Date | null): boolean {
  return (a === null ? null : a.getTime()) === (b === null ? null : b.getTime());
}

async function materializeGroup(store: Store, plan: GroupPlan, now: Date, to: Date | null): Promise<GroupMaterializeReport> {
  const t0 = performance.now();
  const table = onlineTable(plan);
  const base = { group: plan.name, version: plan.version, table };
  const done = (r: Omit<GroupMaterializeReport, "group" | "version" | "table" | "ms">): GroupMaterializeReport => ({
    ...base,
    ...r,
    ms: Math.round(performance.now() - t0),
  });

  const offlineCols = await store.tableColumns(plan.table);
  if (offlineCols.length === 0) {
    return done({ mode: "skipped", candidates: 0, written: 0, deleted: 0, entities: 0, watermark: null, note: `no offline table ${plan.table}; run \`fti features\` first` });
  }
  const expected = groupTableColumns(plan);
  const have = new Set(offlineCols.map((c) => c.name.toLowerCase()));
  const missing = expected.filter((c) => !have.has(c.name.toLowerCase()));
  if (missing.length) {
    throw new Error(`${plan.table} has no column ${missing.map((m) => `\`${m.name}\``).join(", ")}`);
  }

  const sql = groupSql(plan, table, expected);
  const [stats] = await store.all<{ wm: Date | null; n: number }>(`SELECT max(ingested_at) AS wm, count(*) AS n FROM ${sql.off}`);
  const wm = stats.wm;
  const n = Number(stats.n);
  const [state] = await store.all<StateRow>(
    `SELECT online_table, watermark, offline_rows, to_time, changed_at FROM ${ONLINE_STATE_TABLE} WHERE online_table = ?`,
    [table],
  );
  const layoutOk = await ensureLayout(store, plan, table);
  const full = !state || !layoutOk || !sameTime(state.to_time, to);

  if (!full && state && sameTime(state.watermark, wm) && Number(state.offline_rows) === n) {
    // Nothing is written, not even the state row.
    const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${sql.on}`);
    return done({ mode: "unchanged", candidates: 0, written: 0, deleted: 0, entities: Number(c.n), watermark: wm?.toISOString() ?? null });
  }

  for (const t of Object.values(TEMP)) await store.run(`DROP TABLE IF EXISTS ${ident(t)}`);
  try {
    const wasFull = await selectCandidates(store, sql, full ? null : state ?? null);
    const changes = await applyLatestRows(store, plan, sql, now, to);
    const [total] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${sql.on}`);
    const changed = changes.written > 0 || changes.deleted > 0 || !state;
    await writeState(store, plan, table, wm, n, to, Number(total.n), now, changed ? now : state!.changed_at);
    return done({ mode: wasFull ? "full" : "incremental", ...changes, entities: Number(total.n), watermark: wm?.toISOString() ?? null });
  } finally {
    for (const t of Object.values(TEMP)) await store.run(`DROP TABLE IF EXISTS ${ident(t)}`);
  }
}

/** The temp tables of one group's run: candidate entities, their latest offline rows, the rows that differ from online. */
const TEMP = { cand: "__fti_online_cand", fresh: "__fti_online_new", upd: "__fti_online_upd" } as const;

/** SQL pieces of one group's run. */
interface GroupSql {
  off: string;
  on: string;
  keys: string[];
  /** keys, event_time, [row id], features, ingested_at */
  dataCols: string[];
  keyMatch(a: string, b: string): string;
  /** The keys as a select list (qualified by `alias`); a global group (no keys) has one candidate, the constant 1. */
  keySelect(alias?: string): string;
}

function groupSql(plan: GroupPlan, table: string, expected: Array<{ name: string }>): GroupSql {
  return {
    off: tableRef(plan.table),
    on: ident(table),
    keys: plan.keys.map((k) => ident(k.name)),
    dataCols: expected.map((c) => ident(c.name)),
    keyMatch: (a, b) => plan.keys.map((k) => `${a}.${ident(k.name)} = ${b}.${ident(k.name)}`).join(" AND ") || "TRUE",
    keySelect: (alias) => plan.keys.map((k) => `${alias ? `${alias}.` : ""}${ident(k.name)}`).join(", ") || "1 AS __fti_all",
  };
}

/** The online table: created, or recreated when its layout is not the plan's. Returns whether it already had the plan's layout. */
async function ensureLayout(store: Store, plan: GroupPlan, table: string): Promise<boolean> {
  const wanted = onlineTableColumns(plan);
  const current = await store.tableColumns(table);
  const layoutOk =
    current.length === wanted.length &&
    current.every((c, i) => c.name.toLowerCase() === wanted[i].name.toLowerCase() && c.type === wanted[i].type);
  if (!layoutOk) {
    await store.run(`DROP TABLE IF EXISTS ${ident(table)}`);
    await store.run(`CREATE TABLE ${ident(table)} (${wanted.map((c) => `${ident(c.name)} ${c.type}`).join(", ")})`);
  }
  return layoutOk;
}

/**
 * Fills TEMP.cand with the entities to recompute: with a previous `state`,
 * those with rows ingested since its watermark and those whose online row is
 * gone offline; else (or when that finds none: rows written late with an old
 * ingested_at) every entity. Returns whether it took every entity.
 */
async function selectCandidates(store: Store, sql: GroupSql, state: StateRow | null): Promise<boolean> {
  const { off, on, keySelect, keyMatch } = sql;
  const cand = ident(TEMP.cand);
  if (state) {
    await store.run(
      `CREATE TEMP TABLE ${cand} AS
         SELECT DISTINCT ${keySelect()} FROM ${off}
          WHERE ingested_at > ${state.watermark ? sqlTimestamp(state.watermark) : "TIMESTAMP '-infinity'"}
         UNION
         SELECT ${keySelect("n")} FROM ${on} AS n
          WHERE NOT EXISTS (
            SELECT 1 FROM ${off} AS o
             WHERE ${keyMatch("o", "n")} AND o.event_time = n.event_time AND o.ingested_at IS NOT DISTINCT FROM n.ingested_at)`,
    );
    const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${cand}`);
    if (Number(c.n) > 0) return false;
  }
  await store.run(`DROP TABLE IF EXISTS ${cand}`);
  await store.run(`CREATE TEMP TABLE ${cand} AS SELECT DISTINCT ${keySelect()} FROM ${off} UNION SELECT ${keySelect()} FROM ${on}`);
  return true;
}

/**
 * For the candidates: their latest offline row (the point-in-time join's
 * order; `to` bounds the event time), and only where it differs from what is
 * online, replaced; online rows of candidates with no offline row deleted.
 */
async function applyLatestRows(
  store: Store,
  plan: GroupPlan,
  sql: GroupSql,
  now: Date,
  to: Date | null,
): Promise<{ candidates: number; written: number; deleted: number }> {
  const { off, on, keys, dataCols, keyMatch } = sql;
  const [cand, fresh, upd] = [ident(TEMP.cand), ident(TEMP.fresh), ident(TEMP.upd)];
  const [candCount] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${cand}`);
  const toFilter = to ? ` AND o.event_time < ${sqlTimestamp(to)}` : "";
  await store.run(
    `CREATE TEMP TABLE ${fresh} AS
       SELECT ${dataCols.map((c) => `o.${c}`).join(", ")} FROM ${off} AS o
        WHERE o.event_time IS NOT NULL${toFilter}
          AND EXISTS (SELECT 1 FROM ${cand} AS c WHERE ${keyMatch("c", "o")})
      QUALIFY row_number() OVER (${partitionBy(keys.map((k) => `o.${k}`).join(", "))}ORDER BY ${latestRowOrder(plan, "o").join(", ")}) = 1`,
  );
  // Only rows that differ from what is online.
  await store.run(
    `CREATE TEMP TABLE ${upd} AS
       SELECT ${dataCols.join(", ")} FROM ${fresh}
       EXCEPT
       SELECT ${dataCols.map((c) => `n.${c}`).join(", ")} FROM ${on} AS n
        WHERE EXISTS (SELECT 1 FROM ${cand} AS c WHERE ${keyMatch("c", "n")})`,
  );
  const [gone] = await store.all<{ n: number }>(
    `SELECT count(*) AS n FROM ${on} AS n
      WHERE EXISTS (SELECT 1 FROM ${cand} AS c WHERE ${keyMatch("c", "n")})
        AND NOT EXISTS (SELECT 1 FROM ${fresh} AS f WHERE ${keyMatch("f", "n")})`,
  );
  const [written] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${upd}`);
  await store.run(
    `DELETE FROM ${on} AS n
      WHERE EXISTS (SELECT 1 FROM ${upd} AS u WHERE ${keyMatch("u", "n")})
         OR (EXISTS (SELECT 1 FROM ${cand} AS c WHERE ${keyMatch("c", "n")})
             AND NOT EXISTS (SELECT 1 FROM ${fresh} AS f WHERE ${keyMatch("f", "n")}))`,
  );
  await store.run(
    `INSERT INTO ${on} (${[...dataCols, "materialized_at"].join(", ")})
       SELECT ${dataCols.join(", ")}, ${sqlTimestamp(now)} FROM ${upd}`,
  );
  return { candidates: Number(candCount.n), written: Number(written.n), deleted: Number(gone.n) };
}

async function writeState(
  store: Store,
  plan: GroupPlan,
  table: string,
  wm: Date | null,
  offlineRows: number,
  to: Date | null,
  entities: number,
  now: Date,
  changedAt: Date | null,
): Promise<void> {
  await store.run(`DELETE FROM ${ONLINE_STATE_TABLE} WHERE online_table = ?`, [table]);
  await store.run(
    `INSERT INTO ${ONLINE_STATE_TABLE} (online_table, group_name, version, offline_table, watermark, offline_rows, to_time, entities, materialized_at, changed_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [table, plan.name, plan.version, plan.table, wm, offlineRows, to, entities, now, changedAt],
  );
}

export interface OnlineStateRow {
  online_table: string;
  group_name: string;
  version: number;
  entities: number;
  materialized_at: Date;
  changed_at: Date | null;
  to_time: Date | null;
  watermark: Date | null;
}

/** The state table's rows ([] when nothing was ever materialised). */
export async function readOnlineState(store: Store): Promise<OnlineStateRow[]> {
  if (!(await store.tableExists(ONLINE_STATE_TABLE))) return [];
  const rows = await store.all<OnlineStateRow>(
    `SELECT online_table, group_name, version, entities, materialized_at, changed_at, to_time, watermark FROM ${ONLINE_STATE_TABLE} ORDER BY online_table`,
  );
  return rows.map((r) => ({ ...r, version: Number(r.version), entities: Number(r.entities) }));
}
