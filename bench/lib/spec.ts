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

let compiled: Promise<void> | null = null;

/**
 * Compiles the bench spec, once per bench run: the compiler (the SQL
 * lowering in particular) may have changed since the last run.
 */
export function ensureCompiled(): Promise<void> {
  compiled ??= (async () => {
    const out = await run(process.execPath, [BIN, "compile", relative(ROOT, SPEC_FILE), "--out", relative(ROOT, GEN_DIR)]);
    if (out.code !== 0) throw new Error(`fti compile ${SPEC_FILE} failed:\n${out.stderr}${out.stdout}`);
  })();
  return compiled;
}

/**
 * A hash of the spec and of the generated transforms/training code: the
 * stores the pit and batch suites cache (features, a trained model) are
 * rebuilt when it changes. The lowered feature SQL (features.ts) is left
 * out: it may change, but what it computes is fixed by the spec.
 */
export function generatedHash(): string {
  const h = createHash("sha256");
  for (const f of readdirSync(GEN_DIR).sort()) if (f !== "features.ts") h.update(f).update(readFileSync(join(GEN_DIR, f)));
  return h.digest("hex");
}

/** The compiled bench spec with its sources reading `data`'s files. */
export async function loadBundle(data: Pick<ActivitiesData, "parquet" | "plannedParquet">): Promise<SpecBundle> {
  const mod = (await import(pathToFileURL(join(GEN_DIR, "index.ts")).href)) as { spec: SpecBundle };
  const at = (s: SourcePlan, path: string): SourcePlan => ({ ...s, location: { kind: "files", path, format: "parquet" } });
  return {
    ...mod.spec,
    sources: mod.spec.sources.map((s) =>
      s.name === "activities" ? at(s, data.parquet) : s.name === "planned_runs" ? at(s, data.plannedParquet) : s,
    ),
  };
}
