// One validation for training and serving (#6): the label source's checks on
// the columns request fields come from are part of the generated request
// schema, so a value the feature pipeline would have quarantined from the
// training data is a 400 naming the check online.

import { describe, expect, it } from "vitest";
import { z } from "zod";
import { checkTimeEstimatorDataRequest, TimeEstimatorRequestSchema } from "../generated/athlete/schema.ts";
import { zodIssues } from "../runtime/request-issues.ts";

const good = { athlete_id: "a0001", planned_pace_min_km: 5.2, distance_km: 10, elevation_gain_m: 80 };

describe("request fields and the label source's checks", () => {
  it("a value that fails a check is an issue at its field naming the check; good values pass", () => {
    expect(TimeEstimatorRequestSchema.safeParse(good).success).toBe(true);
    expect(TimeEstimatorRequestSchema.safeParse({ ...good, elevation_gain_m: 0 }).success).toBe(true); // check (>= 0)
    const bad = TimeEstimatorRequestSchema.safeParse({ ...good, distance_km: -5, planned_pace_min_km: 0, elevation_gain_m: -1 });
    expect(bad.success).toBe(false);
    const issues = zodIssues(bad.error!);
    expect(issues.map((i) => i.path[0]).sort()).toEqual(["distance_km", "elevation_gain_m", "planned_pace_min_km"]);
    expect(issues.find((i) => i.path[0] === "distance_km")!.message).toMatch(/^check \(> 0\) failed: source `activities` quarantines such rows/);
    expect(issues.find((i) => i.path[0] === "elevation_gain_m")!.message).toMatch(/^check \(>= 0\) failed/);
  });

  it("a type error, a missing field and an unknown field do not hide the other fields' check failures", () => {
    const bad = TimeEstimatorRequestSchema.safeParse({ athlete_id: 7, planned_pace_min_km: "fast", distance_km: -5, extra: 1 });
    expect(bad.success).toBe(false);
    expect(zodIssues(bad.error!).map((i) => [i.path.join("."), i.message.replace(/ failed: .*/, " failed")])).toEqual([
      ["athlete_id", "Invalid input: expected string, received number"],
      ["planned_pace_min_km", "Invalid input: expected number, received string"],
      ["elevation_gain_m", "Invalid input: expected number, received undefined"],
      ["extra", 'unknown field "extra"'],
      ["distance_km", "check (> 0) failed"],
    ]);
    // Not an object: one issue, no check run on it.
    for (const body of ["text", null, [], 5]) expect(zodIssues(TimeEstimatorRequestSchema.safeParse(body).error!)).toHaveLength(1);
  });

  it("a field the request lacks says so in JSON's words, and whether null would do; a field sent with the wrong type keeps its type issue", () => {
    const body = { athlete_id: "a0001", planned_pace_min_km: "fast", distance_km: 10 };
    const bad = TimeEstimatorRequestSchema.safeParse(body);
    expect(zodIssues(bad.error!, [], body, TimeEstimatorRequestSchema).map((i) => [i.path.join("."), i.message])).toEqual([
      ["planned_pace_min_km", "Invalid input: expected number, received string"],
      ["elevation_gain_m", "missing field: expected number"],
    ]);
    // A null where none may be (an entity key: the newuser lane's film without a director) says so, not zod's "received null".
    const nulls = { ...good, athlete_id: null };
    const refused = TimeEstimatorRequestSchema.safeParse(nulls);
    expect(zodIssues(refused.error!, [], nulls, TimeEstimatorRequestSchema)).toEqual([{ path: ["athlete_id"], message: "null: expected string (this field cannot be null)" }]);
    // A nullable field must be sent too (null for no value): the message says null would do.
    const schema = z.strictObject({ species: z.string(), sex: z.string().nullable(), mass: z.number().nullable() });
    const some = { species: "Adelie", mass: null };
    const r = schema.safeParse(some);
    expect(zodIssues(r.error!, ["instances", 2], some, schema)).toEqual([
      { path: ["instances", 2, "sex"], message: "missing field: expected string or null (send null for no value)" },
    ]);
  });

  it("a check is never evaluated on a field whose type failed", () => {
    const trap = { valueOf: () => expect.unreachable("the check read a failed field") };
    const r = { planned_pace_min_km: trap, distance_km: -1, elevation_gain_m: trap } as unknown as Parameters<typeof checkTimeEstimatorDataRequest>[0];
    expect(checkTimeEstimatorDataRequest(r, new Set(["planned_pace_min_km", "elevation_gain_m"])).map((i) => i.field)).toEqual(["distance_km"]);
    // Without the set (a request that parsed), every check runs.
    expect(checkTimeEstimatorDataRequest({ planned_pace_min_km: 0, distance_km: 1, elevation_gain_m: -1 }).map((i) => i.field)).toEqual([
      "planned_pace_min_km",
      "elevation_gain_m",
    ]);
  });

  it("the request schema stays an object schema (batch wraps it, the page reads its shape)", () => {
    expect(Object.keys(TimeEstimatorRequestSchema.shape).sort()).toEqual(Object.keys(good).sort());
  });
});
