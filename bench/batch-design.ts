// What batch scoring's SQL could save with another design: on a scratch copy
// of the batch suite's store (1 M entities), each statement timed alone (wall
// and process CPU, DuckDB's threads included), the variants alternated:
//
//   PIT   the one-time ("latest") plan's pieces: the latest-row window alone,
//         the window + hash join with the spine (counted, not stored), the
//         whole join stored as predictBatch stores it (CTAS) — what reading an
//         already reduced latest-row table (online materialization) could save
//         is at most the window's share;
//   OUT   the predictions written as predictBatch writes them (INSERT … SELECT
//         into a persistent table, ORDER BY the input row), the same rows
//         unordered, as a Parquet file (COPY), and into a temp table (no
//         persistent write at all) — the cost of the table itself.
//
//   npx tsx bench/batch-design.ts [--entities 1000000] [--rounds 3]
//
// Needs the batch suite's store (`npm run bench -- batch` builds it). The copy
// is bench/.data/work/batch-design.duckdb, deleted at the end.

import { copyFileSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { findView } from "../runtime/bundle.ts";
import { spineFromFile } from "../runtime/retrieval/entity-spine.ts";
import { pitSelect, spineBounds } from "../runtime/retrieval/pit.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { ident } from "../runtime/store/sql.ts";
import { ensureActivities } from "./lib/data.ts";
import { DATA } from "./lib/harness.ts";
import { loadBundle } from "./lib/spec.ts";

const VIEW = "finish_time_data";
const FEATURES = ["pace", "climb", "tss", "distance", "pace_28d", "pace_sd_28d", "km_7d", "longest_90d"];

function cpuNow(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

async function timedRun(store: Store, label: string, sql: string): Promise<void> {
  const t0 = performance.now();
  const c0 = cpuNow();
  await store.run(sql);
  process.stdout.write(`  ${(cpuNow() - c0).toFixed(0).padStart(6)} ms CPU ${(performance.now() - t0).toFixed(0).padStart(6)} ms wall  ${label}\n`);
}

/** The PIT statement's pieces, from the SQL pitSelect writes (the "latest" plan: one as-of time). */
function pitVariants(sql: string, spine: string): Array<[string, string]> {
  const r0 = /WITH (r0 AS \(.*?QUALIFY .*?= 1\))/s.exec(sql)?.[1];
  if (!r0) throw new Error("the PIT SQL has no latest-row window (not the one-time plan?)");
  return [
    ["PIT: the latest-row window alone (counted)", `CREATE OR REPLACE TEMP TABLE __n AS WITH ${r0} SELECT count(*) AS n, sum(__f0_0) AS s FROM r0`],
    ["PIT: window + hash join with the spine (counted)", `CREATE OR REPLACE TEMP TABLE __n AS WITH ${r0} SELECT count(*) AS n, sum(r0.__f0_0) AS s FROM ${ident(spine)} AS s LEFT JOIN r0 ON s.athlete_id = r0.athlete_id`],
    ["PIT: the whole statement, stored (as predictBatch)", `CREATE OR REPLACE TEMP TABLE __pit AS ${sql}`],
  ];
}

/** The predictions' SELECT as batch-output.ts writes it (scores: random, joined by position). */
function outSelect(ordered: boolean): string {
  const inputs = FEATURES.map((f) => `CASE WHEN isnan(j.${f}) THEN NULL ELSE j.${f} END AS input_${f}`);
  return `SELECT j.__row AS row_number, j.athlete_id, j.distance_km, j.__t AS as_of, 'finish_time' AS model, 1 AS version,
       CASE WHEN j.__sid IS DISTINCT FROM p.__sid THEN error('misaligned')::DOUBLE WHEN isnan(p.prediction) THEN NULL ELSE p.prediction END AS prediction,
       ${inputs.join(", ")}, CASE WHEN isnan(p.__in_8) THEN NULL ELSE p.__in_8 END AS input_expected_time_s
  FROM __pit AS j POSITIONAL JOIN __pred AS p ANTI JOIN __rej AS r ON r.__row = j.__row${ordered ? " ORDER BY j.__row" : ""}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { entities: { type: "string", default: "1000000" }, rounds: { type: "string", default: "3" } } });
  const data = await ensureActivities({ athletes: Number(values.entities), runs: 4 }, { csv: false });
  const meta = JSON.parse(readFileSync(join(data.dir, "batch.duckdb.done"), "utf8")) as { asOf: string };
  const bundle = await loadBundle(data);
  const view = findView(bundle, VIEW);
  const copy = join(DATA, "work", "batch-design.duckdb");
  copyFileSync(join(data.dir, "batch.duckdb"), copy);
  const parquet = join(DATA, "work", "batch-design.parquet");
  const store = await openStore({ path: copy, memoryLimit: "3GB", verify: false });
  try {
    const spine = await spineFromFile(store, view, data.entitiesParquet, { asOf: new Date(meta.asOf) });
    const columns = (await store.tableColumns(spine.table)).map((c) => c.name);
    const relation = ident(spine.table);
    const pit = await pitSelect(store, bundle, view, { relation, columns, ...(await spineBounds(store, relation)) }, "inclusive");
    for (let round = 1; round <= Number(values.rounds); round++) {
      process.stdout.write(`round ${round}\n`);
      for (const [label, sql] of pitVariants(pit.sql, spine.table)) await timedRun(store, label, sql);
      await store.run(`CREATE OR REPLACE TEMP TABLE __pred AS SELECT __sid, random() AS prediction, random() AS __in_8 FROM __pit`);
      await store.run(`CREATE OR REPLACE TEMP TABLE __rej AS SELECT __row FROM __pit WHERE __ft_0 IS NULL`);
      await store.run(`CREATE OR REPLACE TABLE __out AS ${outSelect(false)} LIMIT 0`);
      for (const ordered of [true, false]) {
        const how = ordered ? "ORDER BY row_number (as predictBatch)" : "unordered";
        await store.run("DELETE FROM __out");
        await store.run("CHECKPOINT");
        await timedRun(store, `OUT: INSERT into a persistent table, ${how}`, `INSERT INTO __out ${outSelect(ordered)}`);
        await timedRun(store, `OUT: COPY to Parquet, ${how}`, `COPY (${outSelect(ordered)}) TO '${parquet}' (FORMAT parquet)`);
        await timedRun(store, `OUT: a temp table, ${how}`, `CREATE OR REPLACE TEMP TABLE __o AS ${outSelect(ordered)}`);
      }
    }
  } finally {
    await store.close();
    for (const f of [copy, `${copy}.wal`, parquet]) rmSync(f, { force: true });
  }
}

await main();
