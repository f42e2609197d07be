// Robustness: `parse` must never throw, whatever the input, and every range it
// hands out (diagnostics and AST) must be valid and agree with the text.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Pos, Range } from "../compiler/ast.ts";
import { LineMap, parse, type ParseResult } from "../compiler/parser/index.ts";
import { mulberry32 as rng } from "../runtime/random.ts";
import { mutate, randomBytes, tokenSoup } from "./helpers/spec-fuzz.ts";

const athlete = readFileSync(join(import.meta.dirname, "../specs/athlete.fti"), "utf8");

/** Line starts computed independently of the parser (\r\n, \r and \n end lines). */
function lineStarts(text: string): number[] {
  const starts = [0];
  const re = /\r\n|\r|\n/g;
  for (let m = re.exec(text); m; m = re.exec(text)) starts.push(m.index + m[0].length);
  return starts;
}

function expectedPos(starts: number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo] + 1 };
}

function isRange(v: unknown): v is Range {
  const r = v as Range;
  return typeof r === "object" && r !== null && typeof r.start?.offset === "number" && typeof r.end?.offset === "number";
}

function checkPos(p: Pos, text: string, starts: number[], where: string): void {
  if (!(Number.isInteger(p.offset) && p.offset >= 0 && p.offset <= text.length)) throw new Error(`${where}: bad offset ${p.offset}`);
  const want = expectedPos(starts, p.offset);
  // An offset inside a \r\n pair belongs to the line the pair ends.
  if (p.line !== want.line || p.column !== want.column) {
    throw new Error(`${where}: offset ${p.offset} is ${want.line}:${want.column}, got ${p.line}:${p.column}`);
  }
  if (!(p.line >= 1 && p.column >= 1)) throw new Error(`${where}: bad line/column ${p.line}:${p.column}`);
}

function checkRange(r: Range, text: string, starts: number[], where: string): void {
  checkPos(r.start, text, starts, where + ".start");
  checkPos(r.end, text, starts, where + ".end");
  if (r.start.offset > r.end.offset) throw new Error(`${where}: start ${r.start.offset} > end ${r.end.offset}`);
}

/** Parses and validates everything; returns the result for extra checks. */
function check(text: string): ParseResult {
  let result: ParseResult;
  try {
    result = parse(text, "fuzz.fti");
  } catch (e) {
    throw new Error(`parse threw on ${JSON.stringify(text.slice(0, 200))}: ${(e as Error).stack}`);
  }
  // Plain checks, not expect(): this runs for tens of thousands of diagnostics.
  const starts = lineStarts(text);
  if (result.program.file !== "fuzz.fti") throw new Error("program.file not kept");
  if (result.diagnostics.length > 100) throw new Error(`${result.diagnostics.length} diagnostics (cap is 100)`);
  for (const d of result.diagnostics) {
    const where = `FTI${d.code} ${d.message}`;
    if (!(d.code >= 1001 && d.code <= 1008)) throw new Error(`${where}: not a syntax code`);
    if (d.severity !== (d.code === 1008 ? "warning" : "error")) throw new Error(`${where}: severity ${d.severity}`);
    if (!d.message || /-->|possible Token sequences/.test(d.message)) throw new Error(`${where}: bad message`);
    checkRange(d.range, text, starts, where);
  }
  // Every range in the AST (iterative walk: ASTs of adversarial input can be deep).
  const stack: unknown[] = [result.program.decls];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v !== "object" || v === null) continue;
    if (isRange(v)) {
      checkRange(v, text, starts, "AST range");
      continue;
    }
    if (Array.isArray(v)) {
      for (const child of v) stack.push(child);
    } else {
      for (const k in v) stack.push((v as Record<string, unknown>)[k]);
    }
  }
  return result;
}

describe("parser fuzz", () => {
  it("survives random bytes", () => {
    const r = rng(1);
    for (let i = 0; i < 700; i++) check(randomBytes(r, 300));
  });

  it("survives random token soup", () => {
    const r = rng(2);
    for (let i = 0; i < 700; i++) check(tokenSoup(r, 60));
  });

  it("survives mutations of athlete.fti", () => {
    const r = rng(3);
    let withErrors = 0;
    for (let i = 0; i < 600; i++) {
      const result = check(mutate(r, athlete));
      if (result.diagnostics.length) withErrors++;
    }
    expect(withErrors).toBeGreaterThan(200);
  });

  it("keeps at most one FTI1001 per declaration on mutated specs", () => {
    const r = rng(4);
    for (let i = 0; i < 150; i++) {
      const text = mutate(r, athlete);
      const { diagnostics } = check(text);
      // Every declaration starts at one of these keywords (plus one chunk of
      // stray tokens before the first); counting them in comments and
      // strings too only loosens the bound.
      const declarations = (text.match(/\b(source|entity|fn|extern|feature_group|on_demand|view|model|serve)\b/g) ?? []).length;
      expect(diagnostics.filter((d) => d.code === 1001).length).toBeLessThanOrEqual(declarations + 1);
    }
  });
});

describe("LineMap", () => {
  it("answers any offset, asked in any order, like an independent count of the lines", () => {
    const r = rng(5);
    for (let t = 0; t < 20; t++) {
      const text = randomBytes(r, 400);
      const starts = lineStarts(text);
      const lines = new LineMap(text);
      for (let i = 0; i < 300; i++) {
        // Mostly increasing (the parser's pattern), sometimes anywhere.
        const offset = r() < 0.7 ? Math.min(text.length, Math.floor((i / 300) * text.length) + Math.floor(r() * 3)) : Math.floor(r() * (text.length + 1));
        const p = lines.pos(offset);
        expect({ offset, line: p.line, column: p.column }).toEqual({ offset, ...expectedPos(starts, offset) });
      }
    }
  });
});

describe("adversarial inputs", () => {
  const cases: Array<[string, () => string]> = [
    ["empty", () => ""],
    ["whitespace only", () => " \t\r\n\r\r\n\n"],
    ["NUL bytes", () => "\u0000".repeat(1000)],
    ["NUL inside a declaration", () => "entity a {\u0000 key x: string\u0000 }"],
    ["BOM", () => "\uFEFFentity a { key x: string }"],
    ["lone surrogates", () => "entity \ud800 a { key \udfff x: string }"],
    ["line and paragraph separators", () => "entity a {\u2028key x: string\u2029}"],
    ["CRLF spec", () => athlete.replace(/\n/g, "\r\n")],
    ["CR spec", () => athlete.replace(/\n/g, "\r")],
    ["unterminated string at EOF", () => 'source s { path "abc'],
    ["unterminated string with backslash at EOF", () => 'source s { path "abc\\'],
    ["unterminated comment at EOF", () => "entity a { key x: string } /* abc"],
    ["comment opener only", () => "/*"],
    ["lone slash-star-slash", () => "/*/"],
    ["10,000 nested parentheses", () => `fn f(): int = ${"(".repeat(10_000)}1${")".repeat(10_000)}`],
    ["10,000 open parentheses", () => `fn f(): int = ${"(".repeat(10_000)}`],
    ["10,000 nested brackets", () => `fn f(): int = ${"[".repeat(10_000)}1${"]".repeat(10_000)}`],
    ["10,000 nested calls", () => `fn f(): int = ${"g(".repeat(10_000)}1${")".repeat(10_000)}`],
    ["10,000 nested ifs", () => `fn f(): int = ${"if a then ".repeat(10_000)}1${" else 2".repeat(10_000)}`],
    ["10,000 else-ifs", () => `fn f(): int = ${"if a then 1 else ".repeat(10_000)}2`],
    ["10,000 chained windows", () => `fn f(): int = ${"a() over ".repeat(10_000)}7d`],
    ["10,000 unary minus", () => `fn f(): int = ${"-".repeat(10_000)}1`],
    ["10,000 not", () => `fn f(): bool = ${"not ".repeat(10_000)}a`],
    ["10,000 parentheses at top level", () => "(".repeat(10_000)],
    ["10,000 chained ^", () => `fn f(): int = ${"2 ^ ".repeat(10_000)}1`],
    ["10,000 chained comparisons", () => `fn f(): int = ${"a < ".repeat(10_000)}1`],
    ["1 MB identifier", () => "a".repeat(1 << 20)],
    ["1 MB line of tokens", () => "x ".repeat(1 << 19)],
    ["1 MB of invalid characters", () => "@".repeat(1 << 20)],
    ["1 MB of lone !", () => "!".repeat(1 << 20)],
    ["1 MB string", () => `source s { path "${"x".repeat(1 << 20)}" }`],
    ["1 MB unterminated string", () => `source s { path "${"x\\".repeat(1 << 19)}`],
    ["1 MB comment", () => `/*${"*".repeat(1 << 20)}`],
    ["1 MB of digits", () => "1".repeat(1 << 20)],
    ["1 MB random bytes", () => randomBytes(rng(9), 1 << 20)],
    ["256 KB of garbage inside a source", () => `source s { ${"} { ( ] ".repeat(1 << 15)}`],
    ["a 10,000-feature group on one line", () => `feature_group g for a from s { ${"x = a + 1 ".repeat(10_000)} }`],
    ["many declarations", () => "entity e { key x: string }\n".repeat(2000)],
    ["many broken declarations", () => "entity { key }\nfn (\n".repeat(500)],
  ];

  it.each(cases)("%s", (_name, make) => {
    const text = make();
    check(text);
  });

  it("reports nesting once and still parses the rest", () => {
    const { program, diagnostics } = check(`fn f(): int = ${"(".repeat(10_000)}\nentity a { key x: string }`);
    expect(diagnostics.filter((d) => d.code === 1007)).toHaveLength(1);
    expect(program.decls.map((d) => d.kind)).toEqual(["entity"]);
  });
});
