// FTI5001: generated code that does not type-check is a compiler bug, reported
// at the spec line the code came from. No valid spec triggers it, so this test
// hands the emitters a broken IR (an ODT calling a function that does not exist).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import * as T from "../compiler/parser/lexer.ts";
import * as runtimeApi from "../runtime/api.ts";
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

// Generated code reads the runtime through one namespace (`$rt`), which no fti
// name can spell, so a user declaration never collides with a runtime export:
// `fn sub` used to fail with FTI5001 ("Import declaration conflicts with local
// declaration of 'sub'") because functions.ts imported the `sub` helper by name.
describe("user names never collide with the runtime's", () => {
  const spec = (fns: string[]) => `
source activities {
  path "activities.csv"
  event_time started_at
  fields {
    athlete_id: string
    started_at: timestamp
    distance_km: float
    elapsed_time_s: float
  }
}

entity athlete {
  key athlete_id: string
}

${fns.map((f) => `fn ${f}(a: float, b: float): float = (a - b) / b`).join("\n")}

feature_group stats for athlete from activities {
${fns.map((f, i) => `  f${i} = ${f}(distance_km, elapsed_time_s)`).join("\n")}
}

on_demand ratio(request distance_km: float, stats.f0): float = ${fns[0]}(distance_km, f0)

view data for athlete {
  label time = activities.elapsed_time_s
  features stats.*, ratio
}

model m {
  view data
  task regression
  algorithm gbdt(trees: 5)
}

serve m {
  online
}
`;

  async function compileFns(fns: string[]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-collide-"));
    const file = path.join(dir, "collide.fti");
    fs.writeFileSync(file, spec(fns));
    return compileSpec(file, { outDir: path.join(dir, "out") });
  }

  it("`fn sub(a: float, b: float): float = (a - b) / b` used in a spec compiles", async () => {
    const r = await compileFns(["sub"]);
    expect(r.diagnostics.map((d) => `FTI${d.code}: ${d.message}`)).toEqual([]);
    expect(r.files!.get("functions.ts")).toMatch(/export function sub\(a: number \| null, b: number \| null\): number \| null \{\n  return \$rt\.div\(\$rt\.fin\(\$rt\.sub\(a, b\)\), b\);/);
  });

  it("a fn named like any runtime export compiles", async () => {
    const keywords = new Set(T.KEYWORDS.keys());
    const types = ["Scalar", "SpecBundle", "SourcePlan", "GroupPlan", "ViewPlan", "ModelPlan", "MdtStep", "FittedState", "ClientOptions", "FeatureValue", "LocalServiceOptions", "StandardScaleState", "ImputeState"];
    const names = [...Object.keys(runtimeApi), ...types].filter((n) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n) && !keywords.has(n));
    expect(names).toEqual(expect.arrayContaining(["sub", "div", "fin", "z", "asDate", "specDirFrom", "openLocalClient", "postPrediction"]));
    const r = await compileFns(names);
    expect(r.diagnostics.map((d) => `FTI${d.code}: ${d.message}`)).toEqual([]);
  });
});
