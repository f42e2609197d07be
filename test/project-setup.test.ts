// A spec outside an fti project, run as a new user would: the CLI says what is
// missing (a package.json of ES modules, fti installed) instead of Node's
// require/resolve errors dressed as a bug in fti; and a source whose every row
// is quarantined (a date format the spec does not read) fails `fti features`
// with the kinds of reasons, not a silent empty store.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = path.resolve("compiler/cli/bin.mjs");
const SPEC = `source prices {
  path "data/prices.csv"
  event_time date
  fields {
    symbol: string
    date: timestamp
    price: float check (> 0)
  }
}

entity stock {
  key symbol: string
}

feature_group trend for stock from prices {
  avg_3m = avg(price) over 92d
}
`;

let dir: string;
const fti = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, FTI_STORE: "" } });
const writeCsv = (rows: string[]) => fs.writeFileSync(path.join(dir, "data/prices.csv"), ["symbol,date,price", ...rows].join("\n") + "\n");

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-setup-"));
  fs.mkdirSync(path.join(dir, "data"));
  fs.writeFileSync(path.join(dir, "stocks.fti"), SPEC);
  writeCsv(["MSFT,Jan 1 2000,39.81", "MSFT,Feb 1 2000,36.35", "IBM,Jan 1 2000,100.52"]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("a spec outside an fti project", () => {
  it("without a package.json: exit 1, naming what is missing and `fti init`", () => {
    const r = fti("features", "stocks.fti");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no package.json in generated/stocks or any folder above it");
    expect(r.stderr).toContain("fti init DIR");
    expect(r.stderr).not.toMatch(/internal error|    at /);
  });

  it('with a package.json that is not "type": "module": exit 1, saying so', () => {
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "stocks" }));
    const r = fti("features", "stocks.fti");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('package.json does not say "type": "module"');
  });

  it("without fti installed: exit 1, naming npm install", () => {
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "stocks", type: "module" }));
    const r = fti("features", "stocks.fti");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("imports fti/runtime, and fti is not installed in this project");
  });
});

describe("a source whose every row is quarantined", () => {
  beforeAll(() => {
    fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true });
    fs.symlinkSync(path.resolve("."), path.join(dir, "node_modules/fti"), "dir");
  });

  it("fails `fti features` (exit 1) after storing the quarantine, with each kind of reason once and how often", () => {
    const r = fti("features", "stocks.fti");
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("source prices: 3 rows read, 0 valid, 3 quarantined");
    expect(r.stderr).toContain("prices: 3 rows like date: 'Feb 1 2000' is not a timestamp");
    expect(r.stderr).toContain("error: every row of `prices` (3 rows) was quarantined");
    expect(r.stderr).toContain("ISO 8601");
  });

  it("a partly bad file succeeds and counts each kind of reason", () => {
    writeCsv(["MSFT,2000-01-01,39.81", "MSFT,Feb 1 2000,36.35", "IBM,2000-01-01,-1", "IBM,2000-02-01,-2", "IBM,2000-03-01,7"]);
    const r = fti("features", "stocks.fti");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("source prices: 5 rows read, 2 valid, 3 quarantined");
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("  prices: ") && l.includes(" like "));
    expect(lines).toEqual(["  prices: 2 rows like price: -1 fails check (> 0)", "  prices: 1 row like date: 'Feb 1 2000' is not a timestamp"]);
  });
});
