// A checkpoint's entity state as columnar frames (checkpoint.ts writes and
// reads them). v8.serialize of the entities as objects — every buffered row
// an object with its keys and an args array — was most of a checkpoint's CPU
// (and each of its slices held the event loop for it); the same rows as
// columns (times and numeric arguments in Float64Arrays, ids in one array)
// serialize several times faster and smaller. A frame holds at most a given
// number of rows, so an entity with more rows than that (a route shared by
// every athlete) is cut across frames instead of being one long slice.
//
// A frame: the heads of the entities that begin in it (everything but their
// rows, with `n` their row count and `latest` the index of their latest row
// among them when it is one), then the rows, in order: first the rest of the
// entity the previous frame ended in, then those of its heads, in order.
// Arguments that are not numbers are kept aside by flat index, exactly:
// nulls as a list of indexes, strings, booleans and Dates with their values.

import type { Scalar } from "../api.ts";
import type { EntitySnapshot } from "./engine.ts";
import type { BufferedRow, Value } from "./window-acc.ts";

interface EntityHead extends Omit<EntitySnapshot, "rows" | "latest"> {
  /** Its rows, in this frame and the ones after it. */
  n: number;
  /** Its latest row: the index among its rows when it is one of them (the same object after reading), else the row itself. */
  latest: number | BufferedRow | null;
}

export interface RowsFrame {
  e: EntityHead[];
  t: Float64Array;
  id: Scalar[];
  /** Arguments per row. */
  na: Uint32Array;
  /** The arguments, flat: numbers here; at the flat indexes in `nul` a null, at those in `xi` the value in `xv` (strings, booleans, Dates). */
  a: Float64Array;
  nul: Uint32Array;
  xi: Uint32Array;
  xv: Value[];
}

/** What a head costs of a frame's row budget: its latest row objects are serialized as objects. */
const HEAD_COST = 8;

/** Cuts a group's entities, read through `read` (SnapshotReader.next), into frames of at most a row budget each. */
export class FrameCutter {
  private cur: EntitySnapshot | null = null;
  private at = 0;
  private queue: EntitySnapshot[] = [];
  private queued = 0;
  /** Entities read so far (the snapshot's count when the last frame was cut). */
  entitiesRead = 0;

  constructor(private readonly read: (maxEntities: number, maxRows: number) => EntitySnapshot[]) {}

  /** The next frame of about `budget` rows (entities without rows count HEAD_COST each); null once every entity is in a frame. */
  next(budget: number): RowsFrame | null {
    const heads: EntityHead[] = [];
    const parts: Array<{ rows: BufferedRow[]; from: number; to: number }> = [];
    let left = Math.max(1, budget);
    let rows = 0;
    while (left > 0) {
      if (this.cur === null || this.at >= this.cur.rows.length) {
        const e = this.take(left);
        if (e === null) break;
        this.cur = e;
        this.at = 0;
        heads.push(headOf(e));
        left -= HEAD_COST;
        if (e.rows.length === 0) continue;
      }
      const k = Math.min(Math.max(1, left), this.cur.rows.length - this.at);
      parts.push({ rows: this.cur.rows, from: this.at, to: this.at + k });
      this.at += k;
      rows += k;
      left -= k;
    }
    if (heads.length === 0 && rows === 0) return null;
    return columns(heads, parts, rows);
  }

  /** The next entity (read ahead a few at a time, about `rows` rows' worth). */
  private take(rows: number): EntitySnapshot | null {
    if (this.queued >= this.queue.length) {
      this.queue = this.read(Math.max(1, Math.ceil(rows / HEAD_COST)), Math.max(1, rows));
      this.queued = 0;
      this.entitiesRead += this.queue.length;
      if (this.queue.length === 0) return null;
    }
    return this.queue[this.queued++];
  }
}

function headOf(e: EntitySnapshot): EntityHead {
  const at = e.latest === null ? -1 : e.rows.lastIndexOf(e.latest);
  return { key: e.key, keys: e.keys, latest: at >= 0 ? at : e.latest, latestRow: e.latestRow, n: e.rows.length, starts: e.starts, ewma: e.ewma };
}

function columns(heads: EntityHead[], parts: Array<{ rows: BufferedRow[]; from: number; to: number }>, n: number): RowsFrame {
  const t = new Float64Array(n);
  const id: Scalar[] = new Array(n);
  const na = new Uint32Array(n);
  let args = 0;
  for (const p of parts) for (let i = p.from; i < p.to; i++) args += p.rows[i].args.length;
  const a = new Float64Array(args);
  const nul: number[] = [];
  const xi: number[] = [];
  const xv: Value[] = [];
  let r = 0;
  let k = 0;
  for (const p of parts) {
    for (let i = p.from; i < p.to; i++, r++) {
      const row = p.rows[i];
      t[r] = row.t;
      id[r] = row.id;
      na[r] = row.args.length;
      for (const v of row.args) {
        if (typeof v === "number") a[k] = v;
        else if (v === null) nul.push(k);
        else {
          xi.push(k);
          xv.push(v);
        }
        k++;
      }
    }
  }
  return { e: heads, t, id, na, a, nul: Uint32Array.from(nul), xi: Uint32Array.from(xi), xv };
}

/** Puts a group's entities back together from its frames, in order; `done` checks the last one is whole. */
export class FrameAssembler {
  readonly entities: EntitySnapshot[] = [];
  private cur: { snap: EntitySnapshot; n: number; latest: EntityHead["latest"] } | null = null;

  add(f: RowsFrame): void {
    // Not-a-number arguments, in flat-index order: a cursor into each list.
    let ni = 0;
    let xi = 0;
    const argAt = (k: number): Value => {
      if (ni < f.nul.length && f.nul[ni] === k) return (ni++, null);
      if (xi < f.xi.length && f.xi[xi] === k) return f.xv[xi++];
      return f.a[k];
    };
    let r = 0;
    let k = 0;
    let h = 0;
    for (;;) {
      if (this.cur !== null && this.cur.snap.rows.length < this.cur.n) {
        if (r >= f.t.length) break;
        const take = Math.min(this.cur.n - this.cur.snap.rows.length, f.t.length - r);
        for (let i = 0; i < take; i++, r++) {
          const args: Value[] = new Array(f.na[r]);
          for (let j = 0; j < args.length; j++, k++) args[j] = argAt(k);
          this.cur.snap.rows.push({ t: f.t[r], id: f.id[r], args });
        }
        continue;
      }
      this.finish();
      if (h >= f.e.length) break;
      const head = f.e[h++];
      this.cur = { snap: { key: head.key, keys: head.keys, latest: null, latestRow: head.latestRow, rows: [], starts: head.starts, ewma: head.ewma }, n: head.n, latest: head.latest };
    }
    if (r !== f.t.length || k !== f.a.length) throw new Error("a frame holds rows of no entity");
    if (ni !== f.nul.length || xi !== f.xi.length) throw new Error("a frame's arguments do not match its rows");
  }

  /** The entities, once every frame was added (throws when the last one's rows were cut short). */
  done(): EntitySnapshot[] {
    this.finish();
    if (this.cur !== null) throw new Error(`entity ${this.cur.snap.key}: ${this.cur.snap.rows.length} of its ${this.cur.n} rows`);
    return this.entities;
  }

  private finish(): void {
    const c = this.cur;
    if (c === null || c.snap.rows.length < c.n) return;
    if (typeof c.latest === "number") {
      if (c.latest >= c.snap.rows.length) throw new Error(`entity ${c.snap.key}: its latest row is not among its rows`);
      c.snap.latest = c.snap.rows[c.latest];
    } else c.snap.latest = c.latest;
    this.entities.push(c.snap);
    this.cur = null;
  }
}
