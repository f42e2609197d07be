// The events of a few group entities in a stream's segments, read while
// events go on (for the correction of late events: service.ts
// `correctSource`). The files are read asynchronously, a chunk at a time, and
// each chunk's lines are parsed in slices of ~3 ms of the event loop; only the
// lines that may hold a target entity's event (a text test on their key
// values, when the groups' keys are source columns) are parsed at all, and
// only the target entities' events are kept. What was appended meanwhile is
// read afterwards: again asynchronously while there is much of it, the last
// few lines synchronously in the step that recomputes the entities (no event
// is applied between that read and the recompute, so none is missed or
// counted twice: a line counts once its append has resolved — the writer's
// `positions` —, and its event is applied in the same turn).

import { closeSync, existsSync, fstatSync, openSync, readSync } from "node:fs";
import { open } from "node:fs/promises";
import { basename, join } from "node:path";
import type { Scalar, SourcePlan, SpecBundle, StreamRow } from "../api.ts";
import type { StreamEngine } from "./engine.ts";
import { sourceKeyColumns } from "./entity-events.ts";
import { segmentFiles, type SegmentPosition } from "./segments.ts";
import { validateEvent } from "./validate.ts";

const CHUNK_BYTES = 1 << 20;
const SLICE_MS = 3;
/** More target entities than this: every line is parsed (the text test would cost more than it saves). */
const MAX_NEEDLE_ENTITIES = 256;

/** Per group, the entity keys (as the engine holds them) and their key values. */
export interface Targets {
  keys: Map<string, Set<string>>;
  values: Map<string, Scalar[][]>;
}

export interface ScannedRow {
  file: string;
  line: number;
  row: StreamRow;
}

/**
 * A cheap test a line must pass to hold an event of one of the targets: it
 * contains `"<column>":<value>` (as JSON writes it, as the segment line was
 * written) for each key column of some target entity. Null: no test (a key is
 * not a source column, or too many entities).
 */
function needlesOf(bundle: SpecBundle, targets: Targets): ((text: string) => boolean) | null {
  const sets: string[][] = [];
  for (const [group, list] of targets.values) {
    const plan = bundle.groups.find((g) => g.name === group);
    const cols = plan ? sourceKeyColumns(bundle, plan) : null;
    if (!cols) return null;
    for (const keys of list) {
      if (!keys.every((k) => k === null || ["string", "number", "boolean"].includes(typeof k))) return null;
      sets.push(cols.map((c, i) => `${JSON.stringify(c)}:${JSON.stringify(keys[i])}`));
    }
  }
  if (sets.length > MAX_NEEDLE_ENTITIES) return null;
  return (text) => sets.some((needles) => needles.every((n) => text.includes(n)));
}

/** Reads the target entities' events from a stream's segment files; `rows()` gives them in (file, line) order. */
export class SegmentScan {
  /** Per file (full path): how far it was read. */
  private readonly read = new Map<string, SegmentPosition>();
  /** Files of other processes read to their written end (their zeros are not read again). */
  private readonly ended = new Set<string>();
  private readonly kept: ScannedRow[] = [];
  private readonly mayHold: ((text: string) => boolean) | null;
  /** Lines read in all, and those parsed (they passed the text test). */
  linesRead = 0;
  linesParsed = 0;

  constructor(
    private readonly dir: string,
    private readonly plan: SourcePlan,
    bundle: SpecBundle,
    private readonly engine: StreamEngine,
    private readonly targets: Targets,
    /** The writer's own files (by name): how far their lines are applied. Other files are read to their last complete line. */
    private readonly own: ReadonlyMap<string, SegmentPosition>,
  ) {
    this.mayHold = needlesOf(bundle, targets);
  }

  /** Reads every file up to its written end as of now, asynchronously, in slices; returns the bytes read. */
  async catchUp(): Promise<number> {
    let bytes = 0;
    for (const file of segmentFiles(this.dir)) {
      if (this.ended.has(file)) continue;
      let fh;
      try {
        fh = await open(file, "r");
      } catch {
        continue; // removed meanwhile: `finish` tells whether lines were missed
      }
      try {
        const end = this.own.get(basename(file))?.bytes ?? (await fh.stat()).size;
        let carry = Buffer.alloc(0);
        for (let at = this.positionOf(file).bytes + carry.length; at < end; ) {
          const buf = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, end - at));
          const { bytesRead } = await fh.read(buf, 0, buf.length, at);
          if (bytesRead === 0) break;
          at += bytesRead;
          bytes += bytesRead;
          const text = carry.length ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
          const limit = this.limitOf(file, text);
          let from = 0;
          for (;;) {
            from = this.take(file, text, from, performance.now() + SLICE_MS, limit);
            const nl = text.indexOf(0x0a, from);
            if (nl < 0 || nl >= limit) break;
            await new Promise((r) => setImmediate(r));
          }
          carry = text.subarray(from);
          if (limit < text.length) break;
        }
      } finally {
        await fh.close();
      }
    }
    return bytes;
  }

  /**
   * The rest up to the ends, synchronously (call it in the turn that uses the
   * rows). False when one of the writer's files is gone with lines not read
   * (compacted meanwhile, their rows maybe not in what was read of the
   * offline store): the rows are not complete, try again.
   */
  finish(): boolean {
    for (const [name, end] of this.own) {
      const file = join(this.dir, name);
      if (end.bytes > (this.read.get(file)?.bytes ?? 0) && !existsSync(file)) return false;
    }
    for (const file of segmentFiles(this.dir)) {
      if (this.ended.has(file)) continue;
      const from = this.positionOf(file);
      let fd: number;
      try {
        fd = openSync(file, "r");
      } catch {
        return false;
      }
      try {
        const end = this.own.get(basename(file))?.bytes ?? fstatSync(fd).size;
        if (end <= from.bytes) continue;
        const buf = Buffer.allocUnsafe(end - from.bytes);
        const n = readSync(fd, buf, 0, buf.length, from.bytes);
        this.take(file, buf.subarray(0, n), 0, Infinity, this.limitOf(file, buf.subarray(0, n)));
      } finally {
        closeSync(fd);
      }
    }
    return true;
  }

  /**
   * Where the written bytes of `buf` end: at its first NUL (segments.ts
   * `writtenEnd`: a preallocated part's zeros, or a crash's hole). Another
   * process's file (not the writer's own: written no more) is read no
   * further once one is met.
   */
  private limitOf(file: string, buf: Buffer): number {
    const nul = buf.indexOf(0);
    if (nul < 0) return buf.length;
    if (!this.own.has(basename(file))) this.ended.add(file);
    return nul;
  }

  rows(): StreamRow[] {
    return this.kept.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1)).map((k) => k.row);
  }

  private positionOf(file: string): SegmentPosition {
    let pos = this.read.get(file);
    if (!pos) this.read.set(file, (pos = { lines: 0, bytes: 0 }));
    return pos;
  }

  /**
   * Takes the complete lines of `buf` (the bytes after the file's position)
   * from offset `from` until `deadline`, those ending before `limit`; returns where it stopped (a line's
   * start, or the incomplete end).
   */
  private take(file: string, buf: Buffer, from: number, deadline: number, limit: number): number {
    const pos = this.positionOf(file);
    let start = from;
    for (let nl = buf.indexOf(0x0a, start); nl >= 0 && nl < limit; nl = buf.indexOf(0x0a, start)) {
      pos.lines++;
      pos.bytes += nl + 1 - start;
      this.line(file, pos.lines, buf.toString("utf8", start, nl));
      start = nl + 1;
      if ((pos.lines & 63) === 0 && performance.now() > deadline) break;
    }
    return start;
  }

  /** One line: kept when it is a valid event of a target entity. */
  private line(file: string, line: number, text: string): void {
    this.linesRead++;
    if (text.trim() === "" || (this.mayHold && !this.mayHold(text))) return;
    this.linesParsed++;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return;
    }
    const v = validateEvent(this.plan, value, []);
    if ("issues" in v) return;
    const source = this.plan.name;
    const mine = this.engine.entitiesOf(source, v.row).some((x) => this.targets.keys.get(x.group)?.has(this.engine.entityKey(x.group, x.keys)));
    if (mine) this.kept.push({ file, line, row: v.row });
  }
}
