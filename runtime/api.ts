// The runtime's public API: the ONLY module generated code imports (as
// "fti/runtime"). It defines the shape of a compiled spec (a SpecBundle: plain
// plans plus the generated functions) that the runtime's engines execute.
// Keep this module light: generated code is type-checked against it on every
// compile, so it must not pull in DuckDB, onnxruntime or other heavy types.

import type { MdtKind } from "./catalogue.ts";
import type { z as zod } from "zod";

export { z } from "zod";

/** A value in a row: int and float are numbers, timestamps are ISO strings or Date. */
export type Scalar = number | string | boolean | null;

/** `float[N]` is a vector of N floats (an embedding), stored as DuckDB FLOAT[N]. */
export type ColumnType = "int" | "float" | "bool" | "string" | "timestamp" | VectorType;
export type VectorType = `float[${number}]`;

export { vectorDim } from "./vector-type.ts";
export { requestTimestamp } from "./timestamp-text.ts";

export interface ColumnPlan {
  name: string;
  type: ColumnType;
  nullable: boolean;
}

// ------------------------------------------------------------------ feature pipeline

// The vocabulary plans share with the compiler's IR (compiler/ir.ts uses these
// types; the runtime may not import compiler/, so they are defined here, once).

/** Where a source's rows are: files (a path or glob, relative to the spec) or a DuckDB table. */
export type SourceLocation =
  | { kind: "files"; path: string; format: "csv" | "parquet" | "ndjson" }
  | { kind: "table"; table: string };

export type Task = "regression" | "binary_classification" | "multiclass_classification";

/** A model's algorithm with every hyperparameter filled in (defaults included). */
export type AlgorithmSpec =
  | { kind: "linear"; params: { l2: number } }
  | { kind: "logistic"; params: { l2: number; iterations: number } }
  | {
      kind: "gbdt";
      params: { trees: number; depth: number; learning_rate: number; min_leaf: number; bins: number; l2: number };
    }
  | { kind: "onnx"; file: string };

/** time: labels at or after testFrom are the test set; last: labels within testLastMs of the latest one. */
export type SplitSpec =
  | { kind: "time"; testFrom: string }
  | { kind: "last"; testLastMs: number }
  | { kind: "random"; testFraction: number; seed: number };

/** `require mae < 600`: a metric on the test set that must hold before a model is registered. */
export interface Gate {
  metric: string;
  op: "<" | "<=" | ">" | ">=";
  value: number;
}

/** How a view joins features at the label's time: strictly before it, or at or before it. */
export type AsOf = "strict" | "inclusive";

export interface SourcePlan {
  name: string;
  /** 1-based spec line, for messages. */
  line: number;
  /** An imported source (declared in another spec): that spec's file and folder, which its `path` is relative to. */
  declaredIn?: { file: string; specDir: string };
  location: SourceLocation;
  /** Absent for reference data: rows joined by key as the value that holds, not by when they happened. */
  eventTime?: string;
  /** Reference data: the row holds from `validFrom` (until the entity's next row, or `validTo` when set and not null). */
  validFrom?: string;
  validTo?: string;
  /** The field, or the combination of fields, that identifies a row (duplicates are quarantined); a stream's is one field. */
  unique?: string[];
  /** `format`: how the files spell a timestamp field (strptime directives, or a name of features/epoch-units.ts); segment lines and events are ISO 8601. */
  fields: Array<ColumnPlan & { allowed?: Array<string | number | boolean>; format?: string; /** `from "..."`: the column (ndjson key) the field reads. */ column?: string }>;
  /**
   * Row checks, each a DuckDB boolean expression over the typed columns. A row
   * fails a check when the expression is FALSE (NULL passes, so nullable
   * fields are not rejected by checks on them). `text` is the clause as
   * reasons quote it (`check (> 0)`, one line, printed by the compiler).
   */
  checks: Array<{ field: string; text: string; sql: string }>;
  /** `stream`: events also arrive one by one (runtime/stream/); the same checks in TypeScript. */
  stream?: StreamSourcePlan;
}

/** A row as the incremental form reads it: numbers, strings, booleans, Dates for timestamps, null. */
export type StreamRow = Record<string, Scalar | Date>;

export interface StreamSourcePlan {
  /** How far behind the stream's newest event time another event may be and still be applied online. */
  latenessMs: number;
  /** The field checks, lowered to TypeScript: false fails (null passes, as in SQL). */
  checks: Array<{ field: string; text: string; test: (r: StreamRow) => boolean | null }>;
}

/** The windowed aggregations (compiler/ir.ts uses this type). */
export type WindowAgg = "count" | "sum" | "avg" | "min" | "max" | "stddev" | "last" | "ewma";

/**
 * A feature group over a stream source, lowered incrementally from the same IR
 * as `sql` (compiler/lower/incremental.ts): per input row the `where` and the
 * row features the windows read; per entity the windows over its buffered
 * rows at its latest row; then the row features over windows.
 */
export interface StreamGroupPlan {
  /** The stream source whose events produce this group's rows (directly, or through row groups). */
  source: string;
  /** The input columns carrying the keys, in key order. */
  keyColumns: string[];
  /** The input column holding each row's event time (`event_time` for a group input). */
  timeColumn: string;
  where: ((r: StreamRow) => boolean | null) | null;
  /** Row features that read no window, in dependency order: computed on every input row. */
  rows: Array<{ name: string; compute: (r: StreamRow) => Scalar | Date }>;
  windows: Array<{ name: string; agg: WindowAgg; windowMs: number; arg: ((r: StreamRow) => Scalar | Date) | null }>;
  /** Row features that read a window: computed on the entity's latest row, after its windows. */
  after: Array<{ name: string; compute: (r: StreamRow) => Scalar | Date }>;
}

export interface GroupPlan {
  name: string;
  version: number;
  line: number;
  /** An imported group (declared in another spec): that spec's file. Its table may be reused when up to date (features/group-freshness.ts). */
  declaredIn?: { file: string };
  /** Offline table: `fg_<name>_v<version>`. */
  table: string;
  /** null: a global group (no `for`): `keys` is empty, the whole input is one series. */
  entity: string | null;
  keys: ColumnPlan[];
  input: { kind: "source" | "group"; name: string };
  rowId?: ColumnPlan;
  /**
   * A group over reference data: `event_time` is the row's valid_from, or
   * 0001-01-01 without validity (the current value at any time); no ttl
   * applies; with `validTo` the table has `valid_to` (the row stops holding then).
   */
  reference?: { source: string; validity: boolean; validTo: boolean };
  /** Reference groups its SQL looks up (`profile.hr_max`): computed before it, their tables must exist. */
  lookups?: Array<{ group: string; table: string }>;
  features: ColumnPlan[];
  /** Input history needed before a range start; null = unbounded (ewma). */
  lookbackMs: number | null;
  /**
   * What the rows mean, hashed from the spec (compiler/lower/group-definition.ts): the group's
   * shape and each feature's computation. Recorded with the table; another definition of the
   * same version is refused (features/group-definitions.ts). Absent in hand-built plans: not checked.
   */
  definition?: { group: string; features: Record<string, string> };
  /**
   * A DuckDB SELECT over the relation `__input` (the validated source rows, or
   * the input group's table) returning, in order: the keys, `event_time`, the
   * row id column (if any), then the features.
   */
  sql: string;
  /** Extern functions the SQL calls, with their declared signatures; the runtime registers them as DuckDB scalar functions. */
  externs: ExternPlan[];
  /** Set for a group over a stream: the same group in incremental form. */
  stream?: StreamGroupPlan;
  /** When `fti run` runs the group's pipeline (over the range since its watermark); absent = only by hand. */
  schedule?: SchedulePlan;
  /** `embed(text, dim, model?)` calls of the SQL (model null = the built-in hashing embedding); absent when none. */
  embeddings?: Array<{ dim: number; model: string | null }>;
}

/** A cron line (5 fields, UTC) or a fixed interval. */
export type SchedulePlan = { cron: string } | { everyMs: number };

/** A model's `retrain` block: when `fti run` trains a challenger, and when it may replace production. */
export interface RetrainPlan {
  line: number;
  schedule?: SchedulePlan;
  /** `when drift(psi > 0.25)`: any input's measure in the latest monitored window. */
  drift: Array<{ measure: "psi" | "ks"; op: ">" | ">="; value: number }>;
  /** `when live(mae > 700)`: the live metric of the latest window with enough labels. */
  live: Array<{ metric: string; op: "<" | "<=" | ">" | ">="; value: number }>;
  /** `promote if better(mae)`: the challenger replaces production only when it beats it on this metric over the challenger's test split. */
  promoteIfBetter?: string;
}

export interface ExternPlan {
  name: string;
  params: ColumnPlan[];
  returns: ColumnPlan;
}

// ------------------------------------------------------------------ training and inference

export interface OdtPlan {
  name: string;
  line: number;
  requestParams: ColumnPlan[];
  /** Stored features the ODT reads, by feature name. */
  featureParams: string[];
  returns: ColumnPlan;
  /** The generated function from transforms.ts: (request, features) → value. */
  compute: (request: Record<string, Scalar>, features: Record<string, Scalar>) => Scalar;
  /**
   * The same computation as a DuckDB macro body over `params` (one per request
   * parameter, then per feature parameter, in order), bit for bit `compute`'s
   * value (compiler/lower/odt-sql.ts); absent when the body has no exact SQL
   * form (an extern fn, libm functions): then only `compute` runs.
   */
  sql?: { params: string[]; body: string };
}

/** One point-in-time join of a feature group onto a view's spine. */
export interface ViewJoinPlan {
  /** Names the join in feature times and statuses: the group's name, or `group(column, …)` when `by` other columns. */
  id: string;
  group: string;
  table: string;
  /** Per group key: the spine (request) column holding its value. */
  on: Array<{ key: string; column: string }>;
}

export interface ViewPlan {
  name: string;
  line: number;
  /** The `for` entity, or null for `view x from SOURCE`. */
  entity: string | null;
  /** The spine columns the joins read: the key fields of an online request. */
  keys: ColumnPlan[];
  spine: {
    source: string;
    /** null: the source has no event_time (rows without time): each spine row is at its `ingested_at`, when the table was read. */
    eventTime: string | null;
    /** DuckDB boolean over the source's columns (`where`); null keeps every row. */
    where: string | null;
    /** The spine entity's columns: forward label aggregations partition by them. */
    entityColumns: string[];
  };
  label: {
    name: string;
    type: ColumnType;
    /** The label as written in the spec. */
    text: string;
    /** DuckDB DOUBLE (VARCHAR for a string label) over the source's columns and the `forward` columns; null = no label (the row is left out). */
    sql: string;
    /** `agg(x) over next w`: window functions over `__fti_t` (epoch µs), each a column of that name. */
    forward: Array<{ name: string; sql: string; windowMs: number }>;
  };
  joins: ViewJoinPlan[];
  /** `name` is the feature's name in the vector; `column` its column in the group table; `join` indexes `joins`. */
  features: Array<{ name: string; group: string; table: string; column: string; join: number; type: ColumnType }>;
  odts: OdtPlan[];
  requestFields: ColumnPlan[];
  ttlMs: number | null;
  asOf: AsOf;
  /**
   * The spine source's `check`s on the request fields (generated once, in
   * schema.ts): the model's request schema refines with it online (400), and
   * batch scoring rejects the rows it flags. Absent when there are none.
   * `failed`: fields whose type already failed; every check reading one is
   * skipped (the same request's other failures are still reported). (A method, so the generated function's precise parameter type fits.)
   */
  checkRequest?(r: Record<string, unknown>, failed?: ReadonlySet<string>): RequestIssue[];
}

/** A request field that fails a check: the field's name and what failed. */
export interface RequestIssue {
  field: string;
  message: string;
}

/** The MDT kinds, from the catalogue the checker validates specs against. */
export type { MdtKind } from "./catalogue.ts";

/**
 * One model-dependent transformation step. `params` are the spec's static
 * arguments; the fitted state is computed by the runtime on the train split
 * and stored in the registry. `apply` is the generated code: the one copy,
 * used by training (to fit the next step and encode the matrix) and inference.
 * A one_hot step is always last and is applied by `encode` itself.
 */
export interface MdtStep {
  kind: MdtKind;
  params: Record<string, unknown>;
  apply: (v: Scalar, state: any) => Scalar;
}

export interface ModelInputPlan {
  name: string;
  from: "feature" | "odt";
  type: ColumnType;
  steps: MdtStep[];
}

/** Fitted state per step kind (what the runtime's fitter writes and the generated `apply` reads). */
export interface StandardScaleState { mean: number; std: number } // population std; 1 when 0
export interface MinMaxScaleState { min: number; max: number } // range 0 maps to 0
export interface ImputeState { value: number | string } // mean/median of train, or the constant
export interface OneHotState { categories: string[] } // sorted; unknown → all zeros
// log1p, clip and bucketize have no fitted state: their params are all they need.

/** Fitted MDT state of one model version: per input, one state object per step. */
export interface FittedState {
  inputs: Record<string, unknown[]>;
  /** Matrix width after all MDTs (one_hot expands). */
  width: number;
  /** A multiclass model's classes (the train split's label values, sorted): the order of its K probability outputs. */
  classes?: Array<string | number>;
}

/** Writes one row's encoded inputs into out[offset .. offset + width). Null becomes NaN. */
export type EncodeFn = (row: Record<string, Scalar>, state: FittedState, out: Float32Array, offset: number) => void;

export interface ModelPlan {
  name: string;
  line: number;
  view: string;
  task: Task;
  algorithm: AlgorithmSpec;
  inputs: ModelInputPlan[];
  encode: EncodeFn;
  split: SplitSpec;
  metrics: string[];
  requires: Gate[];
  /** True when every input has an impute step, so a missing feature can still be predicted. */
  canImpute: boolean;
  /**
   * The generated zod schema of an online request: the entity keys and the ODTs' request fields.
   * ZodObject, not ZodType: checking a generated object schema against ZodType costs TypeScript
   * ~80,000 type instantiations, most of a cold `fti compile` (against ZodObject: ~1,000).
   */
  requestSchema: zod.ZodObject;
  /** The `retrain` block, if any (`fti run`). */
  retrain?: RetrainPlan;
}

export interface ServePlan {
  model: string;
  online: boolean;
  batchTable?: string;
}

/** Everything the runtime needs from one compiled spec (generated index.ts exports it as `spec`). */
export interface SpecBundle {
  name: string;
  /** The spec file as it was compiled (relative to the working directory then). */
  file: string;
  /** Absolute directory of the spec file: source paths and extern modules are relative to it. */
  specDir: string;
  specHash: string;
  /** The whole transforms.ts's hash (TRANSFORMS_HASH): what model versions trained before per-model hashes recorded. */
  transformsHash: string;
  /**
   * Per model, the hash of the part of transforms.ts it runs
   * (MODEL_TRANSFORMS_HASHES): what a version records at training and must
   * match to predict (modelTransformsIdentity). Absent for bundles built in
   * code: the whole file's hash stands in.
   */
  modelTransformsHashes?: Record<string, string>;
  /**
   * Absolute path of the generated transforms.ts the bundle was loaded with:
   * createPredictor checks its text against `transformsHash` before any model
   * is used (a hand edit is refused). Absent for bundles built in code.
   */
  transformsFile?: string;
  /**
   * Absolute paths of the modules of the extern fns the ODTs call (directly or
   * through fns): code outside the generated files that runs at training and at
   * serving alike, so a model is tied to their text too (transformsIdentity).
   */
  odtExternFiles?: string[];
  /** The same per model: the modules its view's ODTs reach (models whose ODTs reach none are left out). */
  modelExternFiles?: Record<string, string[]>;
  sources: SourcePlan[];
  groups: GroupPlan[];
  views: ViewPlan[];
  models: ModelPlan[];
  serves: ServePlan[];
  /** Extern functions by spec name, for DuckDB registration. */
  externs: Record<string, (...args: any[]) => Scalar | ArrayLike<number>>;
  /** Vector indexes and agents (generated agents.ts); absent in hand-made bundles. */
  indexes?: IndexPlan[];
  agents?: AgentPlan[];
}

// ------------------------------------------------------------------ helpers for generated code

declare global {
  // Generated index.ts resolves its spec's directory from import.meta.url; this keeps
  // the type-check of generated code free of @types/node.
  interface ImportMeta {
    url: string;
  }
}

/**
 * The zod refinement of a generated request schema by the view's generated request check: each issue at its field.
 * It runs after type errors too (`REQUEST_CHECKS_AFTER_TYPE_ERRORS`), so one 400 lists every failure; the fields
 * whose type failed (or that are missing) are passed to the check, which skips every check reading one of them
 * (a check never sees a value of the wrong type). A valid request has no issue yet: the check gets no such set.
 */
export function refineRequest<T>(check: (r: T, failed?: ReadonlySet<string>) => RequestIssue[]): (r: T, ctx: zod.RefinementCtx<T>) => void {
  return (r, ctx) => {
    const found = ctx.issues.length === 0 ? check(r) : check(r, failedFields(ctx.issues));
    for (const issue of found) ctx.addIssue({ code: "custom", path: [issue.field], message: issue.message });
  };
}

/** The top-level fields zod's parse of the object flagged; an unknown field is no field a check reads. */
function failedFields(issues: ReadonlyArray<{ code?: string; path?: readonly PropertyKey[] }>): Set<string> {
  const failed = new Set<string>();
  for (const issue of issues) {
    const field = issue.path?.[0];
    if (issue.code !== "unrecognized_keys" && typeof field === "string") failed.add(field);
  }
  return failed;
}

/**
 * The refinement's zod parameters: it runs whenever the request is an object, not only when every field
 * parsed (zod's default), so the `check`/`in` failures of good fields come in the same 400 as the type errors.
 */
export const REQUEST_CHECKS_AFTER_TYPE_ERRORS = {
  when: (payload: { value: unknown }): boolean => typeof payload.value === "object" && payload.value !== null && !Array.isArray(payload.value),
};

/** A view's feature as generated code lists it: its join (an index into the view's joins) names the group and table. */
export type ViewFeatureEntry = { name: string; join: number; type: ColumnType; column?: string };

/**
 * A view's features with the group and table of each one's join filled in
 * (`column` defaults to the name): generated training.ts lists only what is
 * not its join's.
 */
export function joinedFeatures(joins: readonly ViewJoinPlan[], entries: readonly ViewFeatureEntry[]): ViewPlan["features"] {
  return entries.map((e) => ({ name: e.name, group: joins[e.join].group, table: joins[e.join].table, column: e.column ?? e.name, join: e.join, type: e.type }));
}

/** The absolute path of a file next to a generated module: `moduleFile(import.meta.url, "./transforms.ts")`. */
export function moduleFile(moduleUrl: string, relative: string): string {
  return decodeURIComponent(new URL(relative, moduleUrl).pathname);
}

/** The directory of a generated module's spec: `specDirFrom(import.meta.url, "../../specs")`. */
export function specDirFrom(moduleUrl: string, relative: string): string {
  return decodeURIComponent(new URL(relative.endsWith("/") ? relative : relative + "/", moduleUrl).pathname).replace(/\/$/, "");
}

/** A timestamp value as the generated TS code takes it: a Date (from an ISO string, epoch ms or a Date). */
export function asDate(v: Scalar | Date | undefined): Date | null {
  if (v === null || v === undefined || typeof v === "boolean") return null;
  if (v instanceof Date) return v;
  const d = typeof v === "number" ? new Date(v) : new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(v) ? v : `${v.replace(" ", "T")}Z`);
  return Number.isNaN(d.getTime()) ? null : d;
}

export * from "./expr.ts";
export * from "./agents/plans.ts";
import type { AgentPlan, IndexPlan } from "./agents/plans.ts";
export * from "./online/public.ts";
