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

import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { ColumnType, GroupPlan, Scalar, SpecBundle, ViewPlan } from "../api.ts";
import { findView } from "../bundle.ts";
import { UserError } from "../errors.ts";
import { rawTable } from "../features/sources.ts";
import { cleanUp, ident, sqlString, sqlTimestamp, sqlType, tableRef, type Store } from "../store/store.ts";
import { addOdtColumns } from "./odt-columns.ts";
import { keyTimesUnique } from "./key-times.ts";

/** Features of a set of (keys, time) rows, column-major, in spine order. */
export interface FeatureFrame {
  n: number;
  /** Entity keys by name. */
  keys: Record<string, Scalar[]>;
  /** The spine time (label time, or the as-of time) in epoch milliseconds. */
  time: Float64Array;
  /** Every view feature, ODT output and request field, by name. Timestamps are ISO strings. */
  columns: Record<string, Scalar[]>;
  /** Per feature group: event_time (epoch ms) of the row the features came from; NaN when none (or outside ttl). */
  featureTimes?: Record<string, Float64Array>;
  /** Spine time range (ISO): the requested bounds, else the first and last spine time. */
  range: { from: string; to: string };
}

/** A training frame: one row per labelled event, with the label as a number (bool → 0/1). */
export interface TrainingFrame extends FeatureFrame {
  label: Float64Array;
}

export interface SpineInfo {
  /** Temp table: __sid (0-based order), the keys, __t (TIMESTAMP), __label (DOUBLE, spines from labels only), request fields. */
  table: string;
  n: number;
}

export interface PitJoinResult {
  /** Temp table: the spine's columns, each feature by name, and __ft_<i> (epoch ms of group i's row, or NULL). */
  table: string;
  n: number;
  /** Groups joined, in the order of the __ft_<i> columns. */
  groups: string[];
  /** Feature columns, in order. */
  features: Array<{ name: string; type: ColumnType; group: string }>;
}

export interface SpineRange {
  from?: Date;
  to?: Date;
}

function spineName(view: ViewPlan, suffix = ""): string {
  return `__fti_spine_${view.name}${suffix}`;
}

/**
 * The spine of a view: one row per event of the label source with a non-null
 * label (and label time) in [from, to), ordered by time, then keys, label and
 * request fields (a deterministic order); `__sid` numbers the rows from 0.
 */
export async function buildSpine(store: Store, bundle: SpecBundle, view: ViewPlan, opts: SpineRange = {}): Promise<SpineInfo> {
  const src = rawTable(view.label.source);
  if (!(await store.tableExists(src))) {
    throw new UserError(
      `view \`${view.name}\` takes its label from source \`${view.label.source}\`, whose table ${src} does not exist yet`,
      `run the feature pipeline first: \`fti features ${bundle.file}\``,
    );
  }
  const have = new Set((await store.tableColumns(src)).map((c) => c.name.toLowerCase()));
  const needed = [...view.keys.map((k) => k.name), view.label.column, view.label.eventTime, ...view.requestFields.map((f) => f.name)];
  const missing = needed.filter((c) => !have.has(c.toLowerCase()));
  if (missing.length) {
    throw new Error(`view \`${view.name}\`: ${src} has no column ${missing.map((m) => `\`${m}\``).join(", ")}`);
  }
  const t = ident(view.label.eventTime);
  const label = labelExpr(view);
  const where = [`${ident(view.label.column)} IS NOT NULL`, `${t} IS NOT NULL`];
  if (opts.from) where.push(`${t} >= ${sqlTimestamp(opts.from)}`);
  if (opts.to) where.push(`${t} < ${sqlTimestamp(opts.to)}`);
  const keyCols = view.keys.map((k) => `CAST(${ident(k.name)} AS ${sqlType(k.type)}) AS ${ident(k.name)}`);
  const reqCols = view.requestFields.map((f) => `CAST(${ident(f.name)} AS ${sqlType(f.type)}) AS ${ident(f.name)}`);
  const order = ["__t", ...view.keys.map((k) => ident(k.name)), "__label", ...view.requestFields.map((f) => ident(f.name))].join(", ");
  const table = spineName(view);
  await store.run(`DROP TABLE IF EXISTS ${ident(table)}`);
  await store.run(
    `CREATE TEMP TABLE ${ident(table)} AS
       SELECT (row_number() OVER (ORDER BY ${order}) - 1)::BIGINT AS __sid, * FROM (
         SELECT ${[...keyCols, `CAST(${t} AS TIMESTAMP) AS __t`, `${label} AS __label`, ...reqCols].join(", ")}
           FROM ${ident(src)} WHERE ${where.join(" AND ")}
       )`,
  );
  const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${ident(table)}`);
  return { table, n: c.n };
}

export function labelExpr(view: ViewPlan): string {
  const col = ident(view.label.column);
  switch (view.label.type) {
    case "bool":
      return `CASE WHEN ${col} THEN 1.0 ELSE 0.0 END`;
    case "int":
    case "float":
      return `CAST(${col} AS DOUBLE)`;
    default:
      throw new UserError(
        `view \`${view.name}\`: the label \`${view.label.name}\` is a ${view.label.type}; labels must be numbers or booleans`,
      );
  }
}

interface JoinGroup {
  plan: GroupPlan;
  features: Array<{ name: string; type: ColumnType }>;
}

/** The features a view needs, grouped by feature group: the view's own plus those its ODTs read. */
function viewGroups(bundle: SpecBundle, view: ViewPlan): JoinGroup[] {
  const out = new Map<string, JoinGroup>();
  const add = (groupName: string, name: string, type: ColumnType) => {
    const plan = bundle.groups.find((g) => g.name === groupName);
    if (!plan) throw new Error(`view \`${view.name}\` uses feature group \`${groupName}\`, which the bundle does not define`);
    let g = out.get(plan.name);
    if (!g) out.set(plan.name, (g = { plan, features: [] }));
    if (!g.features.some((f) => f.name === name)) g.features.push({ name, type });
  };
  for (const f of view.features) add(f.group, f.name, f.type);
  const have = new Set(view.features.map((f) => f.name));
  for (const odt of view.odts) {
    for (const p of odt.featureParams) {
      const [gName, fName] = p.includes(".") ? p.split(".", 2) : [undefined, p];
      if (have.has(fName)) continue;
      const plan = bundle.groups.find((g) => (gName ? g.name === gName : true) && g.features.some((f) => f.name === fName));
      if (!plan) throw new Error(`on_demand \`${odt.name}\` reads feature \`${p}\`, which no feature group of the bundle defines`);
      add(plan.name, fName, plan.features.find((f) => f.name === fName)!.type);
      have.add(fName);
    }
  }
  return [...out.values()];
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
  opts: { asOf: "strict" | "inclusive" },
): Promise<PitJoinResult> {
  const groups = viewGroups(bundle, view);
  const keys = view.keys.map((k) => k.name);
  for (const g of groups) {
    const cols = await store.tableColumns(g.plan.table);
    if (cols.length === 0) {
      throw new UserError(
        `view \`${view.name}\` needs feature group \`${g.plan.name}\`, whose table ${g.plan.table} does not exist yet`,
        `run the feature pipeline first: \`fti features ${bundle.file}\``,
      );
    }
    const have = new Set(cols.map((c) => c.name.toLowerCase()));
    const missing = [...keys, "event_time", ...g.features.map((f) => f.name)].filter((c) => !have.has(c.toLowerCase()));
    if (missing.length) {
      throw new Error(`view \`${view.name}\`: ${g.plan.table} has no column ${missing.map((m) => `\`${m}\``).join(", ")}`);
    }
  }

  const ttlUs = view.ttlMs === null ? null : BigInt(Math.round(view.ttlMs)) * 1000n;
  const cmp = opts.asOf === "strict" ? ">" : ">=";
  const sp = ident(spineTable);
  const spineCols = new Set((await store.tableColumns(spineTable)).map((c) => c.name.toLowerCase()));
  const clash = groups.flatMap((g) => g.features.map((f) => f.name)).filter((n) => spineCols.has(n.toLowerCase()) || /^__/.test(n));
  if (clash.length) {
    throw new Error(`view \`${view.name}\`: feature ${clash.map((c) => `\`${c}\``).join(", ")} clashes with a key or request field of the spine`);
  }
  // Plan (one statement):
  //  r<i>  the group rows that can be picked: before the last spine time,
  //        after the first spine time minus ttl;
  //  j     spine ASOF LEFT JOIN r<i> → per spine row the event time __et<i> of
  //        the latest usable row.
  //  A group with one row per (keys, event_time) (key-times.ts) is done: r<i>
  //  carries its features and j has them. Otherwise DuckDB's pick among tied
  //  rows is arbitrary, so r<i> carries only (keys, event_time), and
  //  c<i>  the group rows at those (keys, __et<i>), reduced to one per
  //        (keys, event_time) by ingested_at, row id, values: a 10M-row group
  //        is deduplicated only where the spine touches it;
  //  then j LEFT JOIN c<i>. Features outside the ttl are nulled.
  // The spine's time range, as literals: a scalar subquery in r<i>'s filter
  // would be a nested-loop join over every group row.
  const [b] = await store.all<{ lo: number | null; hi: number | null }>(`SELECT epoch_us(min(__t)) AS lo, epoch_us(max(__t)) AS hi FROM ${sp}`);
  const usLiteral = (us: number | null) => (us === null ? "NULL::TIMESTAMP" : `make_timestamp(${BigInt(us)})`);
  const k = keys.map(ident).join(", ");
  const rCtes: string[] = [];
  const cCtes: string[] = [];
  const asofJoins: string[] = [];
  const finalJoins: string[] = [];
  const jCols: string[] = [];
  const selects: string[] = [];
  for (const [i, g] of groups.entries()) {
    const t = tableRef(g.plan.table);
    const feats = g.features.map((f) => ident(f.name));
    const unique = await keyTimesUnique(store, g.plan.table, keys);
    // Reference data holds until replaced (or until its valid_to): no ttl.
    const groupTtlUs = g.plan.reference ? null : ttlUs;
    const validTo = g.plan.reference?.validTo === true;
    const filter = [
      `event_time IS NOT NULL`,
      `event_time ${opts.asOf === "strict" ? "<" : "<="} ${usLiteral(b.hi)}`,
      ...(groupTtlUs !== null ? [`event_time >= ${usLiteral(b.lo === null ? null : b.lo - Number(groupTtlUs))}`] : []),
    ];
    const carried = [...(unique ? feats.map((f, n) => `${f} AS __f${i}_${n}`) : []), ...(unique && validTo ? ["valid_to AS __vt"] : [])];
    rCtes.push(`r${i} AS (SELECT ${[k, "event_time AS __et", ...carried].join(", ")} FROM ${t} WHERE ${filter.join(" AND ")})`);
    asofJoins.push(
      `ASOF LEFT JOIN r${i} ON ${[...keys.map((kk) => `s.${ident(kk)} = r${i}.${ident(kk)}`), `s.__t ${cmp} r${i}.__et`].join(" AND ")}`,
    );
    jCols.push(
      `r${i}.__et AS __et${i}`,
      ...feats.flatMap((_, n) => (unique ? [`r${i}.__f${i}_${n}`] : [])),
      ...(unique && validTo ? [`r${i}.__vt AS __vt${i}`] : []),
    );
    const fresh = groupTtlUs !== null ? `j.__et${i} >= make_timestamp(epoch_us(j.__t) - ${groupTtlUs})` : `j.__et${i} IS NOT NULL`;
    // A reference row past its valid_to no longer holds (and no later row replaced it).
    const holds = (vt: string) => (validTo ? ` AND (${vt} IS NULL OR j.__t < ${vt})` : "");
    if (unique) {
      const ok = fresh + holds(`j.__vt${i}`);
      g.features.forEach((f, n) => selects.push(`CASE WHEN ${ok} THEN j.__f${i}_${n} END AS ${ident(f.name)}`));
      selects.push(`CASE WHEN ${ok} THEN epoch_us(j.__et${i}) / 1000.0 END AS __ft_${i}`);
    } else {
      const tie = [
        "g.ingested_at DESC NULLS LAST",
        ...(g.plan.rowId ? [`g.${ident(g.plan.rowId.name)} DESC NULLS LAST`] : []),
        ...feats.map((f) => `g.${f} DESC NULLS LAST`),
      ];
      const part = keys.map((kk) => `g.${ident(kk)}`).join(", ");
      const pairOn = [...keys.map((kk) => `g.${ident(kk)} = p.${ident(kk)}`), `g.event_time = p.__et`].join(" AND ");
      cCtes.push(
        `c${i} AS (
           SELECT ${keys.map((kk) => `g.${ident(kk)}`).join(", ")}, g.event_time AS __et${validTo ? ", g.valid_to AS __vt" : ""}${feats.length ? ", " + feats.map((f) => `g.${f}`).join(", ") : ""}
             FROM ${t} AS g
             SEMI JOIN (SELECT DISTINCT ${k}, __et${i} AS __et FROM j WHERE ${fresh}) AS p ON ${pairOn}
          QUALIFY row_number() OVER (PARTITION BY ${part}, g.event_time ORDER BY ${tie.join(", ")}) = 1
         )`,
      );
      finalJoins.push(
        `LEFT JOIN c${i} ON ${[...keys.map((kk) => `j.${ident(kk)} = c${i}.${ident(kk)}`), `j.__et${i} = c${i}.__et`].join(" AND ")}`,
      );
      const ok = fresh + holds(`c${i}.__vt`);
      for (const f of g.features) selects.push(`CASE WHEN ${ok} THEN c${i}.${ident(f.name)} END AS ${ident(f.name)}`);
      selects.push(`CASE WHEN ${ok} THEN epoch_us(j.__et${i}) / 1000.0 END AS __ft_${i}`);
    }
  }
  const out = `${spineTable}_pit`;
  await store.run(`DROP TABLE IF EXISTS ${ident(out)}`);
  // No ORDER BY: readers order by __sid.
  if (groups.length === 0) {
    await store.run(`CREATE TEMP TABLE ${ident(out)} AS SELECT * FROM ${sp}`);
  } else {
    // j is read by the c<i> and the final join: materialise it only then.
    const jKind = cCtes.length ? "AS MATERIALIZED" : "AS";
    const helpers = jCols.map((c) => c.replace(/^.* AS /, "").replace(/^r\d+\./, ""));
    await store.run(
      `CREATE TEMP TABLE ${ident(out)} AS
         WITH ${rCtes.join(",\n")},
         j ${jKind} (SELECT s.*, ${jCols.join(", ")} FROM ${sp} AS s ${asofJoins.join(" ")})${cCtes.length ? ",\n" + cCtes.join(",\n") : ""}
         SELECT j.* EXCLUDE (${helpers.join(", ")}), ${selects.join(", ")}
           FROM j ${finalJoins.join(" ")}`,
    );
  }
  const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${ident(out)}`);
  return {
    table: out,
    n: c.n,
    groups: groups.map((g) => g.plan.name),
    features: groups.flatMap((g) => g.features.map((f) => ({ ...f, group: g.plan.name }))),
  };
}

/** Reads a joined table into a frame and computes the ODTs. */
async function readFrame(
  store: Store,
  view: ViewPlan,
  joined: PitJoinResult,
  withLabel: boolean,
  range: SpineRange,
): Promise<TrainingFrame> {
  const keyNames = view.keys.map((k) => k.name);
  const fnames = joined.features.map((f) => f.name);
  const req = view.requestFields.map((f) => f.name);
  const select = [
    ...keyNames.map(ident),
    `epoch_us(__t) / 1000.0 AS __t_ms`,
    ...(withLabel ? ["__label"] : []),
    ...fnames.map(ident),
    ...req.filter((r) => !fnames.includes(r)).map(ident),
    ...joined.groups.map((_, i) => `__ft_${i}`),
  ];
  const res = await store.readColumns(`SELECT ${select.join(", ")} FROM ${ident(joined.table)} ORDER BY __sid`, undefined, {
    float64: ["__t_ms", "__label", ...joined.groups.map((_, i) => `__ft_${i}`)],
    timestamps: "iso",
  });
  const n = res.n;
  const keys: Record<string, Scalar[]> = {};
  for (const k of keyNames) keys[k] = res.columns[k] as Scalar[];
  const columns: Record<string, Scalar[]> = {};
  for (const f of fnames) columns[f] = res.columns[f] as Scalar[];
  for (const r of req) if (!(r in columns)) columns[r] = res.columns[r] as Scalar[];
  const featureTimes: Record<string, Float64Array> = {};
  joined.groups.forEach((g, i) => (featureTimes[g] = res.columns[`__ft_${i}`] as Float64Array));
  const time = res.columns.__t_ms as Float64Array;

  addOdtColumns(view.odts, columns, n);

  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (time[i] < lo) lo = time[i];
    if (time[i] > hi) hi = time[i];
  }
  const iso = (ms: number) => new Date(Math.floor(ms)).toISOString();
  return {
    n,
    keys,
    time,
    label: withLabel ? (res.columns.__label as Float64Array) : new Float64Array(0),
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
  opts: SpineRange = {},
): Promise<TrainingFrame> {
  const view = findView(bundle, viewName);
  const run = async () => {
    const spine = await buildSpine(store, bundle, view, opts);
    let joined: PitJoinResult | undefined;
    try {
      joined = await pitJoin(store, bundle, view, spine.table, { asOf: view.asOf });
      return await readFrame(store, view, joined, true, opts);
    } finally {
      await cleanUp(store, ...(joined ? [`DROP TABLE IF EXISTS ${ident(joined.table)}`] : []), `DROP TABLE IF EXISTS ${ident(spine.table)}`);
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
  const n = spine.keys[keyNames[0]]?.length ?? 0;
  const neededReq = new Set(view.odts.flatMap((o) => o.requestParams.map((p) => p.name)));
  const reqFields = view.requestFields.filter((f) => spine.request?.[f.name] !== undefined || neededReq.has(f.name));
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
      const { label: _none, ...frame } = await readFrame(store, viewReq, joined, false, {});
      return frame;
    } finally {
      await cleanUp(store, ...(joined ? [`DROP TABLE IF EXISTS ${ident(joined.table)}`] : []), `DROP TABLE IF EXISTS ${ident(table)}`);
    }
  });
}

/**
 * Writes a view's training frame (keys, event_time, label, features, ODT
 * values, request fields) to a Parquet file; returns the row count.
 */
export async function exportTrainingData(
  store: Store,
  bundle: SpecBundle,
  viewName: string,
  outPath: string,
  opts: SpineRange = {},
): Promise<number> {
  const view = findView(bundle, viewName);
  const frame = await buildTrainingFrame(store, bundle, viewName, opts);
  const defs: Array<{ name: string; type: string; values: ArrayLike<unknown> }> = [];
  const seen = new Set<string>();
  const add = (name: string, type: string, values: ArrayLike<unknown>) => {
    if (seen.has(name.toLowerCase())) return;
    seen.add(name.toLowerCase());
    defs.push({ name, type, values });
  };
  for (const k of view.keys) add(k.name, sqlType(k.type), frame.keys[k.name]);
  add("event_time", "TIMESTAMP", frame.time);
  add(view.label.name, "DOUBLE", frame.label);
  const joinedTypes = new Map<string, ColumnType>();
  for (const f of view.features) joinedTypes.set(f.name, f.type);
  for (const odt of view.odts) joinedTypes.set(odt.name, odt.returns.type);
  for (const f of view.requestFields) if (!joinedTypes.has(f.name)) joinedTypes.set(f.name, f.type);
  for (const [name, type] of joinedTypes) if (frame.columns[name]) add(name, sqlType(type), frame.columns[name]);
  for (const [name, values] of Object.entries(frame.columns)) add(name, inferType(values), values);

  const abs = resolve(outPath);
  mkdirSync(dirname(abs), { recursive: true });
  await store.transaction(async () => {
    const table = `__fti_export_${view.name}`;
    await store.run(`DROP TABLE IF EXISTS ${ident(table)}`);
    await store.run(`CREATE TEMP TABLE ${ident(table)} (${defs.map((d) => `${ident(d.name)} ${d.type}`).join(", ")})`);
    try {
      const cols: Record<string, ArrayLike<unknown>> = {};
      for (const d of defs) cols[d.name] = d.values;
      await store.appendColumns(table, cols);
      await store.run(`COPY ${ident(table)} TO ${sqlString(abs)} (FORMAT parquet)`);
    } finally {
      await cleanUp(store, `DROP TABLE IF EXISTS ${ident(table)}`);
    }
  });
  return frame.n;
}

function inferType(values: ArrayLike<unknown>): string {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    if (typeof v === "number") return "DOUBLE";
    if (typeof v === "boolean") return "BOOLEAN";
    return "VARCHAR";
  }
  return "DOUBLE";
}
