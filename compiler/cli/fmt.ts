// `fti fmt [spec...] [--check]`: formats specs in place (default: every
// specs/*.fti); `--check` writes nothing and exits 1 when a file is not
// formatted (for CI); `-` reads stdin and prints the result. A spec with
// syntax errors is reported and left untouched. Files are replaced by rename,
// so an interrupted run never leaves half a spec.

import fs from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { formatDiagnostics } from "../diagnostics.ts";
import { readFailure, readSpecBytes, SPEC_LIMIT_BYTES, specTooLarge } from "../modules.ts";
import { formatSpec } from "../format/index.ts";
import { UserError } from "../../runtime/errors.ts";

const EXIT_OK = 0;
const EXIT_INPUT = 1;

function readSpec(file: string): string {
  try {
    return readSpecBytes(path.resolve(file)).toString("utf8");
  } catch (e) {
    throw new UserError(`${file}: ${readFailure(e)}`);
  }
}

/**
 * Replaces the spec's text through a temp file renamed over it. A symbolic link's target is what is written (renamed
 * over the link, the link became a copy and the spec it named stayed unformatted), with the file's own permissions
 * (a 0600 spec became 0644).
 */
function writeAtomically(file: string, text: string): void {
  let tmp = "";
  try {
    const target = fs.realpathSync(file);
    tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.fmt-tmp`);
    fs.writeFileSync(tmp, text, { mode: fs.statSync(target).mode & 0o7777, flag: "wx" });
    fs.renameSync(tmp, target);
  } catch (e) {
    if (tmp) fs.rmSync(tmp, { force: true });
    throw new UserError(`${file}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** Formats one file; returns its exit code. */
function formatFile(file: string, check: boolean, text: string, toStdout: boolean): number {
  const result = formatSpec(text, file);
  if (!result.ok) {
    process.stderr.write(formatDiagnostics(result.diagnostics, new Map([[file, text]])));
    process.stderr.write(`✗ ${file}: not formatted (syntax errors); the file was left as it was\n`);
    return EXIT_INPUT;
  }
  if (toStdout) {
    process.stdout.write(result.text);
    return check && result.changed ? EXIT_INPUT : EXIT_OK;
  }
  if (check) {
    if (!result.changed) return EXIT_OK;
    process.stderr.write(`✗ ${file}: not formatted; run \`fti fmt ${file}\`\n`);
    return EXIT_INPUT;
  }
  if (result.changed) {
    writeAtomically(file, result.text);
    process.stdout.write(`✓ formatted ${file}\n`);
  }
  return EXIT_OK;
}

/** Standard input's text, read to the bound of a spec file: `fti fmt - < /dev/zero` read until a string could not hold it (exit 3). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > SPEC_LIMIT_BYTES) throw new UserError(`<stdin>: ${specTooLarge()}`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total).toString("utf8");
}

export function registerFmtCommand(program: Command, deps: { exit: (code: number) => void; defaultSpecs: () => string[] }): void {
  program
    .command("fmt")
    .description("format specs in the canonical layout (default: every specs/*.fti; `-` formats stdin to stdout)")
    .argument("[spec...]", ".fti files, or - for stdin")
    .option("--check", "write nothing; exit 1 if a spec is not formatted (for CI)")
    .action(async (specs: string[], opts: { check?: boolean }) => {
      const list = specs.length ? specs : deps.defaultSpecs();
      if (!list.length) throw new UserError("no specs given and none found in specs/");
      let code = EXIT_OK;
      for (const file of list) {
        const fromStdin = file === "-";
        const text = fromStdin ? await readStdin() : readSpec(file);
        code = Math.max(code, formatFile(fromStdin ? "<stdin>" : file, !!opts.check, text, fromStdin));
      }
      if (code === EXIT_OK && opts.check && !specs.includes("-")) process.stdout.write(`✓ ${list.length} spec${list.length === 1 ? "" : "s"} formatted\n`);
      deps.exit(code);
    });
}
