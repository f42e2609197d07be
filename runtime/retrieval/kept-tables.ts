// The registries of tables fti derives from a table and keeps while it holds
// (tie-winners.ts: a group's tie winners; kept-spine.ts: a view's numbered
// spine): one row per kept table, naming what it is kept for, the table it is
// derived from and the kept table itself.

import type { Store } from "../store/store.ts";
import { ident } from "../store/sql.ts";

export interface KeptRegistry {
  /** The registry table. */
  name: string;
  /** Its column naming what a kept table is for (forgetKept's `owners`). */
  owner: string;
  /** Its column naming the table a kept table is derived from. */
  source: string;
  /** Its column naming the kept table. */
  kept: string;
}

/** Kept tables whose source table is gone (a new spec version, a dropped table): their tables and entries. */
export async function dropOrphans(store: Store, r: KeptRegistry): Promise<void> {
  for (const k of await entries(store, r)) if (!(await store.tableExists(k.source))) await drop(store, r, k.kept);
}

/** Drops the kept tables and their entries (the next use builds them again); `owners`: only theirs. */
export async function forgetKept(store: Store, r: KeptRegistry, owners?: readonly string[]): Promise<void> {
  if (!(await store.tableExists(r.name))) return;
  for (const k of await entries(store, r)) if (!owners || owners.includes(k.owner)) await drop(store, r, k.kept);
}

async function entries(store: Store, r: KeptRegistry): Promise<Array<{ owner: string; source: string; kept: string }>> {
  return store.all(`SELECT ${ident(r.owner)} AS owner, ${ident(r.source)} AS source, ${ident(r.kept)} AS kept FROM ${ident(r.name)}`);
}

async function drop(store: Store, r: KeptRegistry, kept: string): Promise<void> {
  await store.run(`DROP TABLE IF EXISTS ${ident(kept)}`);
  await store.run(`DELETE FROM ${ident(r.name)} WHERE ${ident(r.kept)} = ?`, [kept]);
}
