// Compiles a spec written by a test (plus its data and modules) and loads its
// bundle. The spec and data live in a temp dir; the generated code goes under
// .fti/test-gen/ inside the project, where `fti/runtime` resolves.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadCompiledSpec } from "../../compiler/cli/load.ts";
import type { SpecBundle } from "../../runtime/api.ts";

export interface TempSpec {
  dir: string;
  specPath: string;
  outDir: string;
  bundle: SpecBundle;
  cleanup(): void;
}

/** `files` maps names (relative to the spec's dir) to contents (text, or bytes); `spec.fti` is the spec. */
export async function compileTempSpec(files: Record<string, string | Uint8Array>, name = "spec"): Promise<TempSpec> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-spec-"));
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
  }
  const specPath = path.join(dir, `${name}.fti`);
  fs.mkdirSync(path.resolve(".fti/test-gen"), { recursive: true });
  const outDir = fs.mkdtempSync(path.resolve(".fti/test-gen", `${name}-`));
  const cleanup = () => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(outDir, { recursive: true, force: true });
  };
  try {
    return { dir, specPath, outDir, bundle: await loadCompiledSpec(specPath, { outDir, quiet: true }), cleanup };
  } catch (e) {
    cleanup(); // a spec that does not compile leaves no temp dirs behind (the caller never gets its cleanup)
    throw e;
  }
}
