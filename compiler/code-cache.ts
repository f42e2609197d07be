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

import fs from "node:fs";
import Module, { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import { cacheDir, sha256 } from "./check-cache.ts";

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
  const dir = cacheDir();
  if (!dir) return;
  try {
    const stat = fs.statSync(file);
    const cacheFile = path.join(dir, "v8", `${sha256(`${file}\n${stat.size}\n${stat.mtimeMs}\n${process.versions.v8}`).slice(0, 32)}.bin`);
    let cachedData: Buffer | undefined;
    try {
      cachedData = fs.readFileSync(cacheFile);
    } catch {
      cachedData = undefined;
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
      unwritten.set(cacheFile, script);
      if (unwritten.size === 1) process.once("exit", writeCodeCaches);
    }
  } catch {
    delete require.cache[file]; // the caller's require() loads it the usual way
  }
}

const unwritten = new Map<string, vm.Script>();

/**
 * Writes the code caches still to write (at the exit of the process, or
 * earlier: a worker thread is stopped without an exit of its own).
 */
export function writeCodeCaches(): void {
  for (const [file, script] of unwritten) writeAside(file, script.createCachedData());
  unwritten.clear();
}

function writeAside(file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, file);
  } catch {
    fs.rmSync(tmp, { force: true });
  }
}
