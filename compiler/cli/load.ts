// Loads a spec's compiled bundle for the runtime commands. Like dbt, running
// a pipeline compiles first when the generated code is missing or was
// generated from a different version of the spec.

import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { SpecBundle } from "../../runtime/api.ts";
import { UserError } from "../../runtime/errors.ts";
import { compileSpec, currentSpecHashes, SpecReadError, specName, writeOutput } from "../compile.ts";
import { formatDiagnostics } from "../diagnostics.ts";
import { readFailure, readSpecBytes } from "../modules.ts";
import { checkTransformsFile } from "../../runtime/transforms-hash.ts";

export async function loadCompiledSpec(specPath: string, opts: { outDir?: string; quiet?: boolean } = {}): Promise<SpecBundle> {
  const abs = path.resolve(specPath);
  let bytes: Buffer;
  try {
    bytes = readSpecBytes(abs);
  } catch (e) {
    throw new SpecReadError(`${specPath}: ${readFailure(e)}`);
  }
  const outDir = path.resolve(opts.outDir ?? path.join("generated", specName(specPath)));
  const index = path.join(outDir, "index.ts");
  const generatedHash = (dir: string) => {
    const file = path.join(dir, "index.ts");
    return fs.existsSync(file) ? /SPEC_HASH = "([0-9a-f]+)"/.exec(fs.readFileSync(file, "utf8"))?.[1] : undefined;
  };
  const current = generatedHash(outDir);
  // Its own folder and those of the specs it imports (another importer's compile may have rewritten one).
  if (currentSpecHashes(abs, bytes, outDir).some((f) => generatedHash(f.outDir) !== f.hash)) {
    if (!opts.quiet) process.stderr.write(`compiling ${specPath} (generated code is ${current ? "stale" : "missing"})\n`);
    const result = await compileSpec(abs, { outDir });
    const text = formatDiagnostics(result.diagnostics, result.sources);
    if (!result.files) {
      if (text) process.stderr.write(text);
      throw new UserError(`${specPath} has errors; fix them and rerun`);
    }
    const failure = await writeOutput(result);
    if (failure) {
      process.stderr.write(formatDiagnostics([failure], result.sources));
      throw new UserError(`cannot write the generated code for ${specPath}`);
    }
    // Warnings (a label that trains rows it should leave out, a reference feature that can leak) are
    // shown by the command that compiled, as `fti compile` shows them: once, when the spec changed.
    if (text && !opts.quiet) process.stderr.write(text);
  }
  // A hand edit of transforms.ts after generation is refused before anything runs (createPredictor checks again).
  checkTransformsFile(path.join(outDir, "transforms.ts"), specPath);
  let mod: { spec: SpecBundle };
  try {
    mod = (await import(pathToFileURL(index).href)) as { spec: SpecBundle };
  } catch (e) {
    // Node's own error for a folder that is not an fti project reads as a bug in fti: name what is missing instead.
    checkProjectSetup(outDir);
    throw e;
  }
  return mod.spec;
}

const SETUP_HINT = "`fti init DIR` creates a project set up this way (package.json with \"type\": \"module\" and fti installed)";

/**
 * The generated modules are ES modules importing `fti/runtime`: a folder that
 * is not an npm project of that kind cannot load them, and Node's own errors
 * (a require cycle, a missing package) would read as a bug in fti.
 */
function checkProjectSetup(outDir: string): void {
  const shown = path.relative(process.cwd(), outDir) || ".";
  const pkg = nearestPackageJson(outDir);
  if (!pkg) throw new UserError(`no package.json in ${shown} or any folder above it: the generated code there is ES modules that import fti/runtime`, SETUP_HINT);
  let type: unknown;
  try {
    type = (JSON.parse(fs.readFileSync(pkg, "utf8")) as { type?: unknown }).type;
  } catch {
    throw new UserError(`${path.relative(process.cwd(), pkg)} is not valid JSON`);
  }
  if (type !== "module") {
    throw new UserError(`${path.relative(process.cwd(), pkg)} does not say "type": "module": the generated code in ${shown} is ES modules`, `add "type": "module" to it; ${SETUP_HINT}`);
  }
  try {
    createRequire(path.join(outDir, "index.ts")).resolve("fti/runtime");
  } catch {
    throw new UserError(`the generated code in ${shown} imports fti/runtime, and fti is not installed in this project`, `run \`npm install fti\` there (or \`npm install PATH-TO-FTI\`); ${SETUP_HINT}`);
  }
}

function nearestPackageJson(dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    const candidate = path.join(d, "package.json");
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(d) === d) return undefined;
  }
}
