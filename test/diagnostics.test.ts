// One fixture per diagnostic code: test/fixtures/diagnostics/FTInnnn-*.fti
// with the expected output beside it in *.errors.txt (TypeScript's baseline
// style), compared exactly. To (re)write baselines after an intended change:
//   FTI_UPDATE_BASELINES=1 npx vitest run test/diagnostics.test.ts
// and review the diff. CI never sets it.

import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CODES } from "../compiler/codes.ts";
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
    const missing = Object.keys(CODES).filter((c) => !untestable.has(c) && !fixtures.some((f) => f.startsWith(`FTI${c}`)));
    expect(missing).toEqual([]);
  });

  it("docs/language.md documents every code", () => {
    const doc = fs.readFileSync("docs/language.md", "utf8");
    const missing = Object.keys(CODES).filter((c) => !doc.includes(`FTI${c}`));
    expect(missing).toEqual([]);
  });
});
