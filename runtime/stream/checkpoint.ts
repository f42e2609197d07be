// A stream source's checkpoint: its state (admission and the groups' entity
// state) as of a position in its segments, so a restart reads that and
// replays only the events after it instead of the source's whole history
// (docs/streaming.md, "Restarts and crashes").
//
// The file `<segment dir>/checkpoint` is written whole or not at all: a temp
// file, fsync, rename, fsync of the folder. It is a header line (JSON: what
// it is valid for) and a body (the state, v8-serialized in slices of entities
// so the event loop is let go between them: Dates, -Infinity and shared row
// objects survive exactly) whose length and SHA-256 the header
// holds. Anything that does not match — another version or spec, a short or
// altered body, an offline store whose rows changed otherwise than by the
// stream — is a reason to rebuild from nothing, never a state used anyway.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, open, readdir, rename, rm, type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { deserialize, serialize } from "node:v8";
import type { SourcePlan, SpecBundle } from "../api.ts";
import type { Store } from "../store/store.ts";
import { ident, sqlString } from "../store/sql.ts";
import type { AdmissionSnapshot } from "./admission.ts";
import type { SourceSnapshot } from "./engine.ts";
import type { SegmentPosition } from "./segments.ts";

const MAGIC = "fti-stream-checkpoint";
export const CHECKPOINT_VERSION = 2;
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

export const checkpointFile = (dir: string) => join(dir, "checkpoint");

/** The spec identity a checkpoint is bound to. */
export const specIdentity = (bundle: SpecBundle) => `${bundle.specHash}:${bundle.transformsHash}`;

/** Entities per serialized slice: the event loop is let go between slices (other requests go on). */
const SLICE = 200;
const SLICE_ROWS = 2_000;

/**
 * The body as frames (a 4-byte length, then v8 bytes): first the admission,
 * the late events and each group's entity count, then the entities in slices,
 * each serialized in its own turn of the event loop. Returns the frames and
 * the longest time one turn took. The snapshot's objects are never changed
 * after it was taken (engine.ts copies what it mutates), so slicing is safe.
 */
async function serializeBody(body: CheckpointBody): Promise<{ frames: Buffer[]; bytes: number; sha256: string; longestMs: number }> {
  const frames: Buffer[] = [];
  // Hashed frame by frame, in the same turns: one hash (or concatenation) of a body of tens of MB would hold the loop.
  const hash = createHash("sha256");
  let total = 0;
  let longestMs = 0;
  const frame = (value: unknown) => {
    const t0 = performance.now();
    const bytes = serialize(value);
    const len = Buffer.alloc(4);
    len.writeUInt32LE(bytes.length);
    frames.push(len, bytes);
    hash.update(len).update(bytes);
    total += len.length + bytes.length;
    longestMs = Math.max(longestMs, performance.now() - t0);
  };
  frame({ admission: body.admission, late: body.late, groups: body.state.groups.map((g) => ({ name: g.name, count: g.entities.length })) });
  for (const g of body.state.groups) {
    let i = 0;
    while (i < g.entities.length) {
      // Up to SLICE entities or SLICE_ROWS buffered rows (an entity with a long frame is one slice of its own).
      let j = i;
      let rows = 0;
      while (j < g.entities.length && j - i < SLICE && (rows === 0 || rows + g.entities[j].rows.length <= SLICE_ROWS)) rows += g.entities[j++].rows.length;
      await new Promise((r) => setImmediate(r));
      frame(g.entities.slice(i, j));
      i = j;
    }
  }
  return { frames, bytes: total, sha256: hash.digest("hex"), longestMs };
}

/** Bytes written between two flushes of the temp file: a flush of the whole body at once stalls the segments' own fsyncs on the same disk. */
const FLUSH_EVERY = 4 << 20;

/** Writes the frames in groups of about FLUSH_EVERY bytes, each flushed (fdatasync) before the next. */
async function writeFlushed(fh: FileHandle, frames: readonly Buffer[]): Promise<void> {
  let group: Buffer[] = [];
  let size = 0;
  const flush = async () => {
    await fh.writev(group);
    await fh.datasync();
    group = [];
    size = 0;
  };
  for (const f of frames) {
    group.push(f);
    size += f.length;
    if (size >= FLUSH_EVERY) await flush();
  }
  if (group.length > 0) await flush();
}

/** The body back from its frames (throws on anything malformed: the caller's fallback). */
function deserializeBody(buf: Buffer): CheckpointBody {
  let at = 0;
  const next = (): unknown => {
    if (at + 4 > buf.length) throw new Error("a frame is cut short");
    const len = buf.readUInt32LE(at);
    if (at + 4 + len > buf.length) throw new Error("a frame is cut short");
    const v = deserialize(buf.subarray(at + 4, at + 4 + len));
    at += 4 + len;
    return v;
  };
  const head = next() as { admission: CheckpointBody["admission"]; late: PendingLate[]; groups: Array<{ name: string; count: number }> };
  const groups = head.groups.map((g) => {
    const entities: SourceSnapshot["groups"][number]["entities"] = [];
    while (entities.length < g.count) entities.push(...(next() as SourceSnapshot["groups"][number]["entities"]));
    if (entities.length !== g.count) throw new Error(`group ${g.name}: ${entities.length} entities, ${g.count} expected`);
    return { name: g.name, entities };
  });
  if (at !== buf.length) throw new Error("bytes after the last frame");
  return { admission: head.admission, late: head.late, state: { groups } };
}

/**
 * Writes the checkpoint atomically (temp, fsync, rename, fsync of the
 * folder); returns its size and the longest time it held the event loop
 * (one slice's serialization).
 */
export async function writeCheckpoint(dir: string, header: Omit<CheckpointHeader, "magic" | "version" | "body">, body: CheckpointBody): Promise<{ bytes: number; serializeMs: number }> {
  const { frames, bytes, sha256, longestMs: serializeMs } = await serializeBody(body);
  const full: CheckpointHeader = { magic: MAGIC, version: CHECKPOINT_VERSION, ...header, body: { bytes, sha256 } };
  const head = Buffer.from(JSON.stringify(full) + "\n", "utf8");
  const file = checkpointFile(dir);
  const tmp = `${file}.${process.pid}.tmp`;
  await mkdir(dir, { recursive: true });
  // A temp file left by a writer killed while writing (only the stream's writer writes here).
  for (const n of await readdir(dir)) if (/^checkpoint\.\d+\.tmp$/.test(n) && n !== basename(tmp)) await rm(join(dir, n), { force: true });
  const fh = await open(tmp, "w");
  try {
    await writeFlushed(fh, [head, ...frames]);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
  return { bytes: head.length + bytes, serializeMs };
}

export type CheckpointRead = { ok: true; header: CheckpointHeader; body: CheckpointBody } | { ok: false; reason: string; missing?: boolean };

/** Reads and checks a checkpoint for `source` of `spec`; every way it can be unusable is a reason. */
export function readCheckpoint(dir: string, source: string, spec: string): CheckpointRead {
  let buf: Buffer;
  try {
    buf = readFileSync(checkpointFile(dir));
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
  if (header.version !== CHECKPOINT_VERSION) return { ok: false, reason: `the checkpoint is of version ${header.version}, this fti reads version ${CHECKPOINT_VERSION}` };
  if (header.source !== source) return { ok: false, reason: `the checkpoint is of stream \`${header.source}\`` };
  if (header.spec !== spec) return { ok: false, reason: "the spec changed since the checkpoint was written" };
  const body = buf.subarray(nl + 1);
  if (body.length !== header.body?.bytes) return { ok: false, reason: `the checkpoint is truncated or extended (${body.length} bytes of state, its header says ${header.body?.bytes})` };
  if (createHash("sha256").update(body).digest("hex") !== header.body.sha256) return { ok: false, reason: "the checkpoint's state does not match its checksum (corrupted)" };
  try {
    return { ok: true, header, body: deserializeBody(body) };
  } catch (e) {
    return { ok: false, reason: `the checkpoint's state cannot be decoded (${(e as Error).message})` };
  }
}

/**
 * A fingerprint of the rows of src_<source> that did not come from the
 * stream (their `unique` value is in no kept segment line): what the state
 * was built from besides the stream's own events. A `fti features` run that
 * only adds the stream's events leaves it as it was; a changed or added file
 * row changes it (computed by DuckDB: a count and the XOR of row hashes).
 */
export async function offlineFingerprint(store: Store, plan: SourcePlan): Promise<OfflineFingerprint> {
  const table = `src_${plan.name}`;
  if (!(await store.tableExists(table))) return { rows: 0, hash: "none" };
  const have = new Set((await store.tableColumns(table)).map((c) => c.name));
  if (!plan.fields.every((f) => have.has(f.name))) return { rows: 0, hash: "none" };
  const u = ident(plan.unique!);
  const fields = plan.fields.map((f) => `s.${ident(f.name)}`).join(", ");
  const kept = (await store.tableExists(STREAM_EVENTS_TABLE))
    ? `AND NOT EXISTS (SELECT 1 FROM ${ident(STREAM_EVENTS_TABLE)} AS e WHERE e.source = ${sqlString(plan.name)} AND json_valid(e.text) AND json_extract_string(e.text, ${sqlString(`$.${JSON.stringify(plan.unique)}`)}) = CAST(s.${u} AS VARCHAR))`
    : "";
  const [r] = await store.all<{ n: number | bigint; h: string }>(`SELECT count(*) AS n, CAST(coalesce(bit_xor(hash(${fields})), 0) AS VARCHAR) AS h FROM ${ident(table)} AS s WHERE TRUE ${kept}`);
  return { rows: Number(r.n), hash: r.h };
}

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
