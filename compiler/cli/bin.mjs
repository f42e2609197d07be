#!/usr/bin/env node
// The `fti` command. Registers tsx so the CLI, the runtime and the generated
// modules (all TypeScript) load without a build step.
import { register } from "tsx/esm/api";

// A closed pipe (`fti models show m | head -1`) is the reader being done, not an error: stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}

register();
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv);
