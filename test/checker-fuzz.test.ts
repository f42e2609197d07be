// Robustness past the parser: whatever the text, checking a spec (`fti
// check`, and the language server, which checks on every keystroke) gives
// diagnostics — each with a code and a valid position — and never throws.
// parser-fuzz.test.ts covers `parse` alone; these inputs parse, and then the
// checker, the editor's providers and the formatter walk what was parsed.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkGraph } from "../compiler/check-graph.ts";
import type { Diagnostic } from "../compiler/diagnostics.ts";
import { formatSpec } from "../compiler/format/index.ts";
import { loadModuleGraph } from "../compiler/modules.ts";
import { mulberry32 } from "../runtime/random.ts";
import { exerciseEditor } from "./helpers/exercise-editor.ts";
import { mutate } from "./helpers/spec-fuzz.ts";

const root = join(import.meta.dirname, "..");
const fixtures = join(root, "test/fixtures/diagnostics");
const SPECS = [
  ...readdirSync(join(root, "specs")).filter((f) => f.endsWith(".fti")).map((f) => join(root, "specs", f)),
  ...readdirSync(fixtures).filter((f) => f.endsWith(".fti")).map((f) => join(fixtures, f)),
];

/** Every diagnostic has a code, a severity, a message and a position inside the text. */
function expectWellFormed(diagnostics: Diagnostic[], texts: Map<string, string>, what: string): void {
  for (const d of diagnostics) {
    const text = texts.get(d.file);
    const ok =
      Number.isInteger(d.code) &&
      d.code >= 1001 &&
      (d.severity === "error" || d.severity === "warning") &&
      !!d.message &&
      d.range.start.line >= 1 &&
      d.range.start.column >= 1 &&
      d.range.start.offset <= d.range.end.offset &&
      (text === undefined || d.range.end.offset <= text.length);
    if (!ok) throw new Error(`${what}: malformed diagnostic ${JSON.stringify(d)}`);
  }
}

/** Checks `text` as the spec at `file`, as `fti check` does; throws with the input when the checker does. */
function checkText(file: string, text: string): Diagnostic[] {
  try {
    const checked = checkGraph(loadModuleGraph(file, text));
    expectWellFormed(checked.diagnostics, new Map([...checked.sources, [file, text]]), file);
    return checked.diagnostics;
  } catch (e) {
    throw new Error(`checking a mutation of ${file} threw: ${(e as Error).stack}\n--- input (first 400 characters) ---\n${text.slice(0, 400)}`);
  }
}

describe("checker fuzz", () => {
  it("mutations of every spec and diagnostics fixture: diagnostics or success, never a throw", () => {
    const r = mulberry32(21);
    let withErrors = 0;
    for (let i = 0; i < 200; i++) {
      const file = SPECS[Math.floor(r() * SPECS.length)];
      const diagnostics = checkText(file, mutate(r, readFileSync(file, "utf8")));
      if (diagnostics.some((d) => d.severity === "error")) withErrors++;
    }
    expect(withErrors).toBeGreaterThan(60); // the mutations really broke specs
  });

  it("the editor's providers on mutations of every spec and fixture", () => {
    const r = mulberry32(22);
    for (let i = 0; i < 60; i++) {
      const file = SPECS[Math.floor(r() * SPECS.length)];
      const text = mutate(r, readFileSync(file, "utf8"));
      const offsets = [0, 1, 2].map(() => Math.floor(r() * (text.length + 1)));
      exerciseEditor(text, file, dirname(file), offsets);
    }
  });
});

describe("operator chains deeper than the stack", () => {
  const spec = readFileSync(join(root, "specs/athlete.fti"), "utf8");
  const feature = "distance = distance_km";
  // The expression trees of operators are built iteratively, so these parse;
  // each is 15,000 levels deep (`^` nests to the right, the others to the left).
  const chains: Array<[string, string]> = [
    ["+", `${feature}${" + distance_km".repeat(15_000)}`],
    ["and", `${feature} > 1${" and distance_km > 1".repeat(15_000)}`],
    ["^", `${feature}${" ^ distance_km".repeat(15_000)}`],
    ["in", `${feature} in (1)${" in (1)".repeat(15_000)}`],
  ];

  it.each(chains)("a chain of 15,000 `%s`: FTI1007 once, for check, the editor and the formatter", (_op, line) => {
    expect(spec).toContain(feature);
    const text = spec.replace(feature, line);
    const file = join(root, "specs/athlete.fti");
    const deep = checkText(file, text).filter((d) => d.code === 1007);
    expect(deep.map((d) => [d.code, d.message.split("\n")[0], d.range.start.line])).toEqual([
      [1007, "expression nested too deeply (more than 500 levels)", text.slice(0, text.indexOf(line)).split("\n").length],
    ]);
    exerciseEditor(text, file, dirname(file), [text.indexOf(line) + 20, text.length]);
    const formatted = formatSpec(text, "athlete.fti");
    expect(formatted.ok ? [] : formatted.diagnostics.map((d) => d.code)).toContain(1007);
  });

  it("a chain of 499 terms is not too deep", () => {
    const text = spec.replace(feature, `${feature}${" + distance_km".repeat(498)}`);
    expect(checkText(join(root, "specs/athlete.fti"), text).filter((d) => d.code === 1007)).toEqual([]);
  });
});
