// ndjson read line by line, for files where DuckDB's JSON reader found a line
// that is not a JSON object (it reads a malformed one as NULL, without its
// text or line number, and skips blank lines) or text with U+FFFD (what it
// reads bytes that are not UTF-8 as; a line of such bytes is quarantined). Each line is parsed by
// DuckDB (TRY_CAST to JSON, the same parser as the fast path); a line that is
// not a JSON object is quarantined on its own with its line number, the rest
// is kept. Rows are numbered by their line in the file.

import { isUtf8 } from "node:buffer";
import { createReadStream } from "node:fs";
import { cleanUp, type Store } from "../store/store.ts";
import { ident } from "../store/sql.ts";
import type { CsvReject } from "./csv-input.ts";
import type { SourceInput } from "./source-input.ts";

/** Lines appended to DuckDB per call: bounds the memory of a large file. */
const LINES_PER_APPEND = 50_000;
/** A quarantined line keeps at most this much of its text. */
const MAX_LINE_KEPT = 10_000;

/** A file's lines as bytes (split at LF, a CR before it dropped), with their 1-based numbers: a line is judged before it is decoded. */
async function* byteLines(file: string): AsyncGenerator<[number, Buffer]> {
  let pending: Buffer[] = []; // the start of a line that continues in the next chunk
  let line = 0;
  const done = (bytes: Buffer): [number, Buffer] => [++line, bytes.length && bytes[bytes.length - 1] === 13 ? bytes.subarray(0, -1) : bytes];
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, nl);
      yield done(pending.length ? Buffer.concat([...pending, piece]) : piece);
      pending = [];
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length) yield done(Buffer.concat(pending));
}

/**
 * Copies every line of `files` into `table` (file, line, text); blank lines
 * are skipped. A line that is not valid UTF-8 is returned instead: decoding
 * it would replace its bytes with U+FFFD and keep a row whose text the file
 * never held (the CSV reader quarantines such a line too).
 */
async function appendLines(store: Store, table: string, files: string[]): Promise<CsvReject[]> {
  const invalid: CsvReject[] = [];
  for (const file of files) {
    let batch: Array<[string, number, string]> = [];
    for await (const [line, bytes] of byteLines(file)) {
      if (!isUtf8(bytes)) {
        invalid.push({ file, row: line, reason: NOT_UTF8, kind: NOT_UTF8, line: bytes.toString("utf8").slice(0, MAX_LINE_KEPT) });
        continue;
      }
      const text = bytes.toString("utf8");
      if (text.trim() === "") continue;
      batch.push([file, line, line === 1 ? text.replace(/^\uFEFF/, "") : text]);
      if (batch.length >= LINES_PER_APPEND) {
        await store.appendRows(table, ["__fti_file", "__fti_line", "text"], batch);
        batch = [];
      }
    }
    if (batch.length) await store.appendRows(table, ["__fti_file", "__fti_line", "text"], batch);
  }
  return invalid;
}

const NOT_UTF8 = "unreadable line: not valid UTF-8";

/** Of `files`, those whose bytes are not UTF-8 (DuckDB fails on such a JSON array itself: only ndjson gets here). */
export async function notUtf8Files(files: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const file of files) if (!(await isUtf8File(file))) out.push(file);
  return out;
}

async function isUtf8File(file: string): Promise<boolean> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  try {
    for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) decoder.decode(chunk, { stream: true });
    decoder.decode();
    return true;
  } catch {
    return false;
  }
}

/** Stages ndjson `files` line by line: the object lines as the input, the others as rejects. */
export async function stageNdjsonLines(store: Store, name: string, files: string[]): Promise<SourceInput> {
  const lines = ident(`__fti_lines_${name}`);
  const table = ident(`__fti_stage_${name}`);
  const view = ident(`__fti_in_${name}`);
  const close = () => cleanUp(store, `DROP VIEW IF EXISTS ${view}`, `DROP TABLE IF EXISTS ${table}`, `DROP TABLE IF EXISTS ${lines}`);
  await close();
  try {
    await store.run(`CREATE TEMP TABLE ${lines} (__fti_file VARCHAR, __fti_line BIGINT, text VARCHAR)`);
    const notUtf8 = await appendLines(store, `__fti_lines_${name}`, files);
    await store.run(
      `CREATE TEMP TABLE ${table} AS
         SELECT json, __fti_file, __fti_line FROM (SELECT TRY_CAST(text AS JSON) AS json, __fti_file, __fti_line FROM ${lines})
          WHERE json_type(json) = 'OBJECT' ORDER BY __fti_file, __fti_line`,
    );
    const bad = await store.all<{ file: string; line: number | bigint; text: string; type: string | null }>(
      `SELECT __fti_file AS file, __fti_line AS line, text, json_type(TRY_CAST(text AS JSON)) AS type FROM ${lines}
        WHERE json_type(TRY_CAST(text AS JSON)) IS DISTINCT FROM 'OBJECT' ORDER BY __fti_file, __fti_line`,
    );
    await cleanUp(store, `DROP TABLE IF EXISTS ${lines}`);
    await store.run(`CREATE TEMP VIEW ${view} AS SELECT json, __fti_file, __fti_line AS __fti_pos FROM ${table}`);
    return {
      relation: view,
      columns: [{ name: "json", type: "JSON" }],
      files,
      ndjson: true,
      positionAcrossFiles: false,
      rowNumber: (_file, pos) => pos,
      changedFiles: () => [],
      rejects: [...bad.map((b) => rejectOf(b.file, Number(b.line), b.text, b.type)), ...notUtf8].sort((a, b) => (a.file === b.file ? a.row - b.row : a.file < b.file ? -1 : 1)),
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

function rejectOf(file: string, row: number, text: string, type: string | null): CsvReject {
  const kind = type === null ? "unreadable line: not valid JSON" : `unreadable line: not a JSON object (${type === "ARRAY" ? "an array" : "a single value"})`;
  return { file, row, reason: kind, kind, line: text.slice(0, MAX_LINE_KEPT) };
}
