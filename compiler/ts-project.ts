// The compiler's TypeScript programs (ts-morph Projects), one per set of
// declarations, each shared by everything that checks against it in a process:
//
//   - "light" (the type-check of the generated modules, emit/type-check.ts):
//     the runtime API (runtime/api.ts) with zod's declarations replaced by
//     emit/check-lib/zod.d.ts (the part of zod that generated code and the
//     runtime API use, with the same types) and the ES library files that the
//     runtime API and the generated code need (LIGHT_LIB). zod's own
//     declarations (230 kB) and the whole ES2023 library (515 kB) cost most of
//     a cold compile; test/check-lib.test.ts proves that the light declarations
//     accept and reject what the real ones do.
//   - "real" (`extern fn` signatures that cannot be read from the syntax alone,
//     checker/extern-inspect.ts, and the tests' cross-check): the ES2023
//     library and zod's real declarations, as a user's module sees them.
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
export const LIGHT_ZOD = path.join(ROOT, "compiler/emit/check-lib/zod.d.ts");

export type Declarations = "light" | "real";

/** The compiler options of the real declarations, as plain JSON: part of every check's cache key. */
const REAL_OPTIONS = {
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
  paths: { "fti/runtime": [RUNTIME_API] } as Record<string, string[]>,
};

/**
 * The ES library files the runtime API's modules and the generated code use
 * (a subset of ES2023: no Intl, decorators, typed-array copies, Reflect, ...).
 * A runtime module that starts using more fails test/check-lib.test.ts, which
 * names what is missing: add its lib file here.
 */
export const LIGHT_LIB = [
  "lib.es5.d.ts",
  "lib.es2015.core.d.ts",
  "lib.es2015.collection.d.ts",
  "lib.es2015.iterable.d.ts",
  "lib.es2015.generator.d.ts",
  "lib.es2015.promise.d.ts",
  "lib.es2015.symbol.d.ts",
  "lib.es2015.symbol.wellknown.d.ts",
  "lib.es2016.array.include.d.ts",
  "lib.es2017.object.d.ts",
  "lib.es2019.array.d.ts",
  "lib.es2019.object.d.ts",
  "lib.es2020.bigint.d.ts",
  "lib.es2022.array.d.ts",
];

export const CHECK_OPTIONS: Record<Declarations, typeof REAL_OPTIONS> = {
  real: REAL_OPTIONS,
  light: { ...REAL_OPTIONS, lib: LIGHT_LIB, paths: { ...REAL_OPTIONS.paths, zod: [LIGHT_ZOD] } },
};

let loaded: typeof import("ts-morph") | undefined;

export function tsMorph(): typeof import("ts-morph") {
  if (loaded) return loaded;
  try {
    // ts-morph's three large files (the TypeScript compiler inside @ts-morph/common, 9 MB;
    // @ts-morph/common, 3 MB; ts-morph, 1 MB), each compiled from V8's code cache, in the order
    // they require each other.
    const main = require.resolve("ts-morph");
    const common = createRequire(main).resolve("@ts-morph/common");
    for (const file of [path.join(path.dirname(common), "typescript.js"), common, main]) preloadWithCodeCache(file);
  } catch {
    // an unusual layout: a plain require() below
  }
  return (loaded = require("ts-morph") as typeof import("ts-morph"));
}

const shared = new Map<Declarations, Project>();

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

/** The shared project of a set of declarations: real file system, its options, no files until someone adds them. */
export function checkerProject(declarations: Declarations): Project {
  const known = shared.get(declarations);
  if (known) return known;
  const { Project, ts } = tsMorph();
  const project = new Project({
    skipAddingFilesFromTsConfig: true,
    fileSystem: fileSystem(),
    compilerOptions: {
      ...CHECK_OPTIONS[declarations],
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.Preserve,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
    },
  });
  shared.set(declarations, project);
  return project;
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
