// The TextMate grammar of .fti, built from the compiler's own tables: the
// lexer's keywords and the built-in functions. A keyword added to the
// language is highlighted without touching this file (as `keyword.other`,
// unless listed in a more specific class below). `--write` rewrites
// syntaxes/fti.tmLanguage.json; a test checks that the committed file is
// current.

import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BUILTINS, WINDOW_AGGS } from "../../../compiler/builtins.ts";
import { KEYWORDS } from "../../../compiler/parser/lexer.ts";

const DECLARATIONS = ["source", "entity", "fn", "extern", "feature_group", "on_demand", "view", "model", "serve"];
const CONTROL = ["if", "then", "else"];
const LOGICAL = ["and", "or", "not", "in"];
const CONSTANTS = ["true", "false", "null"];
const TYPES = ["int", "float", "bool", "string", "timestamp", "duration"];

const words = (list: string[]) => `\\b(?:${[...list].sort((a, b) => b.length - a.length || a.localeCompare(b)).join("|")})\\b`;

export function buildGrammar(): object {
  const all = [...KEYWORDS.keys()];
  const special = new Set([...DECLARATIONS, ...CONTROL, ...LOGICAL, ...CONSTANTS]);
  const clauses = all.filter((k) => !special.has(k));
  const builtins = [...Object.keys(BUILTINS), ...Object.keys(WINDOW_AGGS)];
  return {
    $schema: "https://raw.githubusercontent.com/martinring/tmlanguage/master/tmlanguage.json",
    name: "fti",
    scopeName: "source.fti",
    fileTypes: ["fti"],
    patterns: [{ include: "#comments" }, { include: "#declaration" }, { include: "#code" }],
    repository: {
      comments: {
        patterns: [
          { name: "comment.line.double-slash.fti", begin: "//", end: "$" },
          { name: "comment.block.fti", begin: "/\\*", end: "\\*/" },
        ],
      },
      declaration: {
        comment: "a declaration keyword and the name it declares",
        match: `\\b(extern\\s+fn|${DECLARATIONS.filter((d) => d !== "extern").join("|")})\\s+([A-Za-z_][A-Za-z0-9_]*)`,
        captures: { "1": { name: "storage.type.declaration.fti" }, "2": { name: "entity.name.type.fti" } },
      },
      code: {
        patterns: [
          { include: "#comments" },
          { include: "#strings" },
          { include: "#literals" },
          { name: "storage.type.declaration.fti", match: words(DECLARATIONS) },
          { name: "keyword.control.fti", match: words(CONTROL) },
          { name: "keyword.operator.logical.fti", match: words(LOGICAL) },
          { name: "constant.language.fti", match: words(CONSTANTS) },
          { name: "keyword.other.fti", match: words(clauses) },
          {
            comment: "`stream [lateness d]` starts a source item: names, not reserved words (a field may be called `stream`)",
            match: "^\\s*(stream)\\b(?:\\s+(lateness)\\b)?",
            captures: { "1": { name: "keyword.other.fti" }, "2": { name: "keyword.other.fti" } },
          },
          { name: "support.type.fti", match: `${words(TYPES)}(\\?)?` },
          { name: "support.function.builtin.fti", match: `${words(builtins)}(?=\\s*\\()` },
          { name: "entity.name.function.fti", match: "\\b[A-Za-z_][A-Za-z0-9_]*(?=\\s*\\()" },
          {
            match: "\\b([A-Za-z_][A-Za-z0-9_]*)\\s*(\\.)\\s*([A-Za-z_][A-Za-z0-9_]*|\\*)",
            captures: { "1": { name: "entity.name.namespace.fti" }, "2": { name: "punctuation.accessor.fti" }, "3": { name: "variable.other.member.fti" } },
          },
          { name: "keyword.operator.comparison.fti", match: "==|!=|<=|>=|<|>" },
          { name: "keyword.operator.assignment.fti", match: "=" },
          { name: "keyword.operator.arithmetic.fti", match: "[-+*/%^]" },
          { name: "punctuation.separator.fti", match: "[,:]" },
          { name: "variable.other.fti", match: "\\b[A-Za-z_][A-Za-z0-9_]*\\b" },
        ],
      },
      strings: {
        name: "string.quoted.double.fti",
        begin: '"',
        end: '"|$',
        patterns: [
          { name: "constant.character.escape.fti", match: '\\\\(?:["\\\\ntr]|u\\{[0-9A-Fa-f]{1,6}\\})' },
          { name: "invalid.illegal.escape.fti", match: "\\\\." },
        ],
      },
      literals: {
        patterns: [
          { name: "constant.numeric.date.fti", match: "\\b\\d{4}-\\d{2}-\\d{2}(?:T\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d{1,9})?)?Z?)?\\b" },
          { name: "constant.numeric.duration.fti", match: "\\b\\d+(?:\\.\\d+)?(?:ms|s|m|h|d|w)\\b" },
          { name: "constant.numeric.fti", match: "\\b\\d+(?:\\.\\d+)?(?:[eE][+-]?\\d+)?\\b" },
        ],
      },
    },
  };
}

export function grammarText(): string {
  return JSON.stringify(buildGrammar(), null, 2) + "\n";
}

// `npx tsx editors/vscode/scripts/grammar.mts --write`
if (process.argv.includes("--write")) {
  const out = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "syntaxes", "fti.tmLanguage.json");
  writeFileSync(out, grammarText());
  process.stdout.write(`wrote ${out}\n`);
}
