#!/usr/bin/env node
// The `fti` command. Registers tsx so the CLI, the runtime and the generated
// modules (all TypeScript) load without a build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv);
