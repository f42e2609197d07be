// Which `fti` the extension starts: the `fti.path` setting when set, else the
// fti installed in the workspace folder (node_modules/fti, the package's own
// bin), else the workspace itself when it is the fti repository. Never a
// global install picked up by accident: specs compile against the runtime of
// the project they live in. Plain CommonJS without `vscode`, so it is tested
// outside the editor (test/vscode-extension.test.ts).
"use strict";

const fs = require("node:fs");
const path = require("node:path");

/** The bin script (`compiler/cli/bin.mjs`) of the fti package in `dir`, if any. */
function binOfPackage(dir) {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    if (pkg.name !== "fti") return undefined;
    const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin && pkg.bin.fti;
    if (!bin) return undefined;
    const abs = path.resolve(dir, bin);
    return fs.existsSync(abs) ? abs : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The command that starts the language server for a workspace folder, or
 * undefined when fti is not installed there.
 * @param {string | undefined} folder the workspace folder's path
 * @param {string | undefined} configured the `fti.path` setting (a bin script)
 * @param {string} node the Node.js executable to run it with
 */
function serverCommand(folder, configured, node) {
  let bin;
  if (configured) bin = path.resolve(folder || process.cwd(), configured);
  else if (folder) bin = binOfPackage(path.join(folder, "node_modules", "fti")) || binOfPackage(folder);
  if (!bin || !fs.existsSync(bin)) return undefined;
  return { command: node, args: [bin, "lsp", "--stdio"], options: { cwd: folder || path.dirname(bin) } };
}

module.exports = { serverCommand, binOfPackage };
