// Tokenizes text with the extension's TextMate grammar, as VS Code does
// (vscode-textmate on the oniguruma WASM build), into one line per token:
// `line:col text  scope scope...` (the root scope `source.fti` left out).

import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import oniguruma from "vscode-oniguruma";
import textmate from "vscode-textmate";

const require = createRequire(import.meta.url);
const GRAMMAR = path.resolve("editors/vscode/syntaxes/fti.tmLanguage.json");

let grammar: Promise<textmate.IGrammar> | undefined;

function load(): Promise<textmate.IGrammar> {
  grammar ??= (async () => {
    const wasm = fs.readFileSync(path.join(path.dirname(require.resolve("vscode-oniguruma")), "onig.wasm"));
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new textmate.Registry({
      onigLib: Promise.resolve({ createOnigScanner: (p: string[]) => new oniguruma.OnigScanner(p), createOnigString: (s: string) => new oniguruma.OnigString(s) }),
      loadGrammar: async (scope: string) => (scope === "source.fti" ? textmate.parseRawGrammar(fs.readFileSync(GRAMMAR, "utf8"), GRAMMAR) : null),
    });
    const g = await registry.loadGrammar("source.fti");
    if (!g) throw new Error("grammar not loaded");
    return g;
  })();
  return grammar;
}

export async function tokenSnapshot(text: string): Promise<string> {
  const g = await load();
  const out: string[] = [];
  let state = textmate.INITIAL;
  text.split(/\r\n|\r|\n/).forEach((line, i) => {
    const r = g.tokenizeLine(line, state);
    for (const t of r.tokens) {
      const piece = line.slice(t.startIndex, t.endIndex);
      if (!piece.trim()) continue;
      out.push(`${i + 1}:${t.startIndex + 1} ${piece}  ${t.scopes.slice(1).join(" ") || "-"}`);
    }
    state = r.ruleStack;
  });
  return out.join("\n") + "\n";
}
