// The compiler's commands from one prebuilt JavaScript file. `fti compile`
// otherwise loads ~135 TypeScript modules through tsx, each resolved and
// transformed by a round trip to the module-loader thread of Node 20's ESM
// hooks: a few hundred ms of a cold compile. The bundle is the same modules
// (compiler/cli/main.ts and what the compiler's commands import), bundled by
// esbuild into one ES module that Node loads without tsx.
//
// It is a cache, never a second source of truth:
//   - Its first line records the sha256 of every file it was built from (this
//     file included); it is used only when every one of them is unchanged.
//     Anything else (a missing file, an edit, an unreadable bundle, a failed
//     import) runs the TypeScript sources through tsx as before.
//   - After a compiler command ran from the sources, the bundle is rebuilt, so
//     the next one uses it (npm install's postinstall builds it too).
//   - Packages are not bundled: each import of one is resolved at build time to
//     its installed file, so the bundle loads exactly what the sources would.
//     Each module keeps its own `import.meta.url` (the source file's URL).
//   - Only the compiler's own commands use it (`COMMANDS`); the runtime's load
//     from the sources (they import generated code, which needs tsx anyway).
//
// It lives with the installation, `node_modules/.cache/fti/bundle/`
// (`FTI_BUNDLE_DIR` names another directory), never in the project: it is code
// that runs, and a project's files must not be able to choose what `fti
// compile` runs (an installation that cannot be written has no bundle: the
// sources run). `FTI_NO_BUNDLE=1` or `FTI_NO_CACHE=1` turns it off.

import crypto from "node:crypto";
import fs from "node:fs";
import { builtinModules, createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), "../..");
const ENTRY = path.join(ROOT, "compiler/cli/main.ts");
/** One file per source tree: two checkouts sharing one node_modules (a symlink) keep a bundle each. */
export const BUNDLE_FILE = `compiler-${crypto.createHash("sha256").update(ROOT).digest("hex").slice(0, 12)}.mjs`;
/** The commands run from the bundle: every module they load is in it. */
export const COMMANDS = ["compile", "check", "explain"];
/** Modules reached from main.ts that those commands never load: left out, imported from the sources if ever. */
const LEFT_OUT = [path.join(ROOT, "runtime/cli") + path.sep, path.join(ROOT, "compiler/lsp") + path.sep];

const on = (name) => !!process.env[name] && process.env[name] !== "0";

/** The command word of a command line (fti's own options take no values), as main.ts finds it. */
export function commandWord(argv) {
  return argv.slice(2).find((a) => !a.startsWith("-"));
}

/** Where the bundle is looked for and written: the installation's directory (none when it is off or unknown). */
export function bundleDirs() {
  if (on("FTI_NO_BUNDLE") || on("FTI_NO_CACHE")) return [];
  const own = process.env.FTI_BUNDLE_DIR;
  const installed = own?.trim() ? path.resolve(own) : installationDir();
  return installed ? [installed] : [];
}

/** `node_modules/.cache/fti/bundle` of the node_modules fti's own packages (tsx) are installed in. */
function installationDir() {
  try {
    const parts = createRequire(HERE).resolve("tsx").split(path.sep);
    const i = parts.lastIndexOf("node_modules");
    return i < 0 ? undefined : path.join(parts.slice(0, i + 1).join(path.sep) || path.sep, ".cache", "fti", "bundle");
  } catch {
    return undefined;
  }
}

const sha256 = (data) => crypto.createHash("sha256").update(data).digest("hex");

/** The first-line record of a bundle's text: { inputs: { absolute path: sha256 } }, or undefined. */
function readRecord(text) {
  const m = /^\/\/ fti-bundle (.*)\n/.exec(text);
  if (!m) return undefined;
  try {
    const record = JSON.parse(m[1]);
    return record && typeof record.inputs === "object" ? record : undefined;
  } catch {
    return undefined;
  }
}

function unchanged(inputs) {
  for (const [file, hash] of Object.entries(inputs)) {
    try {
      if (sha256(fs.readFileSync(file)) !== hash) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/** The path of an up-to-date bundle, or undefined. */
export function freshBundle() {
  for (const dir of bundleDirs()) {
    const file = path.join(dir, BUNDLE_FILE);
    let text;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    const record = readRecord(text);
    if (record && unchanged(record.inputs)) return file;
  }
  return undefined;
}

/**
 * main.ts's `main` from an up-to-date bundle, when the command line is one of
 * `COMMANDS`; undefined otherwise (the caller runs the sources). Importing
 * links every module before any runs, so a failure here has done nothing yet.
 */
export async function bundledMain(argv) {
  if (!COMMANDS.includes(commandWord(argv))) return undefined;
  const file = freshBundle();
  if (!file) return undefined;
  try {
    const { main } = await import(pathToFileURL(file).href);
    if (on("FTI_DEBUG")) process.stderr.write(`fti: running the compiler bundle ${file}\n`);
    return main;
  } catch (e) {
    if (on("FTI_DEBUG")) process.stderr.write(`fti: the compiler bundle ${file} did not load (${e?.message}); running the sources\n`);
    return undefined;
  }
}

/** Whether a run of `argv` from the sources should leave a bundle for the next one. */
export function wantsBundle(argv) {
  return COMMANDS.includes(commandWord(argv)) && bundleDirs().length > 0 && !freshBundle();
}

/** Builds the bundle and writes it to its directory (when that can be written: else nothing is built). Never throws. */
export async function buildBundle() {
  const dir = bundleDirs().find(writable);
  if (!dir) return undefined;
  try {
    const file = path.join(dir, BUNDLE_FILE);
    if (writeAtomically(file, await bundleText())) return file;
  } catch (e) {
    if (on("FTI_DEBUG")) process.stderr.write(`fti: the compiler bundle was not built: ${e?.message}\n`);
  }
  return undefined;
}

async function bundleText() {
  // esbuild comes with tsx (a dependency of fti), whatever the layout of node_modules.
  const esbuild = await import(pathToFileURL(createRequire(createRequire(HERE).resolve("tsx")).resolve("esbuild")).href);
  const result = await esbuild.build({
    entryPoints: [ENTRY],
    absWorkingDir: ROOT, // the metafile names inputs relative to it
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    target: "node20",
    metafile: true,
    logLevel: "silent",
    define: { "import.meta.url": "__fti_module_url" },
    plugins: [sourcePlugin()],
  });
  const inputs = { [HERE]: sha256(fs.readFileSync(HERE)) };
  for (const input of Object.keys(result.metafile.inputs)) {
    const file = path.resolve(ROOT, input);
    inputs[file] = sha256(fs.readFileSync(file));
  }
  return `// fti-bundle ${JSON.stringify({ inputs })}\n${result.outputFiles[0].text}`;
}

/**
 * Each source module gets its own URL (`import.meta.url` is defined as a
 * per-module constant: code in the emitters' template strings is not
 * touched); each package import becomes an import of its installed file.
 */
function sourcePlugin() {
  const builtins = new Set(builtinModules);
  return {
    name: "fti-sources",
    setup(build) {
      build.onResolve({ filter: /^[^./#]/ }, async (args) => {
        if (args.pluginData === "fti" || args.path.startsWith("node:") || builtins.has(args.path)) return undefined;
        const resolved = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: "fti" });
        if (resolved.errors.length) return { errors: resolved.errors };
        return { path: pathToFileURL(resolved.path).href, external: true };
      });
      build.onResolve({ filter: /^\./ }, (args) => {
        const file = path.resolve(args.resolveDir, args.path);
        return LEFT_OUT.some((dir) => file.startsWith(dir)) ? { path: pathToFileURL(file).href, external: true } : undefined;
      });
      build.onLoad({ filter: /\.ts$/ }, (args) => ({
        contents: `const __fti_module_url = ${JSON.stringify(pathToFileURL(args.path).href)};\n${fs.readFileSync(args.path, "utf8")}`,
        loader: "ts",
      }));
    },
  };
}

function writable(dir) {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function writeAtomically(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
    return true;
  } catch {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing to remove
    }
    return false;
  }
}
