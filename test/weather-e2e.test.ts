// The second example, on real data: `npm run weather` end to end in its own store.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";

it("npm run weather trains both models on real data and forecasts both cities", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-weather-"));
  try {
    const r = spawnSync("npm", ["run", "weather", "--silent"], { encoding: "utf8", env: { ...process.env, FTI_STORE: path.join(dir, "store.duckdb") } });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const model of ["tmax_forecast", "tmax_linear"]) {
      const m = new RegExp(`${model}@\\d+: MAE ([\\d.]+) °C \\(baseline ([\\d.]+) °C\\)`).exec(r.stdout);
      expect(m, r.stdout).not.toBeNull();
      // Yesterday's weather carries most of today's: well under half the baseline's error.
      expect(Number(m![1])).toBeLessThan(Number(m![2]) / 2);
    }
    expect(r.stdout).toMatch(/forecast for 2016-01-01, New York: -?[\d.]+ °C/);
    expect(r.stdout).toMatch(/forecast for 2016-01-01, Seattle: -?[\d.]+ °C/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);
