// `fti init`: the files of a new project, a starter spec that checks and is
// formatted, and never overwriting anything.

import { spawn, spawnSync } from "node:child_process";
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
const FILES = [".gitignore", ".npmrc", "README.md", "package.json", "specs/data/deliveries.csv", "specs/data/planned.csv", "specs/deliveries.fti", "tsconfig.json"];

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

describe("fti init: the README's commands, run as written", () => {
  // A newcomer runs the README's block in order: each command exits 0 (predict once failed: the
  // starter model has a request field, so it needs the --entities file the project now ships), and the
  // served model answers the README's curl. fti is linked into node_modules as `npm install` puts it.
  it("compile, features, train, predict, materialize, fmt exit 0; serve answers the curl", async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fti-init-")), "demo");
    expect(fti(["init", dir], os.tmpdir()).code).toBe(0);
    fs.mkdirSync(path.join(dir, "node_modules"));
    fs.symlinkSync(path.resolve("."), path.join(dir, "node_modules", "fti"), "dir");
    const readme = fs.readFileSync(path.join(dir, "README.md"), "utf8");
    const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
    const commands = blocks[0].split("\n").map((l) => l.replace(/#.*$/, "").trim()).filter((l) => l.startsWith("npx fti "));
    expect(commands.map((c) => c.split(" ")[2])).toEqual(["compile", "features", "train", "predict", "materialize", "serve", "fmt"]);
    let serveArgs: string[] = [];
    for (const c of commands) {
      const args = c.split(/\s+/).slice(2);
      if (args[0] === "serve") {
        serveArgs = args;
        continue;
      }
      const r = fti(args, dir);
      expect(r.code, `${c}\n${r.stdout}${r.stderr}`).toBe(0);
    }
    const curl = /curl -s localhost:8080(\S+) .* -d '(.*)'/.exec(blocks[1]);
    expect(curl).not.toBeNull();
    const server = spawn(process.execPath, [BIN, ...serveArgs, "--port", "0", "--no-watch", "--no-request-log"], { cwd: dir, env: { ...process.env, FTI_DEBUG: "" } });
    try {
      let out = "";
      const url = await new Promise<string>((resolve, reject) => {
        const read = (d: Buffer) => {
          out += d;
          const m = /serving .* at (http:\/\/\S+)/.exec(out); // on stderr, with the other status lines
          if (m) resolve(m[1]);
        };
        server.stdout.on("data", read);
        server.stderr.on("data", read);
        server.on("exit", (code) => reject(new Error(`serve exited ${code}: ${out}`)));
        setTimeout(() => reject(new Error(`serve did not start in 120 s: ${out}`)), 120_000).unref();
      });
      const res = await fetch(url + curl![1], { method: "POST", headers: { "content-type": "application/json" }, body: curl![2] });
      const body = (await res.json()) as { prediction?: number };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(typeof body.prediction).toBe("number");
    } finally {
      server.kill("SIGTERM");
      await new Promise((r) => (server.exitCode !== null || server.signalCode !== null ? r(null) : server.once("exit", r)));
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    }
  }, 300_000);
});
