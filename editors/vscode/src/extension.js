// The VS Code client: starts `fti lsp --stdio` from the workspace's installed
// fti (see server-command.js) for every .fti file of the workspace.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");
const { serverCommand } = require("./server-command.js");

let client;

async function activate(context) {
  const folder = vscode.workspace.workspaceFolders && vscode.workspace.workspaceFolders[0];
  const config = vscode.workspace.getConfiguration("fti");
  const node = config.get("nodePath") || "node";
  const cmd = serverCommand(folder && folder.uri.fsPath, config.get("path") || undefined, node);
  if (!cmd) {
    vscode.window.showWarningMessage("fti is not installed in this workspace: run `npm install fti` (or set `fti.path`) for diagnostics, completion and formatting of .fti specs.");
    return;
  }
  const server = { command: cmd.command, args: cmd.args, options: cmd.options, transport: TransportKind.stdio };
  client = new LanguageClient("fti", "fti language server", { run: server, debug: server }, {
    documentSelector: [{ language: "fti" }],
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.{fti,ts}") },
  });
  context.subscriptions.push(
    vscode.commands.registerCommand("fti.restartServer", async () => {
      if (client) await client.restart();
    }),
  );
  await client.start();
}

async function deactivate() {
  if (client) await client.stop();
}

module.exports = { activate, deactivate };
