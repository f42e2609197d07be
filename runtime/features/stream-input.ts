// A stream source's events in the batch pipeline: after the file rows, the
// events of its segments (stream/segments.ts, written by `fti serve`) become
// more rows of `src_<source>`. Each segment line is validated like a row of an
// ndjson file (a line that no longer fits the spec is quarantined); an event
// whose `unique` value is already in the table (from the file, or an earlier
// line: a retried event) is skipped, so reading the segments again, in every
// run, changes nothing. The segments are only read: `fti serve` is their one
// writer, the store's one writer is this run.

import type { SourcePlan, SpecBundle } from "../api.ts";
import { cleanUp, type Store } from "../store/store.ts";
import { ident } from "../store/sql.ts";
import { readSegmentLines, streamDir } from "../stream/segments.ts";
import { stage } from "./source-input.ts";
import { rangeOf, rawTable, type ReadSourceOptions, type StreamReadReport } from "./sources.ts";
import { buildValidation } from "./validation.ts";


const STAGE = "__fti_seglines";

/** Appends the stream's new events to src_<source> (after its file rows were written in this run). */
export async function readStreamSegments(store: Store, bundle: SpecBundle, plan: SourcePlan, opts: ReadSourceOptions): Promise<StreamReadReport> {
  const lines = readSegmentLines(streamDir(store.path, plan.name));
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
    const v = buildValidation(plan, input);
    const { inRange, outside, judged } = rangeOf(plan, opts);
    const typed = `(${v.typed}) AS __fti_t`;
    const table = ident(rawTable(plan.name));
    const u = ident(plan.unique);
    report.quarantined = await store.run(
      `INSERT INTO fti_quarantine (run_id, source, row_number, row_json, reason, quarantined_at, file)
       SELECT ?, ?, ${input.rowNumber("__fti_t.__fti_file", "__fti_t.__fti_pos")}, ${v.rowJson}, ${v.reason}, ?, __fti_file
         FROM ${typed} WHERE ${judged} AND ${v.failing} ORDER BY __fti_file, __fti_pos`,
      [opts.runId, plan.name, opts.ingestedAt],
    );
    const cols = plan.fields.map((f) => ident(f.name)).join(", ");
    report.valid = await store.run(
      `INSERT INTO ${table} (${cols}, ingested_at)
       SELECT ${cols}, ? FROM (
         SELECT *, row_number() OVER (PARTITION BY ${u} ORDER BY __fti_file, __fti_pos) AS __fti_k
           FROM ${typed} WHERE ${judged} AND NOT ${v.failing}
       ) AS __fti_v
        WHERE __fti_k = 1 AND NOT EXISTS (SELECT 1 FROM ${table} AS __fti_s WHERE __fti_s.${u} = __fti_v.${u})
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

