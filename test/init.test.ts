// `fti init`: the files of a new project, a starter spec that checks and is
// formatted, and never overwriting anything.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { sampleDeliveries } from "../compiler/cli/init-template.ts";
import { formatSpec } from "../compiler/format/index.ts";

const BIN = path.resolve("compiler/cli/bin.mjs");
const fti = (args: string[], cwd: string) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", env: { ...process.env, FTI_DEBUG: "" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const FILES = [".gitignore", ".npmrc", "README.md", "package.json", "specs/data/deliveries.csv", "specs/deliveries.fti", "tsconfig.json"];

function listFiles(dir: string, prefix = ""): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`])).sort();
}

describe("fti init", () => {
  it("creates the project; its spec checks without a diagnostic and is formatted", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fti-init-"));
    const r = fti(["init", "My Project"], tmp);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("✓ created a fti project in My Project/");
    expect(r.stdout).toContain("npx fti train specs/deliveries.fti delivery_time");
    const dir = path.join(tmp, "My Project");
    expect(listFiles(dir)).toEqual(FILES);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    expect(pkg).toMatchObject({ name: "my-project", private: true, type: "module", dependencies: { fti: "^0.1.0" } });
    expect(fs.readFileSync(path.join(dir, ".gitignore"), "utf8").split("\n")).toContain(".fti/");
    const spec = fs.readFileSync(path.join(dir, "specs/deliveries.fti"), "utf8");
    expect(formatSpec(spec, "x.fti")).toMatchObject({ ok: true, changed: false });
    const check = fti(["check", "specs/deliveries.fti"], dir);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
  });

  it("writes nothing when a file it would write exists", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-init-"));
    fs.writeFileSync(path.join(dir, "README.md"), "mine\n");
    const r = fti(["init"], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("README.md already exists; nothing was written");
    expect(listFiles(dir)).toEqual(["README.md"]);
    expect(fs.readFileSync(path.join(dir, "README.md"), "utf8")).toBe("mine\n");
  });

  it("sample data: the same rows on every machine, dated up to the given day, every row valid", () => {
    const a = sampleDeliveries(new Date("2030-05-01T12:00:00Z"));
    expect(sampleDeliveries(new Date("2030-05-01T01:00:00Z"))).toBe(a);
    const rows = a.trim().split("\n").slice(1).map((l) => l.split(","));
    expect(rows.length).toBeGreaterThan(2000);
    expect(new Set(rows.map((r) => r[1])).size).toBe(15);
    for (const r of rows) {
      expect(r[2] < "2030-05-01").toBe(true);
      expect(Number(r[3])).toBeGreaterThan(0);
      expect(Number(r[4])).toBeGreaterThan(0);
    }
  });
});
