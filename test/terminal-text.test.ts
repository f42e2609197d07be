// Text from data or requests printed on the user's terminal shows control
// characters as escapes: a CSV value (or a request's entity key) holding ESC
// sequences was printed as it is by `fti features` (a quarantined row's
// example), `fti models show` (a category's value) and `fti verify` (an
// entity's keys), and could retitle the window or clear the screen.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatStatistics } from "../runtime/monitor/format.ts";
import type { ColumnStatistics } from "../runtime/statistics/statistics.ts";
import { terminalText } from "../runtime/terminal-text.ts";

const BIN = path.resolve("compiler/cli/bin.mjs");
const EVIL = "\u001b]0;pwned\u0007\u001b[2J\u009b31mred\u202eevil";
const SHOWN = "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31mred\\u{202e}evil";
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe("text from data on the terminal", () => {
  it("shows control characters (C0, DEL, C1) and bidirectional controls as escapes, the rest as it is", () => {
    expect(terminalText(EVIL)).toBe(SHOWN);
    expect(terminalText("café 日本 \u00a0x\u007f\n")).toBe("café 日本 \u00a0x\\x7f\\x0a");
  });

  it("fti models show: a category's value", () => {
    const num: ColumnStatistics = { name: "y", type: "float", count: 1, nulls: 0, null_rate: 0 };
    const lines = formatStatistics({
      features: [{ name: "color", type: "string", count: 2, nulls: 0, null_rate: 0, categorical: { top: [{ value: EVIL, fraction: 1 }], other: 0, distinct: 1 } }],
      label: num,
      predictions: num,
    });
    expect(lines[1]).toContain(`1 distinct: ${SHOWN} 100%`);
    expect(lines.join("\n")).not.toMatch(RAW);
  });

  it("fti features: a quarantined row's example", () => {
    // Inside the repository: its package.json makes it the project.
    const dir = fs.mkdtempSync(path.resolve(".fti", "terminal-text-"));
    try {
      fs.writeFileSync(path.join(dir, "s.fti"), 'source s {\n  path "x.csv"\n  fields {\n    a: int\n    b: string in ("x", "y")\n  }\n}\n');
      fs.writeFileSync(path.join(dir, "x.csv"), `a,b\n1,x\n2,"${EVIL}"\n`);
      const r = spawnSync(process.execPath, [BIN, "features", "s.fti"], { cwd: dir, encoding: "utf8", env: { ...process.env, FTI_STORE: path.join(dir, "s.duckdb"), FTI_DEBUG: "" } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`s: 1 row like b: '${SHOWN}' not in (x, y)`);
      expect(r.stdout + r.stderr).not.toMatch(RAW);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
