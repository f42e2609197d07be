// A stream source's checkpoint: its state (admission and the groups' entity
// state) as of a position in its segments, so a restart reads that and
// replays only the events after it instead of the source's whole history
// (docs/streaming.md, "Restarts and crashes").
//
// Two files take turns, `<segment dir>/checkpoint.a` and `checkpoint.b`: each
// checkpoint overwrites the older one IN PLACE, body first (synced), header
// last, so the newer one stays whole while the other is written, and a restart
// uses the newest whole one (`seq`). In place, not a new file renamed over the
// old: freeing the old file's tens of MB (a discard on this disk) and
// allocating new blocks are journal commits that every O_DSYNC segment append
// waits behind (docs/benchmarks.md, "Eighth session: fresh": the appends'
// tail beside checkpoints written either way). Overwriting blocks the file
// already has changes no metadata. A `checkpoint` file of an earlier fti
// is read as well (seq 0) and removed once a newer one is written.
// Each file is a header line (JSON: what
// it is valid for) and a body (the state, v8-serialized in slices of entities
// so the event loop is let go between them: Dates, -Infinity and shared row
// objects survive exactly) whose length and SHA-256 the header
// holds. Anything that does not match — another version or spec, a short or
// altered body, an offline store whose rows changed otherwise than by the
// stream — is a reason to rebuild from nothing, never a state used anyway.

import { createHash } from "node:crypto";
import { closeSync, constants, existsSync, openSync, readFileSync, readSync } from "node:fs";
import { mkdir, open, readdir, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { deserialize, serialize } from "node:v8";
import type { SourcePlan, SpecBundle } from "../api.ts";
import type { Store } from "../store/store.ts";
import { ident, sqlString } from "../store/sql.ts";
import type { AdmissionSnapshot } from "./admission.ts";
import { FrameAssembler, FrameCutter, type RowsFrame } from "./checkpoint-frames.ts";
import type { EntitySnapshot, SnapshotReader, SourceSnapshot } from "./engine.ts";
import type { SegmentPosition } from "./segments.ts";
import { streamUniqueFields } from "./unique-field.ts";

const MAGIC = "fti-stream-checkpoint";
export const CHECKPOINT_VERSION = 4;
/** Versions this fti reads: 3 wrote a group's entities as objects (checkpoint-frames.ts). */
const READABLE_VERSIONS = [3, CHECKPOINT_VERSION];
export const STREAM_EVENTS_TABLE = "fti_stream_events";

/** What a checkpoint is valid for and what it covers. */
export interface CheckpointHeader {
  magic: typeof MAGIC;
  version: number;
  source: string;
  /** The spec and its generated transforms: another spec, another state. */
  spec: string;
  /** The offline store's rows of the source that did not come from the stream (offlineFingerprint). */
  offline: OfflineFingerprint;
  /** Per segment file (by name): the lines the state includes, all of them stored before it was taken; bytes -1: a file already removed (kept in the store). */
  segments: Record<string, SegmentPosition>;
  /** Events applied to the state, in all. */
  events: number;
  writtenAt: string;
  /** Which of the two files is newer: one more than the last one written (absent: a `checkpoint` file of an earlier fti, 0). */
  seq?: number;
  body: { bytes: number; sha256: string };
}

/** A late event's group entity, stored but not applied yet (corrected at load). */
export interface PendingLate {
  group: string;
  keys: Array<string | number | boolean | null>;
  eventMs: number;
}

export interface CheckpointBody {
  admission: AdmissionSnapshot;
  state: SourceSnapshot;
  late: PendingLate[];
}

export interface OfflineFingerprint {
  rows: number;
  hash: string;
}

const LEGACY_FILE = "checkpoint";
const SLOT_FILES = ["checkpoint.a", "checkpoint.b"];

/** The checkpoint files of a stream folder that exist, the newest first (by their header's `seq`; unreadable headers last). */
export function checkpointFiles(dir: string): string[] {
  const found = [LEGACY_FILE, ...SLOT_FILES].map((n) => join(dir, n)).filter((f) => existsSync(f));
  const seq = new Map(found.map((f) => [f, seqOf(headerOf(f))]));
  return found.sort((a, b) => seq.get(b)! - seq.get(a)!);
}

/** A header's place in the order of checkpoints: its seq (an earlier fti's: 0); not a checkpoint's header: -1. */
const seqOf = (h: Partial<CheckpointHeader> | null): number => (h?.magic !== MAGIC ? -1 : typeof h.seq === "number" ? h.seq : 0);

/** A checkpoint file's header line, parsed (null: unreadable or not there); reads the file up to its first newline only. */
function headerOf(file: string): Partial<CheckpointHeader> | null {
  let fd: number | null = null;
  try {
    fd = openSync(file, "r");
    const parts: Buffer[] = [];
    for (let at = 0; ; ) {
      const buf = Buffer.alloc(64 * 1024);
      const n = readSync(fd, buf, 0, buf.length, at);
      if (n === 0) return null;
      const nl = buf.subarray(0, n).indexOf(0x0a);
      parts.push(buf.subarray(0, nl < 0 ? n : nl));
      if (nl >= 0) break;
      at += n;
    }
    const h = JSON.parse(Buffer.concat(parts).toString("utf8")) as Partial<CheckpointHeader>;
    return h && typeof h === "object" ? h : null;
  } catch {
    return null;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** The spec identity a checkpoint is bound to. */
export const specIdentity = (bundle: SpecBundle) => `${bundle.specHash}:${bundle.transformsHash}`;

/**
 * The state to write, taken at once and read afterwards a slice at a time
 * (copy-on-write: engine.ts `SnapshotReader`, admission.ts `beginSnapshot`),
 * so the event loop goes on between slices while the state stays as of when
 * it was taken.
 */
export interface BodyReader {
  watermark: number;
  late: PendingLate[];
  /** The next unique values of admission (at most `max`); empty once all are read. */
  seen(max: number): Array<[string, number]>;
  groups: Array<{ name: string; reader: SnapshotReader }>;
  /** Ends the readers (also when the write failed half-way). */
  end(): void;
}

/** A body already in memory as a reader (tests, and what `readCheckpoint` returns, written again). */
export function bodyReader(body: CheckpointBody): BodyReader {
  let seenAt = 0;
  return {
    watermark: body.admission.watermark,
    late: body.late,
    seen: (max) => body.admission.seen.slice(seenAt, (seenAt = Math.min(body.admission.seen.length, seenAt + max))),
    groups: body.state.groups.map((g) => {
      let at = 0;
      const next = (maxEntities: number, maxRows: number): EntitySnapshot[] => {
        const from = at;
        let rows = 0;
        while (at < g.entities.length && at - from < maxEntities && (rows === 0 || rows + g.entities[at].rows.length <= maxRows)) rows += g.entities[at++].rows.length;
        return g.entities.slice(from, at);
      };
      return { name: g.name, reader: { count: g.entities.length, next, end: () => undefined } };
    }),
    end: () => undefined,
  };
}

/**
 * Per serialized slice, at most: admission's unique values, a group's rows
 * (an entity without rows counts as a few: checkpoint-frames.ts) — each scaled
 * by its own `SliceScale` so a slice takes about SLICE_TARGET_MS: a fixed
 * count took 11 ms on a quiet host and ten times that on a busy one, and every
 * events request arriving meanwhile waits for the slice. One scale per kind of
 * slice: unique values are cheap per item, rows are not (one scale for both
 * made the first slice of rows after the unique values tens of ms long).
 */
const SLICE_ROWS = 2_000;
const SLICE_SEEN = 5_000;
// 1 ms, not 3: an events request waits for the slice in progress, and again for one when its append
// completes; the CPU per checkpoint did not measurably change (docs/benchmarks.md, "Ninth session: disk").
const SLICE_TARGET_MS = 1;

/** The share of the slice sizes above the next slice reads: halved or grown after each by how long it took against the target. */
export class SliceScale {
  constructor(
    public value = 0.25,
    private readonly min = 0.02,
    private readonly max = 4,
  ) {}

  of(n: number): number {
    return Math.max(1, Math.round(n * this.value));
  }

  took(ms: number): void {
    const f = ms > 0 ? SLICE_TARGET_MS / ms : 2;
    this.value = Math.min(this.max, Math.max(this.min, this.value * Math.min(2, Math.max(0.5, f))));
  }
}

/**
 * Writes the body as frames (a 4-byte length, then v8 bytes) through
 * `write`: first the watermark, the late events and each group's entity
 * count; then admission's unique values in slices (`{ k, t }`: their keys
 * and times), ended by an empty one; then each group's entities as columnar
 * frames of rows (checkpoint-frames.ts), as many as it takes. Each slice is
 * read and serialized in its own turn of the event loop and hashed there; the
 * frames go to `write` in groups of about FLUSH_EVERY bytes (so the body is
 * never held whole). Returns its length, hash and the longest time one turn took.
 */
async function writeBody(body: BodyReader, write: (frames: Buffer[]) => Promise<void>): Promise<{ bytes: number; sha256: string; longestMs: number }> {
  let group: Buffer[] = [];
  let grouped = 0;
  // Hashed frame by frame, in the same turns: one hash (or concatenation) of a body of tens of MB would hold the loop.
  const hash = createHash("sha256");
  let total = 0;
  let longestMs = 0;
  const frame = async (scale: SliceScale | null, value: () => unknown): Promise<unknown> => {
    await new Promise((r) => setImmediate(r));
    const t0 = performance.now();
    const v = value();
    const bytes = serialize(v);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(bytes.length);
    group.push(len, bytes);
    hash.update(len).update(bytes);
    grouped += len.length + bytes.length;
    const ms = performance.now() - t0;
    scale?.took(ms);
    longestMs = Math.max(longestMs, ms);
    if (grouped >= FLUSH_EVERY) await flush();
    return v;
  };
  const flush = async () => {
    const g = group;
    total += grouped;
    group = [];
    grouped = 0;
    if (g.length) await write(g);
  };
  await frame(null, () => ({ watermark: body.watermark, late: body.late, groups: body.groups.map((g) => ({ name: g.name, count: g.reader.count })) }));
  const seenScale = new SliceScale();
  for (;;) {
    const part = (await frame(seenScale, () => seenFrame(body.seen(seenScale.of(SLICE_SEEN))))) as { k: string[] };
    if (part.k.length === 0) break;
  }
  for (const g of body.groups) {
    const scale = new SliceScale();
    const cutter = new FrameCutter((e, r) => g.reader.next(e, r));
    while ((await frame(scale, () => cutter.next(scale.of(SLICE_ROWS)) ?? END_OF_GROUP)) !== END_OF_GROUP);
    if (cutter.entitiesRead !== g.reader.count) throw new Error(`group ${g.name}: its snapshot ended after ${cutter.entitiesRead} of ${g.reader.count} entities`);
  }
  await flush();
  return { bytes: total, sha256: hash.digest("hex"), longestMs };
}

/** The frame that ends a group's frames. */
const END_OF_GROUP = null;

/** Unique values as two arrays (fewer objects to serialize and to read back than one pair each). */
function seenFrame(seen: ReadonlyArray<[string, number]>): { k: string[]; t: number[] } {
  return { k: seen.map((x) => x[0]), t: seen.map((x) => x[1]) };
}

/** Bytes written between two flushes of the temp file: a flush of the whole body at once stalls the segments' own fsyncs on the same disk. */
const FLUSH_EVERY = 1 << 20;

/** The body back from its frames (throws on anything malformed: the caller's fallback); `version`: the header's (3: a group's frames are arrays of entities). */
function deserializeBody(buf: Buffer, version: number): CheckpointBody {
  let at = 0;
  const next = (): unknown => {
    if (at + 4 > buf.length) throw new Error("a frame is cut short");
    const len = buf.readUInt32LE(at);
    if (at + 4 + len > buf.length) throw new Error("a frame is cut short");
    const v = deserialize(buf.subarray(at + 4, at + 4 + len));
    at += 4 + len;
    return v;
  };
  const head = next() as { watermark: number; late: PendingLate[]; groups: Array<{ name: string; count: number }> };
  const seen: Array<[string, number]> = [];
  for (let part = next() as { k: string[]; t: number[] }; part.k.length; part = next() as { k: string[]; t: number[] }) part.k.forEach((k, i) => seen.push([k, part.t[i]]));
  const groups = head.groups.map((g) => {
    const entities = version === 3 ? entitiesV3(next, g.count) : entitiesOf(next);
    if (entities.length !== g.count) throw new Error(`group ${g.name}: ${entities.length} entities, ${g.count} expected`);
    return { name: g.name, entities };
  });
  if (at !== buf.length) throw new Error("bytes after the last frame");
  return { admission: { watermark: head.watermark, seen }, late: head.late, state: { groups } };
}

/** A group's entities from its columnar frames, up to the frame that ends them. */
function entitiesOf(next: () => unknown): EntitySnapshot[] {
  const assembler = new FrameAssembler();
  for (let f = next() as RowsFrame | null; f !== END_OF_GROUP; f = next() as RowsFrame | null) assembler.add(f);
  return assembler.done();
}

/** A group's entities as version 3 wrote them: arrays of whole entities, `count` in all. */
function entitiesV3(next: () => unknown, count: number): EntitySnapshot[] {
  const entities: EntitySnapshot[] = [];
  while (entities.length < count) for (const e of next() as EntitySnapshot[]) entities.push(e);
  return entities;
}

/**
 * Writes the checkpoint into the older of the two files, in place (see the
 * top of this file): the body first, as it is serialized, after room for the
 * header line, synced; then the file cut to its length and the header (which
 * holds the body's length and hash, and `seq`) written into that room, padded
 * with spaces, and synced. Until then the file is not a whole checkpoint (its
 * old header does not match the new body) and the other one is the newest.
 * Returns its size and the longest time it held the event loop (one slice).
 */
export async function writeCheckpoint(dir: string, header: Omit<CheckpointHeader, "magic" | "version" | "body" | "seq">, body: BodyReader): Promise<{ bytes: number; serializeMs: number; file: string }> {
  await mkdir(dir, { recursive: true });
  // Temp files of the earlier rename-based writer, left by a kill while writing (only the stream's writer writes here).
  for (const n of await readdir(dir)) if (/^checkpoint\.\d+\.tmp$/.test(n)) await rm(join(dir, n), { force: true });
  const { file, seq } = nextSlot(dir);
  const headerLine = (b: CheckpointHeader["body"], n: number) => JSON.stringify({ magic: MAGIC, version: CHECKPOINT_VERSION, ...header, seq: n, body: b } satisfies CheckpointHeader);
  // The widest the header can be: the longest length a file can have, a hash's 64 hex digits, the largest seq.
  const room = Buffer.byteLength(headerLine({ bytes: Number.MAX_SAFE_INTEGER, sha256: "f".repeat(64) }, Number.MAX_SAFE_INTEGER)) + 1;
  const created = !existsSync(file);
  let written: Awaited<ReturnType<typeof writeBody>>;
  // Not "w": that would free the file's blocks (what writing in place avoids).
  const fh = await open(file, constants.O_RDWR | constants.O_CREAT, 0o644);
  try {
    let at = room;
    try {
      written = await writeBody(body, async (frames) => {
        const { bytesWritten } = await fh.writev(frames, at);
        const size = frames.reduce((n, f) => n + f.length, 0);
        if (bytesWritten !== size) throw new Error(`a short write (${bytesWritten} of ${size} bytes)`);
        at += size;
        await fh.datasync();
      });
    } finally {
      body.end();
    }
    await fh.truncate(at);
    await fh.datasync();
    const line = headerLine({ bytes: written.bytes, sha256: written.sha256 }, seq);
    await fh.write(Buffer.from(line + " ".repeat(room - 1 - Buffer.byteLength(line)) + "\n", "utf8"), 0, room, 0);
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (created) await syncFolder(dir);
  inUse.set(dir, file);
  // An earlier fti's checkpoint is older than this one now.
  await rm(join(dir, LEGACY_FILE), { force: true });
  return { bytes: room + written.bytes, serializeMs: written.longestMs, file };
}

/**
 * Per folder, the checkpoint file known whole and newest in this process (the
 * last one written, or the one a restart read): the next write never overwrites it.
 */
const inUse = new Map<string, string>();

/** The file the next checkpoint overwrites (not the newest whole one: known here, else the older by seq) and its `seq`. */
function nextSlot(dir: string): { file: string; seq: number } {
  const slots = SLOT_FILES.map((n) => ({ file: join(dir, n), seq: seqOf(headerOf(join(dir, n))) }));
  const newest = Math.max(seqOf(headerOf(join(dir, LEGACY_FILE))), ...slots.map((x) => x.seq));
  const keep = inUse.get(dir);
  const target = keep === slots[0].file ? slots[1] : keep === slots[1].file ? slots[0] : slots[0].seq <= slots[1].seq ? slots[0] : slots[1];
  return { file: target.file, seq: Math.max(0, newest) + 1 };
}

async function syncFolder(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

export type CheckpointRead = { ok: true; header: CheckpointHeader; body: CheckpointBody } | { ok: false; reason: string; missing?: boolean };

/**
 * Reads and checks the newest whole checkpoint for `source` of `spec`: the
 * files newest first, the first usable one (a newer one cut short by a kill
 * while it was written: the one before it). None usable: the newest one's
 * reason.
 */
export function readCheckpoint(dir: string, source: string, spec: string): CheckpointRead {
  const files = checkpointFiles(dir);
  if (files.length === 0) return { ok: false, missing: true, reason: "no checkpoint yet" };
  let first: CheckpointRead | null = null;
  for (const file of files) {
    const r = readCheckpointFile(file, source, spec);
    if (r.ok) {
      inUse.set(dir, file);
      return r;
    }
    first ??= r;
  }
  return first!;
}

/** One checkpoint file read and checked; every way it can be unusable is a reason. */
function readCheckpointFile(file: string, source: string, spec: string): CheckpointRead {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === "ENOENT";
    return { ok: false, missing, reason: missing ? "no checkpoint yet" : `the checkpoint cannot be read (${(e as Error).message})` };
  }
  const nl = buf.indexOf(0x0a);
  let header: CheckpointHeader;
  try {
    if (nl < 0) throw new Error("no header line");
    header = JSON.parse(buf.subarray(0, nl).toString("utf8")) as CheckpointHeader;
  } catch {
    return { ok: false, reason: "the checkpoint's header is not readable (truncated or not a checkpoint)" };
  }
  if (header?.magic !== MAGIC) return { ok: false, reason: "the checkpoint file is not an fti stream checkpoint" };
  if (!READABLE_VERSIONS.includes(header.version)) return { ok: false, reason: `the checkpoint is of version ${header.version}, this fti reads versions ${READABLE_VERSIONS.join(" and ")}` };
  if (header.source !== source) return { ok: false, reason: `the checkpoint is of stream \`${header.source}\`` };
  if (header.spec !== spec) return { ok: false, reason: "the spec changed since the checkpoint was written" };
  const body = buf.subarray(nl + 1);
  if (body.length !== header.body?.bytes) return { ok: false, reason: `the checkpoint is truncated or extended (${body.length} bytes of state, its header says ${header.body?.bytes})` };
  if (createHash("sha256").update(body).digest("hex") !== header.body.sha256) return { ok: false, reason: "the checkpoint's state does not match its checksum (corrupted)" };
  try {
    return { ok: true, header, body: deserializeBody(body, header.version) };
  } catch (e) {
    return { ok: false, reason: `the checkpoint's state cannot be decoded (${(e as Error).message})` };
  }
}

/**
 * Runs `use` with a SQL relation of the source's kept stream events, typed as
 * the batch pipeline types them into src_<source> (its fields as columns):
 * features/stream-input.ts `withTypedStreamEvents`, handed in by the server
 * (this folder does not import the batch pipeline).
 */
export type TypedStreamEvents = <T>(store: Store, plan: SourcePlan, use: (relation: string) => Promise<T>) => Promise<T>;

/**
 * A fingerprint of the rows of src_<source> that did not come from the
 * stream: what the state was built from besides the stream's own events. A
 * row is the stream's own when a kept segment line (fti_stream_events) has
 * its `unique` value (every field of a combination) and, with `typed`, also every one of its values; so a
 * `fti features` run that only adds the stream's events leaves it as it was,
 * and a changed or added file row changes it — also one with the `unique`
 * value of an event the stream applied and other values (the batch keeps
 * the file's row). Without `typed`, the `unique` value alone decides (blind
 * to that case). Computed by DuckDB: a count and the XOR of row hashes.
 */
export async function offlineFingerprint(store: Store, plan: SourcePlan, typed?: TypedStreamEvents): Promise<OfflineFingerprint> {
  const table = `src_${plan.name}`;
  if (!(await store.tableExists(table))) return { rows: 0, hash: "none" };
  const have = new Set((await store.tableColumns(table)).map((c) => c.name));
  if (!plan.fields.every((f) => have.has(f.name))) return { rows: 0, hash: "none" };
  const unique = streamUniqueFields(plan);
  const fields = plan.fields.map((f) => `s.${ident(f.name)}`).join(", ");
  const query = (ownRows: string) =>
    store.all<{ n: number | bigint; h: string }>(`SELECT count(*) AS n, CAST(coalesce(bit_xor(hash(${fields})), 0) AS VARCHAR) AS h FROM ${ident(table)} AS s WHERE TRUE ${ownRows}`);
  if (!(await store.tableExists(STREAM_EVENTS_TABLE))) return fingerprintOf(await query(""));
  if (typed) {
    const same = plan.fields.map((f) => `e.${ident(f.name)} IS NOT DISTINCT FROM s.${ident(f.name)}`).join(" AND ");
    const sameKey = unique.map((u) => `e.${ident(u)} = s.${ident(u)}`).join(" AND ");
    return fingerprintOf(await typed(store, plan, (events) => query(`AND NOT EXISTS (SELECT 1 FROM ${events} AS e WHERE ${sameKey} AND ${same})`)));
  }
  // Every field of the key as the line's text holds it (a timestamp's text differs from the column's: blind to those rows, as said above).
  const textKey = unique.map((u) => `json_extract_string(e.text, ${sqlString(`$.${JSON.stringify(u)}`)}) = CAST(s.${ident(u)} AS VARCHAR)`).join(" AND ");
  return fingerprintOf(
    await query(
      `AND NOT EXISTS (SELECT 1 FROM ${ident(STREAM_EVENTS_TABLE)} AS e WHERE e.source = ${sqlString(plan.name)} AND json_valid(e.text) AND ${textKey})`,
    ),
  );
}

const fingerprintOf = ([r]: Array<{ n: number | bigint; h: string }>): OfflineFingerprint => ({ rows: Number(r.n), hash: r.h });

/** Per file, the lines of `source` kept in the store (files the batch pipeline removed from the segment folder). */
export async function keptPositions(store: Store, source: string): Promise<Map<string, number>> {
  if (!(await store.tableExists(STREAM_EVENTS_TABLE))) return new Map();
  const rows = await store.all<{ file: string; n: number | bigint }>(`SELECT file, max(line) AS n FROM ${ident(STREAM_EVENTS_TABLE)} WHERE source = ? GROUP BY file`, [source]);
  return new Map(rows.map((r) => [r.file, Number(r.n)]));
}

/**
 * The kept lines of the files no longer in the segment folder (`onDisk`: the
 * names still there) after what a checkpoint covers (`covered`: lines per
 * file; a file it does not name, from the first line), in file and line order.
 */
export async function keptLinesAfter(store: Store, source: string, onDisk: readonly string[], covered: ReadonlyMap<string, number>): Promise<Array<{ file: string; line: number; text: string }>> {
  if (!(await store.tableExists(STREAM_EVENTS_TABLE))) return [];
  const values = [...covered].map(([f, n]) => `(${sqlString(f)}, ${Math.trunc(n)})`);
  const c = values.length ? `(VALUES ${values.join(", ")}) AS c(file, n)` : "(SELECT CAST(NULL AS VARCHAR) AS file, 0 AS n WHERE FALSE) AS c";
  const gone = onDisk.length ? `AND e.file NOT IN (${onDisk.map(sqlString).join(", ")})` : "";
  const rows = await store.all<{ file: string; line: number | bigint; text: string }>(
    `SELECT e.file, e.line, e.text FROM ${ident(STREAM_EVENTS_TABLE)} AS e LEFT JOIN ${c} ON c.file = e.file
      WHERE e.source = ? ${gone} AND e.line > coalesce(c.n, 0) ORDER BY e.file, e.line`,
    [source],
  );
  return rows.map((r) => ({ file: r.file, line: Number(r.line), text: r.text }));
}
