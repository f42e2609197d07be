// Whether a feature group's table holds at most one row per (keys,
// event_time). When it does, a point-in-time join can take the features
// straight from DuckDB's ASOF join; when it does not, ties must be settled
// (ingested_at, row id, values) by a second pass over the rows the spine
// touched. The check sorts the hashes of the whole table (seconds at
// 10 M rows), so its answer is kept in `fti_table_facts` with a fingerprint
// of the table: row count, latest ingested_at and the event-time range. Every
// feature run stamps a new ingested_at on the rows it writes, so a rewritten
// table never matches an old fingerprint.

import { type Store } from "../store/store.ts";
import { ident, tableRef } from "../store/sql.ts";

const FACTS = "fti_table_facts";

/** Created by the first check on a writable store; a fact holds while its table's fingerprint does. */
const FACTS_TABLE = `CREATE TABLE IF NOT EXISTS ${FACTS} (
     table_name VARCHAR NOT NULL,
     key_columns VARCHAR NOT NULL,
     row_count BIGINT NOT NULL,
     fingerprint VARCHAR NOT NULL,
     unique_key_times BOOLEAN NOT NULL,
     checked_at TIMESTAMP NOT NULL
   )`;

interface Fingerprint {
  rows: number;
  ingested: string | null;
  lo: string | null;
  hi: string | null;
}

/**
 * True when no two rows of `table` share (keys, event_time, ...also); cached
 * per table fingerprint. `also`: further columns, e.g. ingested_at and the row
 * id (then the tie rule never needs the values: pit.ts orders ties by fewer columns).
 */
export async function keyTimesUnique(store: Store, table: string, keys: readonly string[], also: readonly string[] = []): Promise<boolean> {
  const keyList = keys.join(",") + (also.length ? `|${also.join(",")}` : "");
  const columns = [...keys, "event_time", ...also].map(ident).join(", ");
  return cachedFact(store, table, "event_time", keyList, async () => !(await repeatsKeyTimes(store, table, columns, "event_time")));
}

/**
 * The fewest leading `exprs` (SQL over the columns of `table`; at least `from` of them) that no two
 * rows with a `time` (a column) share, or null when not even all of them are unique; each answer
 * cached like keyTimesUnique, the table's fingerprint read once for them all. A read-only store
 * answers from kept facts only (not unique without one: the check would cost every run what it
 * saves), and so does a table without ingested_at (no fingerprint). The spine's numbering (pit.ts)
 * asks it of its source's (time, keys): unique, they alone are the spine order.
 */
export async function shortestUniquePrefix(store: Store, table: string, time: string, exprs: readonly string[], from: number): Promise<number | null> {
  // The fingerprint needs ingested_at (every table fti writes has it).
  if (!(await store.tableColumns(table)).some((c) => c.name.toLowerCase() === "ingested_at")) return null;
  const fp = await fingerprint(store, table, time);
  for (let n = from; n <= exprs.length; n++) {
    const prefix = exprs.slice(0, n);
    const check = async () => !(await repeatsKeyTimes(store, table, prefix.join(", "), time));
    if (await cachedFact(store, table, time, `rows:${prefix.join(",")}`, check, { readOnlyAnswer: false, fp })) return n;
  }
  return null;
}

/**
 * A fact about `table` (`what`: which one), kept in fti_table_facts while the table's fingerprint
 * (with `time` as its time column) holds; computed on a miss and kept when the store is writable.
 * `readOnlyAnswer`: on a read-only store without the fact, this instead of computing it; `fp`: the
 * table's fingerprint when the caller has read it already.
 */
async function cachedFact(
  store: Store,
  table: string,
  time: string,
  what: string,
  compute: () => Promise<boolean>,
  opts: { readOnlyAnswer?: boolean; fp?: Fingerprint } = {},
): Promise<boolean> {
  const fp = opts.fp ?? (await fingerprint(store, table, time));
  const cacheable = !store.readOnly;
  if (cacheable) await store.run(FACTS_TABLE);
  if (cacheable || (await store.tableExists(FACTS))) {
    const [hit] = await store.all<{ unique_key_times: boolean }>(
      `SELECT unique_key_times FROM ${FACTS}
        WHERE table_name = ? AND key_columns = ? AND row_count = ?
          AND fingerprint = ?`,
      [table, what, fp.rows, fingerprintText(fp)],
    );
    if (hit) return hit.unique_key_times;
  }
  if (!cacheable && opts.readOnlyAnswer !== undefined) return opts.readOnlyAnswer;
  const value = await compute();
  if (cacheable) {
    await store.run(`DELETE FROM ${FACTS} WHERE table_name = ? AND key_columns = ?`, [table, what]);
    await store.run(
      `INSERT INTO ${FACTS} (table_name, key_columns, row_count, fingerprint, unique_key_times, checked_at)
       VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP)`,
      [table, what, fp.rows, fingerprintText(fp), value],
    );
  }
  return value;
}

/**
 * Whether two rows share the values `k` (`time` not NULL). A hash
 * aggregate with one group per row (100 M at the bench's largest size) went
 * ~0.75 GiB past DuckDB's memory_limit; sorting the rows' 64-bit hashes and
 * comparing neighbours spills within it. Equal rows have equal hashes, so
 * only hashes seen twice (usually none) lead to the exact GROUP BY, over
 * their rows alone: a hash collision never counts as a repeat.
 */
async function repeatsKeyTimes(store: Store, table: string, k: string, time: string): Promise<boolean> {
  const from = `${tableRef(table)} WHERE ${ident(time)} IS NOT NULL`;
  const [dup] = await store.all<{ n: number }>(
    `SELECT count(*) AS n FROM (
       SELECT __fti_h FROM (SELECT __fti_h, lag(__fti_h) OVER (ORDER BY __fti_h) AS __fti_prev FROM (SELECT hash(${k}) AS __fti_h FROM ${from}))
        WHERE __fti_h = __fti_prev LIMIT 1
     )`,
  );
  if (Number(dup.n) === 0) return false;
  const [exact] = await store.all<{ n: number }>(
    `SELECT count(*) AS n FROM (
       SELECT 1 FROM ${from} AND hash(${k}) IN (
         SELECT __fti_h FROM (SELECT __fti_h, lag(__fti_h) OVER (ORDER BY __fti_h) AS __fti_prev FROM (SELECT hash(${k}) AS __fti_h FROM ${from}))
          WHERE __fti_h = __fti_prev)
       GROUP BY ${k} HAVING count(*) > 1 LIMIT 1
     )`,
  );
  return Number(exact.n) > 0;
}

async function fingerprint(store: Store, table: string, time = "event_time"): Promise<Fingerprint> {
  const t = ident(time);
  const [r] = await store.all<{ rows: number; ingested: unknown; lo: unknown; hi: unknown }>(
    `SELECT count(*) AS rows, max(ingested_at)::VARCHAR AS ingested, min(${t})::VARCHAR AS lo, max(${t})::VARCHAR AS hi
       FROM ${tableRef(table)}`,
  );
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return { rows: Number(r.rows), ingested: text(r.ingested), lo: text(r.lo), hi: text(r.hi) };
}

function fingerprintText(fp: Fingerprint): string {
  return `${fp.ingested ?? "-"}|${fp.lo ?? "-"}|${fp.hi ?? "-"}`;
}

/** The table's fingerprint as one text (row count, latest ingested_at, event-time range): what other caches key on. */
export async function tableFingerprint(store: Store, table: string): Promise<string> {
  const fp = await fingerprint(store, table);
  return `${fp.rows}|${fingerprintText(fp)}`;
}

/**
 * The first and last event_time of a table, epoch µs (null when it has none), and how many rows
 * have none: what the PIT join's bounds are weighed against, and whether it filters out rows
 * without a time (pit.ts). ~1–3 ms at 10 M rows (DuckDB answers all three from statistics).
 */
export async function eventTimeRange(store: Store, table: string): Promise<{ lo: number | null; hi: number | null; untimed: number }> {
  const [r] = await store.all<{ lo: unknown; hi: unknown; untimed: unknown }>(
    `SELECT epoch_us(min(event_time)) AS lo, epoch_us(max(event_time)) AS hi, count(*) - count(event_time) AS untimed FROM ${tableRef(table)}`,
  );
  const us = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return { lo: us(r.lo), hi: us(r.hi), untimed: Number(r.untimed) };
}

/** Forgets the cached facts, as after a feature run (the next check recomputes them); `tables`: only theirs. */
export async function forgetKeyTimeFacts(store: Store, tables?: readonly string[]): Promise<void> {
  if (!(await store.tableExists(FACTS))) return;
  if (!tables) await store.run(`DELETE FROM ${FACTS}`);
  else for (const t of tables) await store.run(`DELETE FROM ${FACTS} WHERE table_name = ?`, [t]);
}
