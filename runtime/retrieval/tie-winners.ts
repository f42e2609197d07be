// The tie winners of a feature group, kept. A group with several rows per
// (keys, event_time) (one row per event) is joined through its tie rule's
// winners (pit.ts): one row per (keys, event_time). Settling them is a sort
// of the group's rows, the largest cost a PIT join over such a group has
// beyond the join itself (~1.2 s of CPU at 3 M rows, every training). On a
// writable store the winners are written once into a table of their own and
// read by every later join until the group changes: the table is registered
// in `fti_tie_winners` with the group's fingerprint (key-times.ts: row count,
// latest ingested_at, event-time range) and a hash of its content (the sum of
// every row's hash: an UPDATE in place changes no fingerprint, and a stale
// copy would give stale values), and rebuilt when either differs. The hash
// (~0.15 s of CPU at 3 M rows, ~0.4 s at 10 M) comes from the store
// (store/content-hash.ts): computed by the store's open in its read of every
// block, and kept while nothing in the process writes the group. A read-only
// store settles the ties inline, as before.

import { createHash } from "node:crypto";
import type { Store } from "../store/store.ts";
import { ident, partitionBy, tableRef } from "../store/sql.ts";
import { tableFingerprint } from "./key-times.ts";

const REGISTRY = "fti_tie_winners";

const REGISTRY_TABLE = `CREATE TABLE IF NOT EXISTS ${REGISTRY} (
     table_name VARCHAR NOT NULL,
     tie_rule VARCHAR NOT NULL,
     fingerprint VARCHAR NOT NULL,
     winners_table VARCHAR NOT NULL,
     built_at TIMESTAMP NOT NULL
   )`;

/**
 * The SQL that keeps the winner of each (keys, event_time) run of `from`: the
 * last row in (event_time, `tieOrder`), `tieOrder` ascending with the winner
 * last. One sort per key (no partition per event time).
 */
export function winnerQualify(keyList: string, tieOrder: string): string {
  return `QUALIFY lead(event_time) OVER (${partitionBy(keyList)}ORDER BY event_time, ${tieOrder}) IS DISTINCT FROM event_time`;
}

/**
 * The table holding `table`'s tie winners under the rule (keys, tie order),
 * built now if missing or stale; null on a read-only store (the caller
 * settles the ties inline).
 */
export async function keptTieWinners(store: Store, table: string, keyList: string, tieOrder: string): Promise<string | null> {
  if (store.readOnly) return null;
  await store.run(REGISTRY_TABLE);
  const rule = `${keyList} | ${tieOrder}`;
  const fingerprint = `${await tableFingerprint(store, table)}|${await store.contentHash(table)}`;
  const [hit] = await store.all<{ winners_table: string }>(
    `SELECT winners_table FROM ${REGISTRY} WHERE table_name = ? AND tie_rule = ? AND fingerprint = ?`,
    [table, rule, fingerprint],
  );
  if (hit && (await store.tableExists(hit.winners_table))) return hit.winners_table;
  await dropOrphans(store);
  const name = `fti_winners_${createHash("sha256").update(`${table}\n${rule}`).digest("hex").slice(0, 16)}`;
  await store.run(
    `CREATE OR REPLACE TABLE ${ident(name)} AS
       SELECT * FROM ${tableRef(table)} WHERE event_time IS NOT NULL ${winnerQualify(keyList, tieOrder)}`,
  );
  await store.run(`DELETE FROM ${REGISTRY} WHERE table_name = ? AND tie_rule = ?`, [table, rule]);
  await store.run(`INSERT INTO ${REGISTRY} VALUES (?, ?, ?, ?, now()::TIMESTAMP)`, [table, rule, fingerprint, name]);
  return name;
}

/** Winners whose group table is gone (a new spec version, a dropped group): their tables and entries. */
async function dropOrphans(store: Store): Promise<void> {
  const kept = await store.all<{ table_name: string; winners_table: string }>(`SELECT table_name, winners_table FROM ${REGISTRY}`);
  for (const k of kept) {
    if (await store.tableExists(k.table_name)) continue;
    await store.run(`DROP TABLE IF EXISTS ${ident(k.winners_table)}`);
    await store.run(`DELETE FROM ${REGISTRY} WHERE table_name = ?`, [k.table_name]);
  }
}

/** Drops the kept winners tables, as after a feature run (the next join builds them again); `tables`: only those of these groups. */
export async function forgetTieWinners(store: Store, tables?: readonly string[]): Promise<void> {
  if (!(await store.tableExists(REGISTRY))) return;
  for (const k of await store.all<{ table_name: string; winners_table: string }>(`SELECT table_name, winners_table FROM ${REGISTRY}`)) {
    if (tables && !tables.includes(k.table_name)) continue;
    await store.run(`DROP TABLE IF EXISTS ${ident(k.winners_table)}`);
    await store.run(`DELETE FROM ${REGISTRY} WHERE table_name = ?`, [k.table_name]);
  }
}
