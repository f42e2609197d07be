// The runtime's commands: features, training-data, train, register, models,
// predict. Each opens the store, loads the compiled spec (the loader is
// handed in by the compiler's CLI, so runtime/ never imports compiler/),
// runs one pipeline, and prints a short report. User errors are UserErrors:
// the CLI prints them as one line.

import fs from "node:fs";
import type { Command } from "commander";
import type { SpecBundle, ViewPlan } from "../api.ts";
import { findModel, findView } from "../bundle.ts";
import { isBetter } from "../catalogue.ts";
import { UsageError, UserError } from "../errors.ts";
import { readInputFile } from "../input-file.ts";
import { parseThreads } from "../learners/gbdt-threads.ts";
import { badFlagValue, memorySizeFlag, timeFlag, wholeNumberFlag } from "./flags.ts";
import { sourceSummary } from "./source-summary.ts";
import { specMember } from "./spec-member.ts";
import { EXPORT_MEMORY_LIMIT, MIN_EXPORT_MEMORY } from "../retrieval/export-memory.ts";
import type { ModelSummary } from "../registry/registry.ts";
import type { Store } from "../store/store.ts";
import type { TrainReport } from "../training/train.ts";
import type { ExternalReport } from "../training/register-external.ts";
import { unservableLine } from "../training/unservable.ts";
import { futureRowsLine } from "../training/future-rows.ts";
import { terminalText } from "../terminal-text.ts";

// The engines (DuckDB, onnxruntime, the trainers) load on first use, so
// `fti compile` and `fti --help` start fast.
const features = () => import("../features/pipeline.ts");
const batch = () => import("../inference/batch.ts");
const registry = () => import("../registry/registry.ts");
const trainingExport = () => import("../retrieval/export.ts");
const external = () => import("../training/register-external.ts");
const training = () => import("../training/train.ts");

export interface RuntimeCliDeps {
  loadSpec: (specPath: string) => Promise<SpecBundle>;
  exit: (code: number) => void;
}

const log = (line: string) => process.stderr.write(line + "\n");
const out = (line: string) => process.stdout.write(line + "\n");

/**
 * Opens the store for `fn` and closes it; commands that only read pass
 * `readOnly` (a read-only or immutable store still works). While another
 * process holds the store (a serving process reloading, another command) it
 * waits up to STORE_WAIT_MS before refusing.
 */
export async function withStore<T>(opts: { store?: string }, fn: (store: Store) => Promise<T>, mode: { readOnly?: boolean } = {}): Promise<T> {
  const { openStore, STORE_WAIT_MS } = await import("../store/store.ts");
  const store = await openStore({ path: opts.store, readOnly: mode.readOnly ?? false, waitMs: STORE_WAIT_MS });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function fmt(n: number | null | undefined, digits = 3): string {
  if (n === null || n === undefined || Number.isNaN(n)) return "n/a";
  return Math.abs(n) >= 1000 ? n.toFixed(0) : Number(n.toPrecision(digits + 2)).toString();
}

function parseModelRef(ref: string): { model: string; version?: number } {
  const m = /^([A-Za-z_]\w*)(?:@(\d+))?$/.exec(ref);
  if (!m) throw new UserError(`\`${ref}\` is not a model reference; use <model> or <model>@<version>`);
  // Versions are the registry's INTEGERs: a longer number failed in DuckDB ("bigint out of int64 range", exit 3).
  if (m[2] && !(Number(m[2]) <= 2 ** 31 - 1)) throw new UserError(`\`${ref.slice(0, 120)}\`: version ${m[2].slice(0, 40)} is beyond any version (at most ${2 ** 31 - 1})`);
  return { model: m[1], ...(m[2] ? { version: Number(m[2]) } : {}) };
}

export function printTrainReport(r: TrainReport | ExternalReport): void {
  out(`model ${r.model}@${r.version} → ${r.stage}${r.promoted ? " (promoted)" : ""}`);
  out(`  rows: ${r.rows.train} train, ${r.rows.test} test${r.rows.droppedLabels ? `, ${r.rows.droppedLabels} without a label skipped` : ""}`);
  if ("futureRows" in r && r.futureRows) out(`  warning: ${futureRowsLine(r.futureRows, r.rows.total)}`);
  const fewTest = fewTestRows(r);
  if (fewTest) out(`  warning: ${fewTest}`);
  if ("classes" in r && r.classes) {
    out(`  classes: ${r.classes.map((c) => JSON.stringify(c)).join(", ")}`);
    const unseen = Object.entries(r.unseenTestLabels ?? {});
    if (unseen.length) {
      const rows = unseen.reduce((a, [, n]) => a + n, 0);
      out(`  warning: ${rows} test row(s) have a label no training row has (${unseen.map(([v, n]) => `${JSON.stringify(v)} × ${n}`).join(", ")}): the model never predicts it, they count as misses`);
    }
  }
  if ("unservableTest" in r && r.unservableTest) out(`  note: ${unservableLine(r.unservableTest)}`);
  for (const [k, v] of Object.entries(r.metrics)) {
    // The baseline predicts the train mean (the positive rate): a model not better than it has learned nothing from the features.
    const worse = r.baseline[k] !== undefined && !isBetter(k, v, r.baseline[k]) ? "   (no better than the baseline)" : "";
    out(`  ${k.padEnd(8)} ${fmt(v).padStart(10)}   baseline ${fmt(r.baseline[k]).padStart(10)}${worse}`);
  }
  for (const g of r.failingGates) out(`  gate failed: ${g}`);
}

/** Fewer test rows than this and a metric (and the gates, and the promotion) rests on a handful of labels. */
const FEW_TEST_ROWS = 30;

/** Why the test metrics say little, or null: a test split of a few rows (and a label time in the future, which a time split takes first). */
function fewTestRows(r: TrainReport | ExternalReport): string | null {
  if (r.rows.test >= FEW_TEST_ROWS) return null;
  const range = "range" in r && r.range ? r.range : null;
  const future = range && Date.parse(range.to) > Date.now() ? `; the latest label is at ${range.to}, in the future: check the event times` : "";
  return `only ${r.rows.test} test row${r.rows.test === 1 ? "" : "s"}: the metrics below rest on ${r.rows.test === 1 ? "it" : "them"}${range ? ` (label times run ${range.from} .. ${range.to}${future})` : ""}; give the split more rows`;
}

/** The `--store` option every store-using command takes. */
export const storeOption = (c: Command) => c.option("--store <path>", "the DuckDB store (default: $FTI_STORE or .fti/store.duckdb)");

export function registerRuntimeCommands(program: Command, deps: RuntimeCliDeps): void {
  for (const register of [registerFeatures, registerTrainingData, registerTrain, registerRegister, registerModels, registerPredict]) register(program, deps);
  program.hook("preAction", (_program, action) => refuseEmptyStore(action.opts()));
}

/**
 * `--store ""` (a script's `--store "$STORE"` with the variable unset) read as no flag at all: the command ran on
 * the default store, another than the one meant. Refused for every command that takes the flag.
 */
function refuseEmptyStore(opts: { store?: unknown }): void {
  if (typeof opts.store === "string" && opts.store.trim() === "") {
    throw badFlagValue("--store", JSON.stringify(opts.store), "the path of a store file", "an empty --store is not the default store: give the path, or leave the flag out");
  }
}

/** `fti features`: the feature pipeline. */
function registerFeatures(program: Command, deps: RuntimeCliDeps): void {
  storeOption(
    program
      .command("features")
      .description("run the feature pipeline: read and validate sources, compute the feature groups (MITs) into the store")
      .argument("<spec>", ".fti file")
      .option("--group <name...>", "only these feature groups")
      .option("--from <time>", "start of the range to (re)compute, inclusive")
      .option("--to <time>", "end of the range, exclusive")
      .option("--force", "compute imported groups even when their tables are up to date")
      .option("--embed-url <url>", "OpenAI-compatible API for embed(..., \"model\") (default: $FTI_EMBED_URL, else $FTI_LLM_URL)"),
  ).action(async (spec: string, opts: { group?: string[]; from?: string; to?: string; store?: string; embedUrl?: string; force?: boolean }) => {
    const from = timeFlag(opts.from, "--from");
    const to = timeFlag(opts.to, "--to");
    const bundle = await deps.loadSpec(spec);
    const { runFeaturePipeline } = await features();
    const { embeddingSettingsFromEnv } = await import("../embeddings/embedder.ts");
    const embeddings = embeddingSettingsFromEnv(process.env, { embedUrl: opts.embedUrl });
    const report = await withStore(opts, (store) =>
      runFeaturePipeline(store, bundle, { groups: opts.group, from, to, embeddings, force: opts.force, onProgress: (ev) => ev.phase !== "rows" && log(`  ${ev.message}`) }),
    );
    for (const s of report.sources) out(sourceSummary(s));
    for (const g of report.groups) {
      if (g.upToDate) out(`group ${g.group} v${g.version}: up to date in ${g.table} (computed by spec ${g.upToDate.spec}; --force computes it again)`);
      else out(`group ${g.group} v${g.version}: ${g.rows} rows → ${g.table} (${(g.ms / 1000).toFixed(1)} s)`);
    }
    for (const w of report.warnings) log(`warning: ${w}`);
    if (report.sources.some((s) => s.quarantined > 0)) await reportQuarantine(opts, report);
  });
}

/**
 * Why rows were quarantined, by kind of reason; a source of which every row was
 * quarantined fails the command (its fields do not describe the file: a date
 * format, a renamed column), after the rest of the run is stored.
 */
async function reportQuarantine(opts: { store?: string }, report: { runId: string; sources: Array<{ source: string; read: number; valid: number }> }): Promise<void> {
  const { quarantineReasons } = await import("../store/quarantine.ts");
  const reasons = await withStore(opts, (store) => quarantineReasons(store, report.runId), { readOnly: true });
  for (const r of reasons) log(`  ${r.source}: ${r.rows} row${r.rows === 1 ? "" : "s"} like ${terminalText(r.example)}`);
  log(`quarantined rows and their reasons: SELECT * FROM fti_quarantine WHERE run_id = '${report.runId}'`);
  const refused = report.sources.filter((s) => s.read > 0 && s.valid === 0);
  if (refused.length) {
    const names = refused.map((s) => `\`${s.source}\` (${s.read} rows)`).join(", ");
    const timestamps = reasons.some((r) => /is not a timestamp(;|$)/.test(r.reason)) ? " (a timestamp is read in ISO 8601 form, 2024-03-01 or 2024-03-01 06:30:00, unless its field has a `format \"...\"` such as `format \"%m/%d/%Y\"`)" : "";
    throw new UserError(`every row of ${names} was quarantined`, `the source's fields do not describe its data: see the reasons above${timestamps}`);
  }
}

/** `fti training-data`: a view's point-in-time training data as Parquet. */
function registerTrainingData(program: Command, deps: RuntimeCliDeps): void {
  storeOption(
    program
      .command("training-data")
      .description("export a view's point-in-time correct training data to Parquet (for training elsewhere)")
      .argument("<spec>", ".fti file")
      .argument("[view]", "view name (default: the spec's only view)")
      .requiredOption("--out <file.parquet>", "output file")
      .option(
        "--memory-limit <size>",
        `DuckDB's memory while the export runs, at most (default ${EXPORT_MEMORY_LIMIT}, or 80 MiB per column of a wider file up to ` +
          "a quarter of the machine's memory): past it the join and the sort into spine order spill to disk (less memory, more CPU); " +
          "off: the store's own limit",
      )
      .option("--unordered", "write the rows in the join's order (it changes from run to run), not sorted into spine order: the same rows, faster"),
  ).action(async (spec: string, viewArg: string | undefined, opts: { out: string; store?: string; memoryLimit?: string; unordered?: boolean }) => {
    const memoryLimit = memorySizeFlag(opts.memoryLimit, "--memory-limit", MIN_EXPORT_MEMORY);
    // The export is Parquet whatever the name says: `--out train.csv` wrote Parquet bytes under a .csv name.
    if (!/\.parquet$/i.test(opts.out)) {
      throw new UserError(`--out ${opts.out}: the training data is written as Parquet`, `name the file *.parquet (DuckDB, pandas and polars read it: \`pd.read_parquet\`)`);
    }
    const bundle = await deps.loadSpec(spec);
    const view = specMember(bundle, "view", viewArg);
    const { exportTrainingData } = await trainingExport();
    const { rows, leftOut } = await withStore(opts, async (store) => {
      const rows = await exportTrainingData(store, bundle, view, opts.out, { memoryLimit, unordered: opts.unordered === true, closingStore: true });
      return { rows, leftOut: await leftOutOfSpine(store, findView(bundle, view), rows) };
    });
    out(`${rows} rows → ${opts.out}`);
    if (leftOut) out(`  ${leftOut}`);
  });
}

/** The line naming the view's source rows that got no label (and so are not in the training data), or null. */
async function leftOutOfSpine(store: Store, view: ViewPlan, labelled: number): Promise<string | null> {
  const { spineLeftOut, leftOutLine } = await import("../retrieval/unlabelled.ts");
  return leftOutLine(view, await spineLeftOut(store, view, labelled));
}

/** `fti train`: train, gate and register a model. */
function registerTrain(program: Command, deps: RuntimeCliDeps): void {
  storeOption(
    program
      .command("train")
      .description("train a model: PIT training data, MDTs fitted on the train split, ONNX export, gates, registry")
      .argument("<spec>", ".fti file")
      .argument("[model]", "model name (default: the spec's only model)")
      .option("--threads <n>", "threads for gbdt training (default: $FTI_THREADS, else the cores; the model is the same for every value)"),
  ).action(async (spec: string, modelArg: string | undefined, opts: { store?: string; threads?: string }) => {
    const threads = opts.threads === undefined ? undefined : parseThreads(opts.threads, "--threads", UsageError);
    const bundle = await deps.loadSpec(spec);
    const model = specMember(bundle, "model", modelArg);
    const { trainModelFromSpec } = await training();
    const { view } = findModel(bundle, model);
    const { report, leftOut } = await withStore(opts, async (store) => {
      const report = await trainModelFromSpec(store, bundle, model, { threads, onProgress: (p) => log(`  ${p.message}`) });
      return { report, leftOut: await leftOutOfSpine(store, view, report.rows.total) };
    });
    printTrainReport(report);
    if (leftOut) out(`  ${leftOut}`);
    if (!report.promoted) deps.exit(1);
  });
}

/** `fti register`: an externally trained ONNX model. */
function registerRegister(program: Command, deps: RuntimeCliDeps): void {
  storeOption(
    program
      .command("register")
      .description("register an externally trained ONNX model after checking its shapes against the view and MDTs")
      .argument("<spec>", ".fti file")
      .argument("[model]", "model name (default: the spec's only model)")
      .requiredOption("--onnx <file>", "the .onnx file"),
  ).action(async (spec: string, modelArg: string | undefined, opts: { onnx: string; store?: string }) => {
    const bundle = await deps.loadSpec(spec);
    const model = specMember(bundle, "model", modelArg);
    // protobuf's limit: no ONNX model file is larger.
    const bytes: Uint8Array = readInputFile(opts.onnx, "--onnx", 2 ** 31 - 1);
    const { registerExternal } = await external();
    const report = await withStore(opts, (store) => registerExternal(store, bundle, model, bytes, { onProgress: (p) => log(`  ${p.message}`) }));
    printTrainReport(report);
  });
}

/** `fti models list | show | promote`: the registry. */
function registerModels(program: Command, deps: RuntimeCliDeps): void {
  const models = program.command("models").description("the model registry: list, show, promote");
  storeOption(models.command("list", { isDefault: true }).description("list registered models and versions").option("--json", "as JSON")).action(
    async (opts: { json?: boolean; store?: string }) => {
      const { listModels, productionWarnings } = await registry();
      const rows = await withStore(opts, (store) => listModels(store), { readOnly: true });
      for (const w of productionWarnings(rows)) log(`warning: ${w}`);
      if (opts.json) return void out(JSON.stringify(rows, null, 2));
      if (!rows.length) return void out("no models registered yet; run `fti train <spec> <model>`");
      out(["model", "version", "stage", "algorithm", "metrics", "created"].join("\t"));
      for (const r of rows) out([r.model, r.version, r.stage, r.algorithm, metricsText(r), new Date(r.created_at).toISOString()].join("\t"));
    },
  );
  storeOption(models.command("show").description("show one version (default: production, else latest)").argument("<model[@version]>").option("--json", "as JSON")).action(
    async (ref: string, opts: { json?: boolean; store?: string }) => {
      const { model, version } = parseModelRef(ref);
      const { getModel, modelProductionWarnings } = await registry();
      const rec = await withStore(
        opts,
        async (store) => {
          // Without a version, the production one is shown: say when there are several.
          if (version === undefined) for (const w of await modelProductionWarnings(store, model)) log(`warning: ${w}`);
          return getModel(store, model, version);
        },
        { readOnly: true },
      );
      const { onnx, ...rest } = rec;
      const view = { ...rest, onnx_bytes: onnx.length };
      if (opts.json) return void out(JSON.stringify(view, null, 2));
      out(`${rec.model}@${rec.version}  ${rec.stage}  ${rec.algorithm} (${rec.task})`);
      out(`  metrics   ${metricsText(rec)}`);
      out(`  baseline  ${Object.entries(rec.baseline).map(([k, v]) => `${k} ${fmt(v)}`).join(", ")}`);
      out(`  params    ${JSON.stringify(rec.params)}`);
      if (rec.mdt_state.classes) out(`  classes   ${rec.mdt_state.classes.map((c) => JSON.stringify(c)).join(", ")}`);
      out(`  lineage   ${[`spec ${rec.lineage.specFile} (sha256 ${rec.spec_hash.slice(0, 12)}…)`, `view ${rec.lineage.view}`, ...rec.lineage.featureTables.map((t) => t.table)].join(", ")}`);
      out(`  data      ${rec.lineage.trainingRange.from} → ${rec.lineage.trainingRange.to}; ${rec.lineage.rows.train} train / ${rec.lineage.rows.test} test rows`);
      out(`  transforms ${rec.transforms_hash}`);
      out(`  onnx      ${onnx.length} bytes, sha256 ${rec.onnx_sha256}`);
      for (const g of rec.gates) out(`  gate      ${g.metric} ${g.op} ${g.value}: ${g.pass ? "pass" : "FAIL"} (${fmt(g.actual)})`);
      if (rec.statistics) {
        const { formatStatistics } = await import("../monitor/format.ts");
        out(`  statistics (features and label over the ${rec.lineage.rows.train} train rows, predictions over the ${rec.lineage.rows.test} test rows)`);
        for (const line of formatStatistics(rec.statistics)) out(`    ${line}`);
      } else out("  statistics none (registered before fti kept training statistics)");
    },
  );
  storeOption(models.command("promote").description("make a version the production one").argument("<model@version>")).action(
    async (ref: string, opts: { store?: string }) => {
      const { model, version } = parseModelRef(ref);
      if (version === undefined) throw new UserError(`say which version to promote: \`fti models promote ${model}@<version>\``);
      const { promote } = await registry();
      const r = await withStore(opts, (store) => promote(store, model, version));
      out(`${r.model}@${r.version} is now production${r.previous !== null && r.previous !== r.version ? ` (was @${r.previous}, now archived)` : ""}`);
    },
  );
}

/** `fti predict`: batch inference. */
function registerPredict(program: Command, deps: RuntimeCliDeps): void {
  storeOption(
    program
      .command("predict")
      .description("batch inference: features as of a time → ODTs → MDTs → ONNX → predictions table")
      .argument("<spec>", ".fti file")
      .argument("[model]", "model name (default: the spec's only model); its production version, else the latest")
      .option("--as-of <time>", "read features as of this time (default: now)")
      .option("--entities <file>", "csv/parquet/ndjson of entity keys and request fields, any other columns carried to the output (default: every known entity)")
      .option("--time-column <column>", "score each row of the entities file as of its own time in this column")
      .option("--out <table|file.parquet>", "also write to this table or Parquet file")
      .option("--version <n>", "use this registry version"),
  ).action(async (spec: string, modelArg: string | undefined, opts: { asOf?: string; entities?: string; timeColumn?: string; out?: string; version?: string; store?: string }) => {
    // Usage first (exit 2), before the spec is loaded (which may compile it).
    const version = opts.version === undefined ? undefined : wholeNumberFlag(opts.version, "--version", 1);
    if (opts.timeColumn !== undefined && opts.asOf !== undefined) throw new UsageError("give either --as-of or --time-column, not both");
    if (opts.timeColumn !== undefined && opts.entities === undefined) throw new UsageError("--time-column needs --entities: a file with that column");
    const asOf = timeFlag(opts.asOf, "--as-of");
    const bundle = await deps.loadSpec(spec);
    const model = specMember(bundle, "model", modelArg);
    const { predictBatch } = await batch();
    const r = await withStore(opts, (store) =>
      predictBatch(store, bundle, model, {
        asOf,
        entitiesFile: opts.entities,
        timeColumn: opts.timeColumn,
        out: opts.out,
        version,
      }),
    );
    for (const w of r.warnings) log(`warning: ${w}`);
    const when = r.timeColumn ? `each as of its \`${r.timeColumn}\`` : `as of ${r.asOf}`;
    out(`${r.rows} predictions by ${r.model}@${r.version} ${when} → ${r.table}${r.parquet ? ` and ${r.parquet}` : ""}`);
    const rejected = r.rejected.invalid + r.rejected.missingFeatures;
    if (rejected) {
      const why = [
        r.rejected.invalid ? `${r.rejected.invalid} invalid (what online answers 400)` : "",
        r.rejected.missingFeatures ? `${r.rejected.missingFeatures} unknown or stale entities the model cannot impute (online 422)` : "",
      ].filter(Boolean);
      out(`${rejected} rows rejected: ${why.join(", ")} → ${r.rejectsTable}${r.rejectsParquet ? ` and ${r.rejectsParquet}` : ""}`);
    }
    if (r.nullPredictions) log(`warning: ${r.nullPredictions} rows have no prediction (missing features the model cannot impute)`);
  });
}

function metricsText(r: Pick<ModelSummary, "metrics">): string {
  return Object.entries(r.metrics).map(([k, v]) => `${k} ${fmt(v)}`).join(", ");
}
