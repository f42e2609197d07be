// The spine of a batch run: one row per entity to predict for, built inside
// DuckDB (the entity keys never pass through JS): `__sid` (0-based row
// number), the view's keys and request fields cast to their spec types, and
// `__t`, the as-of time. This is the spine shape pitJoin (runtime/training/
// pit.ts) joins features onto.

import { extname } from "node:path";
import type { ViewPlan } from "../api.ts";
import { UserError } from "../errors.ts";
import { ident, sqlString, sqlTimestamp, sqlType, tableRef, type Store } from "../store/store.ts";

export interface EntitySpine {
  table: string;
  n: number;
}

export function readerFor(file: string): string {
  const ext = extname(file).toLowerCase();
  if (ext === ".csv" || ext === ".tsv") return `read_csv_auto(${sqlString(file)})`;
  if (ext === ".parquet") return `read_parquet(${sqlString(file)})`;
  if (ext === ".ndjson" || ext === ".jsonl" || ext === ".json") return `read_json_auto(${sqlString(file)})`;
  throw new UserError(`cannot read entities from \`${file}\`: use a .csv, .parquet or .ndjson file`);
}

/** The spine's table name for a view (a temp table, private to the transaction that makes it). */
export function spineTableName(view: ViewPlan): string {
  return `__fti_batch_${view.name}`;
}

/** Entities from a csv/parquet/ndjson file: one spine row per file row, with every key and request field of the view. */
export async function spineFromFile(store: Store, view: ViewPlan, file: string, asOf: Date): Promise<EntitySpine> {
  const from = readerFor(file);
  let present: string[];
  try {
    present = (await store.all<{ column_name: string }>(`DESCRIBE SELECT * FROM ${from}`)).map((r) => r.column_name);
  } catch (e) {
    throw new UserError(`cannot read entities from \`${file}\`: ${(e as Error).message.split("\n")[0]}`);
  }
  const needed = [...view.keys, ...view.requestFields];
  const missing = needed.filter((c) => !present.includes(c.name)).map((c) => c.name);
  if (missing.length > 0) {
    throw new UserError(
      `entities file \`${file}\` lacks ${missing.map((m) => `\`${m}\``).join(", ")}; view \`${view.name}\` needs ` +
        `${needed.map((c) => c.name).join(", ")} (found: ${present.join(", ") || "no columns"})`,
      "add the entity keys and the request fields as columns",
    );
  }
  const cast = (c: { name: string; type: Parameters<typeof sqlType>[0] }) => `CAST(${ident(c.name)} AS ${sqlType(c.type)}) AS ${ident(c.name)}`;
  const select = [
    `(row_number() OVER () - 1)::BIGINT AS __sid`,
    ...view.keys.map(cast),
    `${sqlTimestamp(asOf)} AS __t`,
    ...view.requestFields.map(cast),
  ];
  const table = spineTableName(view);
  await store.run(`DROP TABLE IF EXISTS ${ident(table)}`);
  try {
    await store.run(`CREATE TEMP TABLE ${ident(table)} AS SELECT ${select.join(", ")} FROM ${from}`);
  } catch (e) {
    // e.g. a key or request value that does not convert to its spec type
    throw new UserError(`cannot read entities from \`${file}\`: ${(e as Error).message.split("\n")[0]}`);
  }
  return { table, n: await countRows(store, table) };
}

/** Every entity with rows in any of the view's feature tables, sorted by key. */
export async function spineFromStore(store: Store, view: ViewPlan, asOf: Date): Promise<EntitySpine> {
  const keys = view.keys.map((k) => ident(k.name)).join(", ");
  const tables = [...new Set(view.features.map((f) => f.table))];
  const existing: string[] = [];
  for (const t of tables) if (await store.tableExists(t)) existing.push(t);
  if (existing.length === 0) {
    throw new UserError(
      `view \`${view.name}\` has no feature rows to predict for (tables ${tables.join(", ") || "none"} are missing)`,
      "run the feature pipeline first (`fti run <spec>`), or pass an entities file",
    );
  }
  const union = existing.map((t) => `SELECT DISTINCT ${keys} FROM ${tableRef(t)}`).join(" UNION ");
  const table = spineTableName(view);
  await store.run(`DROP TABLE IF EXISTS ${ident(table)}`);
  await store.run(
    `CREATE TEMP TABLE ${ident(table)} AS
       SELECT (row_number() OVER (ORDER BY ${keys}) - 1)::BIGINT AS __sid, ${keys}, ${sqlTimestamp(asOf)} AS __t
         FROM (${union})`,
  );
  return { table, n: await countRows(store, table) };
}

async function countRows(store: Store, table: string): Promise<number> {
  const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${ident(table)}`);
  return Number(c.n);
}
