// The composition root of `fti`: the one module that puts the two layers
// below it together. Nothing in compiler/ or runtime/ imports it
// (test/layering.test.ts).
//
//   compiler/cli/main.ts ── this file: the program, its commands, exit codes
//     ├─ compiler/cli/compiler-commands.ts → compiler/   compile, check, explain
//     ├─ runtime/cli/                                  features, train, predict, serve, …
//     └─ compiler/cli/load.ts: the spec loader the runtime's commands are handed
//        (it compiles a missing or stale spec first, so runtime/ never imports compiler/)
//
// It lives in compiler/ only because the top-level layout is fixed; bin.mjs
// (package.json's `fti`) starts it.

import { Command, CommanderError } from "commander";
import { environmentError } from "../../runtime/environment-errors.ts";
import { UserError } from "../../runtime/errors.ts";
import { SpecReadError } from "../compile.ts";
import { registerCompilerCommands } from "./compiler-commands.ts";
import { EXIT, UsageError } from "./exit.ts";
import { loadCompiledSpec } from "./load.ts";

export { EXIT } from "./exit.ts";

/**
 * `exit` records an action's exit code (the highest wins). The runtime's
 * commands (dozens of modules: DuckDB, Fastify, ...) are imported only when
 * the command line is not one of the compiler's (`fti compile` has no use for
 * them); `fti --help` and an unknown command get them all.
 */
export async function buildProgram(exit: (code: number) => void, argv: string[] = []): Promise<Command> {
  const program = new Command("fti")
    .description("Compile .fti specs into feature, training and inference pipelines, and run them on DuckDB.")
    .version("0.1.0")
    // `fti --version` is fti's version only before a command: `fti predict … --version 2` is the command's own flag.
    .enablePositionalOptions()
    .showHelpAfterError("(run `fti --help` for usage)")
    .exitOverride();

  registerCompilerCommands(program, { exit });
  const word = argv.slice(2).find((a) => !a.startsWith("-")); // fti's own options take no values
  if (word && program.commands.some((c) => c.name() === word || c.aliases().includes(word))) return program;
  const deps = { loadSpec: loadCompiledSpec, exit };
  const [runtime, online, agent, monitor, run, stream] = await Promise.all([
    import("../../runtime/cli/commands.ts"),
    import("../../runtime/cli/online-commands.ts"),
    import("../../runtime/cli/agent-commands.ts"),
    import("../../runtime/cli/monitor-commands.ts"),
    import("../../runtime/cli/run-commands.ts"),
    import("../../runtime/cli/stream-commands.ts"),
  ]);
  runtime.registerRuntimeCommands(program, deps);
  online.registerOnlineCommands(program, deps);
  agent.registerAgentCommands(program, deps);
  monitor.registerMonitorCommands(program, deps);
  run.registerRunCommands(program, deps);
  stream.registerStreamCommands(program, deps);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  try {
    const program = await buildProgram((c) => (code = Math.max(code, c)), argv);
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    return handleError(e);
  }
}

/** Prints an error the way its kind asks for and returns the exit code. */
export function handleError(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return EXIT.ok;
    return EXIT.usage;
  }
  if (e instanceof UsageError) {
    process.stderr.write(`error: ${e.message}\n`);
    if (e.hint) process.stderr.write(`  hint: ${e.hint}\n`);
    return EXIT.usage;
  }
  if (e instanceof UserError || e instanceof SpecReadError) {
    process.stderr.write(`error: ${e.message}\n`);
    const hint = (e as UserError).hint;
    if (hint) process.stderr.write(`  hint: ${hint}\n`);
    return EXIT.input;
  }
  const env = environmentError(e);
  if (env) return handleError(env);
  const err = e as Error;
  process.stderr.write(`internal error: ${err?.message ?? String(e)}\n`);
  if (process.env.FTI_DEBUG) process.stderr.write(`${err?.stack ?? ""}\n`);
  else process.stderr.write("  this is a bug in fti; rerun with FTI_DEBUG=1 for the stack trace and report it\n");
  return EXIT.internal;
}
