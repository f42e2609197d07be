// A stream source's events in the batch pipeline: after the file rows, the
// events of its segments (stream/segments.ts, written by `fti serve`) become
// more rows of `src_<source>`. Each segment line is validated like a row of an
// ndjson file (a line that no longer fits the spec is quarantined); an event
// whose `unique` value is already in the table (from the file, or an earlier
// line: a retried event) is skipped, so reading the segments again, in every
// run, changes nothing.
//
// Compaction: each run also keeps every segment line in the store
// (`fti_stream_events`: source, file, line number, text), in its transaction,
// and reads the stream's events from there; so the lines of a segment file
// are durable in the offline store once the run commits. After the commit,
// `compactSegments` removes the files no writer appends to any more (sealed:
// a later part exists, or their process is gone, or it no longer holds the
// stream's writer lock) whose every complete line is kept. A kill -9 before the
// commit keeps every file; after it, a file not yet removed is read again, and
// its lines are the kept ones (the same file and line number: skipped).

import type { SourcePlan, SpecBundle } from "../api.ts";
import { cleanUp, type Store } from "../store/store.ts";
import { removeSegment } from "../stream/segments.ts";
import { ident, sqlString } from "../store/sql.ts";
import { basename, join } from "node:path";
import { readSegmentLines, sealedSegmentFiles, streamDir, type SegmentLine } from "../stream/segments.ts";
import { stage, type SourceInput } from "./source-input.ts";
import { rangeOf, rawTable, type ReadSourceOptions, type StreamReadReport } from "./sources.ts";
import { buildValidation, segmentLinePlan } from "./validation.ts";
import { streamUniqueFields } from "../stream/unique-field.ts";


const STAGE = "__fti_seglines";
export const STREAM_EVENTS_TABLE = "fti_stream_events";

/** Keeps the segments' lines not kept yet; returns every kept line of the stream (the segments' lines, removed files' included), in file and line order. */
async function keepLines(store: Store, source: string, dir: string): Promise<SegmentLine[]> {
  const t = ident(STREAM_EVENTS_TABLE);
  await store.run(`CREATE TABLE IF NOT EXISTS ${t} (source VARCHAR NOT NULL, file VARCHAR NOT NULL, line INTEGER NOT NULL, text VARCHAR NOT NULL, kept_at TIMESTAMP NOT NULL)`);
  const onDisk = readSegmentLines(dir);
  if (onDisk.length) {
    const staged = ident("__fti_keep");
    await cleanUp(store, `DROP TABLE IF EXISTS ${staged}`);
    await store.run(`CREATE TEMP TABLE ${staged} (file VARCHAR, line INTEGER, text VARCHAR)`);
    try {
      await store.appendRows("__fti_keep", ["file", "line", "text"], onDisk.map((l) => [basename(l.file), l.line, l.text]));
      await store.run(
        `INSERT INTO ${t} SELECT ?, k.file, k.line, k.text, now() FROM ${staged} AS k
          WHERE NOT EXISTS (SELECT 1 FROM ${t} AS e WHERE e.source = ? AND e.file = k.file AND e.line = k.line)`,
        [source, source],
      );
    } finally {
      await cleanUp(store, `DROP TABLE IF EXISTS ${staged}`);
    }
  }
  const kept = await store.all<{ file: string; line: number; text: string }>(`SELECT file, line, text FROM ${t} WHERE source = ? ORDER BY file, line`, [source]);
  return kept.map((k) => ({ file: join(dir, k.file), line: Number(k.line), text: k.text }));
}

/** How many events on the stream's segments no `fti features` run has kept yet (the offline rows lack them). */
export async function unkeptStreamEvents(store: Store, source: string): Promise<number> {
  const onDisk = readSegmentLines(streamDir(store.path, source));
  if (onDisk.length === 0) return onDisk.length;
  if (!(await store.tableExists(STREAM_EVENTS_TABLE))) return onDisk.length;
  const kept = await store.all<{ file: string; line: number }>(`SELECT file, line FROM ${ident(STREAM_EVENTS_TABLE)} WHERE source = ?`, [source]);
  const keys = new Set(kept.map((k) => `${k.file}\n${Number(k.line)}`));
  return onDisk.filter((l) => !keys.has(`${basename(l.file)}\n${l.line}`)).length;
}

/**
 * After a run committed: removes the stream's sealed segment files whose
 * every complete line is kept in the store. Returns the files removed.
 */
export async function compactSegments(store: Store, plan: SourcePlan): Promise<string[]> {
  const dir = streamDir(store.path, plan.name);
  if (!(await store.tableExists(STREAM_EVENTS_TABLE))) return [];
  const removed: string[] = [];
  for (const file of sealedSegmentFiles(dir)) {
    const lines = readSegmentLines(dir, [file]);
    const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${ident(STREAM_EVENTS_TABLE)} WHERE source = ? AND file = ?`, [plan.name, basename(file)]);
    if (Number(c.n) < lines.length) continue;
    const kept = new Set((await store.all<{ line: number }>(`SELECT line FROM ${ident(STREAM_EVENTS_TABLE)} WHERE source = ? AND file = ?`, [plan.name, basename(file)])).map((r) => Number(r.line)));
    if (lines.every((l) => kept.has(l.line))) {
      removeSegment(file);
      removed.push(file);
    }
  }
  return removed;
}

/**
 * Runs `use` with a SQL relation of the stream's kept events (fti_stream_events)
 * typed as `readStreamSegments` types them into src_<source> (columns: the
 * source's fields; an event that does not fit the spec has nulls where it
 * fails, and equals no row). The stream's checkpoint tells by it which rows of
 * src_<source> are the stream's own (stream/checkpoint.ts `offlineFingerprint`).
 * Read in place: no temp table (the server's store is read-only).
 */
export async function withTypedStreamEvents<T>(store: Store, plan: SourcePlan, use: (relation: string) => Promise<T>): Promise<T> {
  const input: SourceInput = {
    relation: `(SELECT TRY_CAST(text AS JSON) AS json, file AS __fti_file, line AS __fti_pos FROM ${ident(STREAM_EVENTS_TABLE)} WHERE source = ${sqlString(plan.name)})`,
    columns: [{ name: "json", type: "JSON" }],
    files: [],
    ndjson: true,
    positionAcrossFiles: false,
    rowNumber: (_file, pos) => pos,
    changedFiles: () => [],
    rejects: [],
    close: async () => undefined,
  };
  return use(`(${buildValidation(plan, input).typed})`);
}

/** Appends the stream's new events to src_<source> (after its file rows were written in this run). */
export async function readStreamSegments(store: Store, bundle: SpecBundle, plan: SourcePlan, opts: ReadSourceOptions): Promise<StreamReadReport> {
  const lines = await keepLines(store, plan.name, streamDir(store.path, plan.name));
  const report: StreamReadReport = { segments: new Set(lines.map((l) => l.file)).size, events: lines.length, valid: 0, duplicates: 0, quarantined: 0, skipped: 0 };
  if (lines.length === 0 || !plan.unique) return report;
  await cleanUp(store, `DROP TABLE IF EXISTS ${ident(STAGE)}`);
  await store.run(`CREATE TEMP TABLE ${ident(STAGE)} (json VARCHAR, __fti_file VARCHAR)`);
  const input = await (async () => {
    await store.appendRows(STAGE, ["json", "__fti_file"], lines.map((l) => [l.text, l.file]));
    // Lines are whole JSON objects (the writer wrote them); one that is not becomes a quarantined row below.
    return stage(store, { ...plan, name: `${plan.name}_stream` }, [...new Set(lines.map((l) => l.file))], `(SELECT TRY_CAST(json AS JSON) AS json, __fti_file FROM ${ident(STAGE)})`, true, (e) => e as Error);
  })();
  try {
    const v = buildValidation(segmentLinePlan(plan), input);
    const { inRange, outside, judged } = rangeOf(plan, opts);
    const typed = `(${v.typed}) AS __fti_t`;
    const table = ident(rawTable(plan.name));
    // The de-duplication key: one field, or every field of a combination (`unique (a, b)`).
    const unique = streamUniqueFields(plan).map(ident);
    report.quarantined = await store.run(
      `INSERT INTO fti_quarantine (run_id, source, row_number, row_json, reason, reason_kind, quarantined_at, file)
       SELECT ?, ?, ${input.rowNumber("__fti_t.__fti_file", "__fti_t.__fti_pos")}, ${v.rowJson}, ${v.reason}, ${v.reasonKind}, ?, __fti_file
         FROM ${typed} WHERE ${judged} AND ${v.failing} ORDER BY __fti_file, __fti_pos`,
      [opts.runId, plan.name, opts.ingestedAt],
    );
    const cols = plan.fields.map((f) => ident(f.name)).join(", ");
    report.valid = await store.run(
      `INSERT INTO ${table} (${cols}, ingested_at)
       SELECT ${cols}, ? FROM (
         SELECT *, row_number() OVER (PARTITION BY ${unique.join(", ")} ORDER BY __fti_file, __fti_pos) AS __fti_k
           FROM ${typed} WHERE ${judged} AND NOT ${v.failing}
       ) AS __fti_v
        WHERE __fti_k = 1 AND NOT EXISTS (SELECT 1 FROM ${table} AS __fti_s WHERE ${unique.map((u) => `__fti_s.${u} = __fti_v.${u}`).join(" AND ")})
        ORDER BY __fti_file, __fti_pos`,
      [opts.ingestedAt],
    );
    const [c] = await store.all<{ n: number; skipped: number }>(
      `SELECT count(*) AS n, ${inRange.length ? `count(*) FILTER (WHERE ${outside})` : "0"} AS skipped FROM ${typed}`,
    );
    report.skipped = Number(c.skipped);
    report.duplicates = Number(c.n) - report.skipped - report.valid - report.quarantined;
    return report;
  } finally {
    await input.close();
    await cleanUp(store, `DROP TABLE IF EXISTS ${ident(STAGE)}`);
  }
}

