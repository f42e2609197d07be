// Files that flags name for a command to read whole (`--token-file`,
// `--admin-token-file`, `register --onnx`): a device that never ends was read
// until the process ran out of memory (`fti serve --token-file /dev/zero`
// never started), a directory was "no such file". Now each is exit 1 naming
// the flag and the file, at once. So is a `--logs` that is a file (a server
// took every request and lost every log entry).

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../runtime/errors.ts";
import { readInputFile } from "../runtime/input-file.ts";

const BIN = path.resolve("compiler/cli/bin.mjs");
const fti = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, FTI_DEBUG: "", FTI_TOKEN: "", FTI_ADMIN_TOKEN: "" } });

const refusal = (file: string, max = 1024) => {
  try {
    readInputFile(file, "--flag", max);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  return null;
};

describe("readInputFile", () => {
  it("reads a regular file whole, and refuses one past the bound, a directory, a device and a missing file", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-input-"));
    try {
      const small = path.join(dir, "tokens");
      fs.writeFileSync(small, "0123456789abcdef\n");
      expect(readInputFile(small, "--flag", 1024).toString()).toBe("0123456789abcdef\n");
      const big = path.join(dir, "big");
      fs.writeFileSync(big, Buffer.alloc(2048, 1));
      expect(refusal(big)).toBe(`--flag ${big}: larger than 1 KB`);
      expect(refusal(dir)).toBe(`--flag ${dir}: is a directory`);
      expect(refusal("/dev/zero")).toBe("--flag /dev/zero: is a device, not a file");
      expect(refusal(path.join(dir, "missing"))).toBe(`--flag ${path.join(dir, "missing")}: no such file`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the flags", () => {
  it.each([
    [["serve", "specs/athlete.fti", "--port", "0", "--token-file", "/dev/zero"], "the API token file /dev/zero: is a device, not a file"],
    [["serve", "specs/athlete.fti", "--port", "0", "--admin-token-file", "/dev/urandom"], "the admin token file /dev/urandom: is a device, not a file"],
    [["register", "specs/athlete.fti", "time_estimator", "--onnx", "/dev/zero"], "--onnx /dev/zero: is a device, not a file"],
    [["register", "specs/athlete.fti", "time_estimator", "--onnx", "specs"], "--onnx specs: is a directory"],
    [["serve", "specs/athlete.fti", "--port", "0", "--logs", "/dev/null"], "--logs /dev/null is not a directory"],
    [["verify", "specs/athlete.fti", "time_estimator", "--logs", "package.json"], "--logs package.json is not a directory"],
  ])("fti %j is exit 1 naming the flag", (args, message) => {
    const r = fti([...args, "--store", path.join(os.tmpdir(), `fti-input-${process.pid}.duckdb`)]);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toMatch(/internal error|bug in fti/);
    expect(r.status).toBe(1);
  }, 90_000);
});
