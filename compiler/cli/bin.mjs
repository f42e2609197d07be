#!/usr/bin/env node
// The `fti` command. The compiler's own commands run from a prebuilt bundle
// when one is up to date (bundle.mjs: no tsx, one file); everything else
// registers tsx so the CLI, the runtime and the generated modules (all
// TypeScript) load without a build step.
import { buildBundle, bundledMain, wantsBundle } from "./bundle.mjs";

// A closed pipe (`fti models show m | head -1`) is the reader being done, not an error: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const bundled = await bundledMain(process.argv);
if (bundled) {
  process.exitCode = await bundled(process.argv);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  const { main } = await import("./main.ts");
  process.exitCode = await main(process.argv);
  // The sources ran because the bundle was missing or out of date: leave one for the next run.
  if (wantsBundle(process.argv)) await buildBundle();
}
