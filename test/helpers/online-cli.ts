// `fti` for the online tests: the compiler's CLI program, with the online
// commands registered here when compiler/cli/main.ts does not register them
// (yet). Run as `node --import tsx test/helpers/online-cli.ts <args>`.

import { buildProgram, handleError } from "../../compiler/cli/main.ts";
import { loadCompiledSpec } from "../../compiler/cli/load.ts";
import { registerOnlineCommands } from "../../runtime/cli/online-commands.ts";

let code = 0;
const exit = (c: number) => (code = Math.max(code, c));
const program = await buildProgram(exit, process.argv);
if (!program.commands.some((c) => c.name() === "serve")) registerOnlineCommands(program, { loadSpec: loadCompiledSpec, exit });
try {
  await program.parseAsync(process.argv);
} catch (e) {
  code = handleError(e);
}
process.exitCode = code;
