// FTI5001: generated code that does not type-check is a compiler bug, reported
// at the spec line the code came from. No valid spec triggers it, so this test
// hands the emitters a broken IR (an ODT calling a function that does not exist).

import { expect, it } from "vitest";
import { compileSpec } from "../compiler/compile.ts";
import { emitSpec } from "../compiler/emit/project.ts";
import type { IrSpec } from "../compiler/ir.ts";

it("a type error in generated code is FTI5001 at the spec line it was generated from", async () => {
  const checked = await compileSpec("specs/athlete.fti", { checkOnly: true });
  const ir = structuredClone(checked.ir!) as IrSpec;
  const odt = ir.onDemand.find((o) => o.name === "pace_deviation")!;
  odt.body = { k: "call", fn: "no_such_function", args: [], type: { base: "float", nullable: true } };
  const { diagnostics, files } = emitSpec(ir, { outDir: "/tmp/fti-emit-test/athlete", specPath: "specs/athlete.fti", specFile: "specs/athlete.fti" });
  const bugs = diagnostics.filter((d) => d.code === 5001);
  expect(bugs.length).toBeGreaterThan(0);
  expect(bugs[0].file).toBe("specs/athlete.fti");
  expect(bugs[0].range.start.line).toBe(odt.loc.line);
  expect(bugs[0].message).toMatch(/generated transforms\.ts:\d+ does not type-check \(this is a bug in fti; please report it\): Cannot find name 'no_such_function'/);
  // The files were still produced in memory; compileSpec is what refuses to write them.
  expect(files.get("transforms.ts")).toContain("no_such_function()");
});
