// The bench spec (bench/specs/bench.fti), compiled by `fti compile` into
// bench/.data/gen/bench/ (git-ignored, outside the type-checked tree), and
// loaded with its sources pointed at one dataset's files.

import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import type { SourcePlan, SpecBundle } from "../../runtime/api.ts";
import type { ActivitiesData } from "./data.ts";
import { BENCH, DATA, ROOT, run } from "./harness.ts";

export const SPEC_FILE = join(BENCH, "specs", "bench.fti");
/**
 * Where compiled code goes: under the data directory, unless that is outside
 * the repository (generated code imports `fti/runtime`, which resolves only
 * inside the package), then under bench/.data/gen-ext/<hash>/.
 */
export const GEN_ROOT = relative(ROOT, DATA).startsWith("..")
  ? join(BENCH, ".data", "gen-ext", createHash("sha1").update(DATA).digest("hex").slice(0, 10))
  : join(DATA, "gen");
export const GEN_DIR = join(GEN_ROOT, "bench");
export const BIN = join(ROOT, "compiler", "cli", "bin.mjs");

/** The pit suite's event-shaped case (bench/specs/events.fti), compiled beside the bench spec. */
export const EVENTS_SPEC_FILE = join(BENCH, "specs", "events.fti");
export const EVENTS_GEN_DIR = join(GEN_ROOT, "events");

const compiled = new Map<string, Promise<void>>();

/**
 * Compiles a bench spec (default: bench.fti), once per bench run: the
 * compiler (the SQL lowering in particular) may have changed since the last run.
 */
export function ensureCompiled(spec = SPEC_FILE, outDir = GEN_DIR): Promise<void> {
  let done = compiled.get(spec);
  if (!done) {
    done = (async () => {
      const out = await run(process.execPath, [BIN, "compile", relative(ROOT, spec), "--out", relative(ROOT, outDir)]);
      if (out.code !== 0) throw new Error(`fti compile ${spec} failed:\n${out.stderr}${out.stdout}`);
    })();
    compiled.set(spec, done);
  }
  return done;
}

/**
 * A hash of the spec and of the generated transforms/training code: the
 * stores the pit and batch suites cache (features, a trained model) are
 * rebuilt when it changes. The lowered feature SQL (features.ts) is left
 * out: it may change, but what it computes is fixed by the spec.
 */
export function generatedHash(genDir = GEN_DIR): string {
  const h = createHash("sha256");
  for (const f of readdirSync(genDir).sort()) if (f !== "features.ts") h.update(f).update(readFileSync(join(genDir, f)));
  return h.digest("hex");
}

/** The compiled bench spec with its sources reading `data`'s files. */
export function loadBundle(data: Pick<ActivitiesData, "parquet" | "plannedParquet">): Promise<SpecBundle> {
  return loadCompiled(GEN_DIR, { activities: data.parquet, planned_runs: data.plannedParquet });
}

/** A compiled bench spec with the named sources reading the given Parquet files. */
export async function loadCompiled(genDir: string, parquetBySource: Record<string, string>): Promise<SpecBundle> {
  const mod = (await import(pathToFileURL(join(genDir, "index.ts")).href)) as { spec: SpecBundle };
  const at = (s: SourcePlan, path: string): SourcePlan => ({ ...s, location: { kind: "files", path, format: "parquet" } });
  return { ...mod.spec, sources: mod.spec.sources.map((s) => (parquetBySource[s.name] ? at(s, parquetBySource[s.name]) : s)) };
}
