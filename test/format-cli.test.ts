// `fti fmt` as a user runs it: files rewritten in place, --check for CI,
// stdin to stdout, and a spec with syntax errors left byte for byte as it was.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";

const BIN = path.resolve("compiler/cli/bin.mjs");
const GOOD = fs.readFileSync("specs/athlete.fti", "utf8");

function fti(args: string[], cwd: string, input?: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, input, encoding: "utf8", env: { ...process.env, FTI_DEBUG: "" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-fmt-"));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const messy = GOOD.replace("  event_time started_at", "      event_time   started_at").replace("= ewma(tss) over 42d", "=ewma( tss )over 42d");

describe("fti fmt", () => {
  it("--check exits 1 naming the unformatted spec, formats it in place, then --check passes", () => {
    const dir = project({ "specs/a.fti": messy, "specs/b.fti": GOOD });
    const check = fti(["fmt", "--check"], dir);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain("specs/a.fti: not formatted");
    expect(check.stderr).not.toContain("b.fti");
    expect(fs.readFileSync(path.join(dir, "specs/a.fti"), "utf8")).toBe(messy);

    const run = fti(["fmt"], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("✓ formatted specs/a.fti\n");
    expect(fs.readFileSync(path.join(dir, "specs/a.fti"), "utf8")).toBe(GOOD);
    expect(fti(["fmt", "--check", "specs/a.fti", "specs/b.fti"], dir).code).toBe(0);
    expect(fs.readdirSync(path.join(dir, "specs")).sort()).toEqual(["a.fti", "b.fti"]); // no temp file left
  });

  it("formats a symbolic link's target, keeping the link, and keeps a spec's permissions", () => {
    // The temp file was renamed over the name: the link became a copy (the shared spec it named left as it was) and a 0600 spec 0644.
    const dir = project({ "shared/common.fti": messy, "specs/own.fti": messy });
    fs.symlinkSync("../shared/common.fti", path.join(dir, "specs/common.fti"));
    fs.chmodSync(path.join(dir, "specs/own.fti"), 0o600);
    const run = fti(["fmt", "specs/common.fti", "specs/own.fti"], dir);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(fs.lstatSync(path.join(dir, "specs/common.fti")).isSymbolicLink()).toBe(true);
    expect(fs.readFileSync(path.join(dir, "shared/common.fti"), "utf8")).toBe(GOOD);
    expect(fs.statSync(path.join(dir, "specs/own.fti")).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(path.join(dir, "specs/own.fti"), "utf8")).toBe(GOOD);
    expect(fs.readdirSync(path.join(dir, "shared"))).toEqual(["common.fti"]); // no temp file left
  });

  it("refuses a spec with syntax errors: diagnostics, exit 1, the file untouched", () => {
    const broken = messy.replace("entity athlete {", "entity athlete {{");
    const dir = project({ "x.fti": broken });
    const r = fti(["fmt", "x.fti"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/x\.fti:\d+:\d+ - error FTI1001/);
    expect(r.stderr).toContain("x.fti: not formatted (syntax errors)");
    expect(fs.readFileSync(path.join(dir, "x.fti"), "utf8")).toBe(broken);
  });

  it("formats stdin to stdout with -", () => {
    const dir = project({});
    const r = fti(["fmt", "-"], dir, messy);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(GOOD);
  });

  it("stdin is read to the bound of a spec file, refused in its words: an endless one (/dev/zero) is an error, not a read until memory runs out (exit 3)", () => {
    const r = spawnSync("sh", ["-c", `cat /dev/zero | "${process.execPath}" "${BIN}" fmt -`], { cwd: project({}), encoding: "utf8", env: { ...process.env, FTI_DEBUG: "" }, timeout: 60_000 });
    expect([r.status, r.stderr]).toEqual([1, "error: <stdin>: is larger than 100 MB, too large for a spec\n"]);
  });

  it("a missing file is a one-line error with exit 1", () => {
    const r = fti(["fmt", "nope.fti"], project({}));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("error: nope.fti: no such file\n");
  });
});
