// Workspace symbols (Ctrl+T, "Go to Symbol in Workspace"): the declarations
// of every spec under the workspace folders and of the open documents, and
// the features of their groups (`fitness.ctl_42d`), matched by the letters
// of the query in order (`ctl42` finds `ctl_42d`). Files on disk are parsed
// only (no check), and a parse is kept until the file's size or mtime changes.

import fs from "node:fs";
import { pathToFileURL } from "node:url";
import { SymbolKind, type SymbolInformation } from "vscode-languageserver";
import type { Decl, Program } from "../ast.ts";
import { parse } from "../parser/index.ts";
import { SYMBOL_KIND } from "./outline.ts";
import { toLsp } from "./positions.ts";

/** More than anyone reads in the picker; the client filters further as the query grows. */
export const WORKSPACE_SYMBOL_LIMIT = 500;

const parsed = new Map<string, { stamp: string; program: Program }>();

/** The program of a spec file on disk, parsed once per version of the file; undefined when it cannot be read. */
function diskProgram(abs: string): Program | undefined {
  let stamp: string;
  try {
    const st = fs.statSync(abs);
    stamp = `${st.size}:${st.mtimeMs}`;
  } catch {
    return undefined;
  }
  const hit = parsed.get(abs);
  if (hit?.stamp === stamp) return hit.program;
  let text: string;
  try {
    text = fs.readFileSync(abs, "utf8");
  } catch {
    return undefined;
  }
  const program = parse(text, abs).program;
  parsed.set(abs, { stamp, program });
  return program;
}

/** The query's characters appear in `name` in order, ignoring case (an empty query matches everything). */
export function matchesQuery(name: string, query: string): boolean {
  const n = name.toLowerCase();
  let i = 0;
  for (const c of query.toLowerCase()) {
    i = n.indexOf(c, i) + 1;
    if (i === 0) return false;
  }
  return true;
}

function symbolsOf(program: Program, uri: string, file: string): SymbolInformation[] {
  const out: SymbolInformation[] = [];
  const add = (name: string, kind: SymbolKind, d: { range: Parameters<typeof toLsp>[0] }, containerName: string) =>
    out.push({ name, kind, location: { uri, range: toLsp(d.range) }, containerName });
  for (const d of program.decls as Decl[]) {
    if (d.kind === "serve" || !d.name.name) continue;
    add(d.name.name, SYMBOL_KIND[d.kind], d.name, `${d.kind.replace("_", " ")} · ${file}`);
    if (d.kind === "feature_group") for (const f of d.features) if (f.name.name) add(`${d.name.name}.${f.name.name}`, SymbolKind.Field, f.name, `feature · ${file}`);
  }
  return out;
}

/**
 * The symbols matching `query` in `files` (absolute paths); `open(abs)` gives
 * an open document's program (its unsaved text), else the file is read.
 */
export function workspaceSymbols(files: readonly string[], query: string, open: (abs: string) => Program | undefined, display: (abs: string) => string): SymbolInformation[] {
  const out: SymbolInformation[] = [];
  for (const abs of files) {
    const program = open(abs) ?? diskProgram(abs);
    if (!program) continue;
    for (const s of symbolsOf(program, pathToFileURL(abs).href, display(abs))) {
      if (!matchesQuery(s.name, query)) continue;
      out.push(s);
      if (out.length >= WORKSPACE_SYMBOL_LIMIT) return out;
    }
  }
  return out;
}
