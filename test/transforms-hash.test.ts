// TRANSFORMS_HASH (runtime/transforms-hash.ts) fingerprints the transformation
// code of generated/<spec>/transforms.ts, not its comments: an edit of the spec
// that leaves that code as it was (a comment, a new fn, lines added above that
// shift every citation) keeps the hash, so trained models stay servable;
// a change of an MDT, an ODT or a fn an ODT calls changes it, and so does a hand
// edit of any code line.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSpec } from "../compiler/compile.ts";
import { transformsHash } from "../runtime/transforms-hash.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-thash-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const athlete = fs.readFileSync("specs/athlete.fti", "utf8");
const functions = fs.readFileSync("specs/athlete.functions.ts", "utf8");

async function stamped(spec: string): Promise<string> {
  const specDir = fs.mkdtempSync(path.join(dir, "s-"));
  fs.writeFileSync(path.join(specDir, "athlete.fti"), spec);
  fs.writeFileSync(path.join(specDir, "athlete.functions.ts"), functions);
  const result = await compileSpec(path.join(specDir, "athlete.fti"), { outDir: path.join(specDir, "out") });
  expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const text = result.files!.get(path.join(specDir, "out", "transforms.ts")) ?? [...result.files!.entries()].find(([f]) => f.endsWith("transforms.ts"))![1];
  const hash = /export const TRANSFORMS_HASH = "([^"]+)";/.exec(text)![1];
  expect(hash).toBe(transformsHash(text));
  return hash;
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
  }, 120_000);

  it("leaves out blank and comment lines only: any code line counts, one beginning with `*` included", () => {
    const code = ["export const TRANSFORMS_HASH = \"x\";", "const a = 2", "  * 3;", "/** doc */ export const b = 1;"].join("\n");
    const h = transformsHash(code);
    expect(transformsHash(`// header\n\n/**\n * a doc block\n */\n${code}\n// trailing`)).toBe(h);
    expect(transformsHash(code.replace('"x"', '"y"'))).toBe(h); // the constant's own value is blanked
    expect(transformsHash(code.replace("  * 3;", "  * 4;"))).not.toBe(h);
    expect(transformsHash(code.replace("export const b = 1", "export const b = 2"))).not.toBe(h);
  });
});
