// Loads a large CommonJS file through V8's code cache. Node 20 has no
// built-in compile cache for modules (module.enableCompileCache is Node 22),
// and compiling the TypeScript compiler (9 MB of JavaScript, bundled in
// @ts-morph/common) costs about 0.4 s of CPU in every `fti compile`. Here the
// file is compiled with the code V8 produced in an earlier process, and the
// module is put into require's cache, so the usual require() finds it loaded.
//
// The cached code is written when the process exits, so it also holds the
// functions compiled lazily during the run (the checker's). It is keyed by
// the file's path, size and mtime and by the V8 version; V8 itself rejects
// code that does not fit, and then the file is compiled normally and the
// cache rewritten. Any failure falls back to a plain require().
//
// The code belongs to the installed file, not to a project, so it is kept
// with the installation (`node_modules/.cache/fti/v8/` beside the package,
// made by `npm install`'s postinstall: cli/warm-cache.ts), and a project's
// first compile finds it. Never in a project's folder: cached code is code
// that runs, and V8 checks little more than its length against the source, so
// a project (a cloned repository, a spec opened in an editor) must not be able
// to choose what `fti compile` runs. When the installation's directory cannot
// be written, TypeScript is compiled as usual. `FTI_V8_CACHE_DIR` names
// another directory instead of the installation's; `FTI_NO_CACHE=1` turns it off.

import fs from "node:fs";
import Module, { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import { cacheDir, removeQuietly, sha256 } from "./check-cache.ts";
import { makeDirs } from "../runtime/make-dirs.ts";

type NodeModule = InstanceType<typeof Module> & { filename: string; paths: string[]; loaded: boolean; exports: unknown };
const ModuleInternals = Module as unknown as {
  new (id: string, parent?: unknown): NodeModule;
  wrap(source: string): string;
  _nodeModulePaths(dir: string): string[];
};

/** Puts `file` into require's cache, compiled with V8's cached code when there is some. */
export function preloadWithCodeCache(file: string): void {
  const require = createRequire(file);
  if (require.cache[file]) return;
  const dirs = codeCacheDirs(file);
  if (!dirs.length) return;
  try {
    const stat = fs.statSync(file);
    const name = `${sha256(`${file}\n${stat.size}\n${stat.mtimeMs}\n${process.versions.v8}`).slice(0, 32)}.bin`;
    const candidates = dirs.map((d) => path.join(d, name));
    let cachedData: Buffer | undefined;
    for (const c of candidates) {
      try {
        cachedData = fs.readFileSync(c);
        break;
      } catch {
        cachedData = undefined;
      }
    }
    const script = new vm.Script(ModuleInternals.wrap(fs.readFileSync(file, "utf8")), { filename: file, cachedData });
    const mod = new ModuleInternals(file);
    mod.filename = file;
    mod.paths = ModuleInternals._nodeModulePaths(path.dirname(file));
    const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
    wrapper.call(mod.exports, mod.exports, require, mod, file, path.dirname(file));
    mod.loaded = true;
    require.cache[file] = mod as unknown as NodeJS.Module;
    if (!cachedData || script.cachedDataRejected) {
      unwritten.set(script, candidates);
      if (unwritten.size === 1) process.once("exit", writeCodeCaches);
    }
  } catch {
    delete require.cache[file]; // the caller's require() loads it the usual way
  }
}

/** Where the code cache of `file` is looked for and written: the installation's directory (or FTI_V8_CACHE_DIR), never a project's. */
export function codeCacheDirs(file: string): string[] {
  if (!cacheDir()) return []; // FTI_NO_CACHE
  const own = process.env.FTI_V8_CACHE_DIR;
  const installed = own && own.trim() !== "" ? path.resolve(own) : installationCacheDir(file);
  return installed ? [installed] : [];
}

/** `node_modules/.cache/fti/v8` of the node_modules the file is installed in. */
function installationCacheDir(file: string): string | undefined {
  const parts = file.split(path.sep);
  const i = parts.lastIndexOf("node_modules");
  return i < 0 ? undefined : path.join(parts.slice(0, i + 1).join(path.sep) || path.sep, ".cache", "fti", "v8");
}

/** Scripts whose code cache is still to write, with the files to try. */
const unwritten = new Map<vm.Script, string[]>();

/** Writes the code caches still to write (at the exit of the process). */
export function writeCodeCaches(): void {
  for (const [script, files] of unwritten) {
    const data = script.createCachedData();
    files.some((f) => writeAside(f, data));
  }
  unwritten.clear();
}

function writeAside(file: string, data: Buffer): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    makeDirs(path.dirname(file));
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
    return true;
  } catch {
    removeQuietly(tmp);
    return false;
  }
}
