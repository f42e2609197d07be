// `fti serve` on a spec that serves nothing online is an error said before
// serve writes anything: no admin token file (made up, and written only once
// the server is up), no store, no request log.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const BIN = path.resolve("compiler/cli/bin.mjs");

describe("fti serve on a spec that serves nothing", () => {
  it("exits 1 with the error and its hint, and writes no admin.token, store or log", () => {
    // inside the project, so the generated code finds package.json and fti/runtime above it
    fs.mkdirSync(path.resolve(".fti"), { recursive: true });
    const dir = fs.mkdtempSync(path.resolve(".fti", "serve-nothing-"));
    try {
      fs.writeFileSync(path.join(dir, "quiet.fti"), 'source s {\n  path "s.csv"\n  fields {\n    a: int\n  }\n}\n');
      fs.writeFileSync(path.join(dir, "s.csv"), "a\n1\n");
      const env = { ...process.env, FTI_DEBUG: "", FTI_STORE: "", FTI_ONLINE_STORE: "", FTI_ADMIN_TOKEN: "", FTI_TOKEN: "" };
      const r = spawnSync(process.execPath, [BIN, "serve", "quiet.fti", "--store", "state/store.duckdb", "--port", "0"], { cwd: dir, encoding: "utf8", env });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("error: spec `quiet` serves nothing online: no model, agent, index or stream");
      expect(r.stderr).toContain("hint: add `serve <model> { online }` to the spec");
      expect(r.stderr).not.toContain("admin token written");
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(fs.existsSync(path.join(dir, "state"))).toBe(false);
      // what compiling the spec writes (the generated code, the checker's cache), nothing of serve's
      expect(fs.readdirSync(dir).sort()).toEqual([".fti", "generated", "quiet.fti", "s.csv"]);
      expect(fs.readdirSync(path.join(dir, ".fti"))).toEqual(["cache"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
