// The docs are true: every ```fti block of README.md and docs/*.md is
// checked by the compiler, in process (parse + check, no subprocess: ~3 s in
// all). The rest of what the docs say that a test can read (commands, flags,
// variables, tables, output formats) is test/docs-reference.test.ts.
//
// The convention (the top of docs/language.md says it to readers): an HTML
// comment on the line right above a block says how to check it.
//
//   (none)                                     the block is a whole spec: no errors
//   <!-- fti-example: prelude=athlete -->      the block is checked with the declarations of
//                                              specs/athlete.fti (a name with a `/` is a path from
//                                              the repository root); the block's own declarations
//                                              replace the prelude's of the same name
//   <!-- fti-example: prelude=… expect=FTI2003 -->
//                                              the block shows a diagnostic: the errors are exactly
//                                              these codes, each at least once on the block's lines,
//                                              and each `error FTInnnn: …` line (and `hint:`) of the
//                                              untagged block right below it is what fti says, word for word
//   <!-- fti-example: fragment: <why> -->      not a spec (an elided excerpt); it must fail to parse
//                                              alone, so a block that became whole cannot stay skipped
//
// The block comes first and the prelude after it, so its line numbers are the
// block's. FTI2008 (a declaration never used) is not counted in an example
// that does not expect it: an excerpt declares what the rest of a spec uses.

import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Decl } from "../compiler/ast.ts";
import { checkGraph } from "../compiler/check-graph.ts";
import { loadModuleGraph } from "../compiler/modules.ts";
import { parse } from "../compiler/parser/index.ts";

const DOCS = ["README.md", ...fs.readdirSync("docs").filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)].sort();
const UNUSED = 2008;
const EXAMPLE = "doc_example.fti";

interface Example {
  where: string; // file:line of the opening fence
  text: string;
  prelude?: string;
  expect?: number[];
  fragment?: string;
  /** The diagnostics the block right below it shows: `FTI2003 unknown entity \`athelete\``. */
  shown: string[];
}

/** Every ```fti block with the options of the fti-example comment above it. */
function examples(file: string): Example[] {
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(`{3,})(\S*)/.exec(lines[i]);
    if (!fence) continue;
    let end = i + 1;
    while (end < lines.length && lines[end] !== fence[1]) end++;
    if (fence[2] === "fti") {
      const ex: Example = { where: `${file}:${i + 1}`, text: lines.slice(i + 1, end).join("\n") + "\n", shown: shownOutput(lines, end + 1) };
      const comment = /^<!-- fti-example: (.*) -->$/.exec(lines[i - 1] ?? "");
      if (comment) Object.assign(ex, options(comment[1], ex.where));
      found.push(ex);
    }
    i = end;
  }
  return found;
}

/** The `error FTInnnn: message` lines (with the `  hint:` line under one) of the untagged block that starts at `start`, if one does. */
function shownOutput(lines: string[], start: number): string[] {
  if (lines[start] !== "```") return [];
  const shown: string[] = [];
  for (let i = start + 1; i < lines.length && lines[i] !== "```"; i++) {
    const m = /^(?:error|warning) (FTI\d{4}): (.*)$/.exec(lines[i]);
    if (m) shown.push(`${m[1]} ${m[2]}`);
    const hint = /^ {2}hint: (.*)$/.exec(lines[i]);
    if (hint && shown.length) shown[shown.length - 1] += `\n  hint: ${hint[1]}`; // shown only when the docs print it
  }
  return shown;
}

function options(text: string, where: string): Partial<Example> {
  const fragment = /^fragment: (.+)$/.exec(text);
  if (fragment) return { fragment: fragment[1] };
  const opts: Partial<Example> = {};
  for (const word of text.split(/\s+/)) {
    const [key, value] = word.split("=");
    if (key === "prelude" && value) opts.prelude = value.includes("/") ? value : `specs/${value}.fti`;
    else if (key === "expect" && value) opts.expect = value.split(",").map((c) => Number(/^FTI(\d{4})$/.exec(c)?.[1] ?? NaN));
    else throw new Error(`${where}: unknown fti-example option \`${word}\``);
  }
  if (opts.expect?.some(Number.isNaN)) throw new Error(`${where}: expect= takes codes like FTI2003`);
  return opts;
}

const declKey = (d: Decl) => (d.kind === "serve" ? `serve ${d.model.name}` : d.name.name);

/** The block, then the prelude without the declarations the block declares again. */
function withPrelude(ex: Example): string {
  if (!ex.prelude) return ex.text;
  const prelude = fs.readFileSync(ex.prelude, "utf8");
  const redeclared = new Set(parse(ex.text, EXAMPLE).program.decls.map(declKey));
  const dropped = parse(prelude, ex.prelude)
    .program.decls.filter((d) => redeclared.has(declKey(d)))
    .sort((a, b) => b.range.start.offset - a.range.start.offset);
  let rest = prelude;
  for (const d of dropped) rest = rest.slice(0, d.range.start.offset) + rest.slice(d.range.end.offset);
  return `${ex.text}\n${rest}`;
}

interface Found {
  file: string;
  code: number;
  severity: string;
  line: number;
  message: string;
  text: string; // `FTI2003 unknown entity \`athelete\``
  hint?: string;
}

/** Checked beside its prelude (an extern fn's or an import's path is relative to it), under a name no file has. */
function check(ex: Example): { diagnostics: Found[]; blockLines: number } {
  const dir = path.resolve(ex.prelude ? path.dirname(ex.prelude) : "specs");
  const graph = loadModuleGraph(path.join(dir, EXAMPLE), withPrelude(ex), undefined, EXAMPLE);
  const diagnostics = checkGraph(graph).diagnostics.map((d) => ({ file: d.file, code: d.code, severity: d.severity, line: d.range.start.line, message: `${d.file}:${d.range.start.line} FTI${d.code} ${d.message}`, text: `FTI${d.code} ${d.message}`, hint: d.hint }));
  return { diagnostics, blockLines: ex.text.split("\n").length - 1 };
}

/** What an example is judged by: every error, and the warnings on the block's own lines. */
function counted(ex: Example, found: Found[], blockLines: number): Found[] {
  const onBlock = (d: Found) => d.file === EXAMPLE && d.line <= blockLines;
  return found.filter((d) => d.severity === "error" || (onBlock(d) && (d.code !== UNUSED || !!ex.expect?.includes(UNUSED))));
}

const all = DOCS.flatMap(examples);

describe("the fti examples of the docs", () => {
  it("are found (the docs have fti blocks, and the comments are read)", () => {
    expect(all.length).toBeGreaterThan(100);
    expect(all.some((e) => e.prelude)).toBe(true);
    expect(all.some((e) => e.expect)).toBe(true);
  });

  it("have an fti-example comment only right above an fti block", () => {
    const stray: string[] = [];
    for (const file of DOCS) {
      const lines = fs.readFileSync(file, "utf8").split("\n");
      lines.forEach((l, i) => {
        if (/^<!-- fti-example:/.test(l) && lines[i + 1] !== "```fti") stray.push(`${file}:${i + 1}`);
      });
    }
    expect(stray).toEqual([]);
  });

  it.each(all.filter((e) => !e.fragment).map((e) => [e.where, e] as const))("%s", (_where, ex) => {
    const { diagnostics, blockLines } = check(ex);
    const judged = counted(ex, diagnostics, blockLines);
    const messages = judged.map((d) => d.message);
    if (!ex.expect) {
      expect(messages, "compiles cleanly").toEqual([]);
      expect(ex.shown, "shows diagnostics below: mark it expect=").toEqual([]);
      return;
    }
    expect([...new Set(judged.map((d) => d.code))].sort(), messages.join("\n")).toEqual([...new Set(ex.expect)].sort());
    for (const code of ex.expect) expect(judged.some((d) => d.code === code && d.line <= blockLines), `FTI${code} on the block's own lines\n${messages.join("\n")}`).toBe(true);
    // The output the docs print below the block is what fti says about it, word for word.
    const said = new Set(diagnostics.flatMap((d) => [d.text, `${d.text}\n  hint: ${d.hint}`]));
    expect(ex.shown.filter((m) => !said.has(m)), `shown below the block but not said:\n${[...said].join("\n")}`).toEqual([]);
  });

  it("skip only fragments that say why and are not specs (they fail to parse alone)", () => {
    const fragments = all.filter((e) => e.fragment);
    for (const f of fragments) {
      expect(f.fragment!.length, f.where).toBeGreaterThan(10);
      expect(parse(f.text, EXAMPLE).diagnostics.some((d) => d.severity === "error"), `${f.where} parses: check it instead of skipping it`).toBe(true);
    }
    expect(fragments.length).toBeLessThanOrEqual(8);
  });
});
