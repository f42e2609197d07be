// The IR: what the checker produces and the emitters read. Plain JSON data:
// names are resolved, every expression is typed, feature lists are expanded,
// durations are milliseconds, dates are ISO strings. Nothing here refers back
// to the AST except `loc`, which generated code cites in its comments.
//
// One definition: these types are the IR; ir-schema.ts (the zod schema checked
// where the IR crosses into the emitters) is proven equal to them at compile
// time, and the vocabulary the runtime's plans share with the IR (source
// location, task, algorithm, split, gates, as-of, MDT kinds) is defined once in
// runtime/api.ts and used here (the runtime may not import compiler/).

import type { AlgorithmSpec, AsOf, Gate, MdtKind, SourceLocation, SplitSpec, Task, WindowAgg } from "../runtime/api.ts";

export type ScalarType = "int" | "float" | "bool" | "string" | "timestamp" | "duration";

export interface IrType {
  base: ScalarType | "list" | "vector";
  nullable: boolean;
  /** Element type of a list (only literal lists: `in (...)`, bucketize boundaries). */
  elem?: IrType;
  /** Length of a vector (`float[256]`, an embedding; stored as DuckDB FLOAT[256]). */
  dim?: number;
}

/** The largest `float[N]` the language accepts (DuckDB's arrays go further; embeddings don't). */
export const MAX_VECTOR_DIM = 8192;

/** Where a declaration or expression came from in the spec (1-based). */
export interface Loc {
  line: number;
  column: number;
}

export type IrBinaryOp =
  | "+" | "-" | "*" | "/" | "%" | "^"
  | "==" | "!=" | "<" | "<=" | ">" | ">="
  | "and" | "or";

export type IrExpr =
  /** timestamp literals are ISO strings, durations are milliseconds. */
  | { k: "lit"; type: IrType; value: number | string | boolean | null }
  /** A column of the current row: a source field, an input-group column, or an earlier feature of the same group. */
  | { k: "col"; name: string; type: IrType }
  /** A parameter of the enclosing fn or on_demand body. */
  | { k: "param"; name: string; type: IrType }
  /** A call of a declared `fn` or `extern fn` (see IrSpec.functions). */
  | { k: "call"; fn: string; args: IrExpr[]; type: IrType }
  /** A call of a built-in scalar function (see compiler/builtins.ts). */
  | { k: "builtin"; name: string; args: IrExpr[]; type: IrType }
  | { k: "unary"; op: "neg" | "not"; arg: IrExpr; type: IrType }
  | { k: "binary"; op: IrBinaryOp; left: IrExpr; right: IrExpr; type: IrType }
  | { k: "if"; cond: IrExpr; then: IrExpr; else: IrExpr; type: IrType }
  | { k: "in"; arg: IrExpr; values: IrExpr[]; type: IrType };

export interface IrField {
  name: string;
  type: IrType;
  /** Allowed values (`in (...)`), as literals. */
  allowed?: Array<string | number | boolean>;
  /** `check (...)` constraints, each a bool expression over the row's columns. */
  checks: Array<{ expr: IrExpr; /** The clause on one line without comments (`check (> 0)`), as every reason quotes it. */ text: string }>;
  /** `format "..."` (timestamp fields): how the source's files spell the value, strptime directives. */
  format?: string;
  /** `from "..."`: the column (ndjson key) of the source's files the field reads; absent: its own name, else its snake_case name. */
  column?: string;
}

export interface IrSource {
  name: string;
  loc: Loc;
  /** Set when the declaration was imported: the spec name of the module that declares it (its code is generated there). */
  module?: string;
  location: SourceLocation;
  /** Absent for reference data (rows joined by key, not by when they happened). */
  eventTime?: string;
  /** Reference data only: the columns bounding when each row holds (`valid_to` may be null: still holds). */
  validity?: { from: string; to?: string };
  /** `unique`: the field, or the combination of fields (`unique (a, b)`), no two rows may repeat. */
  unique?: string[];
  /** `stream [lateness d]`: events also arrive one by one; requires eventTime and unique. */
  stream?: { latenessMs: number };
  fields: IrField[];
}

export interface IrColumn {
  name: string;
  type: IrType;
}

export interface IrEntity {
  name: string;
  loc: Loc;
  /** Set when the declaration was imported: the spec name of the module that declares it (its code is generated there). */
  module?: string;
  keys: IrColumn[];
}

export interface IrFunction {
  name: string;
  loc: Loc;
  /** Set when the declaration was imported: the spec name of the module that declares it (its code is generated there). */
  module?: string;
  params: IrColumn[];
  returns: IrType;
  /** Expression body, over `param` refs. Absent for extern functions. */
  body?: IrExpr;
  /** For `extern fn`: the module path relative to the spec's directory, and the export name. */
  extern?: { module: string; exportName: string };
}

/** The windowed aggregations: defined once in runtime/api.ts, which the runtime's incremental engine reads too. */
export type { WindowAgg } from "../runtime/api.ts";

export type IrFeature =
  | { kind: "row"; name: string; loc: Loc; type: IrType; expr: IrExpr }
  | {
      kind: "window";
      name: string;
      loc: Loc;
      type: IrType;
      agg: WindowAgg;
      /** null for `count()` */
      arg: IrExpr | null;
      /** The window length; for ewma, the time constant tau. */
      windowMs: number;
      /** The duration as the spec wrote it (`24h`), for messages and `fti explain`. */
      windowText: string;
    };

/**
 * A reference group a group's features look up (`profile.hr_max`): for each
 * input row, the row of `table` with the same keys that holds at the row's
 * event time (latest event_time — its valid_from — at or before it; ties by
 * ingested_at, row id, values; none when its valid_to has passed). Its
 * features are the columns `<group>.<feature>` of the group's SQL.
 */
export interface IrGroupLookup {
  group: string;
  table: string;
  /** The looked-up table's key columns (the entity's keys), matched with the group's own key columns in order. */
  keys: string[];
  rowId?: string;
  validTo: boolean;
  /** The reference source behind it, and whether its rows have validity (without: current values, FTI4030). */
  reference: { source: string; validity: boolean };
  features: Array<{ name: string; type: IrType }>;
}

export interface IrGroup {
  name: string;
  version: number;
  loc: Loc;
  /** Set when the declaration was imported: the spec name of the module that declares it (its code is generated there). */
  module?: string;
  /** The offline table, `fg_<name>_v<version>`. */
  table: string;
  /** The `for` entity; null for a global group (no `for`): one series, `keys` empty. */
  entity: string | null;
  /** The entity's keys; empty for a global group (windows over the whole input, joined by time only). */
  keys: IrColumn[];
  /** The input columns carrying the keys, in key order (`for account(sender)`); the table names them by the keys. */
  keyColumns: string[];
  /** `where ...`: only input rows for which it is true go into the group. */
  where: IrExpr | null;
  input: { kind: "source" | "group"; name: string };
  /**
   * The input's row identity carried into the group's table (the source's
   * `unique` column), so two events of one entity at one instant stay two rows.
   */
  rowId?: IrColumn;
  /**
   * Set when the group derives from reference data (a source without
   * event_time): its rows are joined by key, not looked back over. `event_time`
   * is the row's `valid_from`, or 0001-01-01 (holds at any time) without
   * validity; with `validTo` the table has a `valid_to` column.
   */
  reference?: { source: string; validity: boolean; validTo: boolean };
  /** Set when the group's rows come from a stream source (directly or through row groups): computed incrementally too. */
  stream?: { source: string };
  /** The input's columns visible to expressions (source fields or the input group's stored columns). */
  inputColumns: IrColumn[];
  /** Reference groups its features look up (`profile.hr_max`), computed before it. */
  lookups?: IrGroupLookup[];
  /** In dependency order: a feature only refers to input columns and features before it. */
  features: IrFeature[];
  /** How much input history before a range start the windows need; null when unbounded (ewma). */
  lookbackMs: number | null;
  /** When `fti run` runs the group's pipeline. */
  schedule?: IrSchedule;
}

export interface IrOdt {
  name: string;
  loc: Loc;
  /** Set when the declaration was imported: the spec name of the module that declares it (its code is generated there). */
  module?: string;
  requestParams: IrColumn[];
  /** Stored features the body reads, by the feature's name. */
  featureParams: Array<{ name: string; group: string; type: IrType }>;
  returns: IrType;
  body: IrExpr;
}

export interface IrViewFeature {
  /** The feature's name in the vector (unique within the view): the group's feature name, prefixed by `as`. */
  name: string;
  group: string;
  /** The feature's column in the group's table. */
  column: string;
  /** Index into IrView.joins: which point-in-time join gives it. */
  join: number;
  type: IrType;
}

/** One point-in-time join of a group onto the spine: the group's keys read from these spine columns. */
export interface IrViewJoin {
  group: string;
  /** Per group key (in key order): the spine column holding it. */
  on: Array<{ key: string; column: string }>;
}

/** `sum(distance_km) over next 7d` in a label: an aggregation over the spine entity's rows in (t, t + w]. */
export interface IrForwardAgg {
  /** The column the label expression reads it as (`__fwd_<i>`). */
  name: string;
  agg: WindowAgg;
  arg: IrExpr | null;
  windowMs: number;
  type: IrType;
}

export interface IrView {
  name: string;
  loc: Loc;
  /** The `for` entity, or null for `view x from SOURCE`. */
  entity: string | null;
  /** The spine columns the joins read (the online request's key fields), in first-use order. */
  keys: IrColumn[];
  spine: {
    source: string;
    /**
     * The source's event-time column: the spine's time. null: the source has
     * none (rows without time, a static table): each row is at the time the
     * table was read (its `ingested_at`), and joins reference data only.
     */
    eventTime: string | null;
    /** `where ...` over the source's columns. */
    where: IrExpr | null;
    /** The spine entity's columns (forward labels aggregate per these); empty without `for ENTITY`. */
    entityColumns: string[];
  };
  label: {
    name: string;
    type: IrType;
    /** Over the spine source's columns and the forward aggregations (by their `name`). */
    expr: IrExpr;
    /** The label as written, for explain and messages. */
    text: string;
    forward: IrForwardAgg[];
    /** The `source.column`s the label reads (leakage checks). */
    lineage: string[];
  };
  joins: IrViewJoin[];
  features: IrViewFeature[];
  /** Names of on_demand transformations, in declaration order. */
  odts: string[];
  /** Request fields the ODTs need, de-duplicated; in training they come from the label source's columns of the same name. */
  requestFields: IrColumn[];
  ttlMs: number | null;
  /** The ttl as the spec wrote it (`90d`). */
  ttlText: string | null;
  asOf: AsOf;
}

export type IrMdt =
  | { kind: "standard_scale" }
  | { kind: "min_max_scale" }
  /** categories known at compile time (from the source's `in (...)`), else fitted */
  | { kind: "one_hot"; categories?: string[] }
  | { kind: "log1p" }
  | { kind: "clip"; min: number | null; max: number | null }
  | { kind: "impute"; strategy: "mean" | "median" | "constant"; value?: number | string }
  | { kind: "bucketize"; boundaries: number[] };

/** Every MDT kind of the runtime has an IR form and no other: compile-time proof. */
const _mdtKinds: [IrMdt["kind"], MdtKind] extends [MdtKind, IrMdt["kind"]] ? true : never = true;
void _mdtKinds;

export interface IrModelInput {
  /** A view feature or an ODT name. */
  name: string;
  from: "feature" | "odt";
  type: IrType;
  mdts: IrMdt[];
}

export type IrAlgorithm = AlgorithmSpec;

export interface IrModel {
  name: string;
  loc: Loc;
  view: string;
  task: Task;
  algorithm: IrAlgorithm;
  /** Model inputs in matrix order; each expands to one or more columns after its MDTs. */
  inputs: IrModelInput[];
  split: SplitSpec;
  metrics: string[];
  requires: Gate[];
  /** The `retrain` block (`fti run`). */
  retrain?: IrRetrain;
}

/** A cron line (5 fields, UTC) or a fixed interval. */
export type IrSchedule = { cron: string } | { everyMs: number };

export interface IrRetrain {
  line: number;
  schedule?: IrSchedule;
  drift: Array<{ measure: "psi" | "ks"; op: ">" | ">="; value: number }>;
  live: Array<{ metric: string; op: "<" | "<=" | ">" | ">="; value: number }>;
  promoteIfBetter?: string;
}

export interface IrServe {
  model: string;
  loc: Loc;
  online: boolean;
  batchTable?: string;
}

/** `index NAME on GROUP(COLUMN) [for ENTITY]`: the group's rows, retrievable by cosine similarity, point in time. */
export interface IrIndex {
  name: string;
  loc: Loc;
  group: string;
  /** The group's offline table. */
  table: string;
  column: string;
  dim: number;
  /** How a query text is embedded: the same way the column was. */
  embedder: { kind: "embed"; model: string | null } | { kind: "extern"; fn: string };
  /** Set: only the request entity's documents are retrieved. */
  entity: string | null;
  /** The group's entity keys. */
  keys: IrColumn[];
  rowId?: IrColumn;
  /** The group's scalar features, returned with each document. */
  fields: IrColumn[];
}

/** A piece of an agent's prompt template: text, or `{name}` resolved at compile time. */
export type IrPromptPart =
  | { kind: "text"; text: string }
  | { kind: "ref"; name: string; ref: "key" | "feature" | "message" | "retrieved" | "now" };

/** A feature an agent sees: a stored feature of a group of the agent's entity, read by the entity's keys. */
export interface IrAgentFeature {
  name: string;
  group: string;
  type: IrType;
}

export interface IrAgent {
  name: string;
  loc: Loc;
  entity: string;
  keys: IrColumn[];
  /** The model name asked of the chat endpoint (the endpoint itself is configuration). */
  llm: string;
  /** Features of the request's entity given to the LLM (looked up online, with statuses). */
  context: IrAgentFeature[];
  retrieve: Array<{ index: string; k: number }>;
  /** Models the LLM may call (served online, for the agent's entity). */
  tools: string[];
  prompt: IrPromptPart[];
}

export interface IrSpec {
  /** The spec's base name: `athlete` for specs/athlete.fti. */
  name: string;
  /** The spec path as given, relative to the working directory when possible. */
  file: string;
  /** sha256 of the spec's bytes. */
  specHash: string;
  sources: IrSource[];
  entities: IrEntity[];
  functions: IrFunction[];
  groups: IrGroup[];
  onDemand: IrOdt[];
  views: IrView[];
  models: IrModel[];
  serves: IrServe[];
  /** Absent in IRs built by hand (tests, benches): none. */
  indexes?: IrIndex[];
  agents?: IrAgent[];
}
