// Point-in-time retrieval (Feast semantics) with DuckDB's ASOF LEFT JOIN.
//
// For a spine row (keys, t) and a feature group, the features are those of
// the latest group row with the same keys and event_time < t (as_of strict)
// or <= t (as_of inclusive), and event_time >= t - ttl when the view has a
// ttl (older rows give nulls). Several group rows with the same keys and
// event_time are reduced to one: the latest ingested_at wins, then the
// largest row id, then the feature values themselves, so ties are
// deterministic (when a group has no ties at all, key-times.ts, the ASOF join
// alone gives the features). The whole join is one SQL statement per spine
// (see pitJoin for its plan); the result is read column-major, and ODTs run in
// TS over the columns.

import type { ColumnType, GroupPlan, Scalar, SpecBundle, ViewPlan } from "../api.ts";
import { findView } from "../bundle.ts";
import { UserError } from "../errors.ts";
import { checkReadDefinition } from "../features/group-definitions.ts";
import { rawTable } from "../features/sources.ts";
import { cleanUp, type Store } from "../store/store.ts";
import { ident, partitionBy, sqlTimestamp, sqlType, tableRef } from "../store/sql.ts";
import type { InputColumn } from "./columns.ts";
import { FRAME_READ_MEMORY_LIMIT, readJoinedFrame, type FrameReadOptions } from "./frame-read.ts";
import { withLowerMemoryLimit } from "../store/memory-limit.ts";
import { addOdtColumns } from "./odt-columns.ts";
import { eventTimeRange, keyTimesUnique, shortestUniquePrefix } from "./key-times.ts";
import { keptTieWinners, winnerQualify } from "./tie-winners.ts";
import { viewJoins, type ResolvedJoin } from "./view-joins.ts";

/** The spine time in epoch microseconds, the column forward label windows order by (compiler/lower/view-sql.ts). */
const SPINE_T = "__fti_t";

/** Features of a set of (keys, time) rows, column-major, in spine order. */
export interface FeatureFrame extends FrameOf<Scalar[]> {}

/**
 * A training frame: one row per labelled event, with the label as a number
 * (bool → 0/1). Numeric columns may be NullableFloats: read them with `valueAt`.
 */
export interface TrainingFrame extends FrameOf<InputColumn> {
  label: Float64Array;
  /** A string label (multiclass): its distinct values, sorted; `label` holds each row's index in it. */
  labelClasses?: string[];
}

interface FrameOf<C> {
  n: number;
  /** Entity keys by name. */
  keys: Record<string, Scalar[]>;
  /** The spine time (label time, or the as-of time) in epoch milliseconds. */
  time: Float64Array;
  /** Every view feature, ODT output and request field, by name. Timestamps are ISO strings. */
  columns: Record<string, C>;
  /** Per feature group: event_time (epoch ms) of the row the features came from; NaN when none (or outside ttl). */
  featureTimes?: Record<string, Float64Array>;
  /** Spine time range (ISO): the requested bounds, else the first and last spine time. */
  range: { from: string; to: string };
}


export interface SpineInfo {
  /** Temp table: __sid (0-based order), the keys, __t (TIMESTAMP), __label (DOUBLE, spines from labels only), request fields. */
  table: string;
  n: number;
  /** The spine's order as an ORDER BY list over its columns (time, keys, label, request fields). */
  order: string;
}

export interface PitJoinResult {
  /** Temp table: the spine's columns, each feature by name, and __ft_<i> (epoch ms of group i's row, or NULL). */
  table: string;
  n: number;
  /** Joins, by id (the group's name, or `group(column)`), in the order of the __ft_<i> columns. */
  groups: string[];
  /** The joins themselves, in the same order. */
  joins: ResolvedJoin[];
  /** Feature columns, in order. */
  features: Array<{ name: string; type: ColumnType; group: string }>;
  /** How each join was planned (see pitSelect); absent from readers that build the table otherwise. */
  plans?: JoinPlanKind[];
}

export interface SpineRange {
  from?: Date;
  to?: Date;
}

export interface SpineOptions extends SpineRange {
  /**
   * false: no __sid (the spine is not sorted to number it), for a reader that
   * sorts the joined rows by `order` itself (the Parquet export). Rows equal in
   * every order column are equal in every column, so the order of the result
   * is still fully determined.
   */
  numbered?: boolean;
}

function spineName(view: ViewPlan, suffix = ""): string {
  return `__fti_spine_${view.name}${suffix}`;
}

/**
 * The spine of a view: one row per row of its source that passes the view's
 * `where`, has a time and a label, with time in [from, to), ordered by time,
 * then keys, label and request fields (a deterministic order); `__sid` numbers
 * the rows from 0. A label with forward aggregations (`over next w`) needs the
 * whole window observed: rows with t + w after the source's latest event time
 * get no label.
 */
export async function buildSpine(store: Store, bundle: SpecBundle, view: ViewPlan, opts: SpineOptions = {}): Promise<SpineInfo> {
  const q = await spineQuery(store, bundle, view, opts);
  const table = spineName(view);
  await store.run(`DROP TABLE IF EXISTS ${ident(table)}`);
  await store.run(
    `CREATE TEMP TABLE ${ident(table)} AS
       SELECT ${opts.numbered === false ? "" : `${await spineNumber(store, view, q)} AS __sid, `}* FROM (${q.sql})`,
  );
  const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${ident(table)}`);
  return { table, n: c.n, order: q.order };
}

/** `__sid`: the spine rows numbered from 0 in spine order (a window over the spine query `q`; see spineSortOrder). */
async function spineNumber(store: Store, view: ViewPlan, q: SpineQuery): Promise<string> {
  return `(row_number() OVER (ORDER BY ${await spineSortOrder(store, view, q)}) - 1)::BIGINT`;
}

/**
 * The spine order as an ORDER BY list over the spine query's columns, as narrow as it can be: when
 * the source has one row per (time, keys) — a fact kept per table fingerprint (key-times.ts
 * `shortestUniquePrefix`; checked once per source version, by a sort of hashes) — the time and keys alone
 * (or the time and the first keys, when those are unique already) are that order, and a sort's
 * key leaves out the label and request fields: the same order, and
 * DuckDB's sort pays for every key column (the numbering of 1 M planned runs: ~1/3 less CPU,
 * docs/benchmarks.md, "Thirteenth session: pit"). Only for keys compared exactly (not floats: -0
 * and 0, NaN).
 */
export async function spineSortOrder(store: Store, view: ViewPlan, q: SpineQuery): Promise<string> {
  if (1 + view.keys.length >= q.orderColumns.length) return q.order;
  if (!view.keys.every((k) => k.type === "string" || k.type === "int" || k.type === "bool" || k.type === "timestamp")) return q.order;
  const time = spineTimeColumn(view);
  const exprs = [`CAST(${ident(time)} AS TIMESTAMP)`, ...view.keys.map((k) => `CAST(${ident(k.name)} AS ${sqlType(k.type)})`)];
  // The shortest unique prefix of (time, keys): a view of several keys (one per join column) whose
  // first key already tells its rows apart at a time sorts by that one (the two-entity view of the
  // pit suite: time and athlete, not the route too — each key column is ~0.1 s of the sort's CPU
  // at 1 M rows).
  const n = await shortestUniquePrefix(store, rawTable(view.spine.source), time, exprs, 1 + Math.min(1, view.keys.length));
  return n === null ? q.order : q.orderColumns.slice(0, n).join(", ");
}

/** The spine as a query (not stored): its SELECT, the spine's order, and its columns. */
export interface SpineQuery {
  /** SELECT of the keys, __t (TIMESTAMP), __label (DOUBLE) and the request fields that are not keys. */
  sql: string;
  /** The spine's order as an ORDER BY list (time, keys, label, request fields). */
  order: string;
  /** The same columns, quoted, one by one. */
  orderColumns: string[];
}

/** The spine's rows as a query (see buildSpine: the same rows, unnumbered). */
export async function spineQuery(store: Store, bundle: SpecBundle, view: ViewPlan, opts: SpineRange = {}): Promise<SpineQuery> {
  const src = rawTable(view.spine.source);
  if (!(await store.tableExists(src))) {
    throw new UserError(
      `view \`${view.name}\` reads its rows from source \`${view.spine.source}\`, whose table ${src} does not exist yet`,
      `run the feature pipeline first: \`fti features ${bundle.file}\``,
    );
  }
  const have = new Set((await store.tableColumns(src)).map((c) => c.name.toLowerCase()));
  const time = spineTimeColumn(view);
  const needed = [...view.keys.map((k) => k.name), time, ...view.requestFields.map((f) => f.name)];
  const missing = needed.filter((c) => !have.has(c.toLowerCase()));
  if (missing.length) {
    throw new Error(`view \`${view.name}\`: ${src} has no column ${missing.map((m) => `\`${m}\``).join(", ")}`);
  }
  const t = ident(time);
  const { relation, complete } = await labelledRows(store, view, time);
  const where = [`__label IS NOT NULL`, ...complete];
  if (opts.from) where.push(`__t >= ${sqlTimestamp(opts.from)}`);
  if (opts.to) where.push(`__t < ${sqlTimestamp(opts.to)}`);
  const keyCols = view.keys.map((k) => `CAST(${ident(k.name)} AS ${sqlType(k.type)}) AS ${ident(k.name)}`);
  const reqFields = view.requestFields.filter((f) => !view.keys.some((k) => k.name === f.name));
  const reqCols = reqFields.map((f) => `CAST(${ident(f.name)} AS ${sqlType(f.type)}) AS ${ident(f.name)}`);
  const orderColumns = ["__t", ...view.keys.map((k) => ident(k.name)), "__label", ...reqFields.map((f) => ident(f.name))];
  const sql = `SELECT * EXCLUDE (${SPINE_T}) FROM (
         SELECT ${[...keyCols, `CAST(${t} AS TIMESTAMP) AS __t`, `${view.label.sql} AS __label`, ...reqCols, SPINE_T].join(", ")}
           FROM (${relation})
       ) WHERE ${where.join(" AND ")}`;
  return { sql, order: orderColumns.join(", "), orderColumns };
}

/**
 * The source column holding each spine row's time: the event time, or, for
 * rows without time (a source without event_time), `ingested_at` — when the
 * feature pipeline read the table, the instant its rows (and the reference
 * data joined onto them) describe.
 */
export function spineTimeColumn(view: ViewPlan): string {
  return view.spine.eventTime ?? "ingested_at";
}

/**
 * The rows of a view's spine source that can be spine rows (a time, the view's `where`), with what its
 * label expression (`view.label.sql`) reads: a forward label's windows (`over next w`), over those same
 * rows; `complete` holds the conditions for a forward label's whole window to be observed — up to the
 * source's latest event time not after its rows were read, and before `until` (a replayed clock) —
 * and is empty without one. The
 * spine and live monitoring (labels joined to served predictions) read labels through this one relation.
 */
export async function labelledRows(store: Store, view: ViewPlan, time: string, until?: Date): Promise<{ relation: string; complete: string[] }> {
  const relation = spineSourceRows(view, time);
  const forward = view.label.forward;
  if (!forward.length) return { relation, complete: [] };
  const { complete } = await forwardObserved(store, view, time, until);
  return { relation: `SELECT *, ${forward.map((f) => `${f.sql} AS ${ident(f.name)}`).join(", ")} FROM (${relation})`, complete };
}

/** The rows of a view's spine source that can be spine rows (a time, the view's `where`), with their time in µs (`__fti_t`). */
export function spineSourceRows(view: ViewPlan, time: string): string {
  const t = ident(time);
  const rows = [`${t} IS NOT NULL`, ...(view.spine.where ? [`(${view.spine.where}) IS TRUE`] : [])];
  return `SELECT *, epoch_us(CAST(${t} AS TIMESTAMP)) AS ${SPINE_T} FROM ${ident(rawTable(view.spine.source))} WHERE ${rows.join(" AND ")}`;
}

/**
 * When a forward label's whole window is observed: `complete`, conditions over `__fti_t`; `endUs`, the
 * data's end (null: no row had happened when read); `horizonUs`, the label's longest window.
 */
export async function forwardObserved(
  store: Store,
  view: ViewPlan,
  time: string,
  until?: Date,
): Promise<{ complete: string[]; endUs: bigint | null; horizonUs: bigint }> {
  const t = ident(time);
  // The data's end: its latest event time among the rows that had happened when they were read (ingested_at).
  // A row dated later (a clock a year off, 9999-12-31, a planned event) was not observed: taken as the end, it
  // would label every earlier row with a window reaching past the data, an empty future read as a real one.
  const [end] = await store.all<{ us: number | bigint | null }>(
    `SELECT epoch_us(max(CAST(${t} AS TIMESTAMP)) FILTER (WHERE CAST(${t} AS TIMESTAMP) <= ingested_at)) AS us FROM ${ident(rawTable(view.spine.source))}`,
  );
  const horizonUs = BigInt(Math.round(Math.max(...view.label.forward.map((f) => f.windowMs)) * 1000));
  const endUs = end.us === null ? null : BigInt(end.us);
  const complete = endUs === null ? ["false"] : [`${SPINE_T} + ${horizonUs} <= ${endUs}`];
  if (until) complete.push(`${SPINE_T} + ${horizonUs} < ${BigInt(until.getTime()) * 1000n}`);
  return { complete, endUs, horizonUs };
}

/**
 * Joins the view's features onto a spine table (columns __sid, the keys, __t)
 * as of each spine time. Returns a temp table with the spine's columns, the
 * features by name, and per group the event time of the row used.
 */
export async function pitJoin(
  store: Store,
  bundle: SpecBundle,
  view: ViewPlan,
  spineTable: string,
  opts: { asOf: "strict" | "inclusive"; orderBy?: string },
): Promise<PitJoinResult> {
  const sp = ident(spineTable);
  const columns = (await store.tableColumns(spineTable)).map((c) => c.name);
  const bounds = await spineBounds(store, sp);
  const q = await pitSelect(store, bundle, view, { relation: sp, columns, ...bounds }, opts.asOf);
  const out = `${spineTable}_pit`;
  await store.run(`DROP TABLE IF EXISTS ${ident(out)}`);
  // Unordered unless asked: readers order by __sid (`orderBy` stores the rows in that order).
  await store.run(`CREATE TEMP TABLE ${ident(out)} AS ${q.sql}${opts.orderBy ? ` ORDER BY ${opts.orderBy}` : ""}`);
  const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${ident(out)}`);
  const { sql: _sql, ...rest } = q;
  return { table: out, n: c.n, ...rest };
}

/**
 * The spine and the PIT join in ONE statement (the training frame): the
 * joined table of `pitJoin`, its rows numbered by __sid in spine order, and
 * no spine table stored (it is numbered inside the statement).
 */
export async function spineJoin(
  store: Store,
  bundle: SpecBundle,
  view: ViewPlan,
  opts: SpineRange & { asOf: "strict" | "inclusive" },
): Promise<PitJoinResult> {
  const q = await spineQuery(store, bundle, view, opts);
  const bounds = await spineBounds(store, `(${q.sql})`);
  const numbered = `(SELECT ${await spineNumber(store, view, q)} AS __sid, * FROM (${q.sql}))`;
  const columns = ["__sid", "__t", "__label", ...view.keys.map((k) => k.name), ...view.requestFields.map((f) => f.name)];
  const p = await pitSelect(store, bundle, view, { relation: numbered, columns, ...bounds }, opts.asOf);
  const out = `${spineName(view)}_pit`;
  await store.run(`DROP TABLE IF EXISTS ${ident(out)}`);
  await store.run(`CREATE TEMP TABLE ${ident(out)} AS ${p.sql}`);
  const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${ident(out)}`);
  const { sql: _sql, ...rest } = p;
  return { table: out, n: c.n, ...rest };
}

/** The first and last time (epoch µs) of a spine relation (a table, or a query in parentheses), and its rows without a time. */
export async function spineBounds(store: Store, relation: string): Promise<SpineBounds> {
  const [b] = await store.all<SpineBounds>(
    `SELECT epoch_us(min(__t)) AS lo, epoch_us(max(__t)) AS hi, count(*) - count(__t) AS untimed FROM ${relation}`,
  );
  return b;
}

export interface SpineBounds {
  lo: number | null;
  hi: number | null;
  /** Spine rows whose __t is NULL (they match no feature row). */
  untimed: number;
}

/** The PIT join as one SELECT (not run), and what it gives. */
export interface PitSelect extends Omit<PitJoinResult, "table" | "n"> {
  sql: string;
  plans: JoinPlanKind[];
}

/** A join's plan: "asof" (DuckDB's ASOF join), or "latest" (one time for the whole spine: the latest row per key, hash-joined). */
export type JoinPlanKind = "asof" | "latest";

/**
 * The PIT join of a spine relation as one SELECT: the spine's columns, the
 * features by name, and __ft_<i> per join (see joinParts for its plan).
 * `spine.relation` is a table or a query in parentheses, with the columns
 * `spine.columns`; `lo`/`hi` its first and last time (epoch µs): only the
 * group rows that range can pick are read. When every spine row has the same
 * time (`untimed` is 0 and lo = hi), a join on keys that are not floats takes
 * the "latest" plan (see joinParts): the same rows, measured ~0.5× the CPU of
 * the ASOF join at 200 k entities.
 */
export async function pitSelect(
  store: Store,
  bundle: SpecBundle,
  view: ViewPlan,
  spine: { relation: string; columns: readonly string[]; lo: number | null; hi: number | null; untimed?: number },
  asOf: "strict" | "inclusive",
): Promise<PitSelect> {
  const joins = await checkedJoins(store, bundle, view, spine.columns);
  const oneTime = spine.untimed === 0 && spine.lo !== null && spine.lo === spine.hi;
  const parts = [];
  for (const [i, g] of joins.entries()) {
    const keys = g.join.on.map((o) => o.key);
    const unique = await keyTimesUnique(store, g.plan.table, keys);
    // Ties that ingested_at and the row id always settle need no values in their order (a narrower sort).
    const rowId = g.plan.rowId?.name;
    const rowIdSettles = !unique && rowId !== undefined && (await keyTimesUnique(store, g.plan.table, keys, ["ingested_at", rowId]));
    const plan: JoinPlanKind = oneTime && exactKeys(g) ? "latest" : "asof";
    // Ties settled once per group fingerprint (tie-winners.ts) when the store can keep the winners.
    const winners = unique || plan !== "asof" ? null : await keptTieWinners(store, g.plan.table, keyListOf(g), tieOrder(g, validToOf(g), rowIdSettles, "asc"));
    const read = await eventTimeRange(store, winners ?? g.plan.table);
    parts.push(joinParts(i, g, { asOf, ttlMs: view.ttlMs, lo: spine.lo, hi: spine.hi, read, unique, rowIdSettles, plan, winners }));
  }
  let sql: string;
  if (joins.length === 0) sql = `SELECT * FROM ${spine.relation}`;
  else {
    const jCols = parts.flatMap((p) => p.jCols);
    const helpers = jCols.map((c) => c.replace(/^.* AS /, "").replace(/^r\d+\./, ""));
    sql = `WITH ${parts.map((p) => p.rCte).join(",\n")},
         j AS (SELECT s.*, ${jCols.join(", ")} FROM ${spine.relation} AS s ${narrowFirst(parts).map((p) => p.asofJoin).join(" ")})
         SELECT j.* EXCLUDE (${helpers.join(", ")}), ${parts.flatMap((p) => p.selects).join(", ")}
           FROM j`;
  }
  return {
    sql,
    groups: joins.map((g) => g.join.id),
    joins,
    features: joins.flatMap((g) => g.features.map((f) => ({ name: f.name, type: f.type, group: g.plan.name }))),
    plans: parts.map((p) => p.plan),
  };
}

/**
 * The joins in the order they run: the ones carrying fewest columns first (stable). Each ASOF join
 * sorts its left side — the spine and every column the joins before it added — so a join run
 * later carries the earlier ones' features through its sort: the pit suite's two-entity view ran
 * the route join (2 features) after the athlete join (8), sorting the spine with 9 more columns
 * than it needs. The rows and the columns are the same in any order (each join adds one match or
 * none per spine row; `j` lists its columns in the view's order).
 */
function narrowFirst<P extends { jCols: string[] }>(parts: P[]): P[] {
  return parts.map((p, i) => ({ p, i })).sort((a, b) => a.p.jCols.length - b.p.jCols.length || a.i - b.i).map((x) => x.p);
}

/**
 * The "latest" plan matches keys by a hash join where the ASOF join compares
 * them: the same for strings, ints, bools and timestamps; float keys (-0 and
 * 0, NaN) keep the ASOF join.
 */
function exactKeys(g: ResolvedJoin): boolean {
  return g.join.on.every((o) => {
    const type = g.plan.keys.find((k) => k.name === o.key)?.type;
    return type === "string" || type === "int" || type === "bool" || type === "timestamp";
  });
}

/** The view's joins, with their group tables and columns checked, and no feature named like a spine column. */
async function checkedJoins(store: Store, bundle: SpecBundle, view: ViewPlan, spineColumns: readonly string[]): Promise<ResolvedJoin[]> {
  const joins = viewJoins(bundle, view);
  for (const g of joins) {
    const cols = await store.tableColumns(g.plan.table);
    if (cols.length === 0) {
      throw new UserError(
        `view \`${view.name}\` needs feature group \`${g.plan.name}\`, whose table ${g.plan.table} does not exist yet`,
        `run the feature pipeline first: \`fti features ${bundle.file}\``,
      );
    }
    await checkReadDefinition(store, bundle, g.plan);
    const have = new Set(cols.map((c) => c.name.toLowerCase()));
    const missing = [...g.join.on.map((o) => o.key), "event_time", ...g.features.map((f) => f.column)].filter((c) => !have.has(c.toLowerCase()));
    if (missing.length) {
      throw new Error(`view \`${view.name}\`: ${g.plan.table} has no column ${missing.map((m) => `\`${m}\``).join(", ")}`);
    }
  }
  const spineCols = new Set(spineColumns.map((c) => c.toLowerCase()));
  const clash = joins.flatMap((g) => g.features.map((f) => f.name)).filter((n) => spineCols.has(n.toLowerCase()) || /^__/.test(n));
  if (clash.length) {
    throw new Error(`view \`${view.name}\`: feature ${clash.map((c) => `\`${c}\``).join(", ")} clashes with a key or request field of the spine`);
  }
  return joins;
}

interface JoinOptions {
  asOf: "strict" | "inclusive";
  ttlMs: number | null;
  /** The spine's first and last time, epoch µs. */
  lo: number | null;
  hi: number | null;
  /** The first and last event_time of the table the join reads (the group, or its kept winners), epoch µs, and its rows without one. */
  read: { lo: number | null; hi: number | null; untimed: number };
  /** The group has one row per (keys, event_time) (key-times.ts). */
  unique: boolean;
  /** The group has one row per (keys, event_time, ingested_at, row id): those two settle every tie. */
  rowIdSettles: boolean;
  /** "latest" only when every spine row has the time `hi` (= `lo`). */
  plan: JoinPlanKind;
  /** A table holding the group's tie winners (tie-winners.ts), read instead of settling the ties here ("asof" only). */
  winners: string | null;
}

/**
 * The SQL of join i (one statement joins them all):
 *  r<i>  the group rows that can be picked: before the last spine time,
 *        after the first spine time minus ttl (in the ASOF plan, only the
 *        bounds worth their filter: see boundWorthIt); the group's keys as
 *        named in its table, the event time __et, the features;
 *  j     spine ASOF LEFT JOIN r<i> on the spine columns the keys are read from
 *        (`by`) and the event time → per spine row the latest usable row.
 *  A group with one row per (keys, event_time) is joined as it is, the shape
 *  a hand-written query has. Otherwise DuckDB's pick among rows tied at one
 *  event time would be arbitrary, so r<i> keeps one row per (keys,
 *  event_time) first, the tie rule's winner (a window over the rows in the
 *  spine's time range; measured cheaper than settling the ties after the
 *  join, ordering the ASOF join by a struct or a create_sort_key() blob of
 *  the tie columns, an arg_max aggregate, or one window over the spine and
 *  the group rows together).
 *  Features outside the ttl are nulled.
 *  The "latest" plan, when every spine row has the one time hi: r<i> is the
 *  one row per keys that the ASOF join would pick for any of them — within
 *  r<i>'s time filter, the latest event_time, then the tie rule's winner (one
 *  window over the group's rows) — and the spine is LEFT JOINed to it on the
 *  keys (a hash join; no sort of the spine). The ttl and valid_to are applied
 *  after the join by the same expressions.
 */
function joinParts(i: number, g: ResolvedJoin, o: JoinOptions) {
  const t = tableRef(o.winners ?? g.plan.table);
  const on = g.join.on;
  const keyList = keyListOf(g);
  const cols = g.features.map((f) => ident(f.column));
  // Reference data holds until replaced (or until its valid_to): no ttl.
  const ttlUs = o.ttlMs === null || g.plan.reference ? null : BigInt(Math.round(o.ttlMs)) * 1000n;
  const validTo = validToOf(g);
  const usLiteral = (us: number | null) => (us === null ? "NULL::TIMESTAMP" : `make_timestamp(${BigInt(us)})`);
  const from = ttlUs === null ? null : o.lo === null ? null : o.lo - Number(ttlUs);
  const asofPlan = o.plan === "asof";
  // Rows without an event time are never picked; the filter is written only when the table has
  // some (a WHERE on the group cost the one-entity join ~0.3–0.5 s of CPU at 10 M rows, even when it
  // dropped nothing: docs/benchmarks.md, "Fifteenth session: pit"). A bound drops them too.
  const filter = [
    ...(o.read.untimed > 0 ? [`event_time IS NOT NULL`] : []),
    ...(!asofPlan || boundWorthIt(o.read, o.hi, "upper", o.asOf) ? [`event_time ${o.asOf === "strict" ? "<" : "<="} ${usLiteral(o.hi)}`] : []),
    ...(ttlUs !== null && (!asofPlan || boundWorthIt(o.read, from, "lower", o.asOf)) ? [`event_time >= ${usLiteral(from)}`] : []),
  ];
  const carried = [...cols.map((c, n) => `${c} AS __f${i}_${n}`), ...(validTo ? ["valid_to AS __vt"] : [])];
  // asof: the winner is the last row of its (keys, event_time) run in (event_time, tie order
  // ascending): one sort per key, no partition per event time (measured ~0.5 s less CPU than
  // row_number() over (keys, event_time) partitions at 3 M event rows); kept winners are one row
  // each already. latest: the last row per key in that same order.
  const winner =
    o.plan === "latest"
      ? ` QUALIFY row_number() OVER (${partitionBy(keyList)}ORDER BY ${["event_time DESC", ...(o.unique ? [] : [tieOrder(g, validTo, o.rowIdSettles, "desc")])].join(", ")}) = 1`
      : o.unique || o.winners
        ? ""
        : ` ${winnerQualify(keyList, tieOrder(g, validTo, o.rowIdSettles, "asc"))}`;
  const rCte = `r${i} AS (SELECT ${[...(keyList ? [keyList] : []), "event_time AS __et", ...carried].join(", ")} FROM ${t}${filter.length ? ` WHERE ${filter.join(" AND ")}` : ""}${winner})`;
  const sameKeys = on.map((x) => `s.${ident(x.column)} = r${i}.${ident(x.key)}`);
  const asofJoin =
    o.plan === "latest"
      ? `LEFT JOIN r${i} ON ${sameKeys.join(" AND ") || "TRUE"}` // a global group (no keys): its one latest row
      : `ASOF LEFT JOIN r${i} ON ${[...sameKeys, `s.__t ${o.asOf === "strict" ? ">" : ">="} r${i}.__et`].join(" AND ")}`;
  const jCols = [`r${i}.__et AS __et${i}`, ...cols.map((_, n) => `r${i}.__f${i}_${n}`), ...(validTo ? [`r${i}.__vt AS __vt${i}`] : [])];
  const fresh = ttlUs !== null ? `j.__et${i} >= make_timestamp(epoch_us(j.__t) - ${ttlUs})` : `j.__et${i} IS NOT NULL`;
  // A reference row past its valid_to no longer holds (and no later row replaced it).
  const ok = fresh + (validTo ? ` AND (j.__vt${i} IS NULL OR j.__t < j.__vt${i})` : "");
  const selects = g.features.map((f, n) => `CASE WHEN ${ok} THEN j.__f${i}_${n} END AS ${ident(f.name)}`);
  selects.push(`CASE WHEN ${ok} THEN epoch_us(j.__et${i}) / 1000.0 END AS __ft_${i}`);
  return { rCte, asofJoin, jCols, selects, plan: o.plan };
}

/**
 * Whether the ASOF plan filters the group's rows by a bound on event_time (µs; null: the spine is
 * empty or untimed, every row goes). The join itself never picks a row at or past the last spine
 * time (strict; past it, inclusive), and a row older than the first spine time − ttl only gives
 * nulls, so a bound changes no result: it saves the join the rows it cuts, and costs a filter over
 * every row read. One that cuts almost nothing is a loss: the pit suite's upper bound cut 23 of
 * 10 M rows for ~0.3 s of CPU in one thread (~8 % of the statement). So a bound is written when
 * the table's event times reach past it by at least 1/8 of their span (the share it cuts if they
 * are spread evenly), or when the table has one event time and the bound cuts it.
 */
function boundWorthIt(read: { lo: number | null; hi: number | null }, bound: number | null, side: "upper" | "lower", asOf: "strict" | "inclusive"): boolean {
  if (read.lo === null || read.hi === null) return false; // no rows to cut
  if (bound === null) return true;
  const past = side === "upper" ? read.hi - bound : bound - read.lo;
  const cutsSome = side === "upper" && asOf === "strict" ? past >= 0 : past > 0;
  if (!cutsSome) return false;
  const span = read.hi - read.lo;
  return span === 0 || past >= span / 8;
}

/** The group's key columns as its table names them, quoted, comma-separated. */
function keyListOf(g: ResolvedJoin): string {
  return g.join.on.map((x) => ident(x.key)).join(", ");
}

/** Reference data whose rows end at their valid_to. */
function validToOf(g: ResolvedJoin): boolean {
  return g.plan.reference?.validTo === true;
}

/**
 * The tie rule among rows with the same keys and event_time: the latest
 * ingested_at, then the largest row id, then the values, a null never beating
 * a value; valid_to last, so rows equal in everything else still give one
 * answer (rows equal in every column of this order carry the same values).
 * "asc": ascending, nulls first, the winner LAST; "desc": the winner first.
 * When no two rows share (keys, event_time, ingested_at, row id), the first
 * two decide alone: the same winner.
 */
function tieOrder(g: ResolvedJoin, validTo: boolean, rowIdSettles: boolean, dir: "asc" | "desc"): string {
  const rowId = g.plan.rowId ? [ident(g.plan.rowId.name)] : [];
  const cols = g.features.map((f) => ident(f.column));
  const tie = ["ingested_at", ...rowId, ...(rowIdSettles ? [] : [...cols, ...(validTo ? ["valid_to"] : [])])];
  return tie.map((c) => (dir === "asc" ? `${c} ASC NULLS FIRST` : `${c} DESC NULLS LAST`)).join(", ");
}

/** Reads a joined table into a frame (frame-read.ts: in slices; `typed`: numeric columns as NullableFloats) and computes the ODTs. */
async function readFrame(
  store: Store,
  view: ViewPlan,
  joined: PitJoinResult,
  opts: FrameReadOptions & { range: SpineRange },
): Promise<TrainingFrame> {
  const { n, keys, time, label, labelClasses, columns, featureTimes } = await readJoinedFrame(store, view, joined, opts);
  addOdtColumns(view.odts, columns, n);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (time[i] < lo) lo = time[i];
    if (time[i] > hi) hi = time[i];
  }
  const iso = (ms: number) => new Date(Math.floor(ms)).toISOString();
  const { range } = opts;
  return {
    n,
    keys,
    time,
    label,
    ...(labelClasses ? { labelClasses } : {}),
    columns,
    featureTimes,
    range: {
      from: range.from ? range.from.toISOString() : n ? iso(lo) : "",
      to: range.to ? range.to.toISOString() : n ? iso(hi) : "",
    },
  };
}

/** The training frame of a view: spine + PIT join (the view's as_of) + ODTs. */
export async function buildTrainingFrame(
  store: Store,
  bundle: SpecBundle,
  viewName: string,
  opts: SpineRange & { sliceRows?: number } = {},
): Promise<TrainingFrame> {
  const view = findView(bundle, viewName);
  const run = async () => {
    // The spine is numbered inside the join's statement: no spine table (spineJoin).
    const joined = await spineJoin(store, bundle, view, { from: opts.from, to: opts.to, asOf: view.asOf });
    try {
      // DuckDB gives back its pool before the JS columns fill up (frame-read.ts).
      return await withLowerMemoryLimit(store, FRAME_READ_MEMORY_LIMIT, () =>
        readFrame(store, view, joined, { withLabel: true, typed: true, sliceRows: opts.sliceRows, range: opts }),
      );
    } finally {
      await cleanUp(store, `DROP TABLE IF EXISTS ${ident(joined.table)}`);
    }
  };
  // One transaction: a consistent snapshot, and the temp tables stay private.
  return store.transaction(run);
}

export interface AsOfSpine {
  keys: Record<string, Scalar[]>;
  /** One time for every row, or epoch milliseconds per row. */
  time: Date | Float64Array;
  /** Request fields by name (needed when the view's ODTs read request fields). */
  request?: Record<string, Scalar[]>;
}

/**
 * The features of the given (keys, time) rows, known at each time (as_of
 * inclusive: a feature row with event_time = t counts), plus the ODTs. For
 * batch inference; the frame has no label.
 */
export async function featuresAsOf(
  store: Store,
  bundle: SpecBundle,
  viewName: string,
  spine: AsOfSpine,
): Promise<FeatureFrame> {
  const view = findView(bundle, viewName);
  const keyNames = view.keys.map((k) => k.name);
  const missingKeys = keyNames.filter((k) => !spine.keys[k]);
  if (missingKeys.length) {
    throw new UserError(`view \`${view.name}\` is keyed by ${keyNames.join(", ")}; missing ${missingKeys.join(", ")}`);
  }
  const neededReq = new Set(view.odts.flatMap((o) => o.requestParams.map((p) => p.name)));
  const reqFields = view.requestFields.filter((f) => spine.request?.[f.name] !== undefined || neededReq.has(f.name));
  // A view without keys (its groups are global) counts its rows by the times, else the request
  // fields; with neither, it is the one series at one time.
  const n = keyNames.length
    ? (spine.keys[keyNames[0]]?.length ?? 0)
    : spine.time instanceof Date
      ? (reqFields.length ? (spine.request?.[reqFields[0].name]?.length ?? 0) : 1)
      : spine.time.length;
  const missingReq = reqFields.filter((f) => !spine.request?.[f.name]).map((f) => f.name);
  if (missingReq.length) {
    throw new UserError(`view \`${view.name}\` needs the request field${missingReq.length > 1 ? "s" : ""} ${missingReq.join(", ")}`);
  }
  let times: Float64Array;
  if (spine.time instanceof Date) {
    if (Number.isNaN(spine.time.getTime())) throw new UserError("the as-of time is not a valid date");
    times = new Float64Array(n).fill(spine.time.getTime());
  } else {
    times = spine.time;
    if (times.length !== n) throw new Error(`featuresAsOf: ${times.length} times for ${n} rows`);
  }
  const sids = new Float64Array(n);
  for (let i = 0; i < n; i++) sids[i] = i;

  return store.transaction(async () => {
    const table = spineName(view, "_asof");
    const defs = [
      `__sid BIGINT`,
      ...view.keys.map((k) => `${ident(k.name)} ${sqlType(k.type)}`),
      `__t TIMESTAMP`,
      ...reqFields.map((f) => `${ident(f.name)} ${sqlType(f.type)}`),
    ];
    await store.run(`DROP TABLE IF EXISTS ${ident(table)}`);
    await store.run(`CREATE TEMP TABLE ${ident(table)} (${defs.join(", ")})`);
    let joined: PitJoinResult | undefined;
    try {
      const cols: Record<string, ArrayLike<unknown>> = { __sid: sids };
      for (const k of keyNames) {
        if (spine.keys[k].length !== n) throw new Error(`featuresAsOf: key \`${k}\` has ${spine.keys[k].length} values for ${n} rows`);
        cols[k] = spine.keys[k];
      }
      cols.__t = times;
      for (const f of reqFields) cols[f.name] = spine.request![f.name];
      await store.appendColumns(table, cols);
      joined = await pitJoin(store, bundle, view, table, { asOf: "inclusive" });
      const viewReq = { ...view, requestFields: reqFields };
      const { label: _none, ...frame } = await readFrame(store, viewReq, joined, { withLabel: false, typed: false, range: {} });
      // typed: false → every column is an array of Scalars.
      return { ...frame, columns: frame.columns as Record<string, Scalar[]> };
    } finally {
      await cleanUp(store, ...(joined ? [`DROP TABLE IF EXISTS ${ident(joined.table)}`] : []), `DROP TABLE IF EXISTS ${ident(table)}`);
    }
  });
}
