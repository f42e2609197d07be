// Strict CSV reading with per-line quarantine. Each file's header is read by
// fti (its first line: the column names, and the delimiter, the most frequent
// of , ; tab |), and DuckDB parses the rest with that fixed dialect
// (auto-detection off: one bad line cannot talk the sniffer into another
// dialect), in strict mode, storing the lines it cannot parse (extra or
// missing fields, a stray or unterminated quote, invalid UTF-8) in a rejects
// table instead of failing the file. Those lines are quarantined with their
// line number and DuckDB's reason; the good rows are kept, numbered by their
// real data row (a rejected line still counts).
//
// A quote that is never closed swallows the rest of the file into one
// rejected value (that is what the bytes say); the rows after it are then
// read again from the next line on, so one stray quote costs one line.
//
// A file mixing \n and \r\n line ends, or ending lines in \r, is read from
// a copy with \n ends (csv-line-endings.ts). Header names are made unique
// the way pandas does (a blank one is `Unnamed: <k>`, a repeated one `x.1`).

import { closeSync, createReadStream, createWriteStream, mkdtempSync, openSync, readSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { UserError } from "../errors.ts";
import { cleanUp, type Store } from "../store/store.ts";
import { ident, sqlString } from "../store/sql.ts";
import { copyWithLfEndings, uniformLineEndings } from "./csv-line-endings.ts";

/** Longest header line read; longer is not a CSV header. */
const MAX_HEADER_BYTES = 1 << 20;
/** Most re-reads after unterminated quotes in one file; beyond, the rest of the file is one quarantined entry. */
const MAX_RESTARTS = 1000;
/** Characters of a rejected line kept in the quarantine's row_json. */
const MAX_LINE_KEPT = 10_000;

export interface CsvReject {
  file: string;
  /** 1-based data row number (the header is row 0). */
  row: number;
  reason: string;
  /** The reason without DuckDB's details (`unreadable line: more fields than the header`), for summaries. */
  kind: string;
  line: string;
}

interface Header {
  names: string[];
  delim: string;
}

/** The first line of a file, its delimiter and column names; a UserError for an empty file. */
export function readHeader(file: string, where: string): Header {
  const fd = openSync(file, "r");
  const buf = Buffer.alloc(Math.min(MAX_HEADER_BYTES, Math.max(1, statSync(file).size)));
  let n: number;
  try {
    n = readSync(fd, buf, 0, buf.length, 0);
  } finally {
    closeSync(fd);
  }
  const bytes = buf.subarray(0, n);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    throw new UserError(`${where}: ${file} is gzip-compressed: fti reads CSV files as text`, `decompress it (\`gunzip -k ${file}\`) and read the .csv`);
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw new UserError(`${where}: ${file} is UTF-16 text: fti reads CSV files as UTF-8`, "save the file as UTF-8");
  }
  let text = bytes.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const end = text.search(/[\r\n]/); // a header ends at \n, \r\n or a lone \r (csv-line-endings.ts)
  const line = end >= 0 ? text.slice(0, end) : text;
  if (line.trim() === "") throw new UserError(`${where}: ${file} is empty: it has no header line`, "a CSV source needs a header line with the column names");
  if (line.includes("\0")) {
    throw new UserError(`${where}: ${file} has a NUL character in its header line: it is not UTF-8 text`, "save the file as UTF-8 (a UTF-16 file without a byte order mark looks like this)");
  }
  const delims = [",", ";", "\t", "|"];
  const delim = delims.reduce((best, d) => (count(line, d) > count(line, best) ? d : best), ",");
  return { names: uniqueNames(splitCsvLine(line, delim)), delim };
}

/**
 * Column names as pandas gives them: a blank one is `Unnamed: <k>` (0-based
 * position: a header ending in a delimiter has one), a repeated one (in any
 * case) gets `.1`, `.2`, ... from its second occurrence on; so every column
 * is staged and a field reads the first column of its name.
 */
function uniqueNames(names: string[]): string[] {
  const taken = new Set<string>();
  return names.map((raw, k) => {
    const base = raw === "" ? `Unnamed: ${k}` : raw;
    let name = base;
    for (let i = 1; taken.has(name.toLowerCase()); i++) name = `${base}.${i}`;
    taken.add(name.toLowerCase());
    return name;
  });
}

function count(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i >= 0; i = s.indexOf(ch, i + 1)) n++;
  return n;
}

/** Fields of one CSV line (double quotes, "" inside quotes). */
function splitCsvLine(line: string, delim: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === delim) out.push(cur.trim()), (cur = "");
    else cur += c;
  }
  out.push(cur.trim());
  return out;
}

/** The read_csv call for `file` (skipping `skipLines` lines first), with a fixed dialect and rejects kept. */
function reader(file: string, h: Header, skipLines: number, rej: { table: string; scan: string }): string {
  const columns = `{${h.names.map((n) => `${sqlString(n)}: 'VARCHAR'`).join(", ")}}`;
  return (
    `read_csv(${sqlString(file)}, header = false, skip = ${skipLines}, auto_detect = false, columns = ${columns}, ` +
    `delim = ${sqlString(h.delim)}, quote = '"', escape = '"', strict_mode = true, null_padding = false, ` +
    `store_rejects = true, rejects_table = ${sqlString(rej.table)}, rejects_scan = ${sqlString(rej.scan)})`
  );
}

/**
 * Stages every file into `table` (all VARCHAR, the union of the files'
 * columns, then `__fti_file`), rows of a file consecutive in read order, and
 * returns the lines that could not be parsed.
 */
export async function stageCsv(store: Store, table: string, files: string[], where: string): Promise<{ columns: string[]; rejects: CsvReject[] }> {
  const headers = files.map((f) => readHeader(f, where));
  // The union of the files' columns, by name in any case (a set: a header of 50,000 columns took minutes compared pairwise).
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const h of headers) {
    for (const n of h.names) {
      if (!seen.has(n.toLowerCase())) seen.add(n.toLowerCase()), columns.push(n);
    }
  }
  await store.run(`CREATE TEMP TABLE ${table} (${[...columns.map((c) => `${ident(c)} VARCHAR`), "__fti_file VARCHAR"].join(", ")})`);
  const rejects: CsvReject[] = [];
  for (let i = 0; i < files.length; i++) rejects.push(...(await stageFile(store, table, files[i], headers[i], columns)));
  return { columns, rejects };
}

/**
 * One file, restarting after each unterminated quote (from a copy of the rest
 * of the file after that line: DuckDB's own `skip` is quote-aware and would
 * skip into the quote); returns its rejected lines.
 */
async function stageFile(store: Store, table: string, file: string, h: Header, columns: string[]): Promise<CsvReject[]> {
  const rej = { table: "__fti_csv_rejects", scan: "__fti_csv_scans" };
  const own = new Set(h.names.map((n) => n.toLowerCase()));
  const select = columns.map((c) => (own.has(c.toLowerCase()) ? ident(c) : `NULL::VARCHAR AS ${ident(c)}`));
  const out: CsvReject[] = [];
  const copies: string[] = [];
  let source = file;
  let skip = 1; // the header
  let lineOffset = 0; // lines of `file` before the first line of `source`
  try {
    if (!uniformLineEndings(file)) copies.push((source = copyWithLfEndings(file, h.delim)));
    for (let restart = 0; ; restart++) {
      await cleanUp(store, `DROP TABLE IF EXISTS ${ident(rej.table)}`, `DROP TABLE IF EXISTS ${ident(rej.scan)}`);
      await store.run(`INSERT INTO ${table} SELECT ${select.join(", ")}, ${sqlString(file)} FROM ${reader(source, h, skip, rej)}`);
      // One entry per line (a line with several missing fields has one per field).
      const bad = await store.all<{ line: number | bigint; pos: number | bigint; error_type: string; error_message: string; csv_line: string | null }>(
        `SELECT DISTINCT ON (line) line, line_byte_position AS pos, error_type, error_message, csv_line FROM ${ident(rej.table)} ORDER BY line, column_idx`,
      );
      let swallowed: { line: number; pos: number } | null = null;
      for (const b of bad) {
        const text = b.csv_line ?? "";
        const line = lineOffset + Number(b.line);
        const cut = text.indexOf("\n");
        if (cut >= 0) swallowed = { line, pos: Number(b.pos) };
        const { reason, kind } = rejectReason(b.error_type, b.error_message);
        out.push({ file, row: line - 1, reason, kind, line: (cut >= 0 ? text.slice(0, cut) : text).slice(0, MAX_LINE_KEPT) });
      }
      if (!swallowed || restart >= MAX_RESTARTS) break;
      const rest = await copyAfterLine(source, swallowed.pos);
      if (rest === null) break;
      copies.push(rest);
      source = rest;
      // The copy's line ends were read as quoted (inside the unterminated quote): make them uniform now.
      if (!uniformLineEndings(source)) copies.push((source = copyWithLfEndings(source, h.delim)));
      skip = 0;
      lineOffset = swallowed.line;
    }
  } finally {
    for (const c of copies) rmSync(dirname(c), { recursive: true, force: true });
    await cleanUp(store, `DROP TABLE IF EXISTS ${ident(rej.table)}`, `DROP TABLE IF EXISTS ${ident(rej.scan)}`);
  }
  return out;
}

/** A temp copy of `file` from the line after the one starting at byte `pos`; null when that line is the last. */
async function copyAfterLine(file: string, pos: number): Promise<string | null> {
  const fd = openSync(file, "r");
  let next = -1;
  try {
    const buf = Buffer.alloc(1 << 16);
    for (let at = pos; next < 0; at += buf.length) {
      const n = readSync(fd, buf, 0, buf.length, at);
      if (n <= 0) return null;
      const i = buf.subarray(0, n).indexOf(10);
      if (i >= 0) next = at + i + 1;
    }
  } finally {
    closeSync(fd);
  }
  if (next >= statSync(file).size) return null;
  const dir = mkdtempSync(join(tmpdir(), "fti-csv-"));
  const copy = join(dir, "rest.csv");
  await pipeline(createReadStream(file, { start: next }), createWriteStream(copy));
  return copy;
}

/**
 * SQL of the data row number of the k-th row read from a file, given the
 * rejected rows of that file kept in `shiftTable` as (file, r_i - i) for the
 * sorted rejected row numbers r_1 < r_2 < …: the k-th good row is row
 * k + #{i : r_i - i < k} (each rejected row before it shifts it by one).
 */
export function shiftedRow(k: string, file: string, shiftTable: string): string {
  return `(${k} + (SELECT count(*) FROM ${shiftTable} AS __fti_sh WHERE __fti_sh.file IS NOT DISTINCT FROM ${file} AND __fti_sh.x < ${k}))`;
}

/** The (file, r_i - i) table shiftedRow reads. */
export async function writeShiftTable(store: Store, shiftTable: string, rejects: CsvReject[]): Promise<void> {
  await store.run(`CREATE OR REPLACE TEMP TABLE ${shiftTable} (file VARCHAR, x BIGINT)`);
  const byFile = new Map<string, number[]>();
  for (const r of rejects) {
    let rows = byFile.get(r.file);
    if (!rows) byFile.set(r.file, (rows = []));
    rows.push(r.row);
  }
  const values: string[] = [];
  for (const [file, rows] of byFile) rows.sort((a, b) => a - b).forEach((r, i) => values.push(`(${sqlString(file)}, ${r - (i + 1)})`));
  for (let i = 0; i < values.length; i += 1000) await store.run(`INSERT INTO ${shiftTable} VALUES ${values.slice(i, i + 1000).join(", ")}`);
}

function rejectReason(type: string, message: string): { reason: string; kind: string } {
  const what: Record<string, string> = {
    "TOO MANY COLUMNS": "more fields than the header",
    "MISSING COLUMNS": "fewer fields than the header",
    "UNQUOTED VALUE": "a quote that is not closed (or a quote inside an unquoted value)",
    "INVALID UNICODE": "not valid UTF-8",
    "INVALID ENCODING": "not valid UTF-8",
    "LINE SIZE OVER MAXIMUM": "the line is too long",
  };
  const kind = `unreadable line: ${what[type] ?? type.toLowerCase()}`;
  return { reason: `${kind} (${message.replace(/\s+/g, " ").trim()})`, kind };
}
