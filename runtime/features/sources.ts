// Reading one source: files (csv / parquet / ndjson, a path or a glob relative
// to the spec's directory) or a DuckDB table. Every row is validated against
// the declared fields: casts, nulls, NaN/Infinity, `in (...)` values, `check`s,
// the `unique` column and the event time. Bad rows go to `fti_quarantine`
// with every reason; valid rows replace the rows of `src_<source>` in the run's
// range. All of it is set-based SQL: no row passes through JS. The input
// relation is in source-input.ts, the rules in validation.ts; the passes over
// them (valid rows, failing rows, duplicates) are below.

import { matchFieldColumns, snakeCase } from "./column-match.ts";
import { existsSync, statSync } from "node:fs";
import type { SourcePlan, SpecBundle } from "../api.ts";
import { UserError } from "../errors.ts";
import { cleanUp, type Store } from "../store/store.ts";
import { ident, sqlString, sqlTimestamp, sqlType } from "../store/sql.ts";
import { openSourceInput, type SourceInput } from "./source-input.ts";
import { confinedPath, realPathInside, sourceRootsProblem } from "./source-paths.ts";
import { buildValidation, shown, type Validation } from "./validation.ts";
import { columnDefinition } from "./column-storage.ts";
import { rowidParts } from "./table-parts.ts";

export interface SourceReadReport {
  source: string;
  /** Raw table written: `src_<source>`. */
  table: string;
  /** Files read (absolute), or the table name for a table source. */
  files: string[];
  /** Rows validated: those in the run's range, plus rows whose event time is unknown. */
  read: number;
  valid: number;
  quarantined: number;
  /** Rows outside the run's range (left alone). */
  skipped: number;
  ms: number;
  /** A stream source: its segments' events (valid and quarantined are included above). */
  stream?: StreamReadReport;
}

/** The events of a stream source's segments in one run (features/stream-input.ts). */
export interface StreamReadReport {
  /** Segment files and complete event lines read. */
  segments: number;
  events: number;
  /** Events written into src_<source>. */
  valid: number;
  /** Events whose unique value was already stored (from the file or an earlier line). */
  duplicates: number;
  quarantined: number;
  /** Events outside the run's range. */
  skipped: number;
  /** Segment files removed after the run committed: every line kept in fti_stream_events. */
  compacted?: number;
}

export interface ReadSourceOptions {
  runId: string;
  /** The run's start: `ingested_at` of the rows written and `quarantined_at` of the rows rejected. */
  ingestedAt: Date;
  from?: Date;
  to?: Date;
}

/** The raw (validated) table of a source. */
export function rawTable(source: string): string {
  return `src_${source}`;
}

/** Column layout of `src_<source>`: the declared fields in order, then `ingested_at`. */
export function rawTableColumns(plan: SourcePlan): Array<{ name: string; type: string }> {
  return [...plan.fields.map((f) => ({ name: f.name, type: sqlType(f.type) })), { name: "ingested_at", type: "TIMESTAMP" }];
}

const GLOB_CHARS = /[*?[\]{}]/;

/**
 * The files of a file source, sorted; a UserError naming the resolved path
 * when nothing is there.
 */
export async function resolveSourceFiles(store: Store, bundle: SpecBundle, plan: SourcePlan, opts: { allowNone?: boolean } = {}): Promise<string[]> {
  if (plan.location.kind !== "files") return [];
  const raw = plan.location.path;
  const specDir = plan.declaredIn?.specDir ?? bundle.specDir;
  const where = `source \`${plan.name}\` (${plan.declaredIn?.file ?? bundle.file}:${plan.line})`;
  const { abs, inside, roots } = confinedPath(raw, specDir);
  const outside = () =>
    new UserError(
      `${where}: path "${raw}" leads outside the project`,
      sourceRootsProblem(specDir) ?? "keep the data inside the project, or add its folder to `sourceRoots` in fti.json (see docs/language.md, FTI2015)",
    );
  if (!inside) throw outside();
  let files: string[];
  if (GLOB_CHARS.test(abs)) {
    const rows = await store.all<{ file: string }>(`SELECT file FROM glob(?) ORDER BY file`, [abs]);
    if (rows.length === 0 && opts.allowNone) return [];
    if (rows.length === 0) {
      throw new UserError(`${where}: no files match ${abs}`, `check the \`path\` of the source (it is relative to ${specDir})`);
    }
    files = rows.map((r) => r.file);
  } else {
    if (!existsSync(abs) && opts.allowNone) return [];
    if (!existsSync(abs)) {
      throw new UserError(`${where}: file not found: ${abs}`, `check the \`path\` of the source (it is relative to ${specDir})`);
    }
    if (statSync(abs).isDirectory()) {
      throw new UserError(`${where}: ${abs} is a directory`, `use a glob such as "${raw.replace(/\/$/, "")}/*.${plan.location.format}"`);
    }
    files = [abs];
  }
  // A symlink (or a glob through one) must not lead outside either: the real path of every file counts.
  if (!files.every((f) => realPathInside(f, roots))) throw outside();
  // A pipe or a device would block the read (a FIFO waits for a writer) or never end.
  const special = files.find((f) => !statSync(f).isFile());
  if (special) throw new UserError(`${where}: ${special} is not a regular file (a pipe or a device)`, "a source reads files: point `path` at the data itself");
  return files;
}

/** A file's column names for an error message: at most 20, each cut at 40 characters. */
function shownColumns(names: string[]): string {
  if (names.length === 0) return "none";
  const cut = names.slice(0, 20).map((n) => (n.length > 40 ? `${n.slice(0, 40)}…` : n));
  return cut.join(", ") + (names.length > 20 ? `, … (${names.length} in all)` : "");
}

/** What the passes over one source's input share. */
interface SourcePass {
  store: Store;
  plan: SourcePlan;
  opts: ReadSourceOptions;
  where: string;
  input: SourceInput;
  v: Validation;
  /** The typed input relation. */
  typed: string;
  /** SQL conditions of the run's range ([] = every row). */
  inRange: string[];
  /** True for a row with a known event time outside the range (skipped). */
  outside: string;
  /** True for a row the run judges. */
  judged: string;
  /** Temp tables: the failing rows, the values read more than once. */
  bad: string;
  dupValues: string;
  /** Runs a pass over the input, turning a read failure into the user's error. */
  pass<T>(what: Promise<T>): Promise<T>;
}

/**
 * The rows a run stored in `src_<source>`, read again from the source's own
 * files: the same rows with the same values, as a relation (`sql`). A group
 * over a table written in the run's own transaction scans it on one thread
 * (DuckDB sizes a scan by the table's committed rows), so its windows' input
 * was fed by one core; a Parquet file is read on every core, as the
 * hand-written SQL over it is. Only when the relation and the table cannot
 * differ: Parquet read in place, the whole table replaced (no range), no
 * stream, and not one row skipped or quarantined (so no validation filter
 * and no duplicate removal stand between the file and the table). The input
 * stays open until `close`; `changedFiles` tells the files that changed
 * since they were first read (the run then fails, as a change during the
 * source's passes does).
 */
export interface StoredRowsInPlace {
  sql: string;
  changedFiles(): string[];
  close(): Promise<void>;
}

/**
 * Reads, validates and stores one source. Must run inside the pipeline's
 * transaction (it creates temp tables and writes two tables).
 *
 * The valid rows go first, straight from the input into `src_<source>` (a
 * cheap `failing` flag per row decides); reasons and row JSON are built only
 * when some judged row was not written, and only for the rows that fail; the
 * later duplicates of a `unique` value are found in the written table and
 * dropped from it (see CONTEXT.md).
 */
export async function readSource(store: Store, bundle: SpecBundle, plan: SourcePlan, opts: ReadSourceOptions): Promise<SourceReadReport> {
  const { report, inPlace } = await readSourceKeepingInput(store, bundle, plan, opts);
  await inPlace?.close();
  return report;
}

/** readSource, and when the stored rows can be read again from the files (StoredRowsInPlace), that relation: the caller closes it. */
export async function readSourceKeepingInput(
  store: Store,
  bundle: SpecBundle,
  plan: SourcePlan,
  opts: ReadSourceOptions,
): Promise<{ report: SourceReadReport; inPlace?: StoredRowsInPlace }> {
  const t0 = performance.now();
  const where = `source \`${plan.name}\` (${bundle.file}:${plan.line})`;
  const table = rawTable(plan.name);
  // A stream's path may match nothing yet: its rows are then its streamed events alone (stream-input.ts).
  const files = plan.location.kind === "files" ? await resolveSourceFiles(store, bundle, plan, { allowNone: plan.stream !== undefined }) : [plan.location.table];
  if (files.length === 0) {
    await ensureRawTable(store, bundle, plan, rangeOf(plan, opts).inRange.length > 0);
    await clearRange(store, table, rangeOf(plan, opts).inRange);
    return { report: { source: plan.name, table, files, read: 0, valid: 0, quarantined: 0, skipped: 0, ms: Math.round(performance.now() - t0) } };
  }
  const input = await openSourceInput(store, bundle, plan, files);
  const bad = ident(`__fti_bad_${plan.name}`);
  const dupValues = ident(`__fti_dupvals_${plan.name}`);
  let kept = false;
  try {
    checkDeclaredFields(where, plan, input, files);
    const v = buildValidation(plan, input);
    const pass = async <T>(what: Promise<T>): Promise<T> => {
      try {
        return await what;
      } catch (e) {
        throw passError(where, files, e);
      }
    };
    const p: SourcePass = { store, plan, opts, where, input, v, typed: `(${v.typed}) AS __fti_t`, ...rangeOf(plan, opts), bad, dupValues, pass };

    await checkRulesBind(p);
    await ensureRawTable(store, bundle, plan, p.inRange.length > 0);
    const written = await writeValidRows(p, table);
    const { judged, skipped } = await countRows(p);
    await collectFailingRows(p, written < judged);
    const duplicates = plan.unique ? await dropDuplicates(p, table, plan.unique, judged + skipped) : 0;
    const quarantined = await quarantine(p);
    const changed = input.changedFiles();
    if (changed.length) throw new UserError(`${where}: ${changed.join(", ")} changed while being read`, "run the feature pipeline again");
    const read = judged + input.rejects.length;
    const valid = written - duplicates;
    if (valid + quarantined !== read) {
      throw new Error(`${where}: ${read} rows in range but ${valid} written and ${quarantined} quarantined`);
    }
    const report = { source: plan.name, table, files, read, valid, quarantined, skipped, ms: Math.round(performance.now() - t0) };
    if (!input.inPlace || plan.stream || p.inRange.length > 0 || skipped > 0 || quarantined > 0 || valid !== written) return { report };
    kept = true;
    return { report, inPlace: storedRowsInPlace(p, input) };
  } finally {
    await cleanUp(store, `DROP TABLE IF EXISTS ${bad}`, `DROP TABLE IF EXISTS ${dupValues}`);
    if (!kept) await input.close();
  }
}

/** The table's columns over the typed input, every row (see StoredRowsInPlace for when that is the table's content). */
function storedRowsInPlace(p: SourcePass, input: SourceInput): StoredRowsInPlace {
  const cols = rawTableColumns(p.plan).slice(0, -1);
  const typed = cols.map((c) => `CAST(${ident(c.name)} AS ${c.type}) AS ${ident(c.name)}`).join(", ");
  return {
    sql: `SELECT ${typed}, ${sqlTimestamp(p.opts.ingestedAt)} AS ingested_at FROM ${p.typed}`,
    changedFiles: () => input.changedFiles(),
    close: () => input.close(),
  };
}

/**
 * Every declared field must be a column of the files, by name or snake_case
 * name (column-match.ts). ndjson: a key an object lacks is a null, but a
 * non-nullable field that no object has is a misnamed field, not missing data.
 */
function checkDeclaredFields(where: string, plan: SourcePlan, input: SourceInput, files: string[]): void {
  if (input.ndjson && !input.keys) return;
  const names = input.keys ?? input.columns.map((c) => c.name);
  const { missing, ambiguous } = matchFieldColumns(plan.fields, names);
  const inFiles = files.length === 1 ? files[0] : `${files.length} files`;
  const what = input.ndjson ? "keys" : "columns";
  if (ambiguous.length) {
    const { field, columns } = ambiguous[0];
    throw new UserError(`${where}: field \`${field}\` could be any of the ${what} ${columns.map((c) => `"${c}"`).join(", ")} of ${inFiles}`, `rename the ${what} apart in the files`);
  }
  const required = input.ndjson ? missing.filter((m) => !plan.fields.find((f) => f.name === m)?.nullable) : missing;
  if (required.length && !(input.ndjson && names.length === 0)) {
    throw new UserError(
      `${where}: ${required.map((m) => fieldShown(plan, m)).join(", ")} not found in ${inFiles} (${what}: ${shownColumns(names)})`,
      input.ndjson && isGeoJson(names)
        ? "the file looks like GeoJSON: one object whose `features` array holds the rows, each row's values under `properties`; " +
            "fti reads one JSON object per row (one a line, or a top-level array), so write the rows out first, e.g. " +
            "`jq -c '.features[] | .properties + {id, lon: .geometry.coordinates[0], lat: .geometry.coordinates[1]}' in.json > rows.ndjson`"
        : !input.ndjson && spaceSeparated(names, required)
          ? `the header is one column, \`${names[0].length > 60 ? `${names[0].slice(0, 60)}…` : names[0]}\`: fti splits a CSV line at commas, semicolons, tabs or \`|\`, not spaces; write the file with one of those (for a file of plain values, \`tr -s ' ' ',' < in.txt > out.csv\`)`
          : !input.ndjson && numberNames(names).length
          ? `the first line reads as data, not column names (${numberNames(names).slice(0, 3).map((n) => `\`${n}\``).join(", ")}): fti takes a CSV's first line as its header, so add one naming the columns (\`${plan.fields.map((f) => f.name).join(",")}\` in the file's column order)`
          : `declare the fields with the names the file uses (a ${what === "keys" ? "key" : "column"} \`Sale Price\` is the field \`sale_price\`)`,
    );
  }
}

/** One column whose name is several words, a missing field among them: a file separated by spaces. */
const spaceSeparated = (names: string[], missing: string[]): boolean => {
  const words = names.length === 1 ? names[0].trim().split(/\s+/) : [];
  return words.length > 1 && missing.some((m) => words.some((w) => w === m || snakeCase(w) === m));
};

/** Header names that are numbers (`178`, `14.23`): a file without a header line, its first row read as one. */
const numberNames = (names: string[]): string[] => names.filter((n) => /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(n));

/** The keys of a GeoJSON FeatureCollection (`type`, `features`, maybe `bbox`, `metadata`): its rows are nested one level down. */
const isGeoJson = (keys: string[]): boolean => keys.includes("type") && keys.includes("features") && keys.length <= 5;

/** A missing field as the error names it: `kind` (from "Entity") when its `from` names the column. */
function fieldShown(plan: SourcePlan, field: string): string {
  const column = plan.fields.find((f) => f.name === field)?.column;
  return column === undefined ? `\`${field}\`` : `\`${field}\` (from ${JSON.stringify(column)})`;
}

/** The run's range: rows with a known event time outside [from, to) are skipped. Reference data (no event time) is always read whole. */
export function rangeOf(plan: SourcePlan, opts: ReadSourceOptions): Pick<SourcePass, "inRange" | "outside" | "judged"> {
  const et = plan.eventTime ? ident(plan.eventTime) : undefined;
  const inRange: string[] = [];
  if (et && opts.from) inRange.push(`${et} >= ${sqlTimestamp(opts.from)}`);
  if (et && opts.to) inRange.push(`${et} < ${sqlTimestamp(opts.to)}`);
  const outside = inRange.length ? `(${et} IS NOT NULL AND NOT (${inRange.join(" AND ")}))` : "FALSE";
  return { inRange, outside, judged: inRange.length ? `NOT ${outside}` : "TRUE" };
}

/** Wrong SQL in a check shows when the statement is bound, before any row is read or written. */
async function checkRulesBind(p: SourcePass): Promise<void> {
  const { v, typed, judged } = p;
  try {
    await p.store.all(`SELECT * FROM (DESCRIBE SELECT ${v.failing}, ${v.reason}, ${v.reasonKind} FROM ${typed} WHERE ${judged})`);
  } catch (e) {
    throw new Error(`${p.where}: validating the rows failed (a check's SQL may be wrong): ${(e as Error).message}`);
  }
}

/**
 * 2. The failing rows, with every reason and the row as read. The pass runs
 * only when some judged row was not written (`any`); otherwise the table is
 * created empty (the duplicates may still go there).
 */
async function collectFailingRows(p: SourcePass, any: boolean): Promise<void> {
  const { store, v, typed, judged, bad } = p;
  await store.run(`DROP TABLE IF EXISTS ${bad}`);
  await p.pass(
    store.run(
      `CREATE TEMP TABLE ${bad} AS
         SELECT __fti_file, __fti_pos, ${v.reason} AS __fti_reason, ${v.reasonKind} AS __fti_kind, ${any ? v.rowJson : "NULL::JSON"} AS __fti_json
           FROM ${typed} WHERE ${any ? `${judged} AND ${v.failing}` : "FALSE"}`,
    ),
  );
}

/**
 * 3. `unique`: among otherwise valid rows, the first in read order wins.
 * They are all in `table` by now, so the values (or combinations,
 * `unique (a, b)`) stored more than once are found from those columns alone
 * (duplicateValues). The table is not in read order (writeValidRows), so the
 * winners are chosen in the input: the later occurrences are quarantined with
 * their first's row number, every stored row of a duplicated value is
 * deleted, and each value's first valid row is written again from the input.
 * Returns the duplicates (the rows quarantined).
 */
async function dropDuplicates(p: SourcePass, table: string, unique: string[], inputRows: number): Promise<number> {
  const { store, plan, v, typed, judged, dupValues, inRange } = p;
  const key = uniqueKey(unique);
  const where = (cond: string) => `WHERE ${[...inRange, cond].join(" AND ")}`;
  if (await strictlyOrdered(p, key, inputRows)) return 0;
  await duplicateValues(p, key, table, where);
  const [d] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${dupValues}`);
  const values = Number(d.n);
  if (values === 0) return 0;
  const quarantined = await collectDuplicates(p, unique, key);
  const deleted = await store.run(`DELETE FROM ${ident(table)} ${where(`${key.value} IN (SELECT __fti_u FROM ${dupValues})`)}`);
  const cols = plan.fields.map((f) => ident(f.name)).join(", ");
  const firsts = await p.pass(
    store.run(
      `INSERT INTO ${ident(table)} (${cols}, ingested_at)
       SELECT ${cols}, ? FROM (
         SELECT *, row_number() OVER (PARTITION BY ${key.columns} ORDER BY __fti_file, __fti_pos) AS __fti_k
           FROM ${typed} WHERE ${judged} AND NOT ${v.failing} AND ${key.value} IN (SELECT __fti_u FROM ${dupValues})
       ) WHERE __fti_k = 1
       ORDER BY __fti_file, __fti_pos`,
      [p.opts.ingestedAt],
    ),
  );
  if (firsts !== values || deleted !== quarantined + firsts) {
    throw new Error(`${p.where}: ${values} duplicated values, ${quarantined} later duplicates in the input, but ${deleted} rows of them in ${table} (${firsts} kept)`);
  }
  return quarantined;
}

/** The later occurrences of the duplicate values, ranked in the input by read order, into the failing rows. */
async function collectDuplicates(p: SourcePass, unique: string[], key: UniqueKey): Promise<number> {
  const { store, plan, v, typed, judged, bad, dupValues, input } = p;
  const w = `(PARTITION BY ${key.columns} ORDER BY __fti_file, __fti_pos)`;
  const quotedOf = (f: string) => plan.fields.find((x) => x.name === f)?.type === "string";
  const value = unique.map((f) => shown(v.rawOf(f), quotedOf(f))).join(" || ', ' || ");
  const label = unique.length === 1 ? unique[0] : `(${unique.join(", ")})`;
  return p.pass(
    store.run(
      `INSERT INTO ${bad}
         SELECT __fti_file, __fti_pos,
                ${sqlString(`${label}: duplicate value ${unique.length === 1 ? "" : "("}`)} || ${value}
                  || ${sqlString(unique.length === 1 ? "" : ")")} || ' (first at row ' || CAST(${input.rowNumber("__fti_d.__fti_first_file", "__fti_d.__fti_first_pos")} AS VARCHAR) || ')',
                ${sqlString(`${label}: duplicate value`)},
                __fti_json
           FROM (SELECT *, ${v.rowJson} AS __fti_json,
                        row_number() OVER ${w} AS __fti_k,
                        first_value(__fti_file) OVER ${w} AS __fti_first_file,
                        first_value(__fti_pos) OVER ${w} AS __fti_first_pos
                   FROM ${typed}
                  WHERE ${judged} AND NOT ${v.failing} AND ${key.value} IN (SELECT __fti_u FROM ${dupValues})) AS __fti_d
          WHERE __fti_k > 1`,
    ),
  );
}

type UniqueKey = ReturnType<typeof uniqueKey>;

/** The SQL of a `unique` key: its columns, one value (a struct for a combination), its hash, and "none of it is null". */
function uniqueKey(fields: string[]): { columns: string; value: string; hash: string; present: string } {
  const cols = fields.map(ident);
  return {
    columns: cols.join(", "),
    value: cols.length === 1 ? cols[0] : `struct_pack(${cols.map((c, i) => `__fti_${i} := ${c}`).join(", ")})`,
    hash: `hash(${cols.join(", ")})`,
    present: cols.map((c) => `${c} IS NOT NULL`).join(" AND "),
  };
}

/**
 * Whether no value of the unique key can repeat, told without a sort: the
 * input's rows with a key (`inputRows` of them) are read as two parts, each
 * one sequence through a streaming `lag … OVER ()` (no sort, no
 * materialization), and when each part's values strictly increase or
 * strictly decrease along its sequence (`np = n − 1` checks it is one
 * sequence) and the two parts' ranges do not overlap, no value repeats —
 * whatever order DuckDB read them in and wherever the parts split. Keys
 * written in order (sequential or time-based ids, sorted exports) are common,
 * and this pass costs a fraction of sorting the hashes; any other order falls
 * through to it. The parts are the first and second half in read order (two
 * pipelines, one per core: the streaming window is one thread each). The
 * input holds every judged row and more (rows that fail a rule, rows outside
 * the range), so "no repeat" there holds for the valid rows. DuckDB's
 * comparisons agree with its grouping (-0.0 = 0.0, NaN = NaN), so this never
 * calls two values distinct that the exact step would group.
 */
async function strictlyOrdered(p: SourcePass, key: UniqueKey, inputRows: number): Promise<boolean> {
  const [first, second] = readOrderHalves(p.input, inputRows);
  const part = (h: number, cond: string) =>
    `SELECT ${h} AS __fti_h, __fti_u, lag(__fti_u) OVER () AS __fti_p, row_number() OVER () AS __fti_n
       FROM (SELECT ${key.value} AS __fti_u FROM ${p.typed} WHERE ${key.present} AND ${cond})`;
  // Per part: n rows, np steps (n − 1 in one sequence), dir = rising − falling steps (|dir| = np: every step
  // one way), and its first and last value in sequence order (its range, when it is monotone). One value
  // comparison per row for ordered data, where min/max and two step counts took four (the pass −35 % CPU).
  const [r] = await p.pass(
    p.store.all<{ monotone: boolean; apart: boolean }>(
      `WITH __fti_parts AS (
         SELECT __fti_h, count(*) AS n, count(__fti_p) AS np,
                sum(CASE WHEN __fti_u > __fti_p THEN 1 WHEN __fti_u < __fti_p THEN -1 ELSE 0 END) AS dir,
                arg_min(__fti_u, __fti_n) AS head, arg_max(__fti_u, __fti_n) AS tail
           FROM (${part(0, first)} UNION ALL ${part(1, second)}) GROUP BY __fti_h),
       __fti_ranges AS (SELECT __fti_h, least(head, tail) AS lo, greatest(head, tail) AS hi FROM __fti_parts)
       SELECT coalesce(bool_and(np = n - 1 AND abs(dir) = np), true) AS monotone,
              coalesce((SELECT a.hi < b.lo OR b.hi < a.lo FROM __fti_ranges AS a, __fti_ranges AS b WHERE a.__fti_h = 0 AND b.__fti_h = 1), true) AS apart
         FROM __fti_parts`,
    ),
  );
  return r.monotone === true && r.apart === true;
}

/**
 * Two conditions that split the input into its first and second half in read
 * order: by position when positions count across the files (or there is one
 * file), else by file. Any split keeps strictlyOrdered exact; this one lets
 * data in read order pass it.
 */
function readOrderHalves(input: SourceInput, rows: number): [string, string] {
  if (input.files.length > 1 && !input.positionAcrossFiles) {
    const middle = sqlString(input.files[Math.floor(input.files.length / 2)]);
    return [`__fti_file < ${middle}`, `__fti_file >= ${middle}`];
  }
  const middle = Math.floor(rows / 2);
  return [`__fti_pos < ${middle}`, `__fti_pos >= ${middle}`];
}

/**
 * The values of the unique key stored more than once in `table` (the rows
 * `where` keeps: those this run wrote) into `dupValues`. A hash aggregate over
 * every distinct string cost the most of this pass (10 M distinct values:
 * ~3.5 s of CPU); sorting their 64-bit hashes and comparing neighbours is
 * ~40 % cheaper. Equal values have equal hashes, so the hashes seen twice hold
 * every duplicate; a second, exact pass over the rows with such a hash
 * (usually none) keeps the values that really repeat, so a hash collision
 * never quarantines a row.
 *
 * The rows are read as one rowid range per thread under UNION ALL
 * (table-parts.ts): DuckDB gives a table scan as many threads as the table
 * has committed row groups, and the rows this run wrote are not committed
 * yet, so one scan would hash and sort them all on one thread (the
 * pipeline's one serial pass); the parts feed the sort from every thread.
 */
async function duplicateValues(p: SourcePass, key: UniqueKey, table: string, where: (cond: string) => string): Promise<void> {
  const { store, dupValues } = p;
  const dupHashes = ident(`__fti_duphash_${p.plan.name}`);
  const parts = await rowidParts(store, table);
  const hashes = parts.map((part) => `SELECT ${key.hash} AS __fti_h FROM ${ident(table)} ${where(`${key.present} AND ${part}`)}`).join(" UNION ALL ");
  await cleanUp(store, `DROP TABLE IF EXISTS ${dupValues}`, `DROP TABLE IF EXISTS ${dupHashes}`);
  try {
    await store.run(
      `CREATE TEMP TABLE ${dupHashes} AS
         SELECT DISTINCT __fti_h FROM (SELECT __fti_h, lag(__fti_h) OVER (ORDER BY __fti_h) AS __fti_prev FROM (${hashes}))
          WHERE __fti_h = __fti_prev`,
    );
    const [h] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${dupHashes}`);
    const candidates = Number(h.n) > 0 ? `${key.hash} IN (SELECT __fti_h FROM ${dupHashes})` : "FALSE";
    await store.run(
      `CREATE TEMP TABLE ${dupValues} AS
         SELECT ${key.value} AS __fti_u FROM ${ident(table)} ${where(`${key.present} AND ${candidates}`)} GROUP BY ${key.columns} HAVING count(*) > 1`,
    );
  } finally {
    await cleanUp(store, `DROP TABLE IF EXISTS ${dupHashes}`);
  }
}

/** 4. Quarantine, in read order; then the lines that could not even be parsed. Returns the rows quarantined. */
async function quarantine(p: SourcePass): Promise<number> {
  const [b] = await p.store.all<{ n: number }>(`SELECT count(*) AS n FROM ${p.bad}`);
  const unparsed = p.input.rejects.length;
  if (unparsed > 0) {
    await p.store.appendRows(
      "fti_quarantine",
      ["run_id", "source", "row_number", "row_json", "reason", "reason_kind", "quarantined_at", "file"],
      p.input.rejects.map((r) => [p.opts.runId, p.plan.name, r.row, JSON.stringify({ line: r.line }), r.reason, r.kind, p.opts.ingestedAt, r.file]),
    );
  }
  if (Number(b.n) > 0) {
    await p.store.run(
      `INSERT INTO fti_quarantine (run_id, source, row_number, row_json, reason, reason_kind, quarantined_at, file)
       SELECT ?, ?, ${p.input.rowNumber("__fti_b.__fti_file", "__fti_b.__fti_pos")}, __fti_json, __fti_reason, __fti_kind, ?, __fti_file
         FROM ${p.bad} AS __fti_b ORDER BY __fti_file, __fti_pos`,
      [p.opts.runId, p.plan.name, p.opts.ingestedAt],
    );
  }
  return Number(b.n) + unparsed;
}

/**
 * 1. The raw table: replace the range with the judged rows that pass every
 * rule. The later duplicates of a `unique` value are among them until
 * dropDuplicates.
 *
 * Written without insertion order, so the table is not in read order: an
 * INSERT that keeps the order writes each batch of the input (a Parquet row
 * group) as row groups of its own, a full one and a partial tail, and DuckDB's
 * first checkpoint after the run (at the latest when the store closes)
 * rewrites the whole table to merge the tails — 10 M rows: ~5 s of CPU after
 * the run, against ~0.2 s for a table written without the order, which costs
 * the same to write (docs/benchmarks.md, "Fourteenth session: features").
 * Nothing reads the table in its stored order: the first of two duplicates is
 * chosen in the input (dropDuplicates), and every reader orders or aggregates.
 */
async function writeValidRows(p: SourcePass, table: string): Promise<number> {
  const { store, plan, v, typed, judged, inRange } = p;
  const cols = plan.fields.map((f) => ident(f.name)).join(", ");
  await clearRange(store, table, inRange);
  return store.withoutInsertionOrder(() =>
    p.pass(store.run(`INSERT INTO ${ident(table)} (${cols}, ingested_at) SELECT ${cols}, ? FROM ${typed} WHERE ${judged} AND NOT ${v.failing}`, [p.opts.ingestedAt])),
  );
}

/** Deletes the rows of the run's range (every row without a range). */
async function clearRange(store: Store, table: string, inRange: string[]): Promise<void> {
  if (inRange.length) await store.run(`DELETE FROM ${ident(table)} WHERE ${inRange.join(" AND ")}`);
  else await store.run(`DELETE FROM ${ident(table)}`);
}

/** The rows the run judges (in range, or with an unknown event time) and the ones it skips; the lines that could not be parsed aside. */
async function countRows(p: SourcePass): Promise<{ judged: number; skipped: number }> {
  const [c] = await p.pass(
    p.store.all<{ total: number; skipped: number }>(
      `SELECT count(*) AS total, ${p.inRange.length ? `count(*) FILTER (WHERE ${p.outside})` : "0"} AS skipped FROM ${p.typed}`,
    ),
  );
  return { judged: Number(c.total) - Number(c.skipped), skipped: Number(c.skipped) };
}

/**
 * An error while a pass reads the input: a file that cannot be read is the
 * user's to fix; anything else (a check failing at run time) is reported as
 * a validation failure.
 */
function passError(where: string, files: string[], e: unknown): Error {
  const msg = (e as Error)?.message ?? String(e);
  if (/^(IO Error|Invalid Input Error)/.test(msg) && /parquet|file/i.test(msg)) {
    return new UserError(`${where}: cannot read ${files.join(", ")}: ${msg.split("\n")[0]}`);
  }
  return new Error(`${where}: validating the rows failed (a check's SQL may be wrong): ${msg}`);
}

/**
 * Creates `src_<source>` if missing. When its columns differ from the plan, a
 * whole-table run recreates it (it is a copy of the files); a range run
 * refuses, since the rows outside the range would keep the old layout.
 */
export async function ensureRawTable(store: Store, bundle: SpecBundle, plan: SourcePlan, ranged: boolean): Promise<void> {
  const table = rawTable(plan.name);
  const want = rawTableColumns(plan);
  const have = await store.tableColumns(table);
  if (have.length) {
    const same =
      have.length === want.length &&
      have.every((c, i) => c.name.toLowerCase() === want[i].name.toLowerCase() && c.type.toUpperCase() === want[i].type);
    if (same) return;
    if (ranged) {
      throw new UserError(
        `source \`${plan.name}\` (${bundle.file}:${plan.line}) declares other fields than ${table} holds; a --from/--to run cannot change them`,
        "run the feature pipeline over the whole range (without --from/--to) to reload the source",
      );
    }
    await store.run(`DROP TABLE ${ident(table)}`);
  }
  await store.run(`CREATE TABLE ${ident(table)} (${want.map((c) => columnDefinition(c, plan.unique?.length === 1 && c.name === plan.unique[0])).join(", ")})`);
}
