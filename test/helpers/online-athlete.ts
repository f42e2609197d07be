// The athlete example, end to end, in a private working directory for the
// online tests: seeded data ending yesterday (so the view's 90-day ttl keeps
// every active athlete fresh), compile, features, train, materialize.
//
// The directory lives under the repository's .fti/ (gitignored) rather than
// the OS temp dir: generated code imports "fti/runtime", which resolves
// through the package's self-reference only inside the package. A child
// `fti` started with this directory as its cwd finds the same generated
// code (generated/athlete), store (.fti/store.duckdb) and request logs
// (.fti/logs) as the defaults.

import { spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { SpecBundle } from "../../runtime/api.ts";
import { loadCompiledSpec } from "../../compiler/cli/load.ts";
import { runFeaturePipeline } from "../../runtime/features/pipeline.ts";
import { materialize } from "../../runtime/online/materialize.ts";
import type { Store } from "../../runtime/store/store.ts";
import { trainModelFromSpec } from "../../runtime/training/train.ts";
import { writeAthleteSources } from "./athlete-sources.ts";
import { storeUser } from "./store-user.ts";

export const REPO = resolve(import.meta.dirname, "../..");
const DAY = 86_400_000;

export interface AthleteWork {
  root: string;
  specPath: string;
  storePath: string;
  logsDir: string;
  bundle: SpecBundle;
  athletes: string[];
  withStore<T>(fn: (store: Store) => Promise<T>): Promise<T>;
  cleanup(): void;
}

export async function buildAthleteWork(opts: { athletes?: number; days?: number } = {}): Promise<AthleteWork> {
  const root = join(REPO, ".fti", `online-test-${process.pid}-${Date.now().toString(36)}`);
  try {
    return await build(root, opts);
  } catch (e) {
    rmSync(root, { recursive: true, force: true });
    throw e;
  }
}

async function build(root: string, opts: { athletes?: number; days?: number }): Promise<AthleteWork> {
  mkdirSync(join(root, "data/athlete"), { recursive: true });
  const specPath = join(root, "athlete.fti");
  copyFileSync(join(REPO, "specs/athlete.fti"), specPath);
  // Modules the spec's `extern fn`s import, relative to it.
  for (const m of readFileSync(specPath, "utf8").matchAll(/\bfrom\s+"(\.{1,2}\/[^"]+)"/g)) {
    const target = join(root, m[1]);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(join(REPO, "specs", m[1]), target);
  }
  const days = opts.days ?? 730;
  const today = Math.floor(Date.now() / DAY) * DAY;
  const start = new Date(today - (days + 1) * DAY).toISOString().slice(0, 10);
  await writeAthleteSources(root, { athletes: opts.athletes ?? 12, days, seed: 7, start });
  const bundle = await loadCompiledSpec(specPath, { outDir: join(root, "generated/athlete"), quiet: true });
  const storePath = join(root, ".fti/store.duckdb");
  const withStore = storeUser(() => storePath);
  const athletes = await withStore(async (store) => {
    await runFeaturePipeline(store, bundle);
    await trainModelFromSpec(store, bundle, "time_estimator");
    await materialize(store, bundle);
    const rows = await store.all<{ id: string }>(`SELECT DISTINCT athlete_id AS id FROM online_fitness_v1 ORDER BY 1`);
    return rows.map((r) => r.id);
  });
  return {
    root,
    specPath,
    storePath,
    logsDir: join(root, ".fti/logs"),
    bundle,
    athletes,
    withStore,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/**
 * `fti <args>` as a child process in `cwd`. Goes through the compiler's CLI
 * program; registers the online commands itself when the CLI does not have
 * them yet (test/helpers/online-cli.ts).
 */
export function spawnFti(args: string[], cwd: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", join(REPO, "test/helpers/online-cli.ts"), ...args], {
    cwd,
    env: { ...process.env, FTI_DEBUG: "1", FTI_STORE: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export function runFti(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawnFti(args, cwd, env);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

/** A spawned `fti serve`: its process, URL (once it says it serves), exit and output so far. */
export interface ServedFti {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  output(): string;
}

/** Spawns `fti <args>` (a serve command) and resolves once it serves; rejects with its output when it exits first. */
export async function serveFti(args: string[], cwd: string, env: Record<string, string> = {}): Promise<ServedFti> {
  const child = spawnFti(args, cwd, env);
  let out = "";
  child.stderr!.on("data", (d) => (out += d));
  child.stdout!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`fti serve did not start: ${out}`)), 120_000);
    const check = () => {
      const m = /serving .* at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        done(m[1]);
      }
    };
    child.stderr!.on("data", check);
    child.stdout!.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(Object.assign(new Error(`fti serve exited with ${code}: ${out}`), { code, output: out }));
    });
  });
  return { child, url, exited, output: () => out };
}
