// The CLI in a hostile environment: a reader that closes the pipe early (#13),
// an extern module given by an absolute path (#12), and stores that are full,
// damaged, read-only or not files at all (#14): each is exit 1 with what to
// do, never exit 3 "this is a bug in fti".

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openStore } from "../runtime/store/store.ts";
import { writeAthleteSources } from "./helpers/athlete-sources.ts";
import { buildToyStore } from "./helpers/online-toy.ts";

const BIN = path.resolve("compiler/cli/bin.mjs");

/** Runs fti with stdout closed by the reader as soon as the child starts; resolves with exit code and stderr. */
function closedPipe(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FTI_DEBUG: "" } });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => done({ code, stderr }));
  });
}

describe("a closed stdout (EPIPE)", () => {
  it("ends quietly with the command's own exit code, no stack trace", async () => {
    const r = await closedPipe(["explain", "specs/athlete.fti"]);
    expect(r.stderr).not.toMatch(/EPIPE|at .*\(.*:\d+:\d+\)|internal error/);
    expect(r.code).toBe(0);
  }, 60_000);
});

describe("an extern module by absolute path (#12)", () => {
  it("inside the project compiles to a working import; outside it is FTI2015", () => {
    const dir = fs.mkdtempSync(path.join(process.cwd(), ".fti-test-abs-"));
    try {
      const abs = path.resolve("specs/athlete.functions.ts");
      const text = fs.readFileSync("specs/athlete.fti", "utf8").replace(`from "./athlete.functions.ts"`, `from ${JSON.stringify(abs)}`);
      expect(text).toContain(abs);
      const spec = path.join(dir, "abs.fti");
      // The data path is relative to the spec: point it at the athlete data from the temp folder.
      fs.writeFileSync(spec, text.replace(`path "data/athlete/activities.csv"`, `path "../specs/data/athlete/activities.csv"`));
      const out = path.join(dir, "gen");
      const r = spawnSync(process.execPath, [BIN, "compile", spec, "--out", out], { encoding: "utf8", env: { ...process.env, FTI_DEBUG: "" } });
      expect(r.stderr).not.toContain("FTI5001");
      expect(r.status).toBe(0);
      const functions = fs.readFileSync(path.join(out, "functions.ts"), "utf8");
      const imported = /from "([^"]*athlete\.functions\.ts)"/.exec(functions)![1];
      expect(path.resolve(out, imported)).toBe(abs);

      fs.writeFileSync(spec, text.replace(JSON.stringify(abs), JSON.stringify("/tmp/elsewhere.functions.ts")));
      const outside = spawnSync(process.execPath, [BIN, "check", spec], { encoding: "utf8" });
      expect(outside.status).toBe(1);
      expect(outside.stdout + outside.stderr).toContain("FTI2015");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("a hand-edited transforms.ts (#7)", () => {
  it("is refused before any model is used: exit 1 naming the file, not served", () => {
    const dir = fs.mkdtempSync(path.join(process.cwd(), ".fti-test-edit-"));
    try {
      fs.mkdirSync(path.join(dir, "specs"));
      for (const f of ["athlete.fti", "athlete.functions.ts"]) fs.copyFileSync(path.join("specs", f), path.join(dir, "specs", f));
      fs.cpSync("generated/athlete", path.join(dir, "generated", "athlete"), { recursive: true });
      const run = (args: string[]) =>
        spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, FTI_DEBUG: "", FTI_STORE: path.join(dir, "store.duckdb") } });
      // Untouched: the spec loads (models lists an empty registry).
      const clean = run(["models", "specs/athlete.fti"]);
      expect(clean.stderr).not.toContain("was changed after it was generated");
      const file = path.join(dir, "generated", "athlete", "transforms.ts");
      const text = fs.readFileSync(file, "utf8");
      expect(text).toContain("60));");
      fs.writeFileSync(file, text.replace("60));", "61));"));
      for (const args of [["predict", "specs/athlete.fti", "time_estimator", "--entities", "a0001"], ["serve", "specs/athlete.fti", "--port", "0"]]) {
        const r = run(args);
        expect(r.status).toBe(1);
        expect(r.stderr).toMatch(/generated\/athlete\/transforms\.ts was changed after it was generated/);
        expect(r.stderr).toContain("fti compile specs/athlete.fti");
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("stores the environment broke (#14)", () => {
  const fti = (args: string[], store: string) =>
    spawnSync(process.execPath, [BIN, ...args, "--store", store], { encoding: "utf8", env: { ...process.env, FTI_DEBUG: "" } });
  const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), "fti-env-"));

  /** A small real store: the registry tables and a table of data. */
  async function makeStore(file: string): Promise<void> {
    const s = await openStore({ path: file });
    await s.run("CREATE TABLE filler AS SELECT i, 'x' || i AS s FROM range(200000) r(i)");
    await s.close();
  }

  it("a file the kernel cannot read (an input/output error) is exit 1 with what to do", () => {
    const r = fti(["models"], "/proc/self/mem");
    expect(r.stderr).toMatch(/the store cannot be read: an input\/output error \(\/proc\/self\/mem\)[\s\S]*hint: a store is a regular DuckDB file/);
    expect(r.stderr).not.toMatch(/internal error|bug in fti/);
    expect(r.status).toBe(1);
  }, 60_000);

  it("a directory, a truncated file and a file that is not a store are exit 1 with what to do", async () => {
    const d = dir();
    try {
      const truncated = path.join(d, "truncated.duckdb");
      await makeStore(truncated);
      fs.truncateSync(truncated, Math.floor(fs.statSync(truncated).size / 2));
      const garbage = path.join(d, "garbage.duckdb");
      fs.writeFileSync(garbage, "not a database\n".repeat(2000));
      const cases: Array<[string, RegExp]> = [
        [d, /store path is a directory[\s\S]*hint: pass the path of a file/],
        [truncated, /store is damaged[\s\S]*hint: restore it from a backup/],
        [garbage, /store is damaged[\s\S]*hint: restore it from a backup/],
      ];
      for (const [store, expected] of cases) {
        for (const args of [["models"], ["materialize", "specs/athlete.fti"]]) {
          const r = fti(args, store);
          expect(r.stderr, `${args[0]} on ${path.basename(store)}`).toMatch(expected);
          expect(r.stderr).not.toMatch(/internal error|bug in fti/);
          expect(r.status).toBe(1);
        }
      }
      // Nothing was written into the damaged files.
      expect(fs.readFileSync(garbage, "utf8")).toBe("not a database\n".repeat(2000));
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);

  it("a store damaged in the middle is refused before anything is written into it: the file stays byte for byte", async () => {
    const d = dir();
    try {
      const store = path.join(d, "store.duckdb");
      await makeStore(store);
      // Damage the data blocks of `filler` (not the file's headers or the catalog): DuckDB only notices when it reads such a block.
      const s = await openStore({ path: store, readOnly: true });
      const blocks = await s.all<{ block_id: number }>("SELECT DISTINCT block_id FROM pragma_storage_info('filler') WHERE block_id >= 0");
      await s.close();
      expect(blocks.length).toBeGreaterThan(1);
      const fd = fs.openSync(store, "r+");
      for (const { block_id } of blocks) fs.writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, 3 * 4096 + Number(block_id) * 262_144 + 1024); // 3 header blocks of 4 KB, then 256 KB blocks
      fs.closeSync(fd);
      const before = fs.readFileSync(store);
      for (const args of [["materialize", "specs/athlete.fti"], ["models", "promote", "m@1"]]) {
        const r = fti(args, store);
        expect(r.stderr, args.join(" ")).toMatch(/store is damaged[\s\S]*hint: restore it from a backup/);
        expect(r.stderr).not.toMatch(/internal error|bug in fti/);
        expect(r.status).toBe(1);
      }
      expect(fs.readFileSync(store).equals(before)).toBe(true);
      expect(fs.existsSync(`${store}.wal`)).toBe(false);
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);

  it("a store another process holds for a moment (a serving process's reload): fti models promote waits, then promotes", async () => {
    const toy = await buildToyStore({ train: ["toy_gbdt"] });
    try {
      // The holder opens the store read-only, as `fti serve` does to reload, and keeps it 1.5 s.
      const holder = spawn(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `import { DuckDBInstance } from "@duckdb/node-api";
           const i = await DuckDBInstance.create(${JSON.stringify(toy.storePath)}, { access_mode: "READ_ONLY" });
           await i.connect(); console.log("holding"); setTimeout(() => process.exit(0), 1500);`,
        ],
        { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] },
      );
      const exited = new Promise<number | null>((done) => holder.on("exit", done));
      await new Promise<void>((ok, fail) => {
        holder.stdout!.on("data", (b: Buffer) => b.toString().includes("holding") && ok());
        holder.on("exit", (code) => fail(new Error(`holder exited with ${code}`)));
      });
      const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
        const child = spawn(process.execPath, [BIN, "models", "promote", "toy_gbdt@1", "--store", toy.storePath], { env: { ...process.env, FTI_DEBUG: "" } });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (b) => (stdout += b));
        child.stderr.on("data", (b) => (stderr += b));
        child.on("close", (status) => done({ status, stdout, stderr }));
      });
      expect(await exited).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("toy_gbdt@1 is now production");
      expect(r.status).toBe(0);
    } finally {
      toy.cleanup();
    }
  }, 120_000);

  it("read-only commands open the store read-only: they work on a read-only file system", async (t) => {
    const d = dir();
    const mnt = path.join(d, "ro");
    fs.mkdirSync(mnt);
    try {
      await makeStore(path.join(d, "store.duckdb"));
      if (!mountOrSkip(t, ["--bind", d, mnt])) return;
      try {
        if (spawnSync("mount", ["-o", "remount,ro,bind", mnt]).status !== 0) return void t.skip();
        const store = path.join(mnt, "store.duckdb");
        const list = fti(["models"], store);
        expect(list.stderr).toBe("");
        expect(list.status).toBe(0);
        const write = fti(["materialize", "specs/athlete.fti"], store);
        expect(write.stderr).toMatch(/read-only/);
        expect(write.stderr).not.toMatch(/internal error|bug in fti/);
        expect(write.status).toBe(1);
      } finally {
        spawnSync("umount", [mnt]);
      }
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);

  it("a full disk (a small tmpfs) is exit 1 saying the disk is full, and the store stays usable", async (t) => {
    const d = dir();
    try {
      if (!mountOrSkip(t, ["-t", "tmpfs", "-o", "size=256k", "tmpfs", d])) return;
      // Its own project copy with its own data: specs/data/ is written by other
      // suites (npm start) and does not exist in a fresh clone.
      const project = fs.mkdtempSync(path.join(process.cwd(), ".fti-test-disk-"));
      try {
        fs.mkdirSync(path.join(project, "specs"), { recursive: true });
        for (const f of ["athlete.fti", "athlete.functions.ts"]) fs.copyFileSync(path.join("specs", f), path.join(project, "specs", f));
        fs.cpSync("generated/athlete", path.join(project, "generated", "athlete"), { recursive: true });
        await writeAthleteSources(path.join(project, "specs"), { athletes: 20, days: 120, seed: 7 });
        const store = path.join(d, "store.duckdb");
        const r = spawnSync(process.execPath, [BIN, "features", "specs/athlete.fti", "--store", store], {
          cwd: project,
          encoding: "utf8",
          env: { ...process.env, FTI_DEBUG: "" },
        });
        expect(r.stderr).toMatch(/disk is full[\s\S]*hint: free space/);
        expect(r.stderr).not.toMatch(/internal error|bug in fti/);
        expect(r.status).toBe(1);
        const after = fti(["models"], store);
        expect(after.stderr).toBe("");
        expect(after.status).toBe(0);
      } finally {
        spawnSync("umount", [d]);
        fs.rmSync(project, { recursive: true, force: true });
      }
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  }, 180_000);
});

/** Mounts (root only); skips the test, with the reason shown, where mounting is impossible. */
function mountOrSkip(t: { skip: (note?: string) => void }, args: string[]): boolean {
  const r = spawnSync("mount", args, { encoding: "utf8" });
  if (r.status === 0) return true;
  t.skip(`cannot mount (${(r.stderr || r.error?.message || "").trim()}): needs root, as in CI`);
  return false;
}

describe("the checker's limits (#11)", () => {
  it("a chain of 5,000 `+` terms is FTI1007, not a stack overflow", () => {
    const dir = fs.mkdtempSync(path.join(process.cwd(), ".fti-test-deep-"));
    try {
      const spec = path.join(dir, "deep.fti");
      fs.writeFileSync(spec, `fn long_sum(x: float): float = ${Array(5000).fill("x").join(" + ")}\n`);
      const r = spawnSync(process.execPath, [BIN, "check", spec], { encoding: "utf8", env: { ...process.env, FTI_DEBUG: "" } });
      expect(r.stdout + r.stderr).toContain("FTI1007");
      expect(r.stdout + r.stderr).not.toMatch(/internal error|call stack/);
      expect(r.status).toBe(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
