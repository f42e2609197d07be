// The fti command line: compiler commands here, runtime commands registered
// from runtime/cli. Exit codes: 0 ok; 1 the input is wrong (spec errors,
// stale output, bad data, a failed gate); 2 usage; 3 an internal error.

import fs from "node:fs";
import path from "node:path";
import { Command, CommanderError } from "commander";
import { compileSpec, SpecReadError, staleFiles, writeOutput, type CompileResult } from "../compile.ts";
import { formatDiagnostics, sortDiagnostics } from "../diagnostics.ts";
import { explainDot, explainText } from "../explain.ts";
import { registerRuntimeCommands } from "../../runtime/cli/commands.ts";
import { registerMonitorCommands } from "../../runtime/cli/monitor-commands.ts";
import { registerOnlineCommands } from "../../runtime/cli/online-commands.ts";
import { registerAgentCommands } from "../../runtime/cli/agent-commands.ts";
import { environmentError } from "../../runtime/environment-errors.ts";
import { UserError } from "../../runtime/errors.ts";
import { registerFmtCommand } from "./fmt.ts";
import { registerInitCommand } from "./init.ts";
import { loadCompiledSpec } from "./load.ts";

export const EXIT = { ok: 0, input: 1, usage: 2, internal: 3 } as const;

function defaultSpecs(): string[] {
  const dir = "specs";
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith(".fti")).sort().map((f) => path.join(dir, f));
}

function report(results: CompileResult[], json: boolean): void {
  if (json) {
    const out = results.map((r) => ({ file: r.file, diagnostics: sortDiagnostics(r.diagnostics) }));
    process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    return;
  }
  for (const r of results) {
    const text = formatDiagnostics(r.diagnostics, r.sources);
    if (text) process.stderr.write(text + (results.length > 1 ? "\n" : ""));
  }
}

const hasErrors = (r: CompileResult) => r.diagnostics.some((d) => d.severity === "error");

/** `exit` records an action's exit code (the highest wins). */
export function buildProgram(exit: (code: number) => void): Command {
  const program = new Command("fti")
    .description("Compile .fti specs into feature, training and inference pipelines, and run them on DuckDB.")
    .version("0.1.0")
    .showHelpAfterError("(run `fti --help` for usage)")
    .exitOverride();

  program
    .command("compile")
    .description("check specs and generate their TypeScript modules (default: every specs/*.fti)")
    .argument("[spec...]", ".fti files")
    .option("--out <dir>", "output directory (default: generated/<spec name>); only with one spec")
    .option("--check", "generate in memory and exit 1 if generated/ differs (for CI)")
    .option("--json", "print diagnostics as JSON")
    .action(async (specs: string[], opts: { out?: string; check?: boolean; json?: boolean }) => {
      const list = specs.length ? specs : defaultSpecs();
      if (!list.length) throw new UserError("no specs given and none found in specs/");
      if (opts.out && list.length > 1) throw new UsageError("--out takes one spec");
      const results = [];
      for (const s of list) results.push(await compileSpec(s, { outDir: opts.out }));
      report(results, !!opts.json);
      let code: number = EXIT.ok;
      for (const r of results) {
        if (hasErrors(r)) {
          code = EXIT.input;
          if (!opts.json) process.stderr.write(`✗ ${r.file}: not compiled; ${path.relative(process.cwd(), r.outDir) || r.outDir}/ left as it was\n`);
          continue;
        }
        if (opts.check) {
          const stale = staleFiles(r);
          if (stale.length) {
            code = EXIT.input;
            process.stderr.write(`✗ ${r.file}: generated code is stale: ${stale.join(", ")}\n  run \`fti compile ${r.file}\` and commit the result\n`);
          } else if (!opts.json) process.stdout.write(`✓ ${r.file}: generated code is up to date\n`);
          continue;
        }
        const failure = await writeOutput(r);
        if (failure) {
          r.diagnostics.push(failure);
          report([r], !!opts.json);
          code = EXIT.input;
          continue;
        }
        if (!opts.json) process.stdout.write(`✓ ${r.file} → ${path.relative(process.cwd(), r.outDir)}/ (${r.files!.size} files)\n`);
      }
      exit(code);
    });

  program
    .command("check")
    .description("check specs and print diagnostics; generates nothing")
    .argument("<spec...>", ".fti files")
    .option("--json", "print diagnostics as JSON")
    .action(async (specs: string[], opts: { json?: boolean }) => {
      const results = [];
      for (const s of specs) results.push(await compileSpec(s, { checkOnly: true }));
      report(results, !!opts.json);
      const failed = results.filter(hasErrors);
      if (!opts.json && !failed.length) for (const r of results) process.stdout.write(`✓ ${r.file}: no errors\n`);
      exit(failed.length ? EXIT.input : EXIT.ok);
    });

  program
    .command("explain")
    .description("show each model's lineage: view → features → groups → sources, with MIT/MDT/ODT marked")
    .argument("<spec>", ".fti file")
    .option("--dot", "print Graphviz dot instead of a tree")
    .action(async (spec: string, opts: { dot?: boolean }) => {
      const r = await compileSpec(spec, { checkOnly: true });
      report([r], false);
      if (!r.ir) return exit(EXIT.input);
      process.stdout.write(opts.dot ? explainDot(r.ir) : explainText(r.ir));
    });

  registerFmtCommand(program, { exit, defaultSpecs });
  registerInitCommand(program, { exit });

  program
    .command("lsp")
    .description("run the language server (editors start it as `fti lsp --stdio`)")
    .option("--stdio", "talk LSP over stdin/stdout (the only transport)")
    .action(async () => {
      // Loaded here: the server's modules cost nothing to other commands.
      const { startStdioServer } = await import("../lsp/server.ts");
      startStdioServer();
      await new Promise<never>(() => {}); // the connection ends the process on `exit`
    });
  registerRuntimeCommands(program, { loadSpec: loadCompiledSpec, exit });
  registerOnlineCommands(program, { loadSpec: loadCompiledSpec, exit });
  registerAgentCommands(program, { loadSpec: loadCompiledSpec, exit });
  registerMonitorCommands(program, { loadSpec: loadCompiledSpec, exit });
  return program;
}

class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram((c) => (code = Math.max(code, c)));
  try {
    await program.parseAsync(argv);
    return code;
  } catch (e) {
    return handleError(e);
  }
}

export function handleError(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return EXIT.ok;
    return EXIT.usage;
  }
  if (e instanceof UsageError) {
    process.stderr.write(`error: ${e.message}\n`);
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
