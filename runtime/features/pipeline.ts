// The feature pipeline: read the sources, then compute every feature group
// (in `bundle.groups` order, already topologically sorted) into its offline
// table. One run is one transaction, and writes replace the rows of the run's
// range, so a failed run leaves the store as it was and a re-run of a range
// leaves the tables as one run did. See CONTEXT.md beside this file.

import type { ColumnPlan, ExternPlan, GroupPlan, SourcePlan, SpecBundle } from "../api.ts";
import { vectorDim } from "../vector-type.ts";
import { embeddingSettingsFromEnv, type EmbeddingSettings } from "../embeddings/embedder.ts";
import { prepareEmbeddings } from "../embeddings/functions.ts";
import { UserError } from "../errors.ts";
import { cleanUp, type ScalarFunctionSignature, type Store } from "../store/store.ts";
import { newRunId, recordRun } from "../store/run-log.ts";
import { ident, sqlTimestamp, sqlType, tableRef } from "../store/sql.ts";
import { rawTable, readSourceKeepingInput, type ReadSourceOptions, type SourceReadReport, type StoredRowsInPlace } from "./sources.ts";
import { compactSegments, readStreamSegments } from "./stream-input.ts";
import { currentFreshness, findUpToDate, mayReuse, tableStamp, type GroupFreshness, type UpToDate } from "./group-freshness.ts";
import { columnDefinition } from "./column-storage.ts";
import { checkGroupDefinition, groupSite } from "./group-definitions.ts";

export interface ProgressEvent {
  kind: "source" | "group";
  name: string;
  phase: "start" | "rows" | "done";
  /** rows: rows read (source) or written (group) so far; on "done", the total. */
  rows?: number;
  /** Sources: rows quarantined. */
  quarantined?: number;
  /** On "done": elapsed milliseconds. */
  ms?: number;
  /** A human-readable line for the CLI. */
  message: string;
}

export interface FeatureRunOptions {
  /** Run only these groups (their input sources are read too). Default: every source and group. */
  groups?: string[];
  /** Inclusive start of the range to (re)write; default: everything. */
  from?: Date;
  /** Exclusive end of the range. */
  to?: Date;
  onProgress?: (ev: ProgressEvent) => void;
  /** Where `embed(..., "model")` features get their vectors (default: from the environment, see embeddings/embedder.ts). */
  embeddings?: EmbeddingSettings;
  /** Compute imported groups even when their tables are up to date (group-freshness.ts). */
  force?: boolean;
}

export interface GroupRunReport {
  group: string;
  version: number;
  table: string;
  /** Rows of `__input` the SQL read (range plus lookback). */
  inputRows: number;
  /** Rows written (those with event_time in the range). */
  rows: number;
  ms: number;
  /** Set when the group was not computed: its table was up to date, computed by this run of a spec. */
  upToDate?: UpToDate;
  /** An imported group's definition, input and table after this computation (what a later run compares). */
  freshness?: GroupFreshness;
}

export interface FeatureRunReport {
  runId: string;
  spec: string;
  status: "ok";
  startedAt: string;
  finishedAt: string;
  ms: number;
  range: { from: string | null; to: string | null };
  sources: SourceReadReport[];
  groups: GroupRunReport[];
  /** Things that did not stop the run but may make numbers wrong (e.g. a range run without earlier history). */
  warnings: string[];
}

/** Column layout of a group's offline table. */
export function groupTableColumns(plan: GroupPlan): Array<{ name: string; type: string }> {
  const col = (c: ColumnPlan) => ({ name: c.name, type: sqlType(c.type) });
  return [
    ...plan.keys.map(col),
    { name: "event_time", type: "TIMESTAMP" },
    ...(plan.rowId ? [col(plan.rowId)] : []),
    ...(plan.reference?.validTo ? [{ name: "valid_to", type: "TIMESTAMP" }] : []),
    ...plan.features.map(col),
    { name: "ingested_at", type: "TIMESTAMP" },
  ];
}

/** Runs the feature pipeline (sources, then groups) in one transaction and records it in `fti_runs`. */
export async function runFeaturePipeline(
  store: Store,
  bundle: SpecBundle,
  opts: FeatureRunOptions = {},
): Promise<FeatureRunReport> {
  const started = new Date();
  const t0 = performance.now();
  const runId = newRunId("features", started);
  const { from, to } = opts;
  checkRunOptions(store, opts);
  const emit = opts.onProgress ?? (() => {});
  const { groups, sources } = selectWork(bundle, opts.groups);
  const range = { from: from ? from.toISOString() : null, to: to ? to.toISOString() : null };
  const report: FeatureRunReport = {
    runId,
    spec: bundle.name,
    status: "ok",
    startedAt: started.toISOString(),
    finishedAt: "",
    ms: 0,
    range,
    sources: [],
    groups: [],
    warnings: [],
  };
  const run = { runId, kind: "features", spec: bundle.name, startedAt: started };
  // Sources whose stored rows the groups read from the files themselves (sources.ts StoredRowsInPlace), until the groups are done.
  const inPlace = new Map<string, StoredRowsInPlace>();
  try {
    await store.transaction(async () => {
      try {
        for (const plan of sources) report.sources.push(await runSource(store, bundle, plan, { runId, ingestedAt: started, from, to }, emit, inPlace));
        const ranThisRun = new Set<string>();
        for (const plan of groups) {
          report.groups.push(await runOrReuseGroup(store, bundle, plan, opts, emit, {
            from,
            to,
            ingestedAt: started,
            ranThisRun,
            warnings: report.warnings,
            embeddings: opts.embeddings ?? embeddingSettingsFromEnv(),
            inPlace,
          }));
          ranThisRun.add(plan.name);
        }
        unchangedSinceRead(bundle, sources, inPlace);
      } finally {
        for (const rows of inPlace.values()) await rows.close();
      }
      const finished = new Date();
      report.finishedAt = finished.toISOString();
      report.ms = Math.round(performance.now() - t0);
      await recordRun(store, { ...run, finishedAt: finished, status: "ok", stats: runStats(bundle, report) });
    });
  } catch (e) {
    // The transaction rolled back; record the failure (best effort) and rethrow.
    try {
      if (!store.readOnly) {
        const error = (e as Error)?.message ?? String(e);
        await recordRun(store, { ...run, finishedAt: new Date(), status: "failed", stats: { file: bundle.file, range, error } });
      }
    } catch {
      // the original error matters more
    }
    throw e;
  }
  // Committed: the stream segments the run kept in the store can go (stream-input.ts). Not after a ranged run.
  if (!from && !to) {
    for (const plan of sources.filter((s) => s.stream)) {
      const removed = await compactSegments(store, plan);
      const r = report.sources.find((x) => x.source === plan.name);
      if (r?.stream) r.stream.compacted = removed.length;
    }
  }
  return report;
}

/** Computes a group, or skips an imported one whose table is up to date (group-freshness.ts). */
async function runOrReuseGroup(
  store: Store,
  bundle: SpecBundle,
  plan: GroupPlan,
  opts: FeatureRunOptions,
  emit: (ev: ProgressEvent) => void,
  ctx: GroupRunContext,
): Promise<GroupRunReport> {
  const now = mayReuse(plan, opts) ? await currentFreshness(store, bundle, plan) : null;
  const upToDate = now ? await findUpToDate(store, plan, now) : null;
  if (upToDate) {
    const message = `${plan.name}: up to date in ${plan.table} (declared in ${plan.declaredIn!.file}; computed by spec ${upToDate.spec}, run ${upToDate.runId})`;
    emit({ kind: "group", name: plan.name, phase: "done", rows: 0, ms: 0, message });
    return { group: plan.name, version: plan.version, table: plan.table, inputRows: 0, rows: 0, ms: 0, upToDate };
  }
  emit({ kind: "group", name: plan.name, phase: "start", message: `computing ${plan.name} (${plan.table})` });
  const r = await runGroup(store, bundle, plan, ctx);
  if (now) r.freshness = { ...now, table: await tableStamp(store, plan.table) };
  emit({ kind: "group", name: plan.name, phase: "rows", rows: r.rows, message: `${plan.name}: ${r.rows} rows` });
  emit({ kind: "group", name: plan.name, phase: "done", rows: r.rows, ms: r.ms, message: `${plan.name}: ${r.rows} rows → ${r.table} in ${r.ms} ms` });
  return r;
}

function checkRunOptions(store: Store, opts: FeatureRunOptions): void {
  const { from, to } = opts;
  for (const [name, d] of [["from", from], ["to", to]] as const) {
    if (d !== undefined && Number.isNaN(d.getTime())) throw new UserError(`--${name} is not a valid date`);
  }
  if (from && to && from.getTime() >= to.getTime()) {
    throw new UserError(`the range is empty: --from ${from.toISOString()} is not before --to ${to.toISOString()}`);
  }
  if (store.readOnly) {
    throw new UserError(`the store ${store.path} is open read-only; the feature pipeline writes to it`);
  }
}

/** The groups a run computes (the named ones, else all) and the sources they read (every source without names). */
function selectWork(bundle: SpecBundle, names: string[] | undefined): { groups: GroupPlan[]; sources: SourcePlan[] } {
  const byName = new Map(bundle.groups.map((g) => [g.name, g]));
  let groups: GroupPlan[];
  if (names && names.length) {
    const unknown = names.filter((g) => !byName.has(g));
    if (unknown.length) {
      throw new UserError(
        `spec \`${bundle.name}\` has no feature group ${unknown.map((u) => `\`${u}\``).join(", ")}` +
          (bundle.groups.length ? `; its groups: ${bundle.groups.map((g) => g.name).join(", ")}` : ""),
      );
    }
    const wanted = new Set(names);
    groups = bundle.groups.filter((g) => wanted.has(g.name));
  } else {
    groups = bundle.groups;
  }
  const sourceNames = new Set<string>();
  if (names && names.length) {
    for (const g of groups) if (g.input.kind === "source") sourceNames.add(g.input.name);
  } else {
    for (const s of bundle.sources) sourceNames.add(s.name);
  }
  const sources = bundle.sources.filter((s) => sourceNames.has(s.name));
  for (const g of groups) {
    if (g.input.kind === "source" && !bundle.sources.some((s) => s.name === g.input.name)) {
      throw new Error(`feature group \`${g.name}\` reads source \`${g.input.name}\`, which the bundle does not define`);
    }
  }
  return { groups, sources };
}

/** A file a group read again (StoredRowsInPlace) that changed since its source was read fails the run, as during the source's passes. */
function unchangedSinceRead(bundle: SpecBundle, sources: SourcePlan[], inPlace: Map<string, StoredRowsInPlace>): void {
  for (const [name, rows] of inPlace) {
    const changed = rows.changedFiles();
    const plan = sources.find((s) => s.name === name)!;
    if (changed.length) throw new UserError(`source \`${name}\` (${bundle.file}:${plan.line}): ${changed.join(", ")} changed while being read`, "run the feature pipeline again");
  }
}

async function runSource(
  store: Store,
  bundle: SpecBundle,
  plan: SourcePlan,
  opts: ReadSourceOptions,
  emit: (ev: ProgressEvent) => void,
  inPlace: Map<string, StoredRowsInPlace>,
): Promise<SourceReadReport> {
  emit({ kind: "source", name: plan.name, phase: "start", message: `reading source ${plan.name}` });
  const { report: r, inPlace: rows } = await readSourceKeepingInput(store, bundle, plan, opts);
  if (rows) inPlace.set(plan.name, rows);
  if (plan.stream) {
    // The streamed events after the file rows, once each by `unique` (stream-input.ts).
    const st = await readStreamSegments(store, bundle, plan, opts);
    r.stream = st;
    r.valid += st.valid;
    r.quarantined += st.quarantined;
  }
  emit({
    kind: "source",
    name: plan.name,
    phase: "rows",
    rows: r.read,
    quarantined: r.quarantined,
    message: `${plan.name}: ${r.read} rows read, ${r.quarantined} quarantined`,
  });
  emit({
    kind: "source",
    name: plan.name,
    phase: "done",
    rows: r.valid,
    quarantined: r.quarantined,
    ms: r.ms,
    message:
      `${plan.name}: ${r.valid} valid rows → ${r.table}` +
      (r.stream ? ` (${r.stream.valid} new streamed events of ${r.stream.events} in ${r.stream.segments} segments)` : "") +
      (r.quarantined ? ` (${r.quarantined} quarantined)` : ""),
  });
  return r;
}

function runStats(bundle: SpecBundle, r: FeatureRunReport): unknown {
  return {
    file: bundle.file,
    specHash: bundle.specHash,
    range: r.range,
    ms: r.ms,
    sources: r.sources.map((s) => ({ source: s.source, read: s.read, valid: s.valid, quarantined: s.quarantined, skipped: s.skipped, ms: s.ms, ...(s.stream ? { stream: s.stream } : {}) })),
    groups: r.groups.map((g) => ({
      group: g.group,
      version: g.version,
      table: g.table,
      rows: g.rows,
      inputRows: g.inputRows,
      ms: g.ms,
      ...(g.upToDate ? { skipped: true, computedBy: g.upToDate } : {}),
      ...(g.freshness ? { freshness: g.freshness } : {}),
    })),
    warnings: r.warnings,
  };
}

interface GroupRunContext {
  from?: Date;
  to?: Date;
  ingestedAt: Date;
  ranThisRun: Set<string>;
  warnings: string[];
  embeddings: EmbeddingSettings;
  /** Sources whose stored rows can be read from their files (sources.ts StoredRowsInPlace). */
  inPlace: Map<string, StoredRowsInPlace>;
}

/** Computes one group over the range and replaces those rows of its table. */
async function runGroup(store: Store, bundle: SpecBundle, plan: GroupPlan, ctx: GroupRunContext): Promise<GroupRunReport> {
  const t0 = performance.now();
  // Reference data has no time range to recompute: its groups are always computed whole.
  if (plan.reference) ctx = { ...ctx, from: undefined, to: undefined };
  const { from, to } = ctx;

  // The input relation and its time column.
  let inputTable: string;
  let timeCol: string;
  let alias = "";
  let rowsInPlace: StoredRowsInPlace | undefined;
  if (plan.input.kind === "source") {
    const src = bundle.sources.find((s) => s.name === plan.input.name)!;
    inputTable = rawTable(src.name);
    // Reference data: no range applies (above), so the time column is never read.
    timeCol = src.eventTime ?? src.validFrom ?? "";
    rowsInPlace = ctx.inPlace.get(src.name);
    if (src.eventTime && !src.fields.some((f) => f.name === "event_time")) alias = `, ${ident(src.eventTime)} AS event_time`;
    if (!(await store.tableExists(inputTable))) {
      throw new UserError(
        `feature group \`${plan.name}\` reads source \`${src.name}\`, whose table ${inputTable} does not exist yet`,
        `run the feature pipeline without --group: \`fti features ${bundle.file}\``,
      );
    }
  } else {
    const upstream = bundle.groups.find((g) => g.name === plan.input.name);
    if (!upstream) throw new Error(`feature group \`${plan.name}\` reads group \`${plan.input.name}\`, which the bundle does not define`);
    inputTable = upstream.table;
    timeCol = "event_time";
    if (!ctx.ranThisRun.has(upstream.name) && !(await store.tableExists(upstream.table))) {
      throw new UserError(
        `feature group \`${plan.name}\` reads group \`${upstream.name}\`, whose table ${upstream.table} does not exist yet`,
        `compute it first: \`fti features ${bundle.file} --group ${upstream.name}\` (or run without --group)`,
      );
    }
  }

  for (const l of plan.lookups ?? []) {
    if (!ctx.ranThisRun.has(l.group) && !(await store.tableExists(l.table))) {
      throw new UserError(
        `feature group \`${plan.name}\` looks up reference group \`${l.group}\`, whose table ${l.table} does not exist yet`,
        `compute it first: \`fti features ${bundle.file} --group ${l.group}\` (or run without --group)`,
      );
    }
  }

  // __input: the range plus the lookback the windows need.
  const tc = ident(timeCol);
  const inputWhere: string[] = [];
  if (from && plan.lookbackMs !== null) inputWhere.push(`${tc} >= ${sqlTimestamp(from.getTime() - plan.lookbackMs)}`);
  if (to) inputWhere.push(`${tc} < ${sqlTimestamp(to)}`);
  // The rows this run stored, from the source's files when they are the same rows (StoredRowsInPlace: the
  // file is read on every core, the table written in this transaction on one). Otherwise one scan of the
  // table, not rowid parts (table-parts.ts): in parts the 10 M-row group cost ~2 s more CPU and no wall on a
  // quiet machine (docs/benchmarks.md, "Fifteenth session: lead").
  const inputRelation = rowsInPlace && inputWhere.length === 0 ? `(${rowsInPlace.sql}) AS __fti_src` : tableRef(inputTable);
  await store.run(
    `CREATE OR REPLACE TEMP VIEW __input AS SELECT *${alias} FROM ${inputRelation}` + (inputWhere.length ? ` WHERE ${inputWhere.join(" AND ")}` : ""),
  );

  if (from && plan.lookbackMs !== 0) {
    const [h] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM (SELECT 1 FROM ${tableRef(inputTable)} WHERE ${tc} < ${sqlTimestamp(from)} LIMIT 1)`);
    const [r] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM (SELECT 1 FROM ${tableRef(inputTable)} LIMIT 1)`);
    if (h.n === 0 && r.n > 0) {
      ctx.warnings.push(
        `${plan.name}: ${inputTable} has no rows before ${from.toISOString()}, so windows at the start of the range see no history` +
          ` (run the whole range first)`,
      );
    }
  }

  try {
    return await computeGroup(store, bundle, plan, ctx, t0);
  } finally {
    await cleanUp(store, `DROP VIEW IF EXISTS __input`);
  }
}

/** Runs the group's SQL over `__input` into its table (the range's rows replaced). */
async function computeGroup(store: Store, bundle: SpecBundle, plan: GroupPlan, ctx: GroupRunContext, t0: number): Promise<GroupRunReport> {
  const { from, to } = ctx;
  registerExterns(store, bundle, plan);

  // The SQL's output columns, from its bound plan (nothing runs yet).
  const body = plan.sql.trim().replace(/;+\s*$/, "");
  const query = `SELECT * FROM (${body}) AS __q`;
  const outWhere: string[] = [];
  if (from) outWhere.push(`event_time >= ${sqlTimestamp(from)}`);
  if (to) outWhere.push(`event_time < ${sqlTimestamp(to)}`);
  const inRange = outWhere.length ? ` WHERE ${outWhere.join(" AND ")}` : "";
  // Every embedding column counted: evaluates each embed() of the rows in range (see embeddings/functions.ts).
  const embedded = plan.features.filter((f) => vectorDim(f.type) !== null).map((f) => `count(${ident(f.name)})`);
  try {
    await prepareEmbeddings(store, plan, ctx.embeddings, `SELECT ${embedded.join(", ") || "1"} FROM (${query})${inRange}`);
  } catch (e) {
    throw groupSqlError(bundle, plan, e);
  }
  let produced: Array<{ name: string }>;
  try {
    produced = (await store.all<{ column_name: string }>(`SELECT column_name FROM (DESCRIBE ${query})`)).map((r) => ({ name: r.column_name }));
  } catch (e) {
    throw groupSqlError(bundle, plan, e);
  }
  const want = groupTableColumns(plan);
  const expectNames = want.slice(0, -1).map((c) => c.name);
  const gotNames = produced.map((c) => c.name);
  if (gotNames.length !== expectNames.length || gotNames.some((n, i) => n.toLowerCase() !== expectNames[i].toLowerCase())) {
    throw new Error(`feature group \`${plan.name}\`: its SQL returns (${gotNames.join(", ")}) but the plan expects (${expectNames.join(", ")})`);
  }

  await ensureGroupTable(store, bundle, plan);

  // Replace the range: the SQL's rows in [from, to), cast to the declared
  // types, go straight into the table (no intermediate copy).
  await store.run(`DELETE FROM ${tableRef(plan.table)}${inRange}`);
  const cols = want.map((c) => ident(c.name)).join(", ");
  const casts = want
    .slice(0, -1)
    .map((c) => `CAST(${ident(c.name)} AS ${c.type})`)
    .join(", ");
  let rows: number;
  try {
    // Written without insertion order: the rows' order in the table means nothing (every reader orders or
    // aggregates), and the order-preserving insert of the windows' output cost ~1.2 s more CPU and ~0.6 s more of
    // its busiest thread at 10 M rows (docs/benchmarks.md, "Fourteenth session: features").
    rows = await store.withoutInsertionOrder(() =>
      store.run(`INSERT INTO ${tableRef(plan.table)} (${cols}) SELECT ${casts}, ? FROM (${query})${inRange}`, [ctx.ingestedAt]),
    );
  } catch (e) {
    throw groupSqlError(bundle, plan, e);
  }
  const [inp] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM __input`);
  return {
    group: plan.name,
    version: plan.version,
    table: plan.table,
    inputRows: inp.n,
    rows,
    ms: Math.round(performance.now() - t0),
  };
}

function groupSqlError(bundle: SpecBundle, plan: GroupPlan, e: unknown): Error {
  if (e instanceof UserError) return e;
  const msg = (e as Error)?.message ?? String(e);
  return new Error(`feature group \`${plan.name}\` (${bundle.file}:${plan.line}): its SQL failed: ${msg}`);
}

/**
 * Creates the group's table if missing. An existing table with other columns
 * means the definition changed without a version bump: refuse, never rewrite
 * a published group in place.
 */
async function ensureGroupTable(store: Store, bundle: SpecBundle, plan: GroupPlan): Promise<void> {
  const want = groupTableColumns(plan);
  const have = await store.tableColumns(plan.table);
  if (have.length === 0) {
    const parts = plan.table.split(".");
    if (parts.length > 1) await store.run(`CREATE SCHEMA IF NOT EXISTS ${ident(parts[0])}`);
    await store.run(`CREATE TABLE ${tableRef(plan.table)} (${want.map((c) => columnDefinition(c, c.name === plan.rowId?.name)).join(", ")})`);
    await checkGroupDefinition(store, bundle, plan, true);
    return;
  }
  const fmt = (cs: Array<{ name: string; type: string }>) => cs.map((c) => `${c.name} ${c.type}`).join(", ");
  const same =
    have.length === want.length &&
    have.every((c, i) => c.name.toLowerCase() === want[i].name.toLowerCase() && c.type.toUpperCase() === want[i].type);
  if (!same) {
    const added = want.filter((w) => !have.some((h) => h.name.toLowerCase() === w.name.toLowerCase())).map((c) => c.name);
    const removed = have.filter((h) => !want.some((w) => w.name.toLowerCase() === h.name.toLowerCase())).map((c) => c.name);
    const retyped = want
      .filter((w) => have.some((h) => h.name.toLowerCase() === w.name.toLowerCase() && h.type.toUpperCase() !== w.type))
      .map((c) => c.name);
    const what = [
      added.length ? `adds ${added.join(", ")}` : "",
      removed.length ? `drops ${removed.join(", ")}` : "",
      retyped.length ? `changes the type of ${retyped.join(", ")}` : "",
    ]
      .filter(Boolean)
      .join("; ");
    throw new UserError(
      `feature group \`${plan.name}\` (${groupSite(bundle, plan)}) changed since ${plan.table} was written` +
        ` (${what || `columns were (${fmt(have)}), now (${fmt(want)})`}); a published group version is never rewritten`,
      `bump its \`version\` in the spec (to ${plan.version + 1}): the new version gets its own table and the old one stays for models trained on it`,
    );
  }
  // The same columns computed otherwise (a window, an expression, a fn's body) are refused too.
  await checkGroupDefinition(store, bundle, plan, false);
}

/** The DuckDB signature of an extern function, from its declaration in the spec. */
export function externSignature(extern: ExternPlan): ScalarFunctionSignature {
  return {
    params: extern.params.map((p) => p.type),
    returns: extern.returns.type,
    // A parameter declared nullable means the function handles null itself; a null for
    // one declared non-null gives null without a call.
    nullable: true,
    nonNullParams: extern.params.map((p) => !p.nullable),
  };
}

/**
 * Registers the extern functions a group's SQL calls.
 */
function registerExterns(store: Store, bundle: SpecBundle, plan: GroupPlan): void {
  for (const extern of plan.externs) {
    const fn = bundle.externs[extern.name];
    if (typeof fn !== "function") {
      throw new Error(`feature group \`${plan.name}\` calls extern \`${extern.name}\`, which the bundle does not provide`);
    }
    store.registerScalarFunction(extern.name, externSignature(extern), fn);
  }
}
