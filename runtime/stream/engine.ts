// The incremental feature pipeline: applies one event of a stream source to
// every feature group over it (GroupPlan.stream, lowered from the same IR as
// the group's SQL) and returns the online rows that changed. Pure computation:
// admission (validation, duplicates, lateness) is in admission.ts, durability
// in segments.ts.
//
// Per group and entity it keeps what the entity's latest row needs and no
// more: the input rows of its longest frame (the rows with time in
// (T − w_max, T], T the entity's latest event time) and, per ewma, a running
// weighted sum. An out-of-order event is inserted where it belongs; one older
// than the longest frame changes only the ewmas. The window semantics are
// those of docs/language.md §6: frame (t − w, t], peers included, nulls
// skipped, `last` by (time, row id, value), ewma over all history.

import type { GroupPlan, Scalar, SpecBundle, StreamGroupPlan, StreamRow, WindowAgg } from "../api.ts";
import { cmpStr, fin } from "../expr.ts";

/** One online row after an event: a group's entity, its latest event time and its features (plan order). */
export interface StreamUpdate {
  group: string;
  /** The entity's key values, in the group's key order. */
  keys: Scalar[];
  eventMs: number;
  /** Row id of the latest row. */
  rowId: Scalar;
  values: Scalar[];
}

type Value = Scalar | Date;

interface BufferedRow {
  t: number;
  id: Scalar;
  /** The value of each window's argument on this row (1 for `count()`). */
  args: Value[];
  /** The input row with the row features computed (what `after` features and the output read). */
  row: StreamRow;
}

interface Ewma {
  /** Σ w·x and Σ w, with weights relative to `anchor` (the latest row with a non-null x). */
  num: number;
  den: number;
  anchor: number;
}

interface EntityState {
  keys: Scalar[];
  latest: BufferedRow | null;
  /** Rows within the longest frame of the latest row, ordered by (t, id). */
  rows: BufferedRow[];
  ewma: Ewma[];
}

/** Compares row ids as DuckDB orders them (strings by code point, numbers by value). */
function cmpId(a: Scalar, b: Scalar): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === "string" && typeof b === "string") return cmpStr(a, b);
  return (a as number) < (b as number) ? -1 : 1;
}

/** Compares two non-null values of one type (min, max, last's tie-break). */
export function cmpValue(a: Value, b: Value): number {
  if (typeof a === "string") return cmpStr(a, b as string);
  if (a instanceof Date) return a.getTime() - (b as Date).getTime();
  if (typeof a === "boolean") return Number(a) - Number(b);
  return (a as number) - (b as number);
}

const timeOf = (v: Value): number => (v instanceof Date ? v.getTime() : typeof v === "string" ? Date.parse(v) : NaN);

/** A row's place: later time first decides, then the greater row id. */
const after = (a: { t: number; id: Scalar }, b: { t: number; id: Scalar }) => a.t > b.t || (a.t === b.t && cmpId(a.id, b.id) > 0);

/** Values as the online store holds them: timestamps as ISO strings. */
const scalar = (v: Value | undefined): Scalar => (v instanceof Date ? v.toISOString() : (v ?? null));

/** One group's incremental state. */
class GroupState {
  readonly entities = new Map<string, EntityState>();
  private readonly longestMs: number;
  private readonly ewmaIdx: number[];

  constructor(
    readonly plan: GroupPlan,
    readonly sp: StreamGroupPlan,
  ) {
    this.longestMs = Math.max(0, ...sp.windows.filter((w) => w.agg !== "ewma").map((w) => w.windowMs));
    this.ewmaIdx = sp.windows.flatMap((w, i) => (w.agg === "ewma" ? [i] : []));
  }

  get windowed(): boolean {
    return this.sp.windows.length > 0;
  }

  /** The input row with the group's row features; null when `where` keeps it out. */
  enrich(input: StreamRow): StreamRow | null {
    if (this.sp.where && this.sp.where(input) !== true) return null;
    const row: StreamRow = { ...input };
    for (const f of this.sp.rows) row[f.name] = f.compute(row);
    return row;
  }

  /** The row as the group's table has it (keys named by the entity, event_time, row id, features): what a group over this one reads. */
  outputRow(row: StreamRow): StreamRow {
    const out: StreamRow = {};
    this.plan.keys.forEach((k, i) => (out[k.name] = row[this.sp.keyColumns[i]]));
    out.event_time = row[this.sp.timeColumn];
    if (this.plan.rowId) out[this.plan.rowId.name] = row[this.plan.rowId.name];
    for (const f of this.plan.features) out[f.name] = row[f.name];
    return out;
  }

  /** Applies an enriched row; returns the entity's online row when it changed. */
  apply(row: StreamRow): StreamUpdate | null {
    const keys = this.sp.keyColumns.map((c) => scalar(row[c]));
    if (keys.some((k) => k === null)) return null; // as in SQL: a null key joins nothing (the source's schema refuses it anyway)
    const t = timeOf(row[this.sp.timeColumn]);
    const id = this.plan.rowId ? scalar(row[this.plan.rowId.name]) : null;
    const key = JSON.stringify(keys);
    let e = this.entities.get(key);
    if (!e) {
      e = { keys, latest: null, rows: [], ewma: this.ewmaIdx.map(() => ({ num: 0, den: 0, anchor: -Infinity })) };
      this.entities.set(key, e);
    }
    const r: BufferedRow = { t, id, args: this.sp.windows.map((w) => (w.arg ? w.arg(row) : 1)), row };
    const newLatest = e.latest === null || after(r, e.latest);
    if (newLatest) e.latest = r;
    this.addEwma(e, r);
    const T = e.latest!.t;
    if (this.longestMs > 0 && r.t > T - this.longestMs) insertOrdered(e.rows, r);
    if (newLatest) evict(e.rows, T - this.longestMs);
    // Only the latest row is served: an older row changes it only through the windows.
    if (!newLatest && (!this.windowed || (r.t <= T - this.longestMs && this.ewmaIdx.length === 0))) return null;
    return this.latestRow(e);
  }

  private addEwma(e: EntityState, r: BufferedRow): void {
    this.ewmaIdx.forEach((wi, j) => {
      const x = r.args[wi];
      if (x === null || typeof x !== "number") return;
      const s = e.ewma[j];
      const tau = this.sp.windows[wi].windowMs;
      if (r.t > s.anchor) {
        const decay = s.anchor === -Infinity ? 0 : Math.exp(-(r.t - s.anchor) / tau);
        s.num = s.num * decay + x;
        s.den = s.den * decay + 1;
        s.anchor = r.t;
      } else {
        const w = Math.exp(-(s.anchor - r.t) / tau);
        s.num += w * x;
        s.den += w;
      }
    });
  }

  /** The entity's latest row: its row features, the windows at its time, then the features over them. */
  latestRow(e: EntityState): StreamUpdate {
    const latest = e.latest!;
    const row: StreamRow = { ...latest.row };
    let ewmaJ = 0;
    this.sp.windows.forEach((w, wi) => {
      if (w.agg === "ewma") {
        const s = e.ewma[ewmaJ++];
        row[w.name] = s.den > 0 ? fin(s.num / s.den) : null;
      } else {
        row[w.name] = aggregate(w.agg, e.rows, wi, latest.t - w.windowMs, latest.t);
      }
    });
    for (const f of this.sp.after) row[f.name] = f.compute(row);
    return { group: this.plan.name, keys: e.keys, eventMs: latest.t, rowId: latest.id, values: this.plan.features.map((f) => scalar(row[f.name])) };
  }
}

/** Inserts `r` keeping (t, id) order; rows usually arrive in order, so search from the end. */
function insertOrdered(rows: BufferedRow[], r: BufferedRow): void {
  let i = rows.length;
  while (i > 0 && after(rows[i - 1], r)) i--;
  rows.splice(i, 0, r);
}

/** Drops the rows at or before `cutoff` (out of every frame of the latest row). */
function evict(rows: BufferedRow[], cutoff: number): void {
  let n = 0;
  while (n < rows.length && rows[n].t <= cutoff) n++;
  if (n > 0) rows.splice(0, n);
}

/** The index of the first row later than `t` (rows are in time order). */
function firstAfter(rows: BufferedRow[], t: number): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (rows[mid].t <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `agg` of argument `wi` over the rows with time in (from, to]. */
function aggregate(agg: WindowAgg, rows: BufferedRow[], wi: number, from: number, to: number): Scalar {
  let n = 0;
  let sum = 0;
  let best: Value = null;
  let bestRow: BufferedRow | null = null;
  const values: number[] = [];
  for (let k = firstAfter(rows, from); k < rows.length; k++) {
    const r = rows[k];
    if (r.t > to) continue;
    const x = r.args[wi];
    if (x === null) continue;
    n++;
    switch (agg) {
      case "count":
        break;
      case "sum":
      case "avg":
        sum += x as number;
        break;
      case "stddev":
        values.push(x as number);
        break;
      case "min":
      case "max": {
        const c = best === null ? 0 : cmpValue(x, best);
        if (best === null || (agg === "min" ? c < 0 : c > 0)) best = x;
        break;
      }
      case "last":
        // The latest row with x not null; at one instant the greatest row id, then the greatest x.
        if (bestRow === null || after(r, bestRow) || (r.t === bestRow.t && cmpId(r.id, bestRow.id) === 0 && cmpValue(x, best!) > 0)) {
          bestRow = r;
          best = x;
        }
        break;
      case "ewma":
        throw new Error("ewma is kept as a running sum");
    }
  }
  switch (agg) {
    case "count":
      return n;
    case "sum":
      return n ? fin(sum) : null;
    case "avg":
      return n ? fin(sum / n) : null;
    case "stddev":
      return sampleStddev(values);
    default:
      return scalar(best);
  }
}

/** Sample standard deviation (two passes: the mean, then the squares); null below 2 values. */
function sampleStddev(xs: number[]): number | null {
  if (xs.length < 2) return null;
  let sum = 0;
  for (const x of xs) sum += x;
  const mean = sum / xs.length;
  let sq = 0;
  for (const x of xs) sq += (x - mean) * (x - mean);
  return fin(Math.sqrt(sq / (xs.length - 1)));
}

/** The groups over each stream source, in dependency order, and their state. */
export class StreamEngine {
  private readonly bySource = new Map<string, GroupState[]>();
  private readonly groups = new Map<string, GroupState>();

  constructor(bundle: SpecBundle) {
    for (const plan of bundle.groups) {
      if (!plan.stream) continue;
      const g = new GroupState(plan, plan.stream);
      this.groups.set(plan.name, g);
      const list = this.bySource.get(plan.stream.source) ?? [];
      list.push(g);
      this.bySource.set(plan.stream.source, list);
    }
  }

  /** The groups fed by `source`, in dependency order. */
  groupsOf(source: string): GroupPlan[] {
    return (this.bySource.get(source) ?? []).map((g) => g.plan);
  }

  /**
   * Applies one (validated, new) event of `source` to every group over it;
   * returns the online rows it changed.
   */
  apply(source: string, event: StreamRow): StreamUpdate[] {
    const out: StreamUpdate[] = [];
    const rows = new Map<string, StreamRow | null>();
    for (const g of this.bySource.get(source) ?? []) {
      const input = g.plan.input.kind === "source" ? event : rows.get(g.plan.input.name);
      const row = input ? g.enrich(input) : null;
      // Groups over this one read its row as its table has it (only row groups are read: FTI4050).
      rows.set(g.plan.name, row && !g.windowed ? g.outputRow(row) : null);
      if (!row) continue;
      const u = g.apply(row);
      if (u) out.push(u);
    }
    return out;
  }

  /** Entities and buffered rows per group (the state the windows need). */
  stats(): Array<{ group: string; entities: number; rows: number }> {
    return [...this.groups.values()].map((g) => {
      let rows = 0;
      for (const e of g.entities.values()) rows += e.rows.length;
      return { group: g.plan.name, entities: g.entities.size, rows };
    });
  }
}
