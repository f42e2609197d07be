// The compiler's TypeScript worker (compiler/ts-thread.ts, FTI_TS_WORKER=1):
// a compile that asks it gives exactly what a compile in one thread gives,
// extern fn answers included, and a failure in the worker comes back as an
// Error, never a hang.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileSpec, type CompileResult } from "../compiler/compile.ts";
import { formatDiagnostics } from "../compiler/diagnostics.ts";
import type { IrSpec } from "../compiler/ir.ts";
import { tsThread } from "../compiler/ts-thread.ts";

const saved = { worker: process.env.FTI_TS_WORKER, cache: process.env.FTI_NO_CACHE };
beforeAll(() => {
  process.env.FTI_NO_CACHE = "1"; // every run really checks
});
afterAll(() => {
  for (const [k, v] of [["FTI_TS_WORKER", saved.worker], ["FTI_NO_CACHE", saved.cache]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const MODULE = `export function ok(x: number | null): number | null { return x; }
export function wrongReturn(x: number): string { return String(x); }
export function twoArgs(a: number, b: number): number { return a + b; }
`;

const HEAD = `entity athlete {
  key athlete_id: string
}

source activities {
  path "data/activities.csv"
  event_time started_at
  fields {
    athlete_id: string
    started_at: timestamp
    avg_hr: float?
  }
}
`;

function project(body: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-ts-thread-"));
  fs.writeFileSync(path.join(dir, "fns.ts"), MODULE);
  fs.writeFileSync(path.join(dir, "s.fti"), HEAD + body);
  return dir;
}

async function compileBothWays(dir: string): Promise<{ worker: CompileResult; inThread: CompileResult }> {
  const spec = path.join(dir, "s.fti");
  process.env.FTI_TS_WORKER = "1";
  const worker = await compileSpec(spec, { outDir: path.join(dir, "out-worker") });
  delete process.env.FTI_TS_WORKER;
  const inThread = await compileSpec(spec, { outDir: path.join(dir, "out-worker") });
  return { worker, inThread };
}

const text = (r: CompileResult) => formatDiagnostics(r.diagnostics, r.sources);

describe("the TypeScript worker", () => {
  it("extern fns that do not match: the same diagnostics as in one thread, users of the failed fns quiet", async () => {
    const dir = project(`
extern fn ok(x: float?): float? from "./fns.ts"
extern fn wrongReturn(x: float): float from "./fns.ts"
extern fn twoArgs(a: float): float from "./fns.ts"
extern fn missing(a: float): float from "./fns.ts"

feature_group g for athlete from activities {
  a = ok(avg_hr)
  b = wrongReturn(coalesce(avg_hr, 0.0))
  c = twoArgs(1.0)
  d = missing(1.0)
}
`);
    const { worker, inThread } = await compileBothWays(dir);
    expect(worker.diagnostics.map((d) => d.code).sort()).toEqual([2013, 3008, 3008]);
    expect(text(worker)).toBe(text(inThread));
    expect(worker.diagnostics).toEqual(inThread.diagnostics);
    expect(worker.files).toBeUndefined();
  });

  it("a spec whose extern fns match: the same generated files as in one thread", async () => {
    const dir = project(`
extern fn ok(x: float?): float? from "./fns.ts"

feature_group g for athlete from activities {
  a = ok(avg_hr)
}
`);
    const { worker, inThread } = await compileBothWays(dir);
    expect(worker.diagnostics).toEqual(inThread.diagnostics);
    expect(worker.files?.size).toBe(9);
    expect([...worker.files!]).toEqual([...inThread.files!]);
    expect(worker.sources).toEqual(inThread.sources);
  });

  it("a request that fails in the worker rejects with the worker's error, and the worker keeps answering", async () => {
    process.env.FTI_TS_WORKER = "1";
    const ts = tsThread()!;
    await expect(ts.emit({ name: 42 } as unknown as IrSpec, { outDir: "/tmp/x", specPath: "/tmp/x.fti", specFile: "x.fti" })).rejects.toThrow(/expected/i);
    const dir = project(`
extern fn ok(x: float?): float? from "./fns.ts"
`);
    const r = await compileSpec(path.join(dir, "s.fti"), { outDir: path.join(dir, "out") });
    delete process.env.FTI_TS_WORKER;
    expect(r.files?.size).toBe(9);
  });
});
