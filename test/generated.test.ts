// generated/ is committed: it must be exactly what the compiler produces now,
// and the whole project (generated code included) must type-check.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { compileSpec, staleFiles } from "../compiler/compile.ts";
import { transformsHash } from "../compiler/emit/project.ts";
import { modelTransformUnits } from "../compiler/emit/modules/transforms.ts";
import { modelTransformsHash } from "../runtime/transforms-hash.ts";

const specs = fs.readdirSync("specs").filter((f) => f.endsWith(".fti")).map((f) => path.join("specs", f));

describe("generated/", () => {
  it.each(specs)("%s: generated code is up to date (fti compile --check)", async (spec) => {
    const result = await compileSpec(spec);
    expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(staleFiles(result)).toEqual([]);
  });

  it.each(specs)("%s: transforms.ts carries the hash of its own text", (spec) => {
    const file = path.join("generated", path.basename(spec, ".fti"), "transforms.ts");
    const text = fs.readFileSync(file, "utf8");
    const stamped = /export const TRANSFORMS_HASH = "([^"]+)";/.exec(text)?.[1];
    expect(stamped).toBe(transformsHash(text));
  });

  it.each(specs)("%s: transforms.ts carries each model's hash of the code that model runs", async (spec) => {
    const { ir } = await compileSpec(spec);
    const text = fs.readFileSync(path.join("generated", path.basename(spec, ".fti"), "transforms.ts"), "utf8");
    const block = /export const MODEL_TRANSFORMS_HASHES: Record<string, string> = \{([^}]*)\};/.exec(text)?.[1] ?? "";
    const stamped = Object.fromEntries([...block.matchAll(/^ {2}(\w+): "([^"]+)",$/gm)].map((m) => [m[1], m[2]]));
    const units = modelTransformUnits(ir!);
    expect(Object.keys(stamped)).toEqual(units.models.map((u) => u.model));
    for (const u of units.models) expect(stamped[u.model]).toBe(modelTransformsHash(text, u.declarations, u.extra, units.owned));
    // As generated, every declaration is an ODT's, a model's or a hash constant: none is shared code.
    for (const u of units.models) expect(modelTransformsHash(text, u.declarations, u.extra)).toBe(stamped[u.model]);
  });

  it("the project, generated code included, passes tsc --noEmit", () => {
    const tsc = path.resolve("node_modules/typescript/bin/tsc");
    let output = "";
    try {
      execFileSync(process.execPath, [tsc, "--noEmit", "-p", "."], { encoding: "utf8", stdio: "pipe" });
    } catch (e) {
      output = (e as { stdout?: string }).stdout ?? String(e);
    }
    expect(output).toBe("");
  });
});
