// What the checker says about global groups (a feature_group without `for`)
// where a key is needed: each case is one spec, its diagnostics' codes and
// messages. (FTI4070, `by` on a global group, has its fixture in
// test/fixtures/diagnostics/.)

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSpec } from "../compiler/compile.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-global-checks-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const BASE = `
source weather {
  path "weather.csv"
  event_time date
  unique (location, date)
  fields { location: string  date: timestamp  temp_max: float }
}
source holidays {
  path "holidays.csv"
  valid_from starts
  fields { starts: timestamp  off: bool }
}
source city_info {
  path "cities.csv"
  fields { location: string  population: int }
}
entity city { key location: string }
feature_group everywhere from weather { tmax_7d = avg(temp_max) over 7d }
feature_group holiday from holidays { is_off = off }
feature_group info for city from city_info { pop = population }
`;

async function diagnose(name: string, extra: string): Promise<Array<{ code: number; message: string; line: number }>> {
  const file = path.join(dir, `${name}.fti`);
  fs.writeFileSync(file, BASE + extra);
  const r = await compileSpec(file, { outDir: path.join(dir, "out", name), checkOnly: true });
  return r.diagnostics.filter((d) => d.severity === "error").map((d) => ({ code: d.code, message: d.message, line: d.range.start.line }));
}

describe("global groups in the checker", () => {
  it("a view with or without `for` joins a global group by time only, and mixes it with an entity's group", async () => {
    const errors = await diagnose(
      "ok",
      `
view series from weather { label t = temp_max  features everywhere.* }
view per_city for city from weather { label t = temp_max  features everywhere.*, info.* }
`,
    );
    expect(errors).toEqual([]);
  });

  it("any group may look up a global reference group; a global group may not look up an entity's", async () => {
    const errors = await diagnose(
      "lookups",
      `
feature_group city_days for city from weather { off_day = holiday.is_off }
feature_group all_days from weather { off_day = holiday.is_off }
feature_group all_sizes from weather { size = info.pop }
`,
    );
    expect(errors).toHaveLength(1);
    expect(errors[0].code).toBe(4060);
    expect(errors[0].message).toBe(
      "`info` is reference data of entity `city`, and feature group `all_sizes` is global (no `for`): it has no keys to match: a lookup matches the group's own keys",
    );
  });

  it("an agent for an entity may read a global group in its context (no keys) beside its entity's groups", async () => {
    const errors = await diagnose(
      "agent",
      `
agent helper for city {
  llm "m"
  context info.*, everywhere.*
}
`,
    );
    expect(errors).toEqual([]);
  });
});
