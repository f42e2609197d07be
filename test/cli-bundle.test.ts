// The compiler's commands run from a prebuilt bundle (compiler/cli/bundle.mjs)
// when it is up to date, else from the TypeScript sources through tsx. Both
// must do exactly the same: every spec in specs/ and every diagnostics fixture
// gives the same output, diagnostics and exit code either way. The bundle is
// used only while every file it was built from is unchanged, and only for the
// compiler's commands.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
// @ts-expect-error a plain ES module without declarations (bin.mjs loads it before tsx exists)
import { BUNDLE_FILE, bundleDirs, bundledMain, commandWord, COMMANDS } from "../compiler/cli/bundle.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const BIN = path.join(ROOT, "compiler/cli/bin.mjs");
const FIXTURES = path.join(ROOT, "test/fixtures/diagnostics");
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fti-bundle-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function fti(args: string[], opts: { cwd: string; env: Record<string, string> }) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("FTI_")));
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd, encoding: "utf8", env: { ...clean, ...opts.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file under `dir`, relative path → text. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out[path.relative(dir, file)] = fs.readFileSync(file, "utf8");
  }
  return out;
}

it("gives the same output, diagnostics and exit code as the sources, for every spec and diagnostics fixture", () => {
  const specs = [
    ...fs.readdirSync(path.join(ROOT, "specs")).filter((f) => f.endsWith(".fti")).map((f) => path.join(ROOT, "specs", f)),
    ...fs.readdirSync(FIXTURES).filter((f) => f.endsWith(".fti")).sort().map((f) => path.join(FIXTURES, f)),
  ];
  const bundleDir = path.join(tmp, "bundle");
  const run = (name: string) => {
    const cwd = path.join(tmp, name);
    fs.mkdirSync(cwd);
    const r = fti(["compile", "--json", ...specs], { cwd, env: { FTI_BUNDLE_DIR: bundleDir, FTI_CACHE_DIR: path.join(cwd, ".cache"), FTI_DEBUG: "1" } });
    fs.rmSync(path.join(cwd, ".cache"), { recursive: true, force: true });
    return { ...r, files: tree(cwd) };
  };
  // No bundle yet: the sources run, and leave one behind.
  const sources = run("sources");
  expect(sources.stderr).not.toContain("running the compiler bundle");
  expect(fs.existsSync(path.join(bundleDir, BUNDLE_FILE))).toBe(true);
  const bundled = run("bundled");
  expect(bundled.stderr).toContain(`running the compiler bundle ${path.join(bundleDir, BUNDLE_FILE)}`);

  expect(sources.code).toBe(1); // the fixtures' errors
  expect(bundled.code).toBe(sources.code);
  expect(JSON.parse(bundled.stdout)).toEqual(JSON.parse(sources.stdout));
  expect(JSON.parse(sources.stdout).filter((r: { diagnostics: unknown[] }) => r.diagnostics.length).length).toBeGreaterThan(80);
  expect(bundled.stderr.replace(/^fti: running the compiler bundle .*\n/, "")).toBe(sources.stderr);
  expect(Object.keys(sources.files).length).toBeGreaterThan(30);
  expect(bundled.files).toEqual(sources.files);
}, 600_000);

it("fti check and fti explain print the same from the bundle as from the sources", () => {
  const bundleDir = path.join(tmp, "bundle"); // built by the test above
  const env = { FTI_BUNDLE_DIR: bundleDir, FTI_CACHE_DIR: path.join(tmp, "check-cache") };
  const broken = path.join(FIXTURES, "FTI2002-unknown-name.fti");
  for (const args of [["check", "specs/athlete.fti", "specs/weekly_km.fti", broken], ["explain", "specs/athlete.fti"], ["explain", "specs/athlete.fti", "--dot"]]) {
    const bundled = fti(args, { cwd: ROOT, env: { ...env, FTI_DEBUG: "1" } });
    const sources = fti(args, { cwd: ROOT, env: { ...env, FTI_NO_BUNDLE: "1" } });
    expect(bundled.stderr).toContain("running the compiler bundle");
    expect({ code: bundled.code, stdout: bundled.stdout, stderr: bundled.stderr.replace(/^fti: running the compiler bundle .*\n/, "") }).toEqual({ code: sources.code, stdout: sources.stdout, stderr: sources.stderr });
  }
}, 120_000);

it("is used only while every file it was built from is unchanged", () => {
  const dir = path.join(tmp, "stale");
  const input = path.join(tmp, "input.txt");
  fs.writeFileSync(input, "one");
  fs.mkdirSync(dir);
  // A stand-in bundle whose main exits 7: which of the two ran shows in the exit code.
  const hash = "7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed"; // sha256("one")
  fs.writeFileSync(path.join(dir, BUNDLE_FILE), `// fti-bundle ${JSON.stringify({ inputs: { [input]: hash } })}\nexport async function main() { return 7; }\n`);
  const env = { FTI_BUNDLE_DIR: dir, FTI_CACHE_DIR: path.join(tmp, "stale-cache") };
  expect(fti(["compile", "--help"], { cwd: tmp, env }).code).toBe(7);
  expect(fti(["compile", "--help"], { cwd: tmp, env: { ...env, FTI_NO_BUNDLE: "1" } }).code).toBe(0);
  expect(fti(["compile", "--help"], { cwd: tmp, env: { ...env, FTI_NO_CACHE: "1" } }).code).toBe(0);

  fs.writeFileSync(input, "two");
  const r = fti(["compile", "--help"], { cwd: tmp, env });
  expect(r.code).toBe(0); // the sources ran
  expect(r.stdout).toContain("Usage: fti compile");
  // ... and replaced the stale bundle with one built from the sources.
  const rebuilt = fs.readFileSync(path.join(dir, BUNDLE_FILE), "utf8");
  expect(rebuilt).toMatch(/^\/\/ fti-bundle \{"inputs":\{/);
  expect(rebuilt).toContain(JSON.stringify(path.join(ROOT, "compiler/compile.ts")));
  expect(fti(["compile", "--help"], { cwd: tmp, env: { ...env, FTI_DEBUG: "1" } }).stderr).toContain("running the compiler bundle");

  // The installation's directory cannot be made (a file is in the way): no bundle anywhere, the sources run,
  // and nothing lands in the project (a project's files must not choose what fti runs).
  const blocked = path.join(tmp, "blocked");
  fs.writeFileSync(blocked, "not a directory");
  const project = path.join(tmp, "project");
  fs.mkdirSync(project);
  const noInstall = { FTI_BUNDLE_DIR: blocked, FTI_CACHE_DIR: path.join(project, ".fti/cache") };
  expect(fti(["compile", "--help"], { cwd: project, env: noInstall }).code).toBe(0);
  expect(fs.readdirSync(project, { recursive: true }).filter((f) => String(f).includes("bundle"))).toEqual([]);
  expect(fti(["compile", "--help"], { cwd: project, env: { ...noInstall, FTI_DEBUG: "1" } }).stderr).not.toContain("running the compiler bundle");
}, 180_000);

it("runs only the compiler's commands; the runtime's and the editor's load from the sources", async () => {
  expect(COMMANDS).toEqual(["compile", "check", "explain"]);
  expect(commandWord(["node", "fti", "--no-color", "compile", "a.fti"])).toBe("compile");
  for (const argv of [["node", "fti", "features", "a.fti"], ["node", "fti", "lsp"], ["node", "fti", "--help"], ["node", "fti"]]) {
    expect(await bundledMain(argv)).toBeUndefined();
  }
});

it("lives with the installation, never in the project; FTI_NO_BUNDLE and FTI_NO_CACHE turn it off", () => {
  const saved = { ...process.env };
  try {
    for (const k of ["FTI_BUNDLE_DIR", "FTI_NO_BUNDLE", "FTI_NO_CACHE"]) delete process.env[k];
    process.env.FTI_CACHE_DIR = path.join(tmp, "p");
    expect(bundleDirs()).toEqual([path.join(ROOT, "node_modules/.cache/fti/bundle")]);
    process.env.FTI_BUNDLE_DIR = path.join(tmp, "b");
    expect(bundleDirs()).toEqual([path.join(tmp, "b")]);
    process.env.FTI_NO_BUNDLE = "1";
    expect(bundleDirs()).toEqual([]);
    delete process.env.FTI_NO_BUNDLE;
    process.env.FTI_NO_CACHE = "1";
    expect(bundleDirs()).toEqual([]);
  } finally {
    process.env = saved;
  }
});
