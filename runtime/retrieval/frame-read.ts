// Reads a PIT-joined table (pit.ts) into a frame's JS columns in one pass, in
// the table's storage order: __sid numbers the spine rows 0..n−1, so each row
// is put at its __sid as its slice arrives (no sort, and one scan of the table
// even when DuckDB has spilled it; every __sid is checked to come exactly once).
//
// `typed` (the training frame): numeric features and request fields become
// NullableFloats (a Float64Array, NaN = NULL: 8 bytes a value instead of a
// boxed number and a pointer) when the column holds no NaN and no integer
// beyond 2^53 (checked first, in SQL), so the NaN ⇔ NULL mapping loses
// nothing; other columns stay arrays of Scalars (strings interned while a
// column has few distinct values: one object per entity key, not per row).
// Readers use `valueAt`.

import type { ColumnType, Scalar, ViewPlan } from "../api.ts";
import type { Store } from "../store/store.ts";
import { ident } from "../store/sql.ts";
import { NullableFloats, type InputColumn } from "./columns.ts";

/** Joined rows per slice handed from DuckDB to JS (default): what JS holds besides the frame. */
export const FRAME_SLICE_ROWS = 1 << 20;

/**
 * DuckDB's memory_limit while the joined table is read into JS columns
 * (pit.ts lowers it, store/memory-limit.ts). The PIT statement before fills
 * DuckDB's pool up to the store's limit, and DuckDB keeps that memory; the
 * frame's columns (~130 bytes per spine row) then came on top: 5.26 GiB peak
 * RSS at a 10 M-row spine with the bench's 3 GB limit. Lowered, DuckDB evicts
 * the joined table past the limit to its temp directory and gives the memory
 * back: at a 1 M-row spine RSS fell from 2.9 GB to 0.46 GB in 0.3 s of CPU
 * (docs/benchmarks.md, "Eighth session: learn").
 */
export const FRAME_READ_MEMORY_LIMIT = "1GB";

export interface FrameColumnsRead {
  n: number;
  keys: Record<string, Scalar[]>;
  time: Float64Array;
  label: Float64Array;
  /** A string label (a class): its distinct values, sorted; `label` then holds each row's index in it (NaN: null). */
  labelClasses?: string[];
  columns: Record<string, InputColumn>;
  /** Per join id: epoch ms of the group row used, NaN when none. */
  featureTimes: Record<string, Float64Array>;
}

export interface FrameReadOptions {
  withLabel: boolean;
  typed: boolean;
  sliceRows?: number;
}

/**
 * The keys, time (epoch ms), label, features and request fields of the
 * joined table `table` (n rows, __sid 0..n−1), in __sid order.
 */
export async function readJoinedFrame(
  store: Store,
  view: ViewPlan,
  joined: { table: string; n: number; groups: string[]; features: Array<{ name: string; type: ColumnType }> },
  opts: FrameReadOptions,
): Promise<FrameColumnsRead> {
  const sliceRows = opts.sliceRows ?? FRAME_SLICE_ROWS;
  if (!Number.isInteger(sliceRows) || sliceRows < 1) throw new Error(`frame read: slice size must be a positive integer, got ${sliceRows}`);
  const n = joined.n;
  const keyNames = view.keys.map((k) => k.name);
  const fnames = joined.features.map((f) => f.name);
  const reqFields = view.requestFields.filter((r) => !fnames.includes(r.name));
  const ftCols = joined.groups.map((_, i) => `__ft_${i}`);
  const typed = opts.typed ? await typedColumns(store, joined.table, [...joined.features, ...reqFields]) : new Set<string>();
  // a string label (multiclass) is read as text, then coded by its sorted values
  const textLabel = opts.withLabel && view.label.type === "string";
  const floats = ["__t_ms", ...(opts.withLabel && !textLabel ? ["__label"] : []), ...ftCols, ...typed];
  const names = [...keyNames, ...floats, ...(textLabel ? ["__label"] : []), ...[...fnames, ...reqFields.map((r) => r.name)].filter((c) => !typed.has(c))];
  const exprs = names.map((c) => (c === "__t_ms" ? `epoch_us(__t) / 1000.0 AS __t_ms` : ident(c)));
  const arrays = new Map<string, Float64Array | Scalar[]>(names.map((c) => [c, floats.includes(c) ? new Float64Array(n) : new Array<Scalar>(n)]));
  const interned = new Map(names.map((c) => [c, new Interner()]));
  const placed = new Uint8Array(n);
  const read = await store.readColumnsInSlices(
    `SELECT __sid::DOUBLE AS __sid, ${exprs.join(", ")} FROM ${ident(joined.table)}`,
    undefined,
    { float64: ["__sid", ...floats], timestamps: "iso" },
    sliceRows,
    (slice) => {
      const sids = slice.columns.__sid as Float64Array;
      markPlaced(placed, sids);
      for (const c of names) placeInto(arrays.get(c)!, slice.columns[c] as ArrayLike<Scalar>, sids, interned.get(c)!);
    },
  );
  if (read !== n || placed.indexOf(0) !== -1) throw new Error(`frame read: ${read} joined rows for ${n} spine rows`);
  const columns: Record<string, InputColumn> = {};
  for (const c of [...fnames, ...reqFields.map((r) => r.name)]) {
    const a = arrays.get(c)!;
    columns[c] = a instanceof Float64Array ? new NullableFloats(a) : a;
  }
  const featureTimes: Record<string, Float64Array> = {};
  joined.groups.forEach((g, i) => (featureTimes[g] = arrays.get(`__ft_${i}`) as Float64Array));
  const coded = textLabel ? codeClasses(arrays.get("__label") as Scalar[]) : undefined;
  return {
    n,
    keys: Object.fromEntries(keyNames.map((k) => [k, arrays.get(k) as Scalar[]])),
    time: arrays.get("__t_ms") as Float64Array,
    label: coded?.codes ?? (opts.withLabel ? (arrays.get("__label") as Float64Array) : new Float64Array(0)),
    ...(coded ? { labelClasses: coded.classes } : {}),
    columns,
    featureTimes,
  };
}

/** Text labels as indices into their distinct values sorted by UTF-16 code units (null: NaN). */
function codeClasses(values: Scalar[]): { codes: Float64Array; classes: string[] } {
  const distinct = new Set<string>();
  for (const v of values) if (v !== null) distinct.add(String(v));
  const classes = [...distinct].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const at = new Map(classes.map((c, i) => [c, i]));
  const codes = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) codes[i] = values[i] === null ? NaN : at.get(String(values[i]))!;
  return { codes, classes };
}

/** Marks the spine rows of a slice as read: each __sid must be in 0..n−1 and come once. */
function markPlaced(placed: Uint8Array, sids: Float64Array): void {
  for (let i = 0; i < sids.length; i++) {
    const at = sids[i];
    if (!(at >= 0 && at < placed.length) || placed[at] === 1) throw new Error(`frame read: joined row with __sid ${at} out of range or repeated`);
    placed[at] = 1;
  }
}

/** Puts each value of a slice at its spine row. */
function placeInto(target: Float64Array | Scalar[], slice: ArrayLike<Scalar>, sids: Float64Array, strings: Interner): void {
  if (target instanceof Float64Array) {
    const values = slice as Float64Array;
    for (let i = 0; i < sids.length; i++) target[sids[i]] = values[i];
  } else for (let i = 0; i < sids.length; i++) target[sids[i]] = strings.get(slice[i]);
}

/** Distinct strings kept while a column has at most this many (keys: a few per entity). */
const INTERN_LIMIT = 1 << 20;

/**
 * One string object per distinct value of a column (DuckDB gives a new one
 * per row: 10 M rows of a few thousand entity keys are 10 M strings), until
 * the column has more than INTERN_LIMIT distinct values: then each row keeps its own.
 */
class Interner {
  private seen: Map<string, string> | null = new Map();
  get(v: Scalar): Scalar {
    if (typeof v !== "string" || this.seen === null) return v;
    const s = this.seen.get(v);
    if (s !== undefined) return s;
    if (this.seen.size >= INTERN_LIMIT) this.seen = null;
    else this.seen.set(v, v);
    return v;
  }
}

/**
 * The float and int columns that can be NullableFloats without changing a
 * value: no NaN among the floats, no integer past ±2^53 (read as a string
 * otherwise). One aggregate over the joined table.
 */
async function typedColumns(store: Store, table: string, candidates: ReadonlyArray<{ name: string; type: ColumnType }>): Promise<Set<string>> {
  const numeric = candidates.filter((c) => c.type === "float" || c.type === "int");
  if (numeric.length === 0) return new Set();
  const bad = numeric.map((c, i) =>
    c.type === "float"
      ? `count(*) FILTER (WHERE isnan(CAST(${ident(c.name)} AS DOUBLE)))::DOUBLE AS b${i}`
      : `count(*) FILTER (WHERE abs(CAST(${ident(c.name)} AS HUGEINT)) > 9007199254740991)::DOUBLE AS b${i}`,
  );
  const [r] = await store.all<Record<string, number>>(`SELECT ${bad.join(", ")} FROM ${ident(table)}`);
  return new Set(numeric.filter((_, i) => r[`b${i}`] === 0).map((c) => c.name));
}
