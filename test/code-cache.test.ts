// V8's code cache of the TypeScript compiler (compiler/code-cache.ts): kept
// with the installation (node_modules/.cache/fti/v8, made by npm install's
// postinstall), so a project's first compile finds it; never in a project's
// folder (cached code runs: a cloned project must not choose it), so nowhere
// when the installation's directory cannot be written, nor with FTI_NO_CACHE. Each case loads TypeScript in a new process (the cache is
// written at its exit).

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { codeCacheDirs } from "../compiler/code-cache.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const TYPESCRIPT = path.join(ROOT, "node_modules/@ts-morph/common/dist/typescript.js");
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fti-code-cache-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Loads TypeScript through the code cache in a new process with these variables. */
function loadTypeScript(env: Record<string, string>): void {
  const script = `import { register } from "tsx/esm/api"; register();
const { preloadWithCodeCache } = await import(${JSON.stringify(path.join(ROOT, "compiler/code-cache.ts"))});
preloadWithCodeCache(${JSON.stringify(TYPESCRIPT)});`;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("FTI_")));
  execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, env: { ...clean, ...env }, stdio: "pipe" });
}

const bins = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".bin")) : []);

it("is looked for with the installation only, never in the project's cache", () => {
  const saved = { dir: process.env.FTI_CACHE_DIR, v8: process.env.FTI_V8_CACHE_DIR, no: process.env.FTI_NO_CACHE };
  try {
    delete process.env.FTI_V8_CACHE_DIR;
    delete process.env.FTI_NO_CACHE;
    process.env.FTI_CACHE_DIR = path.join(tmp, "p");
    expect(codeCacheDirs("/x/node_modules/@ts-morph/common/dist/typescript.js")).toEqual(["/x/node_modules/.cache/fti/v8"]);
    expect(codeCacheDirs("/opt/ts/typescript.js")).toEqual([]);
    process.env.FTI_NO_CACHE = "1";
    expect(codeCacheDirs("/x/node_modules/typescript.js")).toEqual([]);
  } finally {
    for (const [k, v] of [["FTI_CACHE_DIR", saved.dir], ["FTI_V8_CACHE_DIR", saved.v8], ["FTI_NO_CACHE", saved.no]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

it("a project's first load finds the installation's cache and writes nothing of its own; an unwritable installation writes nothing anywhere", () => {
  const installed = path.join(tmp, "installed");
  loadTypeScript({ FTI_V8_CACHE_DIR: installed, FTI_CACHE_DIR: path.join(tmp, "p1") });
  const [made] = bins(installed);
  expect(made).toBeDefined();
  expect(bins(path.join(tmp, "p1", "v8"))).toEqual([]);
  const stamp = fs.statSync(path.join(installed, made)).mtimeMs;

  // A new project: V8 accepts the installation's code, so nothing is rewritten or added.
  loadTypeScript({ FTI_V8_CACHE_DIR: installed, FTI_CACHE_DIR: path.join(tmp, "p2") });
  expect(fs.statSync(path.join(installed, made)).mtimeMs).toBe(stamp);
  expect(bins(path.join(tmp, "p2", "v8"))).toEqual([]);

  // The installation's directory cannot be made (a file is in the way): nothing is written, not in the project either.
  const blocked = path.join(tmp, "blocked");
  fs.writeFileSync(blocked, "not a directory");
  loadTypeScript({ FTI_V8_CACHE_DIR: blocked, FTI_CACHE_DIR: path.join(tmp, "p3") });
  expect(bins(path.join(tmp, "p3", "v8"))).toEqual([]);

  // A code cache planted in a project's folder is never read: the load compiles TypeScript (and writes the installation's).
  const planted = path.join(tmp, "p5", "v8");
  fs.mkdirSync(planted, { recursive: true });
  fs.copyFileSync(path.join(installed, made), path.join(planted, made));
  const fresh = path.join(tmp, "installed-2");
  loadTypeScript({ FTI_V8_CACHE_DIR: fresh, FTI_CACHE_DIR: path.join(tmp, "p5") });
  expect(bins(fresh)).toEqual([made]);

  // FTI_NO_CACHE: nowhere.
  loadTypeScript({ FTI_V8_CACHE_DIR: path.join(tmp, "off"), FTI_CACHE_DIR: path.join(tmp, "p4"), FTI_NO_CACHE: "1" });
  expect(bins(path.join(tmp, "off"))).toEqual([]);
  expect(bins(path.join(tmp, "p4", "v8"))).toEqual([]);
}, 120_000);
