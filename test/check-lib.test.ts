// `fti compile` type-checks the generated modules against light declarations
// (compiler/ts-project.ts: compiler/emit/check-lib/zod.d.ts instead of zod's
// own, a subset of the ES library), and reads simple `extern fn` signatures
// from the syntax alone (compiler/checker/extern-syntax.ts). These tests
// prove that neither weakens the check (FTI5001, FTI3008):
//   - every generated module of a corpus of specs passes both the light and
//     the real check (the light one is what compiled it);
//   - each zod schema's output type is the generated interface of the same
//     name under both (so `z.infer` agrees);
//   - the runtime API's own modules have the same diagnostics under both;
//   - code that misuses the runtime API or zod is rejected by both;
//   - the syntactic signature reading agrees with the checker's.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileSpec, type CompileResult } from "../compiler/compile.ts";
import { typeCheckGenerated } from "../compiler/emit/type-check.ts";
import { checkerProject, type Declarations } from "../compiler/ts-project.ts";
import { inspectExtern } from "../compiler/checker/extern-inspect.ts";
import { bigSpec } from "../bench/suites/compile.ts";

const saved = process.env.FTI_NO_CACHE;
let tmp: string;
beforeAll(() => {
  process.env.FTI_NO_CACHE = "1"; // every check below runs for real
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fti-check-lib-"));
});
afterAll(() => {
  if (saved === undefined) delete process.env.FTI_NO_CACHE;
  else process.env.FTI_NO_CACHE = saved;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Compiles a spec into the temp dir (the light check runs as part of it). */
async function compiled(spec: string): Promise<CompileResult> {
  const r = await compileSpec(spec, { outDir: path.join(tmp, "out", path.basename(spec, ".fti")) });
  expect(r.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([]);
  return r;
}

function check(r: CompileResult, declarations: Declarations, files = r.files!): string[] {
  const moduleFiles = new Map<string, string>();
  for (const dep of r.dependencies) for (const [f, text] of dep.files!) moduleFiles.set(path.join(dep.outDir, f), text);
  return typeCheckGenerated(files, { outDir: r.outDir, specFile: r.file, moduleFiles, declarations }).map((d) => d.message);
}

/** Per generated `export const XSchema` with an `export interface X`: both ways assignable, so `z.infer` is the interface. */
function inferProbes(schemaTs: string): string {
  const interfaces = new Set([...schemaTs.matchAll(/^export interface (\w+)/gm)].map((m) => m[1]));
  const probes = [...schemaTs.matchAll(/^export const (\w+)Schema = /gm)]
    .map((m) => m[1])
    .filter((n) => interfaces.has(n))
    .map((n) => `export const probe${n}A: ${n} = null! as $rt.z.infer<typeof ${n}Schema>;\nexport const probe${n}B: $rt.z.infer<typeof ${n}Schema> = null! as ${n};`);
  expect(probes.length).toBeGreaterThan(0);
  return `${schemaTs}\n${probes.join("\n")}\n`;
}

const corpus = () => {
  const bench = path.join(tmp, "bench_big.fti");
  fs.writeFileSync(bench, bigSpec(300));
  const fixtures = fs.readdirSync("test/fixtures/diagnostics").filter((f) => /^ok-.*\.fti$/.test(f)).map((f) => path.join("test/fixtures/diagnostics", f));
  return [...fs.readdirSync("specs").filter((f) => f.endsWith(".fti")).map((f) => path.join("specs", f)), ...fixtures, bench];
};

describe("the light declarations give the real ones' verdicts", () => {
  it("every generated module of specs/, the ok- fixtures and the bench's spec passes both; z.infer equals the generated interfaces", async () => {
    const specs = corpus();
    expect(specs.length).toBeGreaterThanOrEqual(5);
    for (const spec of specs) {
      const r = await compiled(spec);
      const probed = new Map(r.files!);
      probed.set("schema.ts", inferProbes(r.files!.get("schema.ts")!));
      expect({ spec, light: check(r, "light", probed) }).toEqual({ spec, light: [] });
      expect({ spec, real: check(r, "real", probed) }).toEqual({ spec, real: [] });
    }
  }, 600_000);

  it("the runtime API's modules have the same diagnostics under both", () => {
    const seen = (declarations: Declarations) => {
      const project = checkerProject(declarations);
      const probe = project.createSourceFile(path.join(tmp, "probe.ts"), `import * as $rt from "fti/runtime";\nexport type P = $rt.SpecBundle;\n`, { overwrite: true });
      const program = project.getProgram().compilerObject;
      const out: string[] = [];
      for (const sf of program.getSourceFiles()) {
        if (program.isSourceFileDefaultLibrary(sf) || !sf.fileName.includes("/runtime/")) continue;
        for (const d of program.getSemanticDiagnostics(sf)) {
          out.push(`${path.relative(process.cwd(), sf.fileName)}:${sf.getLineAndCharacterOfPosition(d.start ?? 0).line + 1} TS${d.code}`);
        }
      }
      project.removeSourceFile(probe);
      return out.sort();
    };
    const real = seen("real");
    expect(seen("light")).toEqual(real);
  }, 300_000);

  // Each: a generated file, a text in it, what replaces it. Both checks must reject the result.
  const planted: Array<[string, string, string, string]> = [
    ["a zod method that does not exist", "schema.ts", "$rt.z.number().int()", "$rt.z.number().integer()"],
    ["a request check that disagrees with its schema", "schema.ts", "checkTimeEstimatorDataRequest(r: { planned_pace_min_km: number;", "checkTimeEstimatorDataRequest(r: { planned_pace_min_km: string;"],
    ["a schema that is not an object where a request schema goes", "training.ts", "requestSchema: TimeEstimatorRequestSchema,", "requestSchema: $rt.z.number(),"],
    ["a required key missing from a z.infer type", "agents.ts", "export type CoachChatRequest = z.infer<typeof CoachChatRequestSchema>;", "export type CoachChatRequest = z.infer<typeof CoachChatRequestSchema>;\nexport const probe: CoachChatRequest = { athlete_id: \"a\" };"],
    ["a wrongly typed optional key of a z.infer type", "agents.ts", "export type CoachChatRequest = z.infer<typeof CoachChatRequestSchema>;", "export type CoachChatRequest = z.infer<typeof CoachChatRequestSchema>;\nexport const probe: CoachChatRequest = { athlete_id: \"a\", message: \"m\", stream: 1 };"],
    ["a string passed where an ODT takes a number", "inference.ts", "pace_deviation(request.planned_pace_min_km,", "pace_deviation(request.athlete_id,"],
    ["a plan field outside the runtime API's vocabulary", "training.ts", `asOf: "strict",`, `asOf: "later",`],
    ["a schema whose output is not its interface", "schema.ts", "ctl_42d: $rt.z.number().nullable(),", "ctl_42d: $rt.z.string().nullable(),"],
    ["a nullable schema where its interface is not", "schema.ts", "athlete_id: $rt.z.string(),\n    planned_pace_min_km", "athlete_id: $rt.z.string().nullable(),\n    planned_pace_min_km"],
    ["an int schema with a string check", "schema.ts", "$rt.z.number().int()", "$rt.z.number().max(\"1\")"],
  ];

  it("code that misuses the runtime API or zod is rejected by both", async () => {
    const r = await compiled("specs/athlete.fti");
    // The optional keys themselves are fine under both.
    const fine = new Map(r.files!);
    fine.set("agents.ts", fine.get("agents.ts")! + `\nexport const probeOk: CoachChatRequest = { athlete_id: "a", message: "m" };\n`);
    expect(check(r, "light", fine)).toEqual([]);
    expect(check(r, "real", fine)).toEqual([]);
    for (const [what, file, from, to] of planted) {
      const files = new Map(r.files!);
      files.set("schema.ts", inferProbes(files.get("schema.ts")!));
      const text = files.get(file)!;
      expect({ what, found: text.includes(from) }).toEqual({ what, found: true });
      files.set(file, text.replace(from, to));
      const light = check(r, "light", files);
      const real = check(r, "real", files);
      expect({ what, light: light.length > 0, real: real.length > 0 }).toEqual({ what, light: true, real: true });
    }
  }, 300_000);
});

describe("extern fn signatures read from the syntax agree with the checker", () => {
  const cases: Array<[string, string]> = [
    ["export function f(a: number | null, b: number): number | null { return a; }", "(a: float?, b: float): float?"],
    ["export function f(a: readonly number[], d: Date | undefined): (string | null) { return null; }", "(a: float[3], d: timestamp?): string?"],
    ["export function f(a: Float32Array, b: boolean): boolean { return b; }", "(a: float[3], b: bool): bool"],
    ["export function f(a: number): string | number { return a; }", "(a: int): string"],
    ["export function f(a: number): number | null { return a; }", "(a: int): int"], // may return null: a mismatch
    ["export function f(a: number): number { return a; }", "(a: int?): int"], // does not accept null: a mismatch
    ["export function f(a: string, b: string): number { return 1; }", "(a: string): float"], // arity
    ["type Date = string;\nexport function f(a: Date): number { return 1; }", "(a: timestamp): float"], // a shadowed Date
    ["export function f(a: number) { return a * 2; }", "(a: float): float"], // inferred return: the checker
    ["export function f(a: number): number;\nexport function f(a: number): number { return a; }", "(a: float): float"], // overloads
  ];
  const irType = (t: string) => {
    const nullable = t.endsWith("?");
    const base = t.replace(/\?$/, "").replace(/\[\d+\]$/, "");
    return { base: base === "float" && /\[\d+\]/.test(t) ? "vector" : base, nullable, ...(/\[(\d+)\]/.test(t) ? { dim: Number(/\[(\d+)\]/.exec(t)![1]) } : {}) };
  };
  const declared = (sig: string) => {
    const m = /^\((.*)\): (.*)$/.exec(sig)!;
    const params = m[1].split(", ").map((p) => {
      const [name, type] = p.split(": ");
      return { name, type: irType(type) };
    });
    return { params, returns: irType(m[2]) };
  };

  it("the same answer (ok or mismatch) as the checker alone, for each case", () => {
    for (const [i, [source, sig]] of cases.entries()) {
      const abs = path.join(tmp, `extern${i}.ts`);
      fs.writeFileSync(abs, source);
      const req = { abs, name: "f", ...declared(sig) } as Parameters<typeof inspectExtern>[0];
      const withFastPath = inspectExtern(req);
      const checkerOnly = inspectExtern(req, { syntax: false });
      expect({ source, kind: withFastPath.kind }).toEqual({ source, kind: checkerOnly.kind });
    }
  });
});
