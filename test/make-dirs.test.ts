// makeDirs (runtime/make-dirs.ts): `mkdir -p` that fails where Node's
// recursive mkdir spun for ever. Under /proc, making a folder fails with
// ENOENT although its parent exists, and mkdirSync(…, {recursive: true})
// retried in a loop at 100 % CPU: `fti init /proc/x`, `--store /proc/x/…`,
// `--out /proc/x/…` never returned, and the request log's async recursive
// mkdir (`fti serve --logs /proc/x`) spun on a thread-pool thread. The commands run as child processes with
// a time limit, so the old behaviour fails the test instead of hanging it.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeDirs } from "../runtime/make-dirs.ts";

const BIN = path.resolve("compiler/cli/bin.mjs");
const LIMIT_MS = 120_000;
const fti = (args: string[], cwd: string) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: "utf8", timeout: LIMIT_MS, env: { ...process.env, FTI_DEBUG: "" } });
  return { code: r.status, signal: r.signal, stderr: r.stderr };
};

describe("makeDirs", () => {
  it("makes every missing folder of a path, and is a no-op when they exist", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fti-dirs-"));
    const deep = path.join(tmp, "a", "b", "c");
    makeDirs(deep);
    expect(fs.statSync(deep).isDirectory()).toBe(true);
    makeDirs(deep);
    fs.writeFileSync(path.join(tmp, "file"), "");
    expect(() => makeDirs(path.join(tmp, "file", "x"))).toThrow(/ENOTDIR/);
  });

  it.runIf(fs.existsSync("/proc/self"))("fails at once under /proc, where Node's recursive mkdir spun for ever", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fti-dirs-"));
    const r = fti(["init", "/proc/fti-no-such-dir"], tmp);
    expect(r.signal, "fti init did not return").toBeNull();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("/proc/fti-no-such-dir: cannot write the project (ENOENT)");
    const child = spawnSync(
      process.execPath,
      ["--import", "tsx", "-e", `import("${path.resolve("runtime/make-dirs.ts")}").then((m) => m.makeDirs("/proc/fti-no-such-dir/x"))`],
      { encoding: "utf8", timeout: LIMIT_MS },
    );
    expect(child.signal, "makeDirs did not return").toBeNull();
    expect(child.stderr).toContain("ENOENT");
  });

  it.runIf(fs.existsSync("/proc/self"))("the request log's first write under /proc reports ENOENT (its async recursive mkdir spun for ever too)", () => {
    const script =
      `import("${path.resolve("runtime/online/log.ts")}").then(async ({ RequestLog }) => {` +
      `  const log = new RequestLog("/proc/fti-no-such-dir/logs", { onError: (e) => console.error(e.message), onRecover: () => {} });` +
      `  log.append({ v: 2, id: "r", ts: new Date().toISOString(), model: "m", version: 1, request: {}, features: {}, feature_times: {}, odts: {}, prediction: 1 });` +
      `  await log.close(); })`;
    const child = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { encoding: "utf8", timeout: LIMIT_MS });
    expect(child.signal, "the request log's write did not return").toBeNull();
    expect(child.stderr).toContain("ENOENT");
  });
});
