// TRANSFORMS_HASH (runtime/transforms-hash.ts) fingerprints the transformation
// code of generated/<spec>/transforms.ts, not its comments: an edit of the spec
// that leaves that code as it was (a comment, a new fn, lines added above that
// shift every citation) keeps the hash, so trained models stay servable;
// a change of an MDT, an ODT or a fn an ODT calls changes it, and so does a hand
// edit of any code line. Each model's hash (MODEL_TRANSFORMS_HASHES) covers
// only the code that model runs: another model's edit leaves it.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSpec } from "../compiler/compile.ts";
import { modelTransformsHash, transformsHash } from "../runtime/transforms-hash.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-thash-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const athlete = fs.readFileSync("specs/athlete.fti", "utf8");
const functions = fs.readFileSync("specs/athlete.functions.ts", "utf8");

async function stamped(spec: string): Promise<string> {
  return (await compiled(spec)).whole;
}

/** The whole file's hash and each model's, as the compiler stamped them. */
async function compiled(spec: string): Promise<{ whole: string; models: Record<string, string> }> {
  const specDir = fs.mkdtempSync(path.join(dir, "s-"));
  fs.writeFileSync(path.join(specDir, "athlete.fti"), spec);
  fs.writeFileSync(path.join(specDir, "athlete.functions.ts"), functions);
  const result = await compileSpec(path.join(specDir, "athlete.fti"), { outDir: path.join(specDir, "out") });
  expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const text = result.files!.get(path.join(specDir, "out", "transforms.ts")) ?? [...result.files!.entries()].find(([f]) => f.endsWith("transforms.ts"))![1];
  const hash = /export const TRANSFORMS_HASH = "([^"]+)";/.exec(text)![1];
  expect(hash).toBe(transformsHash(text));
  const models = Object.fromEntries([...text.matchAll(/^  (\w+): "(model:sha256:[0-9a-f]{64})",$/gm)].map((m) => [m[1], m[2]]));
  return { whole: hash, models };
}

describe("TRANSFORMS_HASH", () => {
  it("stays when the spec changes around the transformation code, and changes with an MDT", async () => {
    const before = await stamped(athlete);
    const shifted = `// A comment that moves every line down.\n\nfn doubled(x: float): float = x * 2\n${athlete}`;
    expect(await stamped(shifted)).toBe(before);
    expect(athlete).toContain("impute(median)");
    expect(await stamped(athlete.replace("impute(median)", "impute(mean)"))).not.toBe(before);
  }, 120_000);

  it("changes when a fn an ODT calls changes (its code is in functions.ts, outside the hashed file)", async () => {
    const odt = "on_demand planned_distance_km(request distance_km: float): float = distance_km";
    expect(athlete).toContain(odt);
    const calling = (body: string) => athlete.replace(odt, `fn doubled(x: float): float = ${body}\non_demand planned_distance_km(request distance_km: float): float = doubled(distance_km)`);
    const before = await stamped(calling("x * 2"));
    expect(await stamped(`// moved\n${calling("x * 2")}`)).toBe(before);
    expect(await stamped(calling("x * 3"))).not.toBe(before);
    // Both views compute planned_distance_km: both models' hashes cover the fn.
    const [a, b] = [await compiled(calling("x * 2")), await compiled(calling("x * 3"))];
    expect(b.models.time_estimator).not.toBe(a.models.time_estimator);
    expect(b.models.route_pace).not.toBe(a.models.route_pace);
  }, 120_000);

  it("per model: another model's MDT edit leaves a model's hash; its own edit, or one of an ODT its view computes, changes it", async () => {
    const before = await compiled(athlete);
    expect(Object.keys(before.models).sort()).toEqual(["route_pace", "time_estimator"]);
    // route_pace's own transform line (time_estimator imputes pace_sd_28d too, on its own line).
    const routeLine = "transform route_pace_180d, route_runs_180d, pace_sd_28d: impute(median)";
    expect(athlete).toContain(routeLine);
    const routeEdit = await compiled(athlete.replace(routeLine, routeLine.replace("median", "mean")));
    expect(routeEdit.whole).not.toBe(before.whole);
    expect(routeEdit.models.time_estimator).toBe(before.models.time_estimator);
    expect(routeEdit.models.route_pace).not.toBe(before.models.route_pace);
    // expected_time_s is computed by time_estimator's view only.
    const odtEdit = await compiled(athlete.replace("distance_km * pace_28d * 60", "distance_km * pace_28d * 61"));
    expect(odtEdit.models.time_estimator).not.toBe(before.models.time_estimator);
    expect(odtEdit.models.route_pace).toBe(before.models.route_pace);
    // A request field declared nullable: the generated function's text is the same (it takes null either way),
    // but training's guard and the request schema are not — both views compute planned_distance_km.
    const odt = "on_demand planned_distance_km(request distance_km: float): float = distance_km";
    const nullable = await compiled(athlete.replace(odt, odt.replace("distance_km: float)", "distance_km: float?)").replace("): float =", "): float? =")));
    expect(nullable.models.time_estimator).not.toBe(before.models.time_estimator);
    expect(nullable.models.route_pace).not.toBe(before.models.route_pace);
  }, 120_000);

  it("a model's hash: its declarations' code, the imports they read, and `extra`; not other declarations", () => {
    const file = (ownBody: string, otherBody: string, imports = 'import * as $rt from "fti/runtime";\nimport { f } from "./functions.ts";') =>
      [imports, "/** doc */", `export function own(x: number) {\n  return ${ownBody};\n}`, "// a comment", `export const other = { a: ${otherBody} };`].join("\n");
    const h = modelTransformsHash(file("$rt.fin(x)", "f(1)"), ["own"]);
    expect(h).toMatch(/^model:sha256:[0-9a-f]{64}$/);
    expect(modelTransformsHash(file("$rt.fin(x)", "f(2)"), ["own"])).toBe(h); // another declaration
    expect(modelTransformsHash(file("$rt.fin(x)", "f(1)", 'import * as $rt from "fti/runtime";\nimport { f, g } from "./functions.ts";'), ["own"])).toBe(h); // an import it does not read
    expect(modelTransformsHash(file("$rt.fin(x)", "f(1)", 'import * as $rt from "fti/runtime2";\nimport { f } from "./functions.ts";'), ["own"])).not.toBe(h); // one it reads
    expect(modelTransformsHash(file("$rt.fin(x) + 1", "f(1)"), ["own"])).not.toBe(h);
    expect(modelTransformsHash(file("$rt.fin(x)", "f(1)"), ["own"], "fns:sha256:1")).not.toBe(h);
    expect(modelTransformsHash(file("$rt.fin(x)", "f(1)"), ["own", "other"])).not.toBe(h);
    expect(() => modelTransformsHash(file("x", "1"), ["missing"])).toThrow(/declares no `missing`/);
    // A declaration no model or ODT owns (a shared helper, or code the split did not attribute) counts for every model.
    expect(modelTransformsHash(file("$rt.fin(x)", "f(1)"), ["own"], "", ["own", "other"])).toBe(h);
    expect(modelTransformsHash(file("$rt.fin(x)", "f(1)"), ["own"], "", ["own"])).not.toBe(h);
    expect(modelTransformsHash(file("$rt.fin(x)", "f(1)"), ["own"], "", ["own"])).not.toBe(modelTransformsHash(file("$rt.fin(x)", "f(2)"), ["own"], "", ["own"]));
  });

  it("leaves out blank and comment lines only: any code line counts, one beginning with `*` included", () => {
    const code = ["export const TRANSFORMS_HASH = \"x\";", "const a = 2", "  * 3;", "/** doc */ export const b = 1;"].join("\n");
    const h = transformsHash(code);
    expect(transformsHash(`// header\n\n/**\n * a doc block\n */\n${code}\n// trailing`)).toBe(h);
    expect(transformsHash(code.replace('"x"', '"y"'))).toBe(h); // the constant's own value is blanked
    expect(transformsHash(code.replace("  * 3;", "  * 4;"))).not.toBe(h);
    expect(transformsHash(code.replace("export const b = 1", "export const b = 2"))).not.toBe(h);
  });
});
