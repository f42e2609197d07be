// One fixture per diagnostic code: test/fixtures/diagnostics/FTInnnn-*.fti
// with the expected output beside it in *.errors.txt (TypeScript's baseline
// style), compared exactly. To (re)write baselines after an intended change:
//   FTI_UPDATE_BASELINES=1 npx vitest run test/diagnostics.test.ts
// and review the diff. CI never sets it.

import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CATALOGUE, DIAG } from "../compiler/messages.ts";
import { compileSpec } from "../compiler/compile.ts";
import { formatDiagnostics } from "../compiler/diagnostics.ts";

const DIR = "test/fixtures/diagnostics";
const update = process.env.FTI_UPDATE_BASELINES === "1";
const fixtures = fs.readdirSync(DIR).filter((f) => f.endsWith(".fti")).sort();

async function baselineOf(file: string): Promise<string> {
  const result = await compileSpec(path.join(DIR, file), { outDir: path.join("/tmp", "fti-fixture-out", file) });
  return formatDiagnostics(result.diagnostics, result.sources) || "no diagnostics\n";
}

describe("diagnostic fixtures", () => {
  it.each(fixtures)("%s matches its baseline", async (file) => {
    const actual = await baselineOf(file);
    const expectedPath = path.join(DIR, file.replace(/\.fti$/, ".errors.txt"));
    if (update) fs.writeFileSync(expectedPath, actual);
    expect(fs.existsSync(expectedPath), `${expectedPath} is missing; create it with FTI_UPDATE_BASELINES=1`).toBe(true);
    expect(actual).toBe(fs.readFileSync(expectedPath, "utf8"));
    const code = /^FTI(\d{4})/.exec(file)?.[1];
    if (code) expect(actual, `${file} should trigger FTI${code}`).toContain(`FTI${code}:`);
  });

  it("every code has a fixture that triggers it", () => {
    // FTI5001 (generated code does not type-check) is a compiler bug by definition: no
    // spec triggers it, so test/emit.test.ts injects a broken IR. FTI5002 (cannot write
    // the output) depends on the file system, so test/cli.test.ts triggers it.
    const untestable = new Set(["5001", "5002"]);
    const missing = CATALOGUE.map((e) => String(e.code)).filter((c) => !untestable.has(c) && !fixtures.some((f) => f.startsWith(`FTI${c}`)));
    expect(missing).toEqual([]);
  });

  it("docs/language.md documents every code", () => {
    const doc = fs.readFileSync("docs/language.md", "utf8");
    const missing = CATALOGUE.map((e) => String(e.code)).filter((c) => !doc.includes(`FTI${c}`));
    expect(missing).toEqual([]);
  });

  it("the code list of docs/language.md is the catalogue: one `#### FTInnnn — title` heading per entry, in code order", () => {
    const doc = fs.readFileSync("docs/language.md", "utf8");
    const headings = [...doc.matchAll(/^#### FTI(\d{4}) — (.+)$/gm)].map((m) => `FTI${m[1]} — ${m[2]}`);
    expect(headings).toEqual(CATALOGUE.map((e) => `FTI${e.code} — ${e.title}`));
  });

  it("the catalogue gives each code one entry, and a warning's title says so", () => {
    const codes = CATALOGUE.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const e of CATALOGUE) expect(e.title.endsWith("(warning)"), `FTI${e.code}`).toBe(e.severity === "warning");
  });

  it("a builder carries its entry's code and severity, and makes the did-you-mean hint and its fix", () => {
    const m = DIAG.unknownName.inScope("pase", "feature group `g`", ["pace", "distance"]);
    expect(m).toEqual({
      code: 2002,
      severity: "error",
      message: "unknown name `pase` in feature group `g`",
      hint: "did you mean `pace`?",
      fix: { kind: "replace", text: "pace" },
    });
    expect(DIAG.unknownName.inScope("zzz", "fn `f`", ["pace"]).hint).toBeUndefined();
    expect(DIAG.unused.declaration("fn", "f").severity).toBe("warning");
  });
});
