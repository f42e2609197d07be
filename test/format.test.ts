import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatSpec } from "../compiler/format/index.ts";
import { joinsSafely } from "../compiler/format/safety.ts";
import { parse } from "../compiler/parser/index.ts";
import * as T from "../compiler/parser/lexer.ts";

const root = join(import.meta.dirname, "..");
const specFiles = readdirSync(join(root, "specs")).filter((f) => f.endsWith(".fti")).map((f) => join("specs", f));
const fixtureDir = join("test", "fixtures", "diagnostics");
const fixtureFiles = readdirSync(join(root, fixtureDir)).filter((f) => f.endsWith(".fti")).map((f) => join(fixtureDir, f));
const read = (f: string) => readFileSync(join(root, f), "utf8");

function format(text: string): string {
  const r = formatSpec(text, "t.fti");
  if (!r.ok) throw new Error(r.diagnostics.map((d) => `FTI${d.code} ${d.range.start.line}:${d.range.start.column} ${d.message}`).join("\n"));
  return r.text;
}

/** The AST with every source position removed: what formatting must not change. */
function shape(text: string): unknown {
  return JSON.parse(JSON.stringify(parse(text, "t.fti").program, (key, value) => (key === "range" ? undefined : value)));
}

const comments = (text: string) => T.lex(text).comments.map((c) => c.image.trimEnd());

/** mulberry32: a seeded generator, so a failing perturbation can be replayed. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** The same tokens and lines with random spacing and indentation, and more blank lines where there are some. */
function perturb(text: string, seed: number): string {
  const random = rng(seed);
  const { tokens, comments } = T.lex(text);
  const all = [...tokens, ...comments].sort((a, b) => a.startOffset - b.startOffset);
  let out = "";
  let prevEnd = 0;
  for (const tok of all) {
    const gap = text.slice(prevEnd, tok.startOffset);
    const breaks = (gap.match(/\n/g) ?? []).length;
    if (breaks === 0) out += prevEnd === 0 ? "" : " ".repeat(1 + Math.floor(random() * 3));
    else out += " ".repeat(Math.floor(random() * 2)) + "\n".repeat(breaks + (breaks > 1 && random() < 0.5 ? 2 : 0)) + " ".repeat(Math.floor(random() * 7));
    out += tok.image;
    prevEnd = tok.startOffset + tok.image.length;
  }
  return out + "\n";
}

describe("fti fmt", () => {
  it.each(specFiles)("%s is formatted", (f) => {
    const r = formatSpec(read(f), f);
    expect(r.ok && r.changed).toBe(false);
  });

  const formattable = [...specFiles, ...fixtureFiles].filter((f) => formatSpec(read(f), f).ok);
  it("formats most fixtures (those without syntax errors)", () => {
    expect(formattable.length).toBeGreaterThan(specFiles.length + 20);
  });

  it.each(formattable)("%s: idempotent, same AST, every comment kept", (f) => {
    const text = read(f);
    const once = format(text);
    expect(format(once)).toBe(once);
    expect(shape(once)).toEqual(shape(text));
    expect(comments(once)).toEqual(comments(text));
    expect(parse(once, "t.fti").diagnostics.map((d) => d.code)).toEqual(parse(text, "t.fti").diagnostics.map((d) => d.code));
  });

  it.each(specFiles)("%s: any spacing and indentation of the same lines formats back to the spec", (f) => {
    const text = read(f);
    for (let seed = 1; seed <= 5; seed++) expect(format(perturb(text, seed))).toBe(text);
  });

  it.each(fixtureFiles.filter((f) => !formattable.includes(f)))("%s: refused with its syntax errors, nothing formatted", (f) => {
    const text = read(f);
    const r = formatSpec(text, f);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const syntax = parse(text, f).diagnostics.filter((d) => d.severity === "error");
    expect(r.diagnostics).toEqual(syntax);
    expect(syntax.length).toBeGreaterThan(0);
  });

  it("breaks braces onto their own lines and spaces operators, calls and lists canonically", () => {
    const src = 'entity a { key id : string }\nfn f ( x:float , y: float? ):float = - x+y *2^ - 1\nfn g(x: float): bool = not (x>0) and x in (1,2)\n';
    expect(format(src)).toBe(
      "entity a {\n  key id: string\n}\nfn f(x: float, y: float?): float = -x + y * 2 ^ -1\nfn g(x: float): bool = not (x > 0) and x in (1, 2)\n",
    );
  });

  it("indents continuations, brackets and comments, and aligns trailing comments per block", () => {
    const src = [
      "// header",
      "",
      "",
      "fn f(x: float): float =",
      "// why",
      "x +",
      "1",
      "model m {",
      "",
      "view v  // the view",
      "algorithm gbdt(",
      "trees: 3,",
      "depth: 2",
      ")",
      "metric mae, // first",
      "rmse",
      "     // before the end",
      "",
      "}",
    ].join("\n");
    expect(format(src)).toBe(
      [
        "// header",
        "",
        "fn f(x: float): float =",
        "  // why",
        "  x +",
        "  1",
        "model m {",
        "  view v       // the view",
        "  algorithm gbdt(",
        "    trees: 3,",
        "    depth: 2",
        "  )",
        "  metric mae,  // first",
        "    rmse",
        "  // before the end",
        "}",
        "",
      ].join("\n"),
    );
  });

  it("lays out index and agent declarations: clauses one per line, a prompt's later strings as continuations", () => {
    const src = [
      'extern fn my_embed(s: string): float [ 8 ] from "./f.ts"',
      "index   notes on note_texts( embedding )for athlete",
      'agent coach for athlete { llm "coach"',
      "context fitness.* , note_texts.note",
      "retrieve notes top 5",
      "   tool time_estimator,route_pace",
      'prompt "a {athlete_id}"',
      '"b {notes}"',
      "}",
    ].join("\n");
    expect(format(src)).toBe(
      [
        'extern fn my_embed(s: string): float[8] from "./f.ts"',
        "index notes on note_texts(embedding) for athlete",
        "agent coach for athlete {",
        '  llm "coach"',
        "  context fitness.*, note_texts.note",
        "  retrieve notes top 5",
        "  tool time_estimator, route_pace",
        '  prompt "a {athlete_id}"',
        '    "b {notes}"',
        "}",
        "",
      ].join("\n"),
    );
  });

  it("keeps a multi-line block comment verbatim and the file's line endings", () => {
    const src = "entity a {\r\n key id: string\r\n}\r\n  /* one\n   two */\n";
    expect(format(src)).toBe("entity a {\r\n  key id: string\r\n}\r\n/* one\n   two */\r\n");
    expect(format("entity a {\r\n key id: string }")).toBe("entity a {\r\n  key id: string\r\n}\r\n");
  });

  it("never joins two tokens into one", () => {
    expect(joinsSafely("a", "(")).toBe(true);
    expect(joinsSafely("1", ".e")).toBe(false);
    expect(joinsSafely("-", "-")).toBe(true);
    expect(joinsSafely("<", "=")).toBe(false);
    expect(format("fn f(x: int): int = - -x\n")).toBe("fn f(x: int): int = - -x\n".replace("- -", "--"));
  });

  it("formats an empty or comment-only file without inventing declarations", () => {
    expect(format("")).toBe("");
    expect(format("  // only a comment   \n\n\n")).toBe("// only a comment\n");
  });
});
