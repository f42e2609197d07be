// The compiler's one TypeScript program (a ts-morph Project), shared by the
// two places that need the TypeScript checker: `extern fn` signatures
// (checker/extern.ts) and the type-check of the generated modules
// (emit/project.ts). Sharing it means the ES library, zod's declarations and
// the runtime API are parsed and bound once per process, not once per use.
//
// ts-morph (and the TypeScript compiler inside it) is loaded lazily and
// synchronously: a run that needs no checker never pays for it.

import path from "node:path";
import { createRequire } from "node:module";
import type { FileSystemHost, Project } from "ts-morph";
import { preloadWithCodeCache } from "./code-cache.ts";

const require = createRequire(import.meta.url);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
export const RUNTIME_API = path.join(ROOT, "runtime/api.ts");

/** The compiler options, as plain JSON: part of every type-check cache key. */
export const CHECK_OPTIONS = {
  target: "ES2022",
  module: "Preserve",
  moduleResolution: "Bundler",
  allowImportingTsExtensions: true,
  noEmit: true,
  strict: true,
  skipLibCheck: true,
  verbatimModuleSyntax: true,
  // Only the ES library: no @types, no DOM.
  lib: ["lib.es2023.d.ts"],
  types: [] as string[],
  paths: { "fti/runtime": [RUNTIME_API] },
};

let loaded: typeof import("ts-morph") | undefined;

export function tsMorph(): typeof import("ts-morph") {
  if (loaded) return loaded;
  try {
    // The TypeScript compiler inside @ts-morph/common, compiled from V8's code cache.
    const common = createRequire(require.resolve("ts-morph")).resolve("@ts-morph/common");
    preloadWithCodeCache(path.join(path.dirname(common), "typescript.js"));
  } catch {
    // an unusual layout: a plain require() below
  }
  return (loaded = require("ts-morph") as typeof import("ts-morph"));
}

let shared: Project | undefined;

/**
 * Paths whose files the checker is handed in memory (the generated modules):
 * the project must not read, and parse, the previous version on disk before
 * replacing it with the new text.
 */
const inMemoryOnly = new Set<string>();

export function setInMemoryOnly(paths: string[], on: boolean): void {
  for (const p of paths) {
    if (on) inMemoryOnly.add(path.normalize(p));
    else inMemoryOnly.delete(path.normalize(p));
  }
}

/** The real file system, except that the paths above do not exist on it. */
function fileSystem(): FileSystemHost {
  const tm = tsMorph();
  const real = new tm.Project({ skipAddingFilesFromTsConfig: true }).getFileSystem();
  const NotFound = (tm as unknown as { FileNotFoundError: new (p: string) => Error }).FileNotFoundError;
  const hidden = (p: string) => inMemoryOnly.has(path.normalize(p));
  return new Proxy(real, {
    get(target, prop) {
      if (prop === "fileExistsSync") return (p: string) => !hidden(p) && target.fileExistsSync(p);
      if (prop === "fileExists") return async (p: string) => !hidden(p) && target.fileExists(p);
      if (prop === "readFileSync") return (p: string, enc?: string) => {
        if (hidden(p)) throw new NotFound(p);
        return target.readFileSync(p, enc);
      };
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The shared project: real file system, the options above, no files until someone adds them. */
export function checkerProject(): Project {
  if (shared) return shared;
  const { Project, ts } = tsMorph();
  shared = new Project({
    skipAddingFilesFromTsConfig: true,
    fileSystem: fileSystem(),
    compilerOptions: {
      ...CHECK_OPTIONS,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.Preserve,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
    },
  });
  return shared;
}

/**
 * Every file the project's program read besides the ES library (the runtime
 * API, zod's declarations, user modules, files in memory), path → the text
 * the checker saw: what a cached check result depends on.
 */
export function programTexts(project: Project): Map<string, string> {
  const program = project.getProgram().compilerObject;
  const out = new Map<string, string>();
  for (const sf of program.getSourceFiles()) {
    if (!program.isSourceFileDefaultLibrary(sf)) out.set(path.normalize(sf.fileName), sf.text);
  }
  return out;
}
