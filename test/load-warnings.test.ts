// A runtime command that compiles a changed spec first (features, train, serve, …) shows the
// compile's warnings, as `fti compile` does: FTI4030 (a reference feature that can leak) and
// FTI4090 (a label that trains rows it should leave out) were dropped, so a user who never ran
// `fti compile` by hand never saw them. Once per change of the spec; `quiet` (tests) shows none.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { loadCompiledSpec } from "../compiler/cli/load.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-load-warnings-"));
fs.mkdirSync(path.resolve(".fti/test-gen"), { recursive: true });
const outDir = fs.mkdtempSync(path.resolve(".fti/test-gen", "load-warnings-"));
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(outDir, { recursive: true, force: true });
});

const SPEC = `
source matches {
  path "matches.csv"
  event_time date
  unique (date, home)
  fields { date: timestamp  home: string  home_goals: int?  away_goals: int?  crowd: int }
}
view result_data from matches {
  label result = if home_goals > away_goals then "H" else "A"
  features matches.crowd
}
model m {
  view result_data
  task multiclass_classification
  algorithm gbdt
}
`;

async function load(quiet: boolean): Promise<string> {
  const writes: string[] = [];
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    writes.push(String(chunk));
    return true;
  });
  try {
    await loadCompiledSpec(path.join(dir, "spec.fti"), { outDir, quiet });
  } finally {
    spy.mockRestore();
  }
  return writes.join("");
}

describe("runtime commands compiling a spec", () => {
  it("print its warnings once per change, with the source line; quiet prints none", async () => {
    fs.writeFileSync(path.join(dir, "matches.csv"), "date,home,home_goals,away_goals,crowd\n2020-01-01,a,1,0,100\n");
    fs.writeFileSync(path.join(dir, "spec.fti"), SPEC);
    const first = await load(false);
    expect(first).toMatch(/compiling .*spec\.fti \(generated code is missing\)/);
    expect(first).toContain("warning FTI4090: the label `result` of view `result_data` takes the `else` branch");
    expect(first).toContain("label result = if home_goals > away_goals");
    expect(await load(false)).toBe(""); // up to date: not compiled again, nothing to repeat
    fs.writeFileSync(path.join(dir, "spec.fti"), `${SPEC}// changed\n`);
    expect(await load(true)).toBe("");
  }, 60_000);
});
