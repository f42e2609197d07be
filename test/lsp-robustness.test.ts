// The language server's answers on text being typed: every prefix of a spec
// and random single-character edits must analyse, hover, complete, format
// and give symbols without throwing (in process: the same modules the server
// runs; test/lsp.test.ts covers the protocol).

import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { analyze } from "../compiler/lsp/analysis.ts";
import { codeActions } from "../compiler/lsp/code-actions.ts";
import { complete } from "../compiler/lsp/completion.ts";
import { hover } from "../compiler/lsp/hover.ts";
import { documentSymbols, foldingRanges } from "../compiler/lsp/outline.ts";
import { semanticTokens } from "../compiler/lsp/semantic-tokens.ts";
import { toLsp } from "../compiler/lsp/positions.ts";

const ATHLETE = fs.readFileSync("specs/athlete.fti", "utf8");

function rng(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
}

/** Runs every provider on `text` at a few offsets; returns how many diagnostics it had. */
function exercise(text: string, offsets: number[]): number {
  const a = analyze(text, "specs/athlete.fti", "specs");
  expect(a.diagnostics.filter((d) => d.message.startsWith("internal")).map((d) => d.message)).toEqual([]);
  for (const o of offsets) {
    hover(a, o);
    complete(a, o);
  }
  documentSymbols(a);
  foldingRanges(a);
  semanticTokens(a);
  const lsp = a.diagnostics.map((d) => ({ range: toLsp(d.range), message: d.message, data: { code: d.code, hint: d.hint } }));
  codeActions(a, "file:///x.fti", lsp);
  return a.diagnostics.length;
}

describe("lsp providers on text being typed", () => {
  it("every line-prefix of the athlete spec", () => {
    const lines = ATHLETE.split("\n");
    for (let n = 0; n <= lines.length; n += 3) {
      const text = lines.slice(0, n).join("\n");
      expect(() => exercise(text, [0, Math.floor(text.length / 2), text.length])).not.toThrow();
    }
  });

  it("random single-character edits", () => {
    const random = rng(7);
    const alphabet = "abz_.:,(){}=+-*/<>\" 0123456789\n";
    let withErrors = 0;
    for (let i = 0; i < 150; i++) {
      const at = Math.floor(random() * ATHLETE.length);
      const ch = alphabet[Math.floor(random() * alphabet.length)];
      const text = random() < 0.5 ? ATHLETE.slice(0, at) + ch + ATHLETE.slice(at) : ATHLETE.slice(0, at) + ATHLETE.slice(at + 1);
      let n = 0;
      expect(() => (n = exercise(text, [at, Math.max(0, at - 3), Math.min(text.length, at + 1)]))).not.toThrow();
      if (n > 0) withErrors++;
    }
    expect(withErrors).toBeGreaterThan(50); // the edits really broke the spec most of the time
  });
});
