// Where batch scoring's time goes: one predictBatch on the batch suite's cached
// store, every store call timed (wall and process CPU, DuckDB's threads
// included) and labelled by its SQL; the JS between them (ODT, encode, the
// ONNX hand-off) is what the sliced read's callbacks took.
//
//   npx tsx bench/batch-phases.ts [--entities 1000000]   (PHASES_SQL=file: the statements of ≥ 200 ms CPU, in full)
//
// Needs the batch suite's store (`npm run bench -- batch` builds it, cached in
// bench/.data/acts-<entities>x4/batch.duckdb).

import { parseArgs } from "node:util";
import { predictBatch } from "../runtime/inference/batch.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { ensureActivities } from "./lib/data.ts";
import { loadBundle } from "./lib/spec.ts";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface Phase {
  label: string;
  ms: number;
  cpuMs: number;
  sql?: unknown;
}

function cpuNow(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
}

/** Wraps the store's statement methods so each call is recorded with its wall and CPU time. */
function instrument(store: Store, phases: Phase[]): void {
  const s = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const method of ["run", "all", "readColumns", "appendColumns"]) {
    const orig = s[method].bind(store);
    s[method] = async (...args: unknown[]) => {
      const t0 = performance.now();
      const c0 = cpuNow();
      try {
        return await orig(...args);
      } finally {
        phases.push({ label: `${method}: ${labelOf(args[0])}`, ms: performance.now() - t0, cpuMs: cpuNow() - c0, sql: args[0] });
      }
    };
  }
  const sliced = s.readColumnsInSlices.bind(store);
  s.readColumnsInSlices = async (...args: unknown[]) => {
    const onSlice = args[4] as (...a: unknown[]) => Promise<void> | void;
    let cbMs = 0;
    let cbCpu = 0;
    args[4] = async (...a: unknown[]) => {
      const t0 = performance.now();
      const c0 = cpuNow();
      await onSlice(...a);
      cbMs += performance.now() - t0;
      cbCpu += cpuNow() - c0;
    };
    const t0 = performance.now();
    const c0 = cpuNow();
    try {
      return await sliced(...args);
    } finally {
      const ms = performance.now() - t0;
      const cpu = cpuNow() - c0;
      phases.push({ label: `readColumnsInSlices (the read): ${labelOf(args[0])}`, ms: ms - cbMs, cpuMs: cpu - cbCpu });
      phases.push({ label: "  … its slices' callbacks (ODT, encode, ONNX hand-off/await)", ms: cbMs, cpuMs: cbCpu });
    }
  };
}

function labelOf(sql: unknown): string {
  return typeof sql === "string" ? sql.replace(/\s+/g, " ").slice(0, 110) : String(sql);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { entities: { type: "string", default: "1000000" } } });
  const data = await ensureActivities({ athletes: Number(values.entities), runs: 4 }, { csv: false });
  const meta = JSON.parse(readFileSync(join(data.dir, "batch.duckdb.done"), "utf8")) as { asOf: string };
  const bundle = await loadBundle(data);
  const store = await openStore({ path: join(data.dir, "batch.duckdb"), memoryLimit: "3GB" });
  try {
    {
      const phases: Phase[] = [];
      instrument(store, phases);
      const t0 = performance.now();
      const c0 = cpuNow();
      const report = await predictBatch(store, bundle, "finish_time", { asOf: new Date(meta.asOf), entitiesFile: data.entitiesParquet });
      const total = { ms: performance.now() - t0, cpuMs: cpuNow() - c0 };
      const listed = phases.reduce((a, p) => a + p.cpuMs, 0);
      process.stdout.write(`predictBatch: ${report.rows} rows, ${total.ms.toFixed(0)} ms wall, ${total.cpuMs.toFixed(0)} ms CPU\n`);
      for (const p of phases.filter((p) => p.cpuMs >= 5 || p.ms >= 5)) {
        process.stdout.write(`  ${p.cpuMs.toFixed(0).padStart(6)} ms CPU ${p.ms.toFixed(0).padStart(6)} ms wall  ${p.label}\n`);
      }
      if (process.env.PHASES_SQL) {
        const big = phases.filter((p) => p.cpuMs >= 200 && typeof p.sql === "string").map((p) => `-- ${p.cpuMs.toFixed(0)} ms CPU\n${p.sql};\n`);
        writeFileSync(process.env.PHASES_SQL, big.join("\n"));
      }
      process.stdout.write(`  ${(total.cpuMs - listed).toFixed(0).padStart(6)} ms CPU outside store calls (predictor load, worker start, …)\n`);
    }
  } finally {
    await store.close();
  }
}

await main();
