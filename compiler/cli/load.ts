// Loads a spec's compiled bundle for the runtime commands. Like dbt, running
// a pipeline compiles first when the generated code is missing or was
// generated from a different version of the spec.

import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { SpecBundle } from "../../runtime/api.ts";
import { UserError } from "../../runtime/errors.ts";
import { compileSpec, currentSpecHash, SpecReadError, specName, writeOutput } from "../compile.ts";
import { formatDiagnostics } from "../diagnostics.ts";
import { checkTransformsFile } from "../../runtime/transforms-hash.ts";

export async function loadCompiledSpec(specPath: string, opts: { outDir?: string; quiet?: boolean } = {}): Promise<SpecBundle> {
  const abs = path.resolve(specPath);
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(abs);
  } catch {
    throw new SpecReadError(`${specPath}: no such file`);
  }
  const outDir = path.resolve(opts.outDir ?? path.join("generated", specName(abs)));
  const index = path.join(outDir, "index.ts");
  const hash = currentSpecHash(abs, bytes);
  const current = fs.existsSync(index) ? /SPEC_HASH = "([0-9a-f]+)"/.exec(fs.readFileSync(index, "utf8"))?.[1] : undefined;
  if (current !== hash) {
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
  }
  // A hand edit of transforms.ts after generation is refused before anything runs (createPredictor checks again).
  checkTransformsFile(path.join(outDir, "transforms.ts"), specPath);
  const mod = (await import(pathToFileURL(index).href)) as { spec: SpecBundle };
  return mod.spec;
}
