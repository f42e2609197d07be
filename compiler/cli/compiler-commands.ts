// The compiler's own commands: `fti compile`, `fti check`, `fti explain`,
// and the editor's (`fti fmt`, `fti init`, `fti lsp`). They never run a
// pipeline; compiler/cli/main.ts registers them beside the runtime's commands.

import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { UserError } from "../../runtime/errors.ts";
import { compileSpec, staleFiles, writeOutput, type CompileResult } from "../compile.ts";
import { formatDiagnostics, sortDiagnostics } from "../diagnostics.ts";
import { removeStrayFolder, strayFolders, type StrayFolder } from "../stray-output.ts";
import { explainDot, explainText } from "../explain.ts";
import { EXIT, UsageError } from "./exit.ts";
import { registerFmtCommand } from "./fmt.ts";
import { registerInitCommand } from "./init.ts";

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

interface CompileOptions {
  out?: string;
  check?: boolean;
  json?: boolean;
}

/** `fti compile`: writes (or with --check compares) each spec's generated code; returns the exit code. */
async function compileCommand(specs: string[], opts: CompileOptions): Promise<number> {
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
    if (!opts.json) {
      const deps = r.dependencies.map((d) => `${path.relative(process.cwd(), d.outDir)}/`);
      process.stdout.write(`✓ ${r.file} → ${path.relative(process.cwd(), r.outDir)}/ (${r.files!.size} files)${deps.length ? `, with the specs it imports → ${deps.join(", ")}` : ""}\n`);
    }
  }
  // Folders under generated/ no spec compiles into (judged only when every spec compiled: a failed one's imports are unknown).
  if (opts.out || results.some(hasErrors)) return code;
  const strays = strayFolders("generated", results, !specs.length);
  return Math.max(code, opts.check ? reportStrays(strays) : removeGoneStrays(strays, !!opts.json));
}

const whose = (s: StrayFolder) => `its files say \`fti compile ${s.spec}\`, ${s.specGone ? "and that spec is gone" : "a spec neither in specs/ nor imported by one"}`;

/** `--check`: every stray folder fails the check. */
function reportStrays(strays: StrayFolder[]): number {
  for (const s of strays) {
    const fix = s.specGone ? "run `fti compile` (it removes generated code whose spec is gone) or delete the folder" : "delete the folder if nothing imports it, or compile that spec with the others";
    process.stderr.write(`✗ ${s.dir}/: stray generated code, no spec compiles into it (${whose(s)})\n  ${fix}\n`);
  }
  return strays.length ? EXIT.input : EXIT.ok;
}

/** A compile removes the files it wrote for a spec that is gone (never another file); the other strays are only named. */
function removeGoneStrays(strays: StrayFolder[], json: boolean): number {
  for (const s of strays) {
    if (!s.specGone) {
      process.stderr.write(`warning: ${s.dir}/ is stray generated code (${whose(s)}): delete it if nothing imports it\n`);
      continue;
    }
    let kept: string[];
    try {
      kept = removeStrayFolder(s);
    } catch (e) {
      process.stderr.write(`warning: ${s.dir}/ is stray generated code (${whose(s)}) and could not be removed: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
      continue;
    }
    if (json) continue;
    const what = kept.length ? `removed fti's ${s.ownFiles.length} files from ${s.dir}/ (kept ${kept.length} of your own: ${kept.join(", ")})` : `removed ${s.dir}/`;
    process.stdout.write(`✓ ${what}: its spec ${s.spec} is gone\n`);
  }
  return EXIT.ok;
}

/** `exit` records an action's exit code (the highest wins). */
export function registerCompilerCommands(program: Command, { exit }: { exit: (code: number) => void }): void {
  program
    .command("compile")
    .description("check specs and generate their TypeScript modules (default: every specs/*.fti)")
    .argument("[spec...]", ".fti files")
    .option("--out <dir>", "output directory (default: generated/<spec name>); only with one spec")
    .option("--check", "generate in memory and exit 1 if generated/ differs or holds code no spec generates (for CI)")
    .option("--json", "print diagnostics as JSON")
    .action(async (specs: string[], opts: CompileOptions) => exit(await compileCommand(specs, opts)));

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
}
