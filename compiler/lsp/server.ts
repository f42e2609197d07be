// `fti lsp --stdio`: the language server. It wires the LSP requests to the
// modules of this folder; every answer comes from one `Analysis` per document
// version (analysis.ts: the compiler's own parser and checker).

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  CodeActionKind,
  DiagnosticSeverity,
  ResponseError,
  ErrorCodes,
  TextDocumentSyncKind,
  TextDocuments,
  createConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type Connection,
  type Diagnostic as LspDiagnostic,
  type Location,
  type ServerCapabilities,
  type TextEdit,
} from "vscode-languageserver/node";
import { TextDocument } from "vscode-languageserver-textdocument";
import type { Diagnostic } from "../diagnostics.ts";
import { formatSpec } from "../format/index.ts";
import * as T from "../parser/lexer.ts";
import { analyze, type Analysis } from "./analysis.ts";
import { diskFiles, displayPath, type ModuleFiles } from "../modules.ts";
import { inlayHints } from "./inlay-hints.ts";
import { signatureHelp } from "./signature-help.ts";
import { workspaceSymbols } from "./workspace-symbols.ts";
import { codeActions, fixData, unusedImportFix, type DiagnosticData } from "./code-actions.ts";
import { complete } from "./completion.ts";
import { hover } from "./hover.ts";
import { documentSymbols, foldingRanges } from "./outline.ts";
import { offsetAt, toLsp } from "./positions.ts";
import { LEGEND, semanticTokens } from "./semantic-tokens.ts";
import { definitionOf, occurrenceAt, occurrencesOf } from "./symbols.ts";
import { sharedDefinition, sharedOccurrences, sharingFiles, type SpecSource } from "./cross-file.ts";
import { specFiles } from "./spec-files.ts";
import { checked } from "./request-params.ts";
import { projectRoot } from "../../runtime/features/source-paths.ts";
import type { Range } from "../ast.ts";

/**
 * The local path of a `file:` uri, or undefined for any other uri, and for a file uri Node cannot map to a path here
 * (a host, `file://server/share/x.fti`; an encoded `/`): it threw out of every request and every diagnostics run.
 */
function localPath(uri: string): string | undefined {
  if (!uri.startsWith("file:")) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

function specLocation(uri: string): { file: string; dir: string } {
  const abs = localPath(uri);
  if (abs !== undefined) return { file: path.relative(process.cwd(), abs) || abs, dir: path.dirname(abs) };
  return { file: uri, dir: process.cwd() };
}

function toLspDiagnostic(d: Diagnostic, uri: string, a: Analysis): LspDiagnostic {
  const file = a.file;
  const fix = d.fix ?? (d.code === 2044 ? unusedImportFix(a, d.range) : undefined);
  const data: DiagnosticData = { code: d.code, ...fixData(fix) };
  return {
    range: toLsp(d.range),
    severity: d.severity === "error" ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
    code: `FTI${d.code}`,
    source: "fti",
    message: d.hint ? `${d.message}\nhint: ${d.hint}` : d.message,
    ...(d.related?.length
      ? { relatedInformation: d.related.map((r) => ({ location: { uri: r.file === file ? uri : pathToFileURL(path.resolve(r.file)).href, range: toLsp(r.range) }, message: r.message })) }
      : {}),
    data,
  };
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The file a string at `offset` names — an extern fn's module, a source's path or an imported spec — when it exists. */
function fileAt(a: Analysis, offset: number, specDir: string): string | undefined {
  const strings = [...a.program.decls, ...a.program.imports].map((d) =>
    d.kind === "import" ? d.from : d.kind === "extern_fn" ? d.module : d.kind === "source" && d.location?.kind === "path" ? d.location.path : undefined,
  );
  for (const lit of strings) {
    if (!lit || offset < lit.range.start.offset || offset > lit.range.end.offset) continue;
    const abs = path.resolve(specDir, lit.value);
    return fs.existsSync(abs) && fs.statSync(abs).isFile() ? abs : undefined;
  }
  return undefined;
}

/** Keeps one analysis per open document version; reads the other specs of the workspace for cross-file requests. */
class Workspace implements SpecSource {
  private readonly cache = new Map<string, { version: number; analysis: Analysis }>();
  /** The workspace folders the client opened (absolute paths). */
  roots: string[] = [];

  constructor(private readonly documents: TextDocuments<TextDocument>) {}

  /** Imported specs are read from their open documents first, else from disk. */
  private readonly files: ModuleFiles = {
    read: (abs) => this.documents.get(pathToFileURL(abs).href)?.getText() ?? diskFiles.read(abs),
    realpath: (abs) => diskFiles.realpath(abs),
  };

  /** Forgets the analyses of open specs that read `uri` (an imported spec that changed); returns their uris. */
  forgetReaders(uri: string): string[] {
    const abs = localPath(uri);
    if (abs === undefined) return [];
    const readers = [...this.cache].filter(([other, hit]) => other !== uri && hit.analysis.reads.has(abs));
    for (const [r, hit] of readers) this.cache.set(r, { version: -1, analysis: hit.analysis });
    return readers.map(([r]) => r);
  }

  get(uri: string): Analysis | undefined {
    const doc = this.documents.get(uri);
    if (!doc) return undefined;
    const hit = this.cache.get(uri);
    if (hit && hit.version === doc.version) return hit.analysis;
    const { file, dir } = specLocation(uri);
    const analysis = analyze(doc.getText(), file, dir, hit?.analysis.ir, this.files);
    this.cache.set(uri, { version: doc.version, analysis });
    return analysis;
  }

  /** A spec by path: its open document's analysis, else its file on disk analysed (not kept: rename and references are rare). */
  analysisOf(abs: string): Analysis | undefined {
    const uri = pathToFileURL(abs).href;
    if (this.documents.get(uri)) return this.get(uri);
    let text: string;
    try {
      text = this.files.read(abs);
    } catch {
      return undefined;
    }
    const { file, dir } = specLocation(uri);
    return analyze(text, file, dir, undefined, this.files);
  }

  /** Open specs and the `.fti` files of the workspace and of `home`'s project that mention `home`'s file name. */
  importerCandidates(home: string): string[] {
    const open = this.documents.all().map((d) => localPath(d.uri)).filter((f): f is string => f !== undefined);
    const onDisk = specFiles([...this.roots, projectRoot(path.dirname(home))]);
    const name = path.basename(home);
    return [...new Set([...open, ...onDisk])].filter((f) => {
      try {
        return this.files.read(f).includes(name);
      } catch {
        return false;
      }
    });
  }

  /** The spec files a workspace symbol search reads: the workspace folders' and the open ones. */
  allSpecs(): string[] {
    const open = this.documents.all().map((d) => localPath(d.uri)).filter((f): f is string => f !== undefined);
    return [...new Set([...open, ...specFiles(this.roots)])];
  }

  forget(uri: string): void {
    this.cache.delete(uri);
  }

  /** Drops every analysis (a file a spec reads, like an extern fn's module, changed). */
  forgetAll(): void {
    for (const [uri, hit] of this.cache) this.cache.set(uri, { version: -1, analysis: hit.analysis });
  }
}

const uriOf = (abs: string) => pathToFileURL(abs).href;

/** The edits renaming the name at `offset` in the spec at `abs`, in every spec that shares it (spec modules and their importers). */
function renameEdits(specs: SpecSource, a: Analysis, abs: string, offset: number, newName: string, uri: string): Record<string, TextEdit[]> {
  const occ = occurrenceAt(a.index, offset);
  if (!occ) throw new ResponseError(ErrorCodes.InvalidRequest, "nothing to rename here");
  if (!NAME.test(newName) || T.KEYWORDS.has(newName)) throw new ResponseError(ErrorCodes.InvalidParams, `\`${newName}\` is not a valid name`);
  const scope = occ.key.slice(0, occ.key.lastIndexOf(occ.name));
  const changes: Record<string, TextEdit[]> = {};
  for (const { file, analysis } of sharingFiles(specs, a, abs, occ.key)) {
    if (analysis.index.occurrences.some((o) => o.def && o.key === scope + newName) || (occ.kind === "decl" && analysis.index.decls.has(newName))) {
      throw new ResponseError(ErrorCodes.InvalidParams, `\`${newName}\` is already declared there${file === abs ? "" : ` (in ${path.basename(file)})`}`);
    }
    const edits = occurrencesOf(analysis.index, occ.key).map((o) => ({ range: toLsp(o.range), newText: newName }));
    if (edits.length) changes[file === abs ? uri : uriOf(file)] = edits;
  }
  return changes;
}

const CAPABILITIES: ServerCapabilities = {
  textDocumentSync: TextDocumentSyncKind.Incremental,
  hoverProvider: true,
  completionProvider: { triggerCharacters: [".", ":", "(", " "] },
  definitionProvider: true,
  referencesProvider: true,
  documentHighlightProvider: true,
  renameProvider: { prepareProvider: true },
  documentSymbolProvider: true,
  foldingRangeProvider: true,
  semanticTokensProvider: { legend: LEGEND, full: true },
  documentFormattingProvider: true,
  codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
  signatureHelpProvider: { triggerCharacters: ["(", ","], retriggerCharacters: [")"] },
  workspaceSymbolProvider: true,
  inlayHintProvider: true,
};

type Documents = TextDocuments<TextDocument>;

export function startServer(connection: Connection): void {
  const documents = new TextDocuments(TextDocument);
  const workspace = new Workspace(documents);
  connection.onInitialize(({ workspaceFolders, rootUri }) => {
    const folders = workspaceFolders?.map((f) => f.uri) ?? (rootUri ? [rootUri] : []);
    workspace.roots = folders.map(localPath).filter((f): f is string => f !== undefined);
    return { capabilities: CAPABILITIES, serverInfo: { name: "fti", version: "0.1.0" } };
  });
  publishDiagnostics(connection, documents, workspace);
  answerNavigation(connection, workspace);
  answerDocumentRequests(connection, documents, workspace);
  documents.listen(connection);
  connection.listen();
}

/** Diagnostics follow every edit, every change on disk, and are cleared when a spec is closed. */
function publishDiagnostics(connection: Connection, documents: Documents, workspace: Workspace): void {
  const publish = (document: TextDocument) => {
    const a = workspace.get(document.uri);
    if (!a) return;
    void connection.sendDiagnostics({ uri: document.uri, version: document.version, diagnostics: a.diagnostics.map((d) => toLspDiagnostic(d, document.uri, a)) });
  };
  documents.onDidChangeContent(({ document }) => {
    // A didOpen whose uri is no string (a client's bug): nothing to analyse, and nowhere to publish to.
    if (typeof document.uri !== "string") return;
    publish(document);
    // Specs that import this one see its new text.
    for (const reader of workspace.forgetReaders(document.uri)) {
      const doc = documents.get(reader);
      if (doc) publish(doc);
    }
  });
  // An extern fn's module changed on disk: check every open spec again.
  connection.onDidChangeWatchedFiles(() => {
    workspace.forgetAll();
    for (const document of documents.all()) publish(document);
  });
  documents.onDidClose(({ document }) => {
    workspace.forget(document.uri);
    void connection.sendDiagnostics({ uri: document.uri, diagnostics: [] });
  });
}

/** Hover, completion, definition, references, highlights and rename: requests at a position. */
function answerNavigation(connection: Connection, workspace: Workspace): void {
  const at = (uri: string, pos: { line: number; character: number }) => {
    const a = workspace.get(uri);
    // Cross-file answers need the spec's path; an untitled document is a spec of its own.
    return a ? { a, offset: offsetAt(a.text, a.starts, pos), abs: localPath(uri) } : undefined;
  };
  const location = (uri: string, abs: string | undefined, file: string, range: Range) => ({ uri: abs !== undefined && file !== abs ? uriOf(file) : uri, range: toLsp(range) });

  connection.onHover(checked(["textDocument", "position"], ({ textDocument, position }) => {
    const x = at(textDocument.uri, position);
    return x ? hover(x.a, x.offset) : null;
  }));
  connection.onCompletion(checked(["textDocument", "position"], ({ textDocument, position }) => {
    const x = at(textDocument.uri, position);
    return x ? complete(x.a, x.offset) : [];
  }));
  connection.onSignatureHelp(checked(["textDocument", "position"], ({ textDocument, position }) => {
    const x = at(textDocument.uri, position);
    return x ? signatureHelp(x.a, x.offset) : null;
  }));
  connection.onDefinition(checked(["textDocument", "position"], ({ textDocument, position }): Location | null => {
    const x = at(textDocument.uri, position);
    if (!x) return null;
    const file = fileAt(x.a, x.offset, specLocation(textDocument.uri).dir);
    if (file) return { uri: uriOf(file), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } };
    const occ = occurrenceAt(x.a.index, x.offset);
    if (!occ) return null;
    if (x.abs === undefined) {
      const def = definitionOf(x.a.index, occ.key);
      return def ? { uri: textDocument.uri, range: toLsp(def.range) } : null;
    }
    // Declared here, or in the spec the owner is imported from.
    const def = sharedDefinition(workspace, x.a, x.abs, occ.key);
    return def ? location(textDocument.uri, x.abs, def.file, def.occ.range) : null;
  }));
  connection.onReferences(checked(["textDocument", "position", "context"], ({ textDocument, position, context }): Location[] => {
    const x = at(textDocument.uri, position);
    const occ = x && occurrenceAt(x.a.index, x.offset);
    if (!x || !occ) return [];
    const found = x.abs === undefined ? occurrencesOf(x.a.index, occ.key).map((o) => ({ file: "", occ: o })) : sharedOccurrences(workspace, x.a, x.abs, occ.key);
    return found.filter((f) => context.includeDeclaration || !f.occ.def).map((f) => location(textDocument.uri, x.abs, f.file || (x.abs ?? ""), f.occ.range));
  }));
  connection.onDocumentHighlight(checked(["textDocument", "position"], ({ textDocument, position }) => {
    const x = at(textDocument.uri, position);
    const occ = x && occurrenceAt(x.a.index, x.offset);
    return x && occ ? occurrencesOf(x.a.index, occ.key).map((o) => ({ range: toLsp(o.range), kind: o.def ? 3 : 2 })) : [];
  }));
  connection.onPrepareRename(checked(["textDocument", "position"], ({ textDocument, position }) => {
    const x = at(textDocument.uri, position);
    const occ = x && occurrenceAt(x.a.index, x.offset);
    return occ ? { range: toLsp(occ.range), placeholder: occ.name } : null;
  }));
  connection.onRenameRequest(checked(["textDocument", "position", "newName"], ({ textDocument, position, newName }) => {
    const x = at(textDocument.uri, position);
    if (!x) return null;
    // An untitled document: a workspace of its own.
    const specs: SpecSource = x.abs === undefined ? { analysisOf: () => undefined, importerCandidates: () => [] } : workspace;
    return { changes: renameEdits(specs, x.a, x.abs ?? textDocument.uri, x.offset, newName, textDocument.uri) };
  }));
}

/** Requests about a whole document: symbols, folding, semantic tokens, formatting, quick fixes. */
function answerDocumentRequests(connection: Connection, documents: Documents, workspace: Workspace): void {
  connection.onDocumentSymbol(checked(["textDocument"], ({ textDocument }) => {
    const a = workspace.get(textDocument.uri);
    return a ? documentSymbols(a) : [];
  }));
  connection.onFoldingRanges(checked(["textDocument"], ({ textDocument }) => {
    const a = workspace.get(textDocument.uri);
    return a ? foldingRanges(a) : [];
  }));
  connection.languages.semanticTokens.on(checked(["textDocument"], ({ textDocument }) => {
    const a = workspace.get(textDocument.uri);
    return a ? semanticTokens(a) : { data: [] };
  }));
  connection.onDocumentFormatting(checked(["textDocument"], ({ textDocument }): TextEdit[] => {
    const doc = documents.get(textDocument.uri);
    if (!doc) return [];
    const r = formatSpec(doc.getText(), specLocation(textDocument.uri).file);
    if (!r.ok || !r.changed) return [];
    return [{ range: { start: { line: 0, character: 0 }, end: doc.positionAt(doc.getText().length) }, newText: r.text }];
  }));
  connection.languages.inlayHint.on(checked(["textDocument", "range"], ({ textDocument, range }) => {
    const a = workspace.get(textDocument.uri);
    return a ? inlayHints(a, range) : [];
  }));
  connection.onWorkspaceSymbol(
    checked(["query"], ({ query }) => workspaceSymbols(workspace.allSpecs(), query, (abs) => workspace.get(uriOf(abs))?.program, (abs) => displayPath(abs))),
  );
  connection.onCodeAction(checked(["textDocument", "context"], ({ textDocument, context }) => {
    const a = workspace.get(textDocument.uri);
    return a ? codeActions(textDocument.uri, context.diagnostics) : [];
  }));
}

/** The server on this process's stdin/stdout (nothing else may write to stdout). */
export function startStdioServer(): void {
  const reader = new StreamMessageReader(process.stdin);
  // A header that cannot be read (`Content-Length: abc`) loses the framing: every later byte would be
  // read as headers and the server would answer nothing, alive but deaf. Say so and exit: the editor restarts it.
  reader.onError((e) => {
    if (!FRAMING_ERROR.test(e.message)) return;
    process.stderr.write(`fti lsp: the message stream cannot be read further (${e.message.split("\n")[0]})\n`);
    process.exit(1);
  });
  const connection = createConnection(reader, new StreamMessageWriter(process.stdout));
  startServer(connection);
}

/** vscode-jsonrpc's errors for a message header it cannot read (a body that is not JSON leaves the framing intact). */
const FRAMING_ERROR = /Content-Length|Message header must separate key and value/;
