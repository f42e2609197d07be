// Lowers a feature group to one DuckDB SELECT over the relation `__input`.
// Output columns, in order: the entity keys, `event_time`, the row id column
// (when the group has one), `valid_to` (reference data with a valid_to), then
// every feature in declaration order, cast to its declared type. Over
// reference data `event_time` is the row's valid_from, or ALWAYS_VALID_FROM. Window semantics are in compiler/lower/CONTEXT.md; the
// way they are computed:
//
// - Features are computed in stages (CTEs). A row feature is a projection; a
//   window feature is computed in a window pass over the projection before it.
//   All windows of one pass share one `PARTITION BY keys ORDER BY t` (one sort),
//   with one RANGE frame per distinct length.
// - t is the event time in epoch microseconds (BIGINT), so the frame
//   (t - w, t] is `RANGE BETWEEN w_us - 1 PRECEDING AND CURRENT ROW`; RANGE
//   frames include every peer (row at the same instant) whatever the input order.
// - ewma(x) over tau (Σ w_i x_i / Σ w_i, w_i = exp(-(t - t_i)/tau), over all
//   rows at or before t) is scale-invariant, so the weights are re-anchored:
//   time is cut into periods of P = 128 tau, in two families offset by half a
//   period. A row's weight in family j is exp((t_i - End_j(t_i))/tau) in
//   (e^-128, 1], where End_j is the end of its period. The row at t reads the
//   family in which it lies in the second half of a period, summing weighted
//   x and weights over the frame [t - 64 tau, t], which then lies inside that
//   one period, so every weight shares one anchor. Rows older than 64 tau
//   carry a relative weight below e^-64 against the current row's and are
//   dropped (a relative error below 1e-27 per row). No exponent ever exceeds
//   128, whatever the span of the data.
//   That value is exact at rows with a non-null x. Every other row takes the
//   value at the latest row at or before it with a non-null x (which is
//   exactly the definition, the common factor cancels); when x can be null
//   this is a second window pass with last_value(... IGNORE NULLS).

import type { IrExpr, IrFeature, IrGroup, IrSpec, IrType } from "../ir.ts";
import { columnsOf } from "../ir-walk.ts";
import { exprToSql, quoteIdent, sqlType } from "./sql.ts";

export interface GroupSqlOptions {
  /** SQL name of an extern function as registered with DuckDB; default: its spec name. */
  externName?(fn: string): string;
}

type WindowFeature = Extract<IrFeature, { kind: "window" }>;

const T_COL = "__fti_t";
/** ewma: the frame length in units of tau, and the re-anchoring period (twice that). */
const EWMA_FRAME_TAUS = 64;

interface EwmaCols {
  frameUs: number;
  /** true: the row reads family 0, else family 1. */
  sel: string;
  /** Per family: weighted x and weight of the row (null when x is null). */
  n0: string;
  d0: string;
  n1: string;
  d1: string;
}

interface Stage {
  /** Row features computed in the projections after this stage's window pass. */
  rows: IrFeature[];
  windows: WindowFeature[];
}

type Col = { sql: string; name: string };

/** The DuckDB SELECT computing a feature group over `__input` (see the file comment). */
export function groupToSql(group: IrGroup, spec: IrSpec, options: GroupSqlOptions = {}): string {
  return new GroupSql(group, spec, options).build();
}

/** Builds the CTE chain of one group: base, then per level a window pass and row projections. */
class GroupSql {
  private readonly time: ReturnType<typeof eventTimeOf>;
  private readonly position: Map<string, number>;
  private readonly ctes: string[] = [];
  private prev = "__input";
  private counter = 0;
  /** Columns of the relation `prev`. */
  private columns = new Set<string>();
  private helperCounter = 0;
  /** SQL of each window's argument column (empty for count()). */
  private readonly argColumn = new Map<string, string>();
  /** Helper columns of each ewma. */
  private readonly ewmaCols = new Map<string, EwmaCols>();
  private readonly surelyNonNull: (e: IrExpr) => boolean;
  private readonly partition: string;

  constructor(
    private readonly group: IrGroup,
    private readonly spec: IrSpec,
    private readonly options: GroupSqlOptions,
  ) {
    this.time = eventTimeOf(group, spec);
    this.position = new Map(group.features.map((f, i) => [f.name, i] as const));
    this.surelyNonNull = nonNullAnalysis(group);
    // The input columns carrying the keys (`for account(sender)`); the output names them by the keys.
    this.partition = group.keyColumns.map(quoteIdent).join(", ");
  }

  build(): string {
    const stages = this.stages();
    this.base();
    for (let l = 0; l < stages.length; l++) {
      if (stages[l].windows.length) this.windowPass(stages[l].windows);
      this.rowProjections(stages[l].rows);
      const next = stages[l + 1];
      if (next) this.windowInputs(next.windows);
    }
    return this.finalSelect();
  }

  private sqlOf(e: IrExpr): string {
    return exprToSql(e, { functions: this.spec.functions, externName: this.options.externName });
  }

  private over(frame: string): string {
    // A global group (no keys) has one partition: the whole input.
    return `(${this.partition ? `PARTITION BY ${this.partition} ` : ""}ORDER BY ${quoteIdent(T_COL)} ${frame})`;
  }

  /** The earlier features an expression reads (a name not defined yet is an input column). */
  private depsOf(f: IrFeature): string[] {
    const e = f.kind === "row" ? f.expr : f.arg;
    const me = this.position.get(f.name)!;
    return e ? [...columnsOf(e)].filter((c) => (this.position.get(c) ?? Infinity) < me) : [];
  }

  /** Levels: a window is one pass after its argument's inputs; a row feature sits with its latest input. */
  private stages(): Stage[] {
    const level = new Map<string, number>();
    for (const f of this.group.features) {
      const base = this.depsOf(f).reduce((m, d) => Math.max(m, level.get(d)!), 0);
      level.set(f.name, f.kind === "window" ? base + 1 : base);
    }
    const maxLevel = Math.max(0, ...level.values());
    const stages: Stage[] = Array.from({ length: maxLevel + 1 }, () => ({ rows: [], windows: [] }));
    for (const f of this.group.features) {
      const l = level.get(f.name)!;
      if (f.kind === "row") stages[l].rows.push(f);
      else stages[l].windows.push(f);
    }
    return stages;
  }

  /**
   * One CTE selecting everything from `prev` plus `cols`; a column whose name
   * exists already (a feature shadowing an input column) replaces it.
   */
  private select(cols: Col[], tail = ""): void {
    if (!cols.length) return;
    const q = quoteIdent;
    const replace = cols.filter((c) => this.columns.has(c.name));
    const added = cols.filter((c) => !this.columns.has(c.name));
    const star = replace.length ? `* REPLACE (${replace.map((c) => `${c.sql} AS ${q(c.name)}`).join(", ")})` : "*";
    const list = [star, ...added.map((c) => `${c.sql} AS ${q(c.name)}`)].join(",\n    ");
    const name = `__fti_s${this.counter++}`;
    this.ctes.push(`${q(name)} AS (\n  SELECT ${list}\n  FROM ${this.prev}${tail}\n)`);
    this.prev = q(name);
    this.columns = new Set([...this.columns, ...added.map((c) => c.name)]);
  }

  /** Base: the input columns the group needs, and the event time in microseconds. */
  private base(): void {
    const q = quoteIdent;
    const { group, time } = this;
    // `where`: only the rows for which the filter is true (null counts as false) enter the group.
    const filter = group.where ? `\n  WHERE (${this.sqlOf(group.where)}) IS TRUE` : "";
    const needed = new Set<string>([...group.keyColumns, ...(time.column ? [time.column] : [])]);
    if (group.rowId) needed.add(group.rowId.name);
    if (time.validTo) needed.add(time.validTo);
    // Every name an expression reads that is not an earlier feature is an input column.
    for (const f of group.features) {
      const e = f.kind === "row" ? f.expr : f.arg;
      const me = this.position.get(f.name)!;
      if (e) for (const c of columnsOf(e)) if (!((this.position.get(c) ?? Infinity) < me)) needed.add(c);
    }
    const from = this.lookups();
    this.ctes.push(
      `${q("__fti_s" + this.counter++)} AS (\n  SELECT ${[...needed].map(q).join(", ")}, epoch_us(CAST(${time.sql} AS TIMESTAMP)) AS ${q(T_COL)}\n  FROM ${from}${filter}\n)`,
    );
    this.prev = q(`__fti_s${this.counter - 1}`);
    this.columns = new Set([...needed, T_COL]);
  }

  /**
   * The reference groups the features look up (IrGroupLookup): one CTE with
   * every input column plus `<group>.<feature>` per looked-up value, each the
   * value of the lookup table's row for the same keys that holds at the
   * input row's time (ASOF: the latest event_time at or before it, after the
   * table's ties are reduced as the point-in-time join reduces them; null
   * once its valid_to has passed). Returns the relation the base reads.
   */
  private lookups(): string {
    const { group, time } = this;
    if (!group.lookups?.length) return "__input";
    const q = quoteIdent;
    const at = `CAST(${time.column ? `i.${q(time.column)}` : time.sql} AS TIMESTAMP)`;
    const cols: string[] = ["i.*"];
    const joins = group.lookups.map((l, n) => {
      const alias = `__fti_l${n}`;
      const values = l.features.map((f) => q(f.name));
      const order = ["ingested_at DESC", ...(l.rowId ? [`${q(l.rowId)} DESC`] : []), ...values.map((v) => `${v} DESC NULLS LAST`)].join(", ");
      const table = `(SELECT ${[...l.keys.map(q), "event_time", ...(l.validTo ? ["valid_to"] : []), ...values].join(", ")} FROM ${q(l.table)}
      QUALIFY row_number() OVER (PARTITION BY ${[...l.keys.map(q), "event_time"].join(", ")} ORDER BY ${order}) = 1)`;
      const holds = l.validTo ? `${alias}.valid_to IS NULL OR ${alias}.valid_to > ${at}` : undefined;
      for (const f of l.features) {
        const v = `${alias}.${q(f.name)}`;
        cols.push(`${holds ? `CASE WHEN ${holds} THEN ${v} END` : v} AS ${q(`${l.group}.${f.name}`)}`);
      }
      const on = [...l.keys.map((k, i) => `i.${q(group.keyColumns[i])} = ${alias}.${q(k)}`), `${at} >= ${alias}.event_time`].join(" AND ");
      return `\n  ASOF LEFT JOIN ${table} AS ${alias}\n    ON ${on}`;
    });
    this.ctes.push(`${q("__fti_lookup")} AS (\n  SELECT ${cols.join(",\n    ")}\n  FROM __input AS i${joins.join("")}\n)`);
    return q("__fti_lookup");
  }

  /** The window pass of a level: one sort, one named frame per length. */
  private windowPass(windows: WindowFeature[]): void {
    const frames = new Map<string, string>(); // frame clause -> window name
    const frameName = (frame: string): string => {
      let n = frames.get(frame);
      if (!n) frames.set(frame, (n = `__fti_w${frames.size}`));
      return n;
    };
    const aggs: Col[] = [];
    const ratios: Col[] = [];
    const fills: Col[] = [];
    for (const f of windows) {
      const a = this.argColumn.get(f.name) ?? "";
      if (f.agg === "ewma") {
        this.ewmaWindow(f, a, frameName, { aggs, ratios, fills });
        continue;
      }
      if (!(f.windowMs > 0)) throw new Error(`window \`${f.name}\` must have a positive length`);
      const w = frameName(`RANGE BETWEEN ${Math.round(f.windowMs * 1000) - 1} PRECEDING AND CURRENT ROW`);
      aggs.push({ sql: windowAgg(f, a, this.group, w), name: f.name });
    }
    const windowClause = [...frames].map(([frame, name]) => `${name} AS ${this.over(frame)}`).join(",\n    ");
    this.select(aggs, `\n  WINDOW ${windowClause}`);
    this.select(ratios);
    // The carried value: a second pass over the same partitioning (the names exist: REPLACE).
    if (fills.length) this.select(fills);
  }

  /** An ewma's sums over its frame, its ratio, and (when x can be null) the carried value. */
  private ewmaWindow(f: WindowFeature, a: string, frameName: (frame: string) => string, out: { aggs: Col[]; ratios: Col[]; fills: Col[] }): void {
    const q = quoteIdent;
    const k = this.ewmaCols.get(f.name)!;
    const w = frameName(`RANGE BETWEEN ${k.frameUs} PRECEDING AND CURRENT ROW`);
    for (const c of ["n0", "d0", "n1", "d1"] as const) out.aggs.push({ sql: `sum(${q(k[c])}) OVER ${w}`, name: `${k[c]}s` });
    const ratio = `CASE WHEN ${q(k.sel)} THEN ${q(`${k.n0}s`)} / ${q(`${k.d0}s`)} ELSE ${q(`${k.n1}s`)} / ${q(`${k.d1}s`)} END`;
    // Exact where x is non-null; the other rows take the value of the latest such row.
    out.ratios.push({ sql: `CASE WHEN ${a} IS NOT NULL THEN ${ratio} END`, name: f.name });
    if (this.surelyNonNull(f.arg!)) return;
    const v = q(f.name);
    out.fills.push({
      sql: `coalesce(${v}, last_value(${v} IGNORE NULLS) OVER ${this.over("RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW")})`,
      name: f.name,
    });
  }

  /** Row features of a level, in dependency sub-levels (one projection each). */
  private rowProjections(rows: IrFeature[]): void {
    const sub = new Map<string, number>();
    const rowsBySub: Array<Array<Extract<IrFeature, { kind: "row" }>>> = [];
    for (const f of rows) {
      if (f.kind !== "row") continue;
      const s = this.depsOf(f).reduce((m, d) => (sub.has(d) ? Math.max(m, sub.get(d)! + 1) : m), 0);
      sub.set(f.name, s);
      (rowsBySub[s] ??= []).push(f);
    }
    for (const fs of rowsBySub) if (fs) this.select(fs.map((f) => ({ sql: this.sqlOf(f.expr), name: f.name })));
  }

  /** Arguments (and ewma helper columns) of the next level's windows. */
  private windowInputs(windows: WindowFeature[]): void {
    const args: Col[] = [];
    for (const f of windows) {
      if (f.arg === null) this.argColumn.set(f.name, "");
      else if (f.arg.k === "col") this.argColumn.set(f.name, quoteIdent(f.arg.name));
      else {
        const name = `__fti_a${this.helperCounter++}`;
        args.push({ sql: this.sqlOf(f.arg), name });
        this.argColumn.set(f.name, quoteIdent(name));
      }
    }
    this.select(args);
    this.ewmaWeights(windows.filter((f) => f.agg === "ewma"));
  }

  /** Per ewma: the family selector, the weights of both families, and the weighted values. */
  private ewmaWeights(ewmas: WindowFeature[]): void {
    const q = quoteIdent;
    const weights: Col[] = [];
    const weighted: Col[] = [];
    for (const f of ewmas) {
      if (!(f.windowMs > 0)) throw new Error(`ewma \`${f.name}\` must have a positive time constant`);
      const tauUs = Math.round(f.windowMs * 1000);
      const frameUs = EWMA_FRAME_TAUS * tauUs;
      const period = 2 * frameUs;
      const prefix = `__fti_e${this.helperCounter++}`;
      const k: EwmaCols = { frameUs, sel: `${prefix}_sel`, n0: `${prefix}_n0`, d0: `${prefix}_d0`, n1: `${prefix}_n1`, d1: `${prefix}_d1` };
      this.ewmaCols.set(f.name, k);
      const x = this.argColumn.get(f.name)!;
      // Position of t in its family-0 period; family 1 is offset by half a period, so its
      // weight is family 0's times e^-64 (second half) or e^+64 (first half).
      const pos = `(((${q(T_COL)} % ${period}) + ${period}) % ${period})`;
      weights.push({ sql: `${pos} >= ${frameUs}`, name: k.sel });
      weights.push({ sql: `CASE WHEN ${x} IS NOT NULL THEN exp((${pos} - ${period}) / ${tauUs}e0) END`, name: k.d0 });
      weighted.push({ sql: `${q(k.d0)} * CASE WHEN ${q(k.sel)} THEN ${Math.exp(-EWMA_FRAME_TAUS)} ELSE ${Math.exp(EWMA_FRAME_TAUS)} END`, name: k.d1 });
    }
    this.select(weights);
    this.select(weighted);
    this.select(
      ewmas.flatMap((f) => {
        const k = this.ewmaCols.get(f.name)!;
        const x = this.argColumn.get(f.name)!;
        return [
          { sql: `${x} * ${q(k.d0)}`, name: k.n0 },
          { sql: `${x} * ${q(k.d1)}`, name: k.n1 },
        ];
      }),
    );
  }

  /** The final projection: keys, event_time, row id, valid_to, features cast to their types. */
  private finalSelect(): string {
    const q = quoteIdent;
    const { group, time } = this;
    const out: string[] = group.keys.map((k, i) => (group.keyColumns[i] === k.name ? q(k.name) : `${q(group.keyColumns[i])} AS ${q(k.name)}`));
    out.push(`CAST(${time.sql} AS TIMESTAMP) AS ${q("event_time")}`);
    if (group.rowId) out.push(q(group.rowId.name));
    if (time.validTo) out.push(`CAST(${q(time.validTo)} AS TIMESTAMP) AS ${q("valid_to")}`);
    for (const f of group.features) out.push(`${finalValue(f)} AS ${q(f.name)}`);
    return `WITH ${this.ctes.join(",\n")}\nSELECT ${out.join(",\n  ")}\nFROM ${this.prev}`;
  }
}

/** When a reference row without validity holds from: the start of time (it is the current value at any time). */
export const ALWAYS_VALID_FROM = "0001-01-01 00:00:00";

/**
 * The input's time: a source's event_time (or a reference source's
 * valid_from), the input group's event_time; a reference source without
 * validity has none (a constant), and `validTo` names its valid_to column.
 */
function eventTimeOf(group: IrGroup, spec: IrSpec): { column?: string; sql: string; validTo?: string } {
  const validTo = group.reference?.validTo ? "valid_to" : undefined;
  if (group.input.kind === "group") return { column: "event_time", sql: quoteIdent("event_time"), validTo };
  const src = spec.sources.find((s) => s.name === group.input.name);
  if (!src) throw new Error(`group \`${group.name}\` reads unknown source \`${group.input.name}\``);
  const column = src.eventTime ?? src.validity?.from;
  if (!column) return { sql: `TIMESTAMP '${ALWAYS_VALID_FROM}'` };
  return { column, sql: quoteIdent(column), validTo: src.validity?.to };
}

/** The window function call of one (non-ewma) window feature over the named window `w`. */
function windowAgg(f: WindowFeature, arg: string | undefined, group: IrGroup, w: string): string {
  const a = arg ?? "";
  switch (f.agg) {
    case "count":
      return f.arg === null ? `count(*) OVER ${w}` : `count(${a}) OVER ${w}`;
    case "sum":
    case "avg":
    case "min":
    case "max":
      return `${f.agg}(${a}) OVER ${w}`;
    case "stddev":
      return `stddev_samp(${a}) OVER ${w}`;
    case "last": {
      // The latest row with a non-null x; ties at one instant: greatest row id, then greatest x.
      const id = group.rowId ? `'i': ${quoteIdent(group.rowId.name)}, ` : "";
      return `(max(CASE WHEN ${a} IS NOT NULL THEN {'t': ${quoteIdent(T_COL)}, ${id}'x': ${a}} END) OVER ${w})['x']`;
    }
    case "ewma":
      throw new Error("unreachable: ewma is lowered separately");
  }
}

/** The output expression of a feature column: cast to the declared type; floats finite. */
function finalValue(f: IrFeature): string {
  const col = quoteIdent(f.name);
  const st = sqlType(f.type);
  if (f.type.base === "float" || f.type.base === "duration") {
    // Window aggregates can overflow (sum of huge values); row features are already finite.
    if (f.kind === "window") return `CAST(CASE WHEN isfinite(${col}) THEN ${col} END AS DOUBLE)`;
    return `CAST(${col} AS DOUBLE)`;
  }
  if (f.type.base === "int") return `TRY_CAST(${col} AS BIGINT)`;
  return `CAST(${col} AS ${st})`;
}

/**
 * Whether an expression can never be null at run time: literals, non-null
 * source columns (validated on load), counts, and null-free operations of
 * those. Stored features of an input group are not trusted (a domain error,
 * e.g. a division by zero, stores null under a non-null type).
 */
function nonNullAnalysis(group: IrGroup): (e: IrExpr) => boolean {
  const features = new Map(group.features.map((f) => [f.name, f] as const));
  const memo = new Map<string, boolean>();
  const col = (name: string, type: IrType): boolean => {
    const f = features.get(name);
    if (!f) return group.input.kind === "source" && !type.nullable;
    if (memo.has(name)) return memo.get(name)!;
    memo.set(name, false);
    const r = f.kind === "window" ? f.agg === "count" : nn(f.expr);
    memo.set(name, r);
    return r;
  };
  const nn = (e: IrExpr): boolean => {
    if (e.type.nullable) return false;
    switch (e.k) {
      case "lit":
        return e.value !== null;
      case "col":
        return col(e.name, e.type);
      case "unary":
        return e.op === "not" && nn(e.arg);
      case "binary":
        return ["==", "!=", "<", "<=", ">", ">=", "and", "or"].includes(e.op) && nn(e.left) && nn(e.right);
      case "if":
        return nn(e.then) && nn(e.else);
      case "in":
        return nn(e.arg) && e.values.every(nn);
      case "builtin":
        if (e.name === "is_null") return true;
        if (e.name === "coalesce") return e.args.some(nn);
        if (["hour", "day_of_week", "month", "year", "lower", "upper", "length", "concat", "to_float"].includes(e.name)) {
          return e.args.every(nn);
        }
        return false;
      default:
        return false;
    }
  };
  return nn;
}
