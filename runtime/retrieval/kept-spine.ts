// The numbered spine of a view, kept. The training frame's rows come in spine
// order (time, keys, …): `__sid` numbers the spine's rows by one window over
// the whole spine, a sort that is the largest cost its statement has beyond
// the ASOF join itself (~0.25–0.45 s of CPU at 1 M spine rows, every
// training; docs/benchmarks.md, "Sixteenth session: pit"). On a writable store
// the numbered spine is written once into a table of its own, in __sid order,
// and read by every later training until its source or the view's spine
// changes: the table is registered in `fti_kept_spines` per view with the
// source's row count and content hash (the sum of every row's `hash()`, kept by
// the store: store/content-hash.ts; any write to the source changes it, an
// UPDATE in place too) and a hash of the spine's SELECT (its label, `where`,
// casts and the data's end for a forward label are in that text), and rebuilt
// when either differs. A read-only store numbers the spine inline, as before.

import { createHash } from "node:crypto";
import type { Store } from "../store/store.ts";
import { ident, tableRef } from "../store/sql.ts";
import { dropOrphans, forgetKept, type KeptRegistry } from "./kept-tables.ts";

const REGISTRY = "fti_kept_spines";
const KEPT: KeptRegistry = { name: REGISTRY, owner: "view_name", source: "source_table", kept: "spine_table" };

const REGISTRY_TABLE = `CREATE TABLE IF NOT EXISTS ${REGISTRY} (${[KEPT.owner, KEPT.source, "fingerprint", KEPT.kept].map((c) => `${c} VARCHAR NOT NULL`).join(", ")}, built_at TIMESTAMP NOT NULL)`;

/**
 * The table holding `numbered` (a SELECT of the view's whole spine with its __sid, over `source`
 * alone) in __sid order, built now if missing or stale; null on a read-only store (the caller
 * numbers the spine inline).
 */
export async function keptSpine(store: Store, view: string, source: string, numbered: string): Promise<string | null> {
  if (store.readOnly) return null;
  await store.run(REGISTRY_TABLE);
  const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${tableRef(source)}`);
  const spine = createHash("sha256").update(numbered).digest("hex");
  const fingerprint = `${c.n}|${await store.contentHash(source)}|${spine}`;
  const [hit] = await store.all<{ spine_table: string }>(
    `SELECT spine_table FROM ${REGISTRY} WHERE view_name = ? AND source_table = ? AND fingerprint = ?`,
    [view, source, fingerprint],
  );
  if (hit && (await store.tableExists(hit.spine_table))) return hit.spine_table;
  await dropOrphans(store, KEPT);
  const name = `fti_spine_${createHash("sha256").update(view).digest("hex").slice(0, 16)}`;
  await store.run(`CREATE OR REPLACE TABLE ${ident(name)} AS SELECT * FROM (${numbered}) ORDER BY __sid`);
  await store.run(`DELETE FROM ${REGISTRY} WHERE view_name = ?`, [view]);
  await store.run(`INSERT INTO ${REGISTRY} VALUES (?, ?, ?, ?, now()::TIMESTAMP)`, [view, source, fingerprint, name]);
  return name;
}

/** Drops the kept spines, as after a feature run (the next training builds them again); `views`: only theirs. */
export function forgetKeptSpines(store: Store, views?: readonly string[]): Promise<void> {
  return forgetKept(store, KEPT, views);
}
