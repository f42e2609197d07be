// fti as a user gets it: `npm pack`, the tarball installed into a fresh
// directory outside the repository, `npx fti init demo`, the tarball
// installed into the new project, then compile → features → train →
// predict there, and the generated code type-checked in that project (its
// `fti/runtime` import resolves to the installed package). Nothing may come
// from this repository's files: the project and its node_modules live in a
// temporary directory, and the installed fti is a real copy.
//
// npm installs with --prefer-offline: the packages come from the npm cache
// that `npm ci` filled (their metadata from the registry when the cache has
// none). onnxruntime-node's install script (a GPU download from a host this
// machine cannot reach) is skipped in the tools directory by the environment,
// in the project by the .npmrc `fti init` writes: the project installs as a
// user's would, with nothing set around it.

import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLsp } from "./helpers/lsp-client.ts";

const REPO = path.resolve(".");
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
const NPX = process.platform === "win32" ? "npx.cmd" : "npx";
const env = { ...process.env, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false", FTI_DEBUG: "" };
delete (env as Record<string, string | undefined>).NODE_OPTIONS; // vitest's loader must not leak into the user's processes

let tmp: string;
let tarball: string;
let demo: string;

delete (env as Record<string, string | undefined>).npm_config_onnxruntime_node_install;
delete (env as Record<string, string | undefined>).ONNXRUNTIME_NODE_INSTALL;

function run(cmd: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd, env: { ...env, ...extraEnv }, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", all: `$ ${cmd} ${args.join(" ")} (in ${cwd})\nexit ${r.status}\n${r.stdout}\n${r.stderr}` };
}

function ok(cmd: string, args: string[], cwd: string, extraEnv: Record<string, string> = {}) {
  const r = run(cmd, args, cwd, extraEnv);
  expect(r.code, r.all).toBe(0);
  return r;
}

const install = (cwd: string, extraEnv: Record<string, string> = {}) => ok(NPM, ["install", tarball, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], cwd, extraEnv);

beforeAll(() => {
  tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "fti-package-")));
  const packed = JSON.parse(execFileSync(NPM, ["pack", "--json", "--pack-destination", tmp], { cwd: REPO, env, encoding: "utf8" })) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = path.join(tmp, packed[0].filename);
  const files = packed[0].files.map((f) => f.path);
  // The package: the CLI, the compiler and the runtime; no tests, specs, generated code or editor folder.
  expect(files).toContain("compiler/cli/bin.mjs");
  expect(files).toContain("runtime/api.ts");
  expect(files.filter((f) => /^(test|specs|generated|bench|editors)\//.test(f))).toEqual([]);
  // A user's directory with fti installed, so that `npx fti init` runs the packed fti.
  const tools = path.join(tmp, "tools");
  fs.mkdirSync(tools);
  fs.writeFileSync(path.join(tools, "package.json"), JSON.stringify({ name: "tools", private: true }));
  install(tools, { npm_config_onnxruntime_node_install: "skip" });
  ok(NPX, ["--no-install", "fti", "init", "demo"], tools);
  demo = path.join(tools, "demo");
  install(demo);
}, 900_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("the packed fti in a project of its own", () => {
  it("init wrote the project, and the installed fti is a real copy, not this repository", () => {
    for (const f of ["package.json", "tsconfig.json", ".gitignore", ".npmrc", "README.md", "specs/deliveries.fti", "specs/data/deliveries.csv"]) expect(fs.existsSync(path.join(demo, f)), f).toBe(true);
    const pkg = JSON.parse(fs.readFileSync(path.join(demo, "package.json"), "utf8"));
    expect(pkg.dependencies.fti).toMatch(/fti-0\.1\.0\.tgz$|^\^0\.1\.0$/);
    expect(fs.readFileSync(path.join(demo, ".gitignore"), "utf8")).toContain(".fti/");
    const installed = path.join(demo, "node_modules", "fti");
    expect(fs.lstatSync(installed).isSymbolicLink()).toBe(false);
    const resolved = createRequire(path.join(demo, "package.json")).resolve("fti/runtime");
    expect(resolved).toBe(path.join(installed, "runtime", "api.ts"));
    expect(resolved.startsWith(REPO + path.sep)).toBe(false);
  });

  it("compiles, computes features, trains and predicts", () => {
    const compile = ok(NPX, ["--no-install", "fti", "compile"], demo);
    expect(compile.stdout).toContain("specs/deliveries.fti → generated/deliveries/ (9 files)");
    expect(fs.readFileSync(path.join(demo, "generated/deliveries/index.ts"), "utf8")).toContain('from "fti/runtime"');
    const features = ok(NPX, ["--no-install", "fti", "features", "specs/deliveries.fti"], demo);
    expect(features.stdout).toMatch(/source deliveries: (\d+) rows read, \1 valid, 0 quarantined/);
    const train = ok(NPX, ["--no-install", "fti", "train", "specs/deliveries.fti", "delivery_time"], demo);
    expect(train.stdout).toContain("model delivery_time@1 → production");
    const mae = Number(/mae\s+([\d.]+)\s+baseline\s+([\d.]+)/.exec(train.stdout)?.[1]);
    const baseline = Number(/mae\s+([\d.]+)\s+baseline\s+([\d.]+)/.exec(train.stdout)?.[2]);
    expect(mae).toBeLessThan(baseline); // the courier's form carries signal in the sample data
    fs.writeFileSync(path.join(demo, "entities.csv"), "courier_id,distance_km\nc01,3.5\nc02,8\nc99,2\n");
    const out = path.join(demo, "predictions.parquet");
    const predict = run(NPX, ["--no-install", "fti", "predict", "specs/deliveries.fti", "delivery_time", "--entities", "entities.csv", "--out", out], demo);
    expect(predict.code, predict.all).toBe(0);
    expect(predict.stdout, predict.all).toMatch(/^2 predictions by delivery_time@1 /m);
    expect(predict.stdout, predict.all).toContain("1 rows rejected: 1 unknown or stale entities"); // c99 has no history
    expect(fs.statSync(out).size, predict.all).toBeGreaterThan(0);
  });

  it("the generated code type-checks in the project (fti/runtime resolves to the installed package)", () => {
    const tsc = path.join(REPO, "node_modules", "typescript", "bin", "tsc"); // the compiler only; it resolves from the project
    const r = run(process.execPath, [tsc, "-p", "tsconfig.json", "--listFilesOnly"], demo);
    expect(r.code, r.all).toBe(0);
    const files = r.stdout.split("\n").filter(Boolean);
    expect(files).toContain(path.join(demo, "node_modules/fti/runtime/api.ts"));
    expect(files.filter((f) => f.startsWith(REPO + "/") && !f.startsWith(path.join(REPO, "node_modules/typescript/")))).toEqual([]);
    ok(process.execPath, [tsc, "-p", "tsconfig.json"], demo);
  });

  it("fmt and check run from the installed package", () => {
    ok(NPX, ["--no-install", "fti", "fmt", "--check"], demo);
    ok(NPX, ["--no-install", "fti", "check", "specs/deliveries.fti"], demo);
  });

  it("the installed fti's language server checks the project's spec", async () => {
    const lsp = await startLsp(demo, path.join(demo, "node_modules/fti/compiler/cli/bin.mjs"));
    try {
      const spec = path.join(demo, "specs/deliveries.fti");
      const text = fs.readFileSync(spec, "utf8");
      expect((await lsp.open(pathToFileURL(spec).href, text)).diagnostics).toEqual([]);
      const broken = await lsp.change(pathToFileURL(spec).href, 2, text.replace("avg(speed_kmh) over 7d", "avg(speed_kmj) over 7d"));
      expect(broken.diagnostics.map((d) => d.code)).toEqual(["FTI2002"]);
    } finally {
      await lsp.stop();
    }
  });
});
