// A stream's state at start (StreamService.rebuild): from its checkpoint and
// the segment lines after it when the checkpoint fits, else from nothing —
// every row of src_<source> and every segment line, once each by `unique`, in
// event-time order. See docs/streaming.md, "Restarts and crashes".

import { basename, join } from "node:path";
import type { SourcePlan, SpecBundle, StreamRow } from "../api.ts";
import type { Store } from "../store/store.ts";
import { readSourceRows } from "./entity-events.ts";
import { keptLinesAfter, keptPositions, offlineFingerprint, readCheckpoint, specIdentity, type TypedStreamEvents } from "./checkpoint.ts";
import type { StreamEngine, StreamUpdate } from "./engine.ts";
import { readSegmentTail, segmentFiles, type SegmentLine, type SegmentPosition } from "./segments.ts";
import { onceEachInTime, pendLate, timeOf, type StreamSource } from "./stream-source.ts";
import { validateEvent } from "./validate.ts";

export interface RebuildReport {
  source: string;
  /** How the state was rebuilt: from the checkpoint and the events after it, or from nothing (`fallback`: why not from the checkpoint). */
  from: "checkpoint" | "history";
  fallback?: string;
  /** The fallback is only that there was no checkpoint yet (nothing to warn about). */
  fallbackMissing?: boolean;
  /** Rows read from src_<source> and events from the segments (before de-duplication). */
  offlineRows: number;
  segmentEvents: number;
  /** Segment lines that are not valid events any more (e.g. the spec changed): skipped. */
  invalidLines: number;
  applied: number;
  /** Group entities recomputed for late events (from the checkpoint: those pending). */
  corrected: number;
  ms: number;
}

/** The state from nothing: src_<source> and every segment line, once each by `unique`, in event-time order. */
export async function rebuildFromHistory(
  store: Store,
  s: StreamSource,
  engine: StreamEngine,
  typedEvents: TypedStreamEvents | undefined,
  onUpdate: (u: StreamUpdate) => void,
): Promise<RebuildReport> {
  const admission = s.admission;
  const t0 = performance.now();
  engine.clear(s.plan.name);
  admission.restore({ watermark: -Infinity, seen: [] });
  const offline = await readSourceRows(store, s.plan);
  const fingerprint = await offlineFingerprint(store, s.plan, typedEvents);
  const covered = new Map<string, SegmentPosition>();
  for (const [file, lines] of await keptPositions(store, s.plan.name)) covered.set(file, { lines, bytes: -1 });
  const lines: SegmentLine[] = [];
  for (const file of segmentFiles(s.writer.dir)) {
    const t = readSegmentTail(file, { lines: 0, bytes: 0 })!;
    lines.push(...t.lines);
    covered.set(basename(file), t.end);
  }
  const parsed = parseLines(s.plan, lines);
  const unique = onceEachInTime(s, [...offline, ...parsed.rows]);
  for (const r of unique) {
    for (const u of engine.apply(s.plan.name, r)) onUpdate(u);
    admission.classify(s.uniqueOf(r), timeOf(s.plan, r));
    admission.applied(timeOf(s.plan, r));
  }
  s.covered = covered;
  s.offline = fingerprint;
  s.late = new Map();
  s.events = unique.length;
  s.dirty = true;
  return { source: s.plan.name, from: "history", offlineRows: offline.length, segmentEvents: lines.length, invalidLines: parsed.invalid, applied: unique.length, corrected: 0, ms: Math.round(performance.now() - t0) };
}

/**
 * The state from the stream's checkpoint and the segment lines after it
 * (on disk, or kept in the store once the batch pipeline removed their
 * file), applied as they were when they arrived: new ones applied, resent
 * ones skipped, late ones (and those pending in the checkpoint) recomputed
 * per entity. Any reason the checkpoint does not fit — it is missing,
 * corrupt, of another spec, the offline store's own rows changed, a segment
 * it covers is shorter or gone — leaves the state untouched and is returned
 * as `fallback` (the caller rebuilds from nothing). `correctPending` recomputes
 * the entities of the late events pending then (StreamService's correction
 * runs: one at a time) and says how many.
 */
export async function resumeFromCheckpoint(
  store: Store,
  s: StreamSource,
  engine: StreamEngine,
  bundle: SpecBundle,
  typedEvents: TypedStreamEvents | undefined,
  correctPending: () => Promise<number>,
  onUpdate: (u: StreamUpdate) => void,
): Promise<RebuildReport | { fallback: string; fallbackMissing?: boolean }> {
  const t0 = performance.now();
  const source = s.plan.name;
  const cp = readCheckpoint(s.writer.dir, source, specIdentity(bundle));
  if (!cp.ok) return { fallback: cp.reason, fallbackMissing: cp.missing };
  const fingerprint = await offlineFingerprint(store, s.plan, typedEvents);
  if (fingerprint.rows !== cp.header.offline.rows || fingerprint.hash !== cp.header.offline.hash) {
    return { fallback: "the offline store's rows of the source changed otherwise than by the stream's own events since the checkpoint" };
  }
  const read = await readTail(store, source, s.writer.dir, new Map(Object.entries(cp.header.segments)));
  if ("fallback" in read) return read;
  const { tail, covered } = read;
  const parsed = parseLines(s.plan, tail);

  // From here on the checkpoint is used: the state is replaced (a failure: rebuilt from nothing by the caller).
  engine.clear(source);
  if (!engine.restore(source, cp.body.state)) return { fallback: "the checkpoint's groups are not the spec's" };
  s.admission.restore(cp.body.admission);
  s.late = new Map();
  for (const l of cp.body.late) s.late.set(`${l.group}\u0000${engine.entityKey(l.group, l.keys)}`, l);
  let applied = 0;
  for (const r of parsed.rows) {
    const id = s.uniqueOf(r);
    const kind = s.admission.classify(id, timeOf(s.plan, r));
    if (kind === "late") for (const x of engine.entitiesOf(source, r)) pendLate(engine, s, { ...x, eventMs: timeOf(s.plan, r) });
    if (kind !== "new") continue;
    engine.apply(source, r);
    s.admission.applied(timeOf(s.plan, r));
    applied++;
  }
  s.covered = covered;
  s.offline = fingerprint;
  s.events = cp.header.events + applied;
  s.dirty = applied > 0;
  let corrected = 0;
  try {
    if (s.late.size) corrected = await correctPending();
  } catch (e) {
    return { fallback: `the late events pending in the checkpoint could not be applied (${(e as Error).message})` };
  }
  for (const u of engine.rows(source)) onUpdate(u);
  return { source, from: "checkpoint", offlineRows: 0, segmentEvents: tail.length, invalidLines: parsed.invalid, applied, corrected, ms: Math.round(performance.now() - t0) };
}

/**
 * The segment lines after what a checkpoint covers (`covered`, updated to
 * cover them): the rest of the files on disk, and the kept lines of files the
 * batch pipeline removed, in the order they were written (file, then line).
 * A covered file that is shorter, or gone and not kept, is a fallback.
 */
async function readTail(store: Store, source: string, dir: string, covered: Map<string, SegmentPosition>): Promise<{ tail: SegmentLine[]; covered: Map<string, SegmentPosition> } | { fallback: string }> {
  const tail: SegmentLine[] = [];
  const onDisk = segmentFiles(dir);
  for (const file of onDisk) {
    const from = covered.get(basename(file));
    if (from && from.bytes < 0) return { fallback: `segment ${basename(file)} is back in the segment folder after it was removed` };
    const t = readSegmentTail(file, from ?? { lines: 0, bytes: 0 });
    if (!t) return { fallback: `segment ${basename(file)} is shorter than the checkpoint covers` };
    tail.push(...t.lines);
    covered.set(basename(file), t.end);
  }
  const diskNames = onDisk.map((f) => basename(f));
  const kept = await keptPositions(store, source);
  for (const [file, pos] of covered) {
    if (!diskNames.includes(file) && (kept.get(file) ?? 0) < pos.lines) return { fallback: `segment ${file} the checkpoint covers is neither in the segment folder nor kept in the store` };
  }
  for (const k of await keptLinesAfter(store, source, diskNames, new Map([...covered].map(([f, p]) => [f, p.lines])))) {
    tail.push({ file: join(dir, k.file), line: k.line, text: k.text });
    const at = covered.get(k.file);
    if (!at || at.lines < k.line) covered.set(k.file, { lines: k.line, bytes: -1 });
  }
  tail.sort((a, b) => (a.file === b.file ? a.line - b.line : basename(a.file) < basename(b.file) ? -1 : 1));
  return { tail, covered };
}

/** Segment lines as validated rows (a line that is not a valid event of the spec as it is now: counted, skipped). */
function parseLines(plan: SourcePlan, lines: readonly SegmentLine[]): { rows: StreamRow[]; invalid: number } {
  const rows: StreamRow[] = [];
  let invalid = 0;
  for (const l of lines) {
    let value: unknown;
    try {
      value = JSON.parse(l.text);
    } catch {
      invalid++;
      continue;
    }
    const v = validateEvent(plan, value, []);
    if ("issues" in v) invalid++;
    else rows.push(v.row);
  }
  return { rows, invalid };
}
