// test/helpers/athlete-sources.ts: the tests that copy the athlete spec get
// a file for every source the spec declares, found from the spec itself.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { athleteSourcePaths, writeAthleteSources } from "./helpers/athlete-sources.ts";

describe("writeAthleteSources", () => {
  it("writes a file with rows for every source of specs/athlete.fti, where the spec reads it", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-athlete-sources-"));
    try {
      const sources = athleteSourcePaths();
      expect(sources.size).toBeGreaterThanOrEqual(3);
      const written = await writeAthleteSources(dir, { athletes: 3, days: 30, seed: 1 });
      expect([...written.keys()].sort()).toEqual([...sources.keys()].sort());
      for (const [name, rel] of sources) {
        const lines = fs.readFileSync(path.join(dir, rel), "utf8").trim().split("\n");
        expect(lines.length, name).toBeGreaterThan(1); // a header and rows
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("fails, naming it, for a source it has no writer for", async () => {
    const spec = fs.readFileSync("specs/athlete.fti", "utf8") + '\nsource weather_log {\n  path "data/athlete/weather.csv"\n  fields {\n    day: timestamp\n  }\n}\n';
    await expect(writeAthleteSources(os.tmpdir(), { athletes: 1, days: 1, seed: 1 }, spec)).rejects.toThrow(/no writer for athlete source\(s\) weather_log/);
  });
});
