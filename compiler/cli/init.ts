// `fti init [dir]`: scaffolds a project (see init-template.ts). Never
// overwrites: if any file it would write exists, it writes nothing.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { UserError } from "../../runtime/errors.ts";
import { NEXT_COMMANDS, projectFiles } from "./init-template.ts";
import { makeDirs } from "../../runtime/make-dirs.ts";

/** An npm package name from a directory name. */
function packageName(dir: string): string {
  const base = path.basename(path.resolve(dir)).toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[._-]+/, "");
  return base || "fti-project";
}

function ftiVersion(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** Where this fti is installed (a clone, or a project's node_modules/fti): what the new project installs. */
function ftiRoot(): string {
  const root = path.resolve(fileURLToPath(new URL("../../", import.meta.url)));
  return /[\s"'$`\\]/.test(root) ? `"${root.replace(/(["$`\\])/g, "\\$1")}"` : root;
}

export function initProject(dir: string, now = new Date()): string[] {
  const root = path.resolve(dir);
  const files = projectFiles(packageName(root), ftiVersion(), now);
  const existing = [...files.keys()].filter((f) => fs.existsSync(path.join(root, f)));
  if (existing.length) throw new UserError(`${dir}: ${existing.join(", ")} already exist${existing.length === 1 ? "s" : ""}; nothing was written`, "run `fti init` in an empty directory, or give a new one: `fti init my-project`");
  try {
    for (const [rel, text] of files) {
      makeDirs(path.dirname(path.join(root, rel)));
      fs.writeFileSync(path.join(root, rel), text, { flag: "wx" });
    }
  } catch (e) {
    throw new UserError(`${dir}: cannot write the project (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return [...files.keys()];
}

export function registerInitCommand(program: Command, deps: { exit: (code: number) => void }): void {
  program
    .command("init")
    .description("create a project: package.json with fti, a commented starter spec with sample data, .gitignore, README")
    .argument("[dir]", "the project directory (created if missing)", ".")
    .action((dir: string) => {
      const files = initProject(dir);
      const shown = path.relative(process.cwd(), path.resolve(dir)) || ".";
      process.stdout.write(`✓ created a fti project in ${shown}/\n${files.map((f) => `  ${f}\n`).join("")}\nnext:\n${shown === "." ? "" : `  cd ${shown}\n`}  npm install ${ftiRoot()}   # fti is not on the npm registry: this fti, linked\n${NEXT_COMMANDS.map(([c]) => `  ${c}\n`).join("")}`);
      deps.exit(0);
    });
}
