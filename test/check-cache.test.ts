// The cache of passed TypeScript checks (compiler/check-cache.ts): a check is
// skipped only when its key AND every file it read are unchanged; anything
// else runs the check again.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { passedBefore, recordPass } from "../compiler/check-cache.ts";
import { compileSpec } from "../compiler/compile.ts";
import { emitSpec } from "../compiler/emit/project.ts";
import type { IrSpec } from "../compiler/ir.ts";

const BIN = path.resolve("compiler/cli/bin.mjs");
let dir: string;
const saved = { FTI_CACHE_DIR: process.env.FTI_CACHE_DIR, FTI_NO_CACHE: process.env.FTI_NO_CACHE };

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-check-cache-"));
  process.env.FTI_CACHE_DIR = path.join(dir, "cache");
  delete process.env.FTI_NO_CACHE;
});

afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe("check cache", () => {
  it("a recorded pass holds only for the same key and unchanged files", () => {
    const dep = path.join(dir, "dep.d.ts");
    fs.writeFileSync(dep, "export type A = number;\n");
    recordPass("scope", "key-1", new Map([[dep, "export type A = number;\n"]]));
    expect(passedBefore("scope", "key-1")).toBe(true);
    expect(passedBefore("scope", "key-2")).toBe(false);
    expect(passedBefore("other scope", "key-1")).toBe(false);

    fs.writeFileSync(dep, "export type A = string;\n");
    expect(passedBefore("scope", "key-1")).toBe(false);
    fs.rmSync(dep);
    expect(passedBefore("scope", "key-1")).toBe(false);
  });

  it("a pass recorded against text the checker saw is not valid for a different file on disk", () => {
    const dep = path.join(dir, "dep.ts");
    fs.writeFileSync(dep, "on disk\n");
    recordPass("scope", "key", new Map([[dep, "what the checker read\n"]]));
    expect(passedBefore("scope", "key")).toBe(false);
  });

  it("a cache directory below a file is a miss, never an error", () => {
    fs.writeFileSync(path.join(dir, "file"), "in the way\n");
    process.env.FTI_CACHE_DIR = path.join(dir, "file", "cache");
    expect(() => recordPass("scope", "key", new Map())).not.toThrow();
    expect(passedBefore("scope", "key")).toBe(false);
  });

  it("an entry edited into another shape, or naming a file that is not a regular file, is a miss, never an error", () => {
    recordPass("scope", "key", new Map());
    const [entry] = fs.readdirSync(path.join(dir, "cache", "checks")).map((f) => path.join(dir, "cache", "checks", f));
    spawnSync("mkfifo", [path.join(dir, "fifo")]);
    // Each was a TypeError out of passedBefore (fti compile: exit 3, "a bug in fti"), or a read that never ends.
    for (const text of ["null", "[]", '"key"', '{"key":"key","files":null}', '{"key":"key","files":[1]}', '{"key":"key","files":{"/dev/zero":"x"}}', JSON.stringify({ key: "key", files: { [path.join(dir, "fifo")]: "x" } })]) {
      fs.writeFileSync(entry, text);
      expect(passedBefore("scope", "key"), text).toBe(false);
    }
  });

  it("FTI_NO_CACHE=1 turns it off", () => {
    const dep = path.join(dir, "dep.d.ts");
    fs.writeFileSync(dep, "x\n");
    recordPass("scope", "key", new Map([[dep, "x\n"]]));
    process.env.FTI_NO_CACHE = "1";
    expect(passedBefore("scope", "key")).toBe(false);
  });

  it("an extern module that changed after a passing check is checked again", () => {
    fs.writeFileSync(path.join(dir, "a.fti"), fs.readFileSync("specs/athlete.fti", "utf8"));
    fs.copyFileSync("specs/athlete.functions.ts", path.join(dir, "athlete.functions.ts"));
    const fti = () => spawnSync(process.execPath, [BIN, "check", "a.fti"], { cwd: dir, encoding: "utf8", env: { ...process.env, FTI_DEBUG: "" } });

    const first = fti();
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(fs.readdirSync(path.join(dir, "cache", "checks")).length).toBeGreaterThan(0);

    const module = path.join(dir, "athlete.functions.ts");
    fs.writeFileSync(module, fs.readFileSync(module, "utf8").replace("max_hr: number", "max_hr: string"));
    const second = fti();
    expect(second.status).toBe(1);
    expect(second.stderr).toContain("FTI3008");
  });

  it("generated code that passed is recorded, and a changed text in the same directory is checked again", async () => {
    const checked = await compileSpec("specs/athlete.fti", { checkOnly: true });
    const opts = { outDir: path.join(dir, "out"), specPath: "specs/athlete.fti", specFile: "specs/athlete.fti" };
    expect(emitSpec(checked.ir!, opts).diagnostics).toEqual([]);
    expect(fs.readdirSync(path.join(dir, "cache", "checks")).length).toBeGreaterThan(0);
    expect(emitSpec(checked.ir!, opts).diagnostics).toEqual([]); // the same text again: still clean

    const broken = structuredClone(checked.ir!) as IrSpec;
    broken.onDemand.find((o) => o.name === "pace_deviation")!.body = { k: "call", fn: "no_such_function", args: [], type: { base: "float", nullable: true } };
    const again = emitSpec(broken, opts).diagnostics;
    expect(again.map((d) => d.code)).toContain(5001);
  });
});
