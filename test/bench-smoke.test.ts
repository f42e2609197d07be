// `npm run bench -- --quick` as a child process: every suite must print its
// measurement lines and pass its correctness checks. Times are never
// asserted (the machine is shared and noisy); only that each suite ran and
// that fti's output equals its references'.
//
// The python references (pandas, scikit-learn) run when /usr/bin/python3 can
// import them, and always on CI (where a missing module fails the run).
// The data goes to a fresh directory ($FTI_BENCH_DATA = bench/.data/smoke-*),
// so this test never shares files with a bench run going on.

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const PYTHON = "/usr/bin/python3";
// online-store starts its own Redis servers (.ci/run installs redis-server); without them it only notes that it skipped.
const hasRedis = spawnSync("redis-server", ["--version"]).status === 0 && spawnSync("redis-cli", ["--version"]).status === 0;
const SUITES = ["compile", "check", "features", "pit", "train", "batch", "monitor", "lsp", "stream", ...(hasRedis ? ["online-store"] : [])];

function pythonHas(modules: string[]): boolean {
  const r = spawnSync(PYTHON, ["-c", `import ${modules.join(", ")}`], { encoding: "utf8" });
  return r.status === 0;
}

function runBench(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/run.ts", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

// Inside the repository (git-ignored): the compiled bench spec imports `fti/runtime`.
fs.mkdirSync("bench/.data", { recursive: true });
const dataDir = fs.mkdtempSync(path.resolve("bench/.data/smoke-"));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe("npm run bench -- --quick", () => {
  it("runs every suite: measurement lines printed, correctness checks passed", async () => {
    const python = !!process.env.CI || pythonHas(["pandas", "sklearn"]);
    // The stream suite's HTTP case (an athlete example trained, a server under paced load) is left to bench runs.
    const r = await runBench(["--quick", ...(python ? [] : ["--no-python"])], { ...process.env, FTI_BENCH_DATA: dataDir, FTI_BENCH_STREAM_HTTP: "0" });
    const lines = r.stdout.split("\n");
    const of = (suite: string) => lines.filter((l) => l.startsWith(`[${suite}] `));
    // Stack frames of the children are dropped from the messages: vitest would try to source-map them.
    const noStacks = (t: string) => t.split("\n").filter((l) => !/^\s+at /.test(l)).join("\n");
    const context = noStacks(`exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr (tail)\n${r.stderr.split("\n").slice(-40).join("\n")}`);

    expect(lines.filter((l) => / check .*: FAIL$/.test(l)), context).toEqual([]);
    expect(r.code, context).toBe(0);
    for (const suite of SUITES) {
      const measures = of(suite).filter((l) => /median .* peak RSS .* n=\d+/.test(l));
      expect(measures.length, `${suite}: measurement lines\n${context}`).toBeGreaterThan(0);
      const checks = of(suite).filter((l) => / check .*: PASS$/.test(l));
      expect(checks.length, `${suite}: passed checks\n${context}`).toBeGreaterThan(0);
    }
    // Every reference line carries its ratio to fti.
    for (const l of lines.filter((x) => /\] ref /.test(x) && /median/.test(x))) expect(l).toMatch(/fti\/ref \d+\.\d\d×/);
    if (python) {
      expect(of("features").some((l) => l.includes("pandas") && l.includes("median")), context).toBe(true);
      expect(of("pit").some((l) => l.includes("pandas") && l.includes("median")), context).toBe(true);
      expect(of("train").some((l) => l.includes("sklearn") && l.includes("median")), context).toBe(true);
      expect(of("features").some((l) => /check fti = pandas: .*PASS$/.test(l)), context).toBe(true);
      expect(of("train").some((l) => /check test MAE within 2%.*PASS$/.test(l)), context).toBe(true);
    }
  }, 900_000);
});
