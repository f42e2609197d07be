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

import type { GroupPlan, Scalar, SpecBundle, StreamGroupPlan, StreamRow } from "../api.ts";
import { fin } from "../expr.ts";
import { groupShape, type GroupShape } from "./row-shape.ts";
import { after, type BufferedRow, type Value, windowAcc, type WindowAcc } from "./window-acc.ts";

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

interface Ewma {
  /** Σ w·x and Σ w, with weights relative to `anchor` (the latest row with a non-null x). */
  num: number;
  den: number;
  anchor: number;
}

/** One entity's state as stored in a checkpoint (GroupState.snapshot). */
export interface EntitySnapshot {
  key: string;
  keys: Scalar[];
  latest: BufferedRow | null;
  latestRow: StreamRow | null;
  rows: BufferedRow[];
  starts: number[];
  ewma: Ewma[];
}

/** The state of one stream source's groups, in dependency order (a checkpoint's body). */
export interface SourceSnapshot {
  groups: Array<{ name: string; entities: EntitySnapshot[] }>;
}

interface EntityState {
  /** Its key in `entities`. */
  key: string;
  keys: Scalar[];
  latest: BufferedRow | null;
  /** The latest row as enriched (its row features): what its online values are computed from. */
  latestRow: StreamRow | null;
  /** Rows within the longest frame of the latest row, ordered by (t, id), from index `head` (rows before it left: dropped in bulk). */
  rows: BufferedRow[];
  head: number;
  /** Per window (ewma: unused): the index in `rows` of its frame's first row, and its running aggregate. */
  starts: number[];
  accs: Array<WindowAcc | null>;
  ewma: Ewma[];
  /** The snapshot epoch it was last copied or read for (copy-on-write, `SnapshotReader`). */
  epoch: number;
}

/**
 * A snapshot of one group's entities as of when it was begun, read a few
 * entities at a time afterwards (a checkpoint serializes it over many turns
 * of the event loop while events go on). Copy-on-write: an entity about to be
 * changed before the reader reached it is copied first; one created since is
 * not in it; one dropped since (recompute, clear) is read as it was.
 */
export interface SnapshotReader {
  /** Entities in the snapshot. */
  readonly count: number;
  /** The next entities: up to `maxEntities`, or fewer once `maxRows` buffered rows are reached (at least one). Empty at the end. */
  next(maxEntities: number, maxRows: number): EntitySnapshot[];
  /** Ends the snapshot (changes copy nothing any more). */
  end(): void;
}

/** An entity's state as plain data: its rows' array copied (the row objects themselves are never changed). */
function entitySnapshot(e: EntityState): EntitySnapshot {
  return { key: e.key, keys: e.keys, latest: e.latest, latestRow: e.latestRow, rows: e.rows.slice(e.head), starts: e.starts.map((s) => s - e.head), ewma: e.ewma.map((x) => ({ ...x })) };
}

const NO_ARGS: Value[] = [];
/** What a dropped row's slot holds until the array is cut (the row itself is let go). */
const DROPPED: BufferedRow = { t: -Infinity, id: null, args: NO_ARGS };


/** One group's incremental state. */
class GroupState {
  readonly entities = new Map<string, EntityState>();
  private readonly longestMs: number;
  private readonly ewmaIdx: number[];
  /** Window lengths in ms (ewma: its time constant). */
  private readonly lengths: number[];
  /** The group's row objects; built from the first input row's columns when the input's are not known. */
  private shape: GroupShape | null;
  /** Snapshots begun so far, and the one being read: its entities copied before a change (by entity). */
  private epochs = 0;
  private cow: { epoch: number; saved: Map<EntityState, EntitySnapshot> } | null = null;

  constructor(
    readonly plan: GroupPlan,
    readonly sp: StreamGroupPlan,
    private readonly inputColumns: string[] | null,
  ) {
    this.longestMs = Math.max(0, ...sp.windows.filter((w) => w.agg !== "ewma").map((w) => w.windowMs));
    this.ewmaIdx = sp.windows.flatMap((w, i) => (w.agg === "ewma" ? [i] : []));
    this.lengths = sp.windows.map((w) => w.windowMs);
    this.shape = inputColumns ? groupShape(inputColumns, plan, sp) : null;
  }

  private shapeFor(input: StreamRow): GroupShape {
    return (this.shape ??= groupShape(Object.keys(input), this.plan, this.sp));
  }

  get windowed(): boolean {
    return this.sp.windows.length > 0;
  }

  /** The input row with the group's row features; null when `where` keeps it out. */
  enrich(input: StreamRow): StreamRow | null {
    if (this.sp.where && this.sp.where(input) !== true) return null;
    return this.shapeFor(input).enrich(input);
  }

  /** The row as the group's table has it (keys named by the entity, event_time, row id, features): what a group over this one reads. */
  outputRow(row: StreamRow): StreamRow {
    return this.shapeFor(row).output(row);
  }

  /** The entity's key values of an enriched row (null: a null key, which joins nothing). */
  keysOf(row: StreamRow): Scalar[] | null {
    const keys = this.shapeFor(row).keys(row);
    return keys.includes(null) ? null : keys;
  }

  private entity(row: StreamRow): EntityState | null {
    const shape = this.shapeFor(row);
    const key = shape.entityKey(row);
    if (key === null) return null; // as in SQL: a null key joins nothing (the source's schema refuses it anyway)
    const found = this.entities.get(key);
    if (found) {
      // About to change: a snapshot being read that has not read it yet gets it as it is now.
      if (this.cow !== null && found.epoch !== this.cow.epoch) {
        this.cow.saved.set(found, entitySnapshot(found));
        found.epoch = this.cow.epoch;
      }
      return found;
    }
    const keys = shape.keys(row);
    const e: EntityState = {
      key,
      keys,
      latest: null,
      latestRow: null,
      rows: [],
      head: 0,
      starts: this.sp.windows.map(() => 0),
      accs: this.sp.windows.map((w, i) => (w.agg === "ewma" ? null : windowAcc(w.agg, i))),
      ewma: this.ewmaIdx.map(() => ({ num: 0, den: 0, anchor: -Infinity })),
      epoch: this.epochs,
    };
    this.entities.set(key, e);
    return e;
  }

  /**
   * The entities' state as plain data (a checkpoint's body: checkpoint.ts),
   * as of now, read afterwards (SnapshotReader): per entity its keys, latest
   * row, the rows of its longest frame, each window's frame start and the
   * ewma sums. The window aggregates are not stored: they are functions of
   * their frame's rows (exact sums, the min/max deque), rebuilt from them by
   * `restore`. Taking it costs one array of references; one at a time.
   */
  beginSnapshot(): SnapshotReader {
    const cow = { epoch: ++this.epochs, saved: new Map<EntityState, EntitySnapshot>() };
    this.cow = cow;
    const list = Array.from(this.entities.values());
    let i = 0;
    return {
      count: list.length,
      next: (maxEntities, maxRows) => {
        const out: EntitySnapshot[] = [];
        let rows = 0;
        while (i < list.length && out.length < maxEntities) {
          const e = list[i];
          let snap = cow.saved.get(e);
          const size = snap ? snap.rows.length : e.rows.length - e.head;
          if (rows > 0 && rows + size > maxRows) break;
          if (snap) cow.saved.delete(e);
          else if (this.cow === cow) {
            snap = entitySnapshot(e);
            e.epoch = cow.epoch; // read: a later change copies nothing for this snapshot
          } else snap = entitySnapshot(e); // ended early: nothing changes entities for it any more (only tests read on)
          out.push(snap);
          rows += size;
          i++;
        }
        return out;
      },
      end: () => {
        if (this.cow === cow) this.cow = null;
      },
    };
  }

  /** Puts snapshotted entities back (replacing any of the same key); each window's aggregate re-entered from its frame's rows. */
  restore(snaps: readonly EntitySnapshot[]): void {
    for (const x of snaps) {
      const accs = this.sp.windows.map((w, i) => (w.agg === "ewma" ? null : windowAcc(w.agg, i)));
      accs.forEach((acc, wi) => {
        for (let k = x.starts[wi]; acc && k < x.rows.length; k++) acc.enter(x.rows[k]);
      });
      this.entities.set(x.key, { key: x.key, keys: x.keys, latest: x.latest, latestRow: x.latestRow, rows: x.rows, head: 0, starts: x.starts, accs, ewma: x.ewma, epoch: this.epochs });
    }
  }

  /** The key `entities` holds an entity under, from its key values (as the row shape's entityKey makes it). */
  keyOf(keys: readonly Scalar[]): string {
    return keys.length === 1 ? String(keys[0]) : JSON.stringify(keys);
  }

  /** Every entity's online row (after a restore). */
  *rows(): Iterable<StreamUpdate> {
    for (const e of this.entities.values()) if (e.latest) yield this.latestRow(e);
  }

  /** The entity key of an enriched row (null: a null key). */
  entityKeyOf(row: StreamRow): string | null {
    return this.shapeFor(row).entityKey(row);
  }

  /** Applies an enriched row; returns the entity's online row when it changed. */
  apply(row: StreamRow): StreamUpdate | null {
    const e = this.entity(row);
    if (!e) return null;
    const shape = this.shapeFor(row);
    const t = shape.time(row);
    const id = shape.rowId(row);
    const ws = this.sp.windows;
    const args: Value[] = ws.length ? new Array(ws.length) : NO_ARGS;
    for (let i = 0; i < ws.length; i++) {
      const f = ws[i].arg;
      args[i] = f ? f(row) : 1;
    }
    const r: BufferedRow = { t, id, args };
    const newLatest = e.latest === null || after(r, e.latest);
    if (newLatest) {
      e.latest = r;
      e.latestRow = row;
      this.advanceFrames(e, t);
    }
    if (this.ewmaIdx.length) this.addEwma(e, r);
    const T = e.latest!.t;
    const inLongest = this.longestMs > 0 && r.t > T - this.longestMs;
    if (inLongest) this.insert(e, r, T);
    if (newLatest) this.evict(e, T - this.longestMs);
    // Only the latest row is served: an older row changes it only through the windows.
    if (!newLatest && (!this.windowed || (!inLongest && this.ewmaIdx.length === 0))) return null;
    return this.latestRow(e);
  }

  /** The latest time moved to T: each window's rows at or before T − w leave its frame. */
  private advanceFrames(e: EntityState, T: number): void {
    const rows = e.rows;
    for (let wi = 0; wi < e.accs.length; wi++) {
      const acc = e.accs[wi];
      if (!acc) continue;
      const cutoff = T - this.lengths[wi];
      let k = e.starts[wi];
      while (k < rows.length && rows[k].t <= cutoff) acc.leave(rows[k++]);
      e.starts[wi] = k;
    }
  }

  /** Inserts `r` in (t, id) order (usually at the end) and into the frames that hold it. */
  private insert(e: EntityState, r: BufferedRow, T: number): void {
    const rows = e.rows;
    let i = rows.length;
    while (i > e.head && after(rows[i - 1], r)) i--;
    if (i === rows.length) rows.push(r);
    else rows.splice(i, 0, r);
    for (let wi = 0; wi < e.accs.length; wi++) {
      const acc = e.accs[wi];
      if (!acc) continue;
      // Older than the frame: it lands before the frame's first row.
      if (r.t <= T - this.lengths[wi]) e.starts[wi]++;
      else acc.enter(r);
    }
  }

  /** Drops the rows at or before `cutoff` (out of every frame of the latest row): past `head`, cut off once they are half the array. */
  private evict(e: EntityState, cutoff: number): void {
    const rows = e.rows;
    let h = e.head;
    while (h < rows.length && rows[h].t <= cutoff) rows[h++] = DROPPED;
    e.head = h;
    if (h < 32 || h * 2 < rows.length) return;
    rows.splice(0, h);
    e.head = 0;
    for (let wi = 0; wi < e.starts.length; wi++) if (e.accs[wi]) e.starts[wi] -= h;
  }

  private addEwma(e: EntityState, r: BufferedRow): void {
    this.ewmaIdx.forEach((wi, j) => {
      const x = r.args[wi];
      if (x === null || typeof x !== "number") return;
      const s = e.ewma[j];
      const tau = this.lengths[wi];
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
    const ws = this.sp.windows;
    const w: Value[] = new Array(ws.length);
    let ewmaJ = 0;
    for (let wi = 0; wi < ws.length; wi++) {
      const acc = e.accs[wi];
      if (acc) w[wi] = acc.value(e.rows, e.starts[wi]);
      else {
        const s = e.ewma[ewmaJ++];
        w[wi] = s.den > 0 ? fin(s.num / s.den) : null;
      }
    }
    const values = this.shapeFor(e.latestRow!).values(e.latestRow!, w);
    return { group: this.plan.name, keys: e.keys, eventMs: latest.t, rowId: latest.id, values };
  }
}

/** The groups over each stream source, in dependency order, and their state. */
export class StreamEngine {
  private readonly bySource = new Map<string, GroupState[]>();
  private readonly groups = new Map<string, GroupState>();
  /** Per group: the position (in its source's list) of the group it reads, -1 for the source. */
  private readonly inputAt = new Map<GroupState, number>();
  /** Groups another group reads (their rows are handed on as their table has them). */
  private readonly read = new Set<string>();
  /** Per source, the groups' table rows of the event being applied (reused: apply is synchronous). */
  private readonly scratch = new Map<string, Array<StreamRow | null>>();

  constructor(bundle: SpecBundle) {
    for (const plan of bundle.groups) {
      if (!plan.stream) continue;
      const g = new GroupState(plan, plan.stream, inputColumnsOf(bundle, plan));
      this.groups.set(plan.name, g);
      const list = this.bySource.get(plan.stream.source) ?? [];
      this.inputAt.set(g, plan.input.kind === "source" ? -1 : list.findIndex((x) => x.plan.name === plan.input.name));
      if (plan.input.kind === "group") this.read.add(plan.input.name);
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
    this.walk(source, event, (g, row) => {
      const u = g.apply(row);
      if (u) out.push(u);
    });
    return out;
  }

  /** Each group over `source` with the event's row as it sees it (enriched, past its `where`), in dependency order. */
  private walk(source: string, event: StreamRow, visit: (g: GroupState, row: StreamRow) => void): void {
    const groups = this.bySource.get(source);
    if (!groups) return;
    // Each group's row as its table has it, for the groups over it (only row groups are read: FTI4050).
    let outputs = this.scratch.get(source);
    if (!outputs) this.scratch.set(source, (outputs = new Array<StreamRow | null>(groups.length)));
    outputs.fill(null);
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i];
      const at = this.inputAt.get(g)!;
      const input = at < 0 ? event : outputs[at];
      const row = input ? g.enrich(input) : null;
      if (!row) continue;
      if (!g.windowed && this.read.has(g.plan.name)) outputs[i] = g.outputRow(row);
      visit(g, row);
    }
  }

  /** The state of the groups over `source` as of now, each read afterwards (a checkpoint's body: checkpoint.ts). */
  beginSnapshot(source: string): Array<{ name: string; reader: SnapshotReader }> {
    return (this.bySource.get(source) ?? []).map((g) => ({ name: g.plan.name, reader: g.beginSnapshot() }));
  }

  /** The state of the groups over `source`, read at once. */
  snapshot(source: string): SourceSnapshot {
    return {
      groups: this.beginSnapshot(source).map(({ name, reader }) => {
        const entities: EntitySnapshot[] = [];
        for (let part = reader.next(Infinity, Infinity); part.length; part = reader.next(Infinity, Infinity)) entities.push(...part);
        reader.end();
        return { name, entities };
      }),
    };
  }

  /**
   * Puts a snapshot of `source`'s groups back; false (and nothing restored)
   * when its groups are not this engine's (a spec changed: the caller rebuilds).
   */
  restore(source: string, snap: SourceSnapshot): boolean {
    const groups = this.bySource.get(source) ?? [];
    if (snap.groups.length !== groups.length || snap.groups.some((x, i) => x.name !== groups[i].plan.name)) return false;
    groups.forEach((g, i) => g.restore(snap.groups[i].entities));
    return true;
  }

  /** Forgets the state of `source`'s groups (before a rebuild from nothing). */
  clear(source: string): void {
    for (const g of this.bySource.get(source) ?? []) g.entities.clear();
  }

  /** Every entity's online row of `source`'s groups. */
  *rows(source: string): Iterable<StreamUpdate> {
    for (const g of this.bySource.get(source) ?? []) yield* g.rows();
  }

  /**
   * Recomputes the named entities only (per group, their entity keys as
   * `entityKeyOf` gives them) from nothing: their state is dropped, then each
   * row of `rows` (every event they have, once each, in any order) is applied
   * to them alone. Returns their online rows: the values a rebuild of the
   * whole state would give them. The other entities are not touched.
   */
  recompute(source: string, targets: ReadonlyMap<string, ReadonlySet<string>>, rows: readonly StreamRow[]): StreamUpdate[] {
    for (const g of this.bySource.get(source) ?? []) for (const k of targets.get(g.plan.name) ?? []) g.entities.delete(k);
    for (const r of rows) {
      this.walk(source, r, (g, row) => {
        const want = targets.get(g.plan.name);
        if (!want) return;
        const k = g.entityKeyOf(row);
        if (k !== null && want.has(k)) g.apply(row);
      });
    }
    const out: StreamUpdate[] = [];
    for (const g of this.bySource.get(source) ?? []) {
      for (const k of targets.get(g.plan.name) ?? []) {
        const e = g.entities.get(k);
        if (e?.latest) out.push(g.latestRow(e));
      }
    }
    return out;
  }

  /** The key a group holds an entity under, from its key values. */
  entityKey(group: string, keys: readonly Scalar[]): string {
    return this.groups.get(group)!.keyOf(keys);
  }

  /**
   * The group entities `event` belongs to (after each group's `where`), with
   * no state changed: whose online rows an event that is not applied leaves behind.
   */
  entitiesOf(source: string, event: StreamRow): Array<{ group: string; keys: Scalar[] }> {
    const out: Array<{ group: string; keys: Scalar[] }> = [];
    this.walk(source, event, (g, row) => {
      const keys = g.keysOf(row);
      if (keys) out.push({ group: g.plan.name, keys });
    });
    return out;
  }

  /** Entities and buffered rows per group (the state the windows need). */
  stats(): Array<{ group: string; entities: number; rows: number }> {
    return [...this.groups.values()].map((g) => {
      let rows = 0;
      for (const e of g.entities.values()) rows += e.rows.length - e.head;
      return { group: g.plan.name, entities: g.entities.size, rows };
    });
  }
}

/** The columns of a group's input rows: its source's fields, or its input group's table columns (null when the bundle does not say). */
function inputColumnsOf(bundle: SpecBundle, plan: GroupPlan): string[] | null {
  if (plan.input.kind === "source") {
    const src = bundle.sources?.find((s) => s.name === plan.input.name);
    return src ? src.fields.map((f) => f.name) : null;
  }
  const g = bundle.groups.find((x) => x.name === plan.input.name);
  if (!g) return null;
  return [...g.keys.map((k) => k.name), "event_time", ...(g.rowId ? [g.rowId.name] : []), ...g.features.map((f) => f.name)];
}
