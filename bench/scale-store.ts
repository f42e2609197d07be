// A larger copy of a prepared bench store, without running the feature
// pipeline at the larger size: every row of the chosen tables k times, each
// copy's `*_id` strings suffixed with `~<copy>` (copy 0 keeps them), so copy c
// of athlete a is a new athlete with exactly a's rows. Feature values are the
// ones fti computed (windows never cross athletes, so they hold for every
// copy); each table keeps its definition (column compression included) and its
// row order within a copy.
//
//   npx tsx bench/scale-store.ts <from.duckdb> <to.duckdb> <k> [table ...]
//
// Default tables: src_planned_runs and fg_activity_features_v1 (what the
// training frame of `finish_time_data` reads). bench/frame-memory.ts measures
// the frame on the result with STORE=<to.duckdb>: 10× the 10 M-row store is
// the 100 M-row group with a 10 M-row spine at ~1/20 of the CPU of generating
// and preparing 100 M rows.
import { existsSync, rmSync } from "node:fs";
import { openStore } from "../runtime/store/store.ts";
import { ident, sqlString } from "../runtime/store/sql.ts";

const [from, to, kArg, ...named] = process.argv.slice(2);
const k = Number(kArg);
if (!from || !to || !Number.isInteger(k) || k < 1) {
  console.error("usage: npx tsx bench/scale-store.ts <from.duckdb> <to.duckdb> <k> [table ...]");
  process.exit(2);
}
if (!existsSync(from)) {
  console.error(`no store at ${from} (prepare it with bench/frame-memory.ts)`);
  process.exit(1);
}
const tables = named.length ? named : ["src_planned_runs", "fg_activity_features_v1"];
rmSync(to, { force: true });
rmSync(`${to}.wal`, { force: true });
const store = await openStore({ path: to, memoryLimit: process.env.MEMORY_LIMIT ?? "2GB" });
const cpu0 = process.cpuUsage();
const t0 = performance.now();
try {
  if (process.env.MAX_TEMP) await store.run(`SET max_temp_directory_size = ${sqlString(process.env.MAX_TEMP)}`);
  await store.run(`ATTACH ${sqlString(from)} AS __from (READ_ONLY)`);
  for (const table of tables) {
    const [def] = await store.all<{ sql: string }>(`SELECT sql FROM duckdb_tables() WHERE database_name = '__from' AND table_name = ?`, [table]);
    if (!def) throw new Error(`${from} has no table ${table}`);
    await store.run(def.sql);
    const cols = await store.all<{ name: string; type: string }>(
      `SELECT column_name AS name, data_type AS type FROM duckdb_columns() WHERE database_name = '__from' AND table_name = ? ORDER BY column_index`,
      [table],
    );
    const exprs = cols.map((c) => (c.type === "VARCHAR" && c.name.endsWith("_id") ? `CASE WHEN __c = 0 THEN ${ident(c.name)} ELSE ${ident(c.name)} || '~' || __c END` : ident(c.name)));
    // One copy per statement: each INSERT keeps its input's order, and memory stays at one copy's size.
    for (let c = 0; c < k; c++) {
      await store.run(`INSERT INTO ${ident(table)} SELECT ${exprs.join(", ")} FROM (SELECT *, ${c} AS __c FROM __from.${ident(table)})`);
    }
    const [n] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${ident(table)}`);
    console.log(`${table}: ${n.n} rows`);
  }
  await store.run(`DETACH __from`);
  await store.run(`CHECKPOINT`);
} finally {
  await store.close();
}
const c = process.cpuUsage(cpu0);
console.log(`scaled ×${k} in ${((performance.now() - t0) / 1000).toFixed(1)} s (cpu ${((c.user + c.system) / 1e6).toFixed(1)} s)`);
