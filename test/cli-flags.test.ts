// Flag values read by hand (runtime/cli/flags.ts): a value of the wrong form
// is a usage error, exit 2 (not 1, wrong input), one line naming the flag,
// the value and what the flag expects, said before any spec is loaded or any
// store opened — across every command that takes such a flag.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { badFlagValue, durationFlag, keyValueFlags, memorySizeFlag, positiveNumberFlag, timeFlag, wholeNumberFlag } from "../runtime/cli/flags.ts";
import { UsageError } from "../runtime/errors.ts";
import { ensureRegistry } from "../runtime/registry/registry.ts";
import { openStore } from "../runtime/store/store.ts";

const BIN = path.resolve("compiler/cli/bin.mjs");

describe("the flag readers", () => {
  it("read good values", () => {
    expect(timeFlag("2025-06-01", "--at")?.toISOString()).toBe("2025-06-01T00:00:00.000Z");
    expect(timeFlag("2025-06-01T06:30:00", "--at")?.toISOString()).toBe("2025-06-01T06:30:00.000Z");
    expect(timeFlag(undefined, "--at")).toBeUndefined();
    expect(durationFlag("90s", "--window")).toBe(90_000);
    expect(durationFlag("1.5h", "--window")).toBe(5_400_000);
    expect(timeFlag("9999-12-31T23:59:59Z", "--to")?.toISOString()).toBe("9999-12-31T23:59:59.000Z");
    expect(timeFlag("0001-01-01", "--from")?.toISOString()).toBe("0001-01-01T00:00:00.000Z");
    expect(durationFlag("3650000d", "--window")).toBe(3_650_000 * 86_400_000);
    expect(wholeNumberFlag("7", "--k", 1, 100)).toBe(7);
    expect(positiveNumberFlag("0.5", "--speed")).toBe(0.5);
    expect(keyValueFlags(["a=1", "b=x=y"], "--entity", "a=1")).toEqual({ a: "1", b: "x=y" });
    expect(memorySizeFlag("2GB", "--memory-limit", 64e6)).toBe("2GB");
    expect(memorySizeFlag(" 1.5GiB ", "--memory-limit", 64e6)).toBe("1.5GiB");
    expect(memorySizeFlag("off", "--memory-limit", 64e6)).toBeNull();
    expect(memorySizeFlag("None", "--memory-limit", 64e6)).toBeNull();
    expect(memorySizeFlag(undefined, "--memory-limit", 64e6)).toBeUndefined();
  });

  it("refuse bad ones with a UsageError naming the flag, the value and what it expects", () => {
    const cases: Array<[() => unknown, string]> = [
      [() => timeFlag("yesterday", "--as-of"), "--as-of yesterday: expected a date or timestamp"],
      [() => durationFlag("1 day", "--window"), "--window 1 day: expected a duration"],
      [() => durationFlag("0s", "--window"), "--window 0s: expected a duration"],
      // Past year 9999 (or a window reaching past the dates JS and DuckDB hold) the commands failed with exit 3.
      [() => timeFlag("99999-01-01", "--to"), "--to 99999-01-01: expected a date or timestamp in the years 1 to 9999"],
      [() => timeFlag("+010000-01-01T00:00:00Z", "--now"), "--now +010000-01-01T00:00:00Z: expected a date or timestamp in the years 1 to 9999"],
      [() => timeFlag("-000001-01-01T00:00:00Z", "--as-of"), "--as-of -000001-01-01T00:00:00Z: expected a date or timestamp in the years 1 to 9999"],
      [() => durationFlag("99999999999d", "--window"), "--window 99999999999d: expected a duration of at most 3650000d (10,000 years)"],
      [() => wholeNumberFlag("abc", "--k", 1, 100), "--k abc: expected a whole number from 1 to 100"],
      [() => wholeNumberFlag("2.5", "--k", 1, 100), "--k 2.5: expected a whole number from 1 to 100"],
      [() => wholeNumberFlag("101", "--k", 1, 100), "--k 101: expected a whole number from 1 to 100"],
      [() => wholeNumberFlag("", "--limit", 1), "--limit : expected a whole number from 1"],
      [() => wholeNumberFlag("1e3", "--limit", 1), "--limit 1e3: expected a whole number from 1"],
      [() => positiveNumberFlag("-1", "--speed"), "--speed -1: expected a positive number"],
      [() => positiveNumberFlag(" ", "--log-max-file-mb", "megabytes"), "--log-max-file-mb  : expected a positive number of megabytes"],
      [() => keyValueFlags(["athlete_id"], "--entity", "athlete_id=a0001"), "--entity athlete_id: expected KEY=VALUE"],
      [() => memorySizeFlag("lots", "--memory-limit", 64e6), "--memory-limit lots: expected a size of at least 64MB"],
      [() => memorySizeFlag("10MB", "--memory-limit", 64e6), "--memory-limit 10MB: expected a size of at least 64MB"],
      [() => memorySizeFlag("-1GB", "--memory-limit", 64e6), "--memory-limit -1GB: expected a size of at least 64MB"],
    ];
    for (const [read, message] of cases) {
      expect(read).toThrow(UsageError);
      expect(read).toThrow(message);
    }
    expect(badFlagValue("--x", "y", "z").message).toBe("--x y: expected z");
  });
});

describe("every command: a bad flag value is exit 2, before anything runs", () => {
  // No spec and no store exist in the directory: a usage error must come first.
  const cases: string[][] = [
    ["search", "a.fti", "notes", "--query", "x", "--k", "abc"],
    ["search", "a.fti", "notes", "--query", "x", "--at", "yesterday"],
    ["search", "a.fti", "notes", "--query", "x", "--entity", "athlete_id"],
    ["predict", "a.fti", "m", "--as-of", "yesterday"],
    ["predict", "a.fti", "m", "--version", "two"],
    ["features", "a.fti", "--from", "soon"],
    ["training-data", "a.fti", "v", "--out", "x.parquet", "--memory-limit", "lots"],
    ["materialize", "a.fti", "--to", "later"],
    ["materialize", "a.fti", "--to", "99999-01-01"],
    ["serve", "a.fti", "--now", "99999-01-01"],
    ["monitor", "a.fti", "m", "--window", "99999999999d"],
    ["verify", "a.fti", "m", "--since", "last week"],
    ["serve", "a.fti", "--port", "http"],
    ["serve", "a.fti", "--log-max-file-mb", "lots"],
    ["serve", "a.fti", "--agent-max-steps", "-3"],
    ["serve", "a.fti", "--now", "noon"],
    ["monitor", "a.fti", "m", "--window", "1 day"],
    ["monitor", "a.fti", "m", "--since", "monday"],
    ["monitor", "a.fti", "m", "--fail-on", "psi>>1"],
    ["run", "a.fti", "--interval", "often"],
    ["run", "a.fti", "--from", "2025-06-02", "--to", "2025-06-01"],
    ["runs", "--limit", "0"],
    ["replay", "a.fti", "--speed", "fast"],
    ["replay", "a.fti", "--last", "a while"],
    ["mcp", "a.fti", "--now", "now-ish"],
    ["serve", "a.fti", "--online-store", "mongodb://x"],
    ["materialize", "a.fti", "--online-store", "redis://a:1,b:2"],
    // An empty --store (an unset variable in --store "$STORE") ran on the default store.
    ["features", "a.fti", "--store", ""],
    ["predict", "a.fti", "m", "--store", " "],
    ["serve", "a.fti", "--store", ""],
    ["run", "a.fti", "--once", "--store", ""],
    ["monitor", "a.fti", "m", "--store", ""],
    ["models", "list", "--store", ""],
  ];

  // $FTI_ONLINE_STORE stands in for --online-store: a malformed value is the same usage error.
  const envCases: [string[], Record<string, string>][] = [
    [["run", "a.fti", "--once"], { FTI_ONLINE_STORE: "redis://a:99999" }],
    [["serve", "a.fti"], { FTI_ONLINE_STORE: "redis://u:%zz@a" }],
  ];

  it.each([...cases.map((c) => [c.join(" "), c, {}] as const), ...envCases.map(([c, env]) => [`${c.join(" ")} with ${JSON.stringify(env)}`, c, env] as const)])("fti %s", (_, args, extraEnv) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-flags-"));
    try {
      const env = { ...process.env, FTI_DEBUG: "", FTI_STORE: "", FTI_ONLINE_STORE: "", ...extraEnv };
      const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8", env });
      expect({ code: r.status, stderr: r.stderr }).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: /) });
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(fs.readdirSync(dir)).toEqual([]); // nothing opened or written
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a model reference's version", () => {
  it.each([["show"], ["promote"]])("fti models %s m@<a version beyond the registry's integers> says so, exit 1, not 'a bug in fti'", async (sub) => {
    // It reached DuckDB as a parameter: "bigint out of int64 range", exit 3.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-ref-"));
    try {
      const store = await openStore({ path: path.join(dir, "s.duckdb") });
      await ensureRegistry(store);
      await store.close();
      const r = spawnSync(process.execPath, [BIN, "models", sub, "m@99999999999999999999", "--store", path.join(dir, "s.duckdb")], { cwd: dir, encoding: "utf8", env: { ...process.env, FTI_DEBUG: "" } });
      expect({ code: r.status, stderr: r.stderr }).toEqual({ code: 1, stderr: "error: `m@99999999999999999999`: version 99999999999999999999 is beyond any version (at most 2147483647)\n" });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
