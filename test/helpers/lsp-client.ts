// A language-server client for tests: starts `fti lsp --stdio` as an editor
// does and talks LSP to it over the process's stdin/stdout.

import { spawn } from "node:child_process";
import path from "node:path";
import { pathToFileURL } from "node:url";
import {
  createProtocolConnection,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  InitializedNotification,
  InitializeRequest,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  type InitializeResult,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from "vscode-languageserver-protocol/node";

const BIN = path.resolve("compiler/cli/bin.mjs");

export interface LspClient {
  conn: ProtocolConnection;
  init: InitializeResult;
  open(uri: string, text: string): Promise<PublishDiagnosticsParams>;
  change(uri: string, version: number, text: string): Promise<PublishDiagnosticsParams>;
  close(uri: string): Promise<PublishDiagnosticsParams>;
  /** Every diagnostics notification received so far, in order of arrival. */
  published: PublishDiagnosticsParams[];
  /** The next diagnostics published for `uri`, whatever their version. */
  nextDiagnostics(uri: string): Promise<PublishDiagnosticsParams>;
  stop(): Promise<void>;
  stderr(): string;
}

/** Starts `fti lsp --stdio` (this repository's, or the fti bin script `bin`) in `cwd`; `workspace`: the folder the editor opened. */
export async function startLsp(cwd = process.cwd(), bin = BIN, workspace?: string): Promise<LspClient> {
  const child = spawn(process.execPath, [bin, "lsp", "--stdio"], { cwd, stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, FTI_DEBUG: "" } });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += String(d)));
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const waiters: Array<{ uri: string; version: number | undefined; resolve: (p: PublishDiagnosticsParams) => void }> = [];
  const published: PublishDiagnosticsParams[] = [];
  conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
    published.push(p);
    for (let i = 0; i < waiters.length; i++) {
      const w = waiters[i];
      if (w.uri === p.uri && (w.version === undefined || w.version === p.version)) {
        waiters.splice(i, 1);
        w.resolve(p);
        return;
      }
    }
  });
  conn.listen();
  const folders = workspace ? [{ uri: pathToFileURL(workspace).href, name: path.basename(workspace) }] : null;
  const init = await conn.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {}, workspaceFolders: folders });
  await conn.sendNotification(InitializedNotification.type, {});
  const next = (uri: string, version: number | undefined) => new Promise<PublishDiagnosticsParams>((resolve) => waiters.push({ uri, version, resolve }));
  return {
    conn,
    init,
    published,
    async open(uri, text) {
      const p = next(uri, 1);
      await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: "fti", version: 1, text } });
      return p;
    },
    async change(uri, version, text) {
      const p = next(uri, version);
      await conn.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text }] });
      return p;
    },
    nextDiagnostics: (uri) => next(uri, undefined),
    async close(uri) {
      const p = next(uri, undefined);
      await conn.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
      return p;
    },
    async stop() {
      await conn.sendRequest(ShutdownRequest.type);
      await conn.sendNotification(ExitNotification.type);
      await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.on("exit", () => resolve())));
      conn.dispose();
    },
    stderr: () => stderr,
  };
}
