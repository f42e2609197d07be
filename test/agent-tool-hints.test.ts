// The agent's tool schema carries the request fields' checks where they have
// an exact JSON-schema form (`in (...)` → enum, bounds → minimum / maximum /
// exclusive…), so the LLM sees them; the request schema still refuses what
// fails a check (the schema is advice, the validation is the law).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AgentPlan } from "../runtime/agents/plans.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const SPEC = `
source trips {
  path "trips.csv"
  event_time at
  unique trip_id
  fields {
    trip_id: string
    rider: string
    at: timestamp
    duration_s: float check (> 0)
    surface: string in ("road", "gravel")
    mood: string? in ("good", "bad")
    gears: int in (1, 3, 8)
    temp_c: float check (> -60 and temp_c <= 50)
    grade: float check (>= -30) check (>= -20) check (< 40)
    wind: float? check (0 <= wind)
    load_kg: float check (load_kg > 0 or load_kg < -5)
    when_planned: timestamp
  }
}
entity rider { key rider: string }
feature_group stats for rider from trips { n_7d = count() over 7d }
on_demand f1(request surface: string, request mood: string?, request gears: int): float = 1.0
on_demand f2(request temp_c: float, request grade: float, request wind: float?, request load_kg: float): float = temp_c + grade + load_kg
view trip_data for rider {
  label duration = trips.duration_s
  features stats.*, f1, f2
}
model trip_time {
  view trip_data
  task regression
  algorithm gbdt
}
serve trip_time { online }
agent guide for rider {
  llm "m"
  context stats.*
  tool trip_time
  prompt "Rider {rider}: {n_7d} trips."
}
`;

let spec: TempSpec;
let tool: AgentPlan["tools"][number];
beforeAll(async () => {
  spec = await compileTempSpec({ "spec.fti": SPEC, "trips.csv": "trip_id,rider,at,duration_s,surface,mood,gears,temp_c,grade,wind,load_kg,when_planned\n" });
  tool = (spec.bundle.agents as AgentPlan[])[0].tools[0];
}, 120_000);
afterAll(() => spec?.cleanup());

describe("an agent tool's JSON schema", () => {
  it("carries in-lists as enum and bounds as minimum / maximum, the tighter of several", () => {
    const p = tool.parameters.properties as Record<string, Record<string, unknown>>;
    expect(p.surface).toEqual({ type: "string", enum: ["road", "gravel"] });
    // A nullable field's enum admits null (its type does).
    expect(p.mood).toEqual({ type: ["string", "null"], enum: ["good", "bad", null] });
    expect(p.gears).toMatchObject({ type: "integer", enum: [1, 3, 8] });
    expect(p.temp_c).toEqual({ type: "number", exclusiveMinimum: -60, maximum: 50 });
    expect(p.grade).toEqual({ type: "number", minimum: -20, exclusiveMaximum: 40 });
    expect(p.wind).toEqual({ type: ["number", "null"], minimum: 0 });
    // An `or` has no exact form: nothing is claimed.
    expect(p.load_kg).toEqual({ type: "number" });
    expect(Object.keys(p).sort()).toEqual(["gears", "grade", "load_kg", "mood", "surface", "temp_c", "wind"]);
  });

  it("the request schema still decides: what the hints describe is what it refuses", () => {
    const good = { rider: "r1", surface: "road", mood: null, gears: 3, temp_c: 20, grade: 0, wind: null, load_kg: 10 };
    expect(tool.requestSchema.safeParse(good).success).toBe(true);
    const bad: Array<[string, unknown]> = [["surface", "sand"], ["mood", "meh"], ["gears", 2], ["temp_c", -60], ["temp_c", 50.5], ["grade", -25], ["grade", 40], ["wind", -1], ["load_kg", -1]];
    for (const [field, value] of bad) {
      const r = tool.requestSchema.safeParse({ ...good, [field]: value });
      expect(r.success, `${field} = ${value}`).toBe(false);
      expect(r.error!.issues.map((i) => i.path[0]), `${field} = ${value}`).toEqual([field]);
    }
  });
});
