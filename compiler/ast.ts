// The typed AST: what the parser produces from a .fti file. Every node carries
// its source range so the checker can point at it. Names are not resolved and
// types are not checked here; that is the checker's job (see checker/).

export interface Pos {
  offset: number; // 0-based character offset
  line: number; // 1-based
  column: number; // 1-based, in characters
}

export interface Range {
  start: Pos;
  end: Pos; // exclusive
}

export interface Ident {
  name: string;
  range: Range;
}

export interface StringLit {
  value: string; // escapes already decoded
  range: Range;
}

/** A written type: `float`, `string?`. `name` is unchecked (the checker validates it). */
export interface TypeRef {
  name: string;
  nullable: boolean;
  /** `float[256]`: a vector of that many floats (an embedding). NaN when the literal is not an integer. */
  dim?: { value: number; range: Range };
  range: Range;
}

export type BinaryOp =
  | "+" | "-" | "*" | "/" | "%" | "^"
  | "==" | "!=" | "<" | "<=" | ">" | ">="
  | "and" | "or";

export type Expr =
  | { kind: "number"; value: number; isInt: boolean; range: Range }
  | { kind: "string"; value: string; range: Range }
  | { kind: "bool"; value: boolean; range: Range }
  | { kind: "null"; range: Range }
  /** `7d`, `12h`, `30m`, `45s`, `2w`; ms is the length in milliseconds. */
  | { kind: "duration"; ms: number; text: string; range: Range }
  /** `2025-06-01` or `2025-06-01T06:30:00`; iso is the literal text. */
  | { kind: "date"; iso: string; range: Range }
  | { kind: "list"; items: Expr[]; range: Range }
  | { kind: "name"; name: string; range: Range }
  /** `group.feature` */
  | { kind: "member"; object: Ident; property: Ident; range: Range }
  | { kind: "call"; callee: Ident; args: Expr[]; range: Range }
  /** `avg(pace) over 28d`: a windowed aggregation; `forward` for `over next 7d` (labels only). */
  | { kind: "window"; agg: Ident; args: Expr[]; over: Expr; forward?: boolean; range: Range }
  | { kind: "unary"; op: "-" | "not"; operand: Expr; range: Range }
  | { kind: "binary"; op: BinaryOp; left: Expr; right: Expr; range: Range }
  | { kind: "if"; cond: Expr; then: Expr; else: Expr; range: Range }
  /** `x in ("a", "b")` */
  | { kind: "in"; operand: Expr; values: Expr[]; range: Range }
  /** Placeholder the parser leaves where it recovered from a syntax error. */
  | { kind: "error"; range: Range };

/** `name: value` or a bare `value` inside an argument list (algorithm, split, MDT). */
export interface Arg {
  name?: Ident;
  value: Expr;
  range: Range;
}

// ---------------------------------------------------------------- declarations

export interface FieldDecl {
  name: Ident;
  type: TypeRef;
  /** `in (...)` values and `check (...)` bodies. `check (> 0)` is desugared to `check (field > 0)`. */
  constraints: Array<
    | { kind: "in"; values: Expr[]; range: Range }
    | { kind: "check"; expr: Expr; range: Range }
  >;
  /** `format "%b %d %Y"`: how a text value of a timestamp field is spelled in the source's files (strptime directives). */
  formats: Array<{ pattern: StringLit; range: Range }>;
  /** `from "Entity"`: the column (or ndjson key) the field reads, when its name cannot be the field's (a keyword, another name). */
  columns: Array<{ name: StringLit; range: Range }>;
  range: Range;
}

export interface SourceDecl {
  kind: "source";
  name: Ident;
  /** `path "data/*.csv"` or `table raw.activities` (table name kept as written, dots included). */
  location?:
    | { kind: "path"; path: StringLit; range: Range }
    | { kind: "table"; table: string; range: Range };
  /** `format csv|parquet|ndjson`; when absent it is inferred from the path's extension. */
  format?: Ident;
  eventTime?: Ident;
  /** `unique id` or `unique (a, b)`: the field, or the combination of fields, that identifies a row. */
  unique?: Ident[];
  /** Reference data: when each row starts (and stops) holding. */
  validFrom?: Ident;
  validTo?: Ident;
  /** `stream [lateness d]`: events also arrive one by one (HTTP push, a broker). */
  stream?: { range: Range; lateness?: Expr };
  fields: FieldDecl[];
  range: Range;
}

export interface Param {
  name: Ident;
  type: TypeRef;
  range: Range;
}

export interface EntityDecl {
  kind: "entity";
  name: Ident;
  keys: Param[];
  range: Range;
}

export interface FnDecl {
  kind: "fn";
  name: Ident;
  params: Param[];
  returnType: TypeRef;
  body: Expr;
  range: Range;
}

export interface ExternFnDecl {
  kind: "extern_fn";
  name: Ident;
  params: Param[];
  returnType: TypeRef;
  /** `from "./athlete.functions.ts"`, relative to the spec file. */
  module: StringLit;
  range: Range;
}

export interface FeatureDef {
  name: Ident;
  expr: Expr;
  range: Range;
}

export interface FeatureGroupDecl {
  kind: "feature_group";
  name: Ident;
  /** `version 2`; default 1. */
  version?: { value: number; range: Range };
  /** `for ENTITY`; absent for a global group (one series: no keys). */
  entity?: Ident;
  /** `for account(sender)`: the input columns carrying the entity's keys (default: the keys' own names). */
  keyColumns?: Ident[];
  /** A source or another feature group. */
  from: Ident;
  /** `where sport == "run"`: only the input rows for which it is true. */
  where?: Expr;
  /** `schedule every 1h` / `schedule "0 * * * *"`: when `fti run` runs the group's pipeline. */
  schedule?: ScheduleDecl;
  features: FeatureDef[];
  range: Range;
}

/** `schedule "0 3 * * *"` (a cron line) or `schedule every 6h` (an interval). */
export interface ScheduleDecl {
  cron?: StringLit;
  every?: Expr;
  range: Range;
}

/** `when drift(psi > 0.25)`, `when live(mae > 700)`: `fn` is drift or live, `measure` a drift measure or a metric. */
export interface RetrainTrigger {
  fn: Ident;
  measure: Ident;
  op: "<" | "<=" | ">" | ">=";
  value: Expr;
  range: Range;
}

/** A model's `retrain { … }` block. */
export interface RetrainDecl {
  schedule?: ScheduleDecl;
  triggers: RetrainTrigger[];
  /** `promote if better(mae)`: `fn` should be `better`. */
  promote?: { fn: Ident; metric: Ident; range: Range };
  range: Range;
}

export type OdtParam =
  | { kind: "request"; name: Ident; type: TypeRef; range: Range }
  /** A stored feature, `group.feature`; in the body it is referred to by the feature's name. */
  | { kind: "feature"; group: Ident; feature: Ident; range: Range };

export interface OnDemandDecl {
  kind: "on_demand";
  name: Ident;
  params: OdtParam[];
  returnType: TypeRef;
  body: Expr;
  range: Range;
}

/** `by sender` / `by (a, b)` and `as prefix_` of a `features` line: apply to each group reference of the line. */
export interface JoinClause {
  by?: { columns: Ident[]; range: Range };
  prefix?: Ident;
}

export type FeatureRef =
  | ({ kind: "group_all"; group: Ident; range: Range } & JoinClause) // fitness.*
  | ({ kind: "group_feature"; group: Ident; feature: Ident; range: Range } & JoinClause) // fitness.ctl_42d
  | ({ kind: "name"; name: Ident; range: Range } & JoinClause); // an on_demand transformation

export interface ViewDecl {
  kind: "view";
  name: Ident;
  /** `view x for athlete`: the spine's entity (its keys map every group by name). */
  entity?: Ident;
  /** `for account(sender)`: the spine columns holding the entity's keys (default: the keys' own names). */
  entityColumns?: Ident[];
  /** `view x from transfers`: the spine source (else the source of an old-style `label y = source.column`). */
  from?: Ident;
  /** `where amount > 0`: only the spine rows for which it is true. */
  where?: Expr;
  /** `label flagged = status == "fraud"`; `label x = source.column` is the old form of a column label. */
  label?: { name: Ident; expr: Expr; range: Range };
  features: FeatureRef[];
  ttl?: Expr;
  /** `as_of strict` (the default) or `as_of inclusive`. */
  asOf?: Ident;
  range: Range;
}

export interface MdtCall {
  name: Ident; // standard_scale, impute, ...
  args: Arg[];
  range: Range;
}

export interface TransformDecl {
  features: Ident[];
  /** Applied left to right: `transform hr: impute(median), standard_scale`. */
  steps: MdtCall[];
  range: Range;
}

export interface RequireDecl {
  metric: Ident;
  op: "<" | "<=" | ">" | ">=";
  value: Expr;
  range: Range;
}

export interface ModelDecl {
  kind: "model";
  name: Ident;
  view?: Ident;
  task?: Ident;
  /** `gbdt(trees: 200)` or `onnx "model.onnx"` */
  algorithm?: { name: Ident; args: Arg[]; file?: StringLit; range: Range };
  transforms: TransformDecl[];
  /** `split time(test_from: 2025-06-01)` or `split random(test_fraction: 0.2, seed: 7)` */
  split?: { kind: Ident; args: Arg[]; range: Range };
  metrics: Ident[];
  requires: RequireDecl[];
  retrain?: RetrainDecl;
  range: Range;
}

export interface ServeDecl {
  kind: "serve";
  model: Ident;
  online?: Range;
  /** `batch into predictions.time_estimator` */
  batch?: { table: string; range: Range };
  range: Range;
}

/** `index notes on coach_notes(embedding) for athlete`: a group's rows, retrievable by similarity. */
export interface IndexDecl {
  kind: "index";
  name: Ident;
  group: Ident;
  column: Ident;
  /** `for ENTITY`: retrieval is restricted to the request's entity. */
  entity?: Ident;
  range: Range;
}

/** `agent coach for athlete { llm "coach"  context ...  retrieve notes top 5  tool m  prompt "..." }` */
export interface AgentDecl {
  kind: "agent";
  name: Ident;
  entity: Ident;
  llm?: StringLit;
  context: FeatureRef[];
  retrieve: Array<{ index: Ident; k: { value: number; range: Range }; range: Range }>;
  tools: Ident[];
  /** The template's lines joined by "\n"; `range` spans every string. */
  prompt?: { text: string; range: Range; parts: StringLit[] };
  range: Range;
}

export type Decl =
  | SourceDecl
  | EntityDecl
  | FnDecl
  | ExternFnDecl
  | FeatureGroupDecl
  | OnDemandDecl
  | ViewDecl
  | ModelDecl
  | ServeDecl
  | IndexDecl
  | AgentDecl;

/** Every declaration but `serve` has a name in the one global namespace. */
export type NamedDecl = Exclude<Decl, ServeDecl>;

/** `import { a, b } from "./common.fti"`: declarations of another spec, used by name. */
export interface ImportDecl {
  kind: "import";
  names: Ident[];
  /** The module path as written (relative to the importing spec's directory). */
  from: StringLit;
  range: Range;
}

export interface Program {
  file: string;
  decls: Decl[];
  /** The spec's `import` lines, in order (not declarations: they declare nothing of their own). */
  imports: ImportDecl[];
}
