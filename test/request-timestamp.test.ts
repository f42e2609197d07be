// A timestamp request field is parsed as strictly as a stream's event time
// (runtime/timestamp-text.ts): zod's coerce.date(), which the generated
// schemas used before, read null and false as 1970-01-01 and any number as
// epoch milliseconds, so a client that sent null got a prediction for a
// date it never asked about.

import { describe, expect, it } from "vitest";
import { TmaxForecastRequestSchema } from "../generated/weather/schema.ts";
import { toolParameters } from "../runtime/agents/plans.ts";
import { requestTimestamp, z } from "../runtime/api.ts";
import { zodIssues } from "../runtime/request-issues.ts";
import { parseTimestamp } from "../runtime/timestamp-text.ts";

const issuesOf = (body: unknown) => {
  const r = TmaxForecastRequestSchema.safeParse(body);
  return r.success ? [] : zodIssues(r.error).map((i) => `${JSON.stringify(i.path)} ${i.message}`);
};

describe("a timestamp request field", () => {
  it("takes ISO 8601 text (no zone: UTC) and Dates, as the stream's events", () => {
    const at = (date: unknown) => (TmaxForecastRequestSchema.parse({ location: "Seattle", date }) as { date: Date }).date.toISOString();
    expect(at("2015-06-01")).toBe("2015-06-01T00:00:00.000Z");
    expect(at("2015-06-01T07:30:00Z")).toBe("2015-06-01T07:30:00.000Z");
    expect(at("2015-06-01 07:30:00+02:00")).toBe("2015-06-01T05:30:00.000Z");
    expect(at(new Date(Date.UTC(2015, 5, 1)))).toBe("2015-06-01T00:00:00.000Z");
    for (const text of ["2015-06-01", "2015-06-01T07:30:00.123Z", "2015-06-01 07:30"]) expect(at(text)).toBe(new Date(parseTimestamp(text) as number).toISOString());
  });

  it("refuses null, numbers, booleans, objects and text that is no real date, naming the field", () => {
    const expected = "expected an ISO 8601 timestamp such as 2025-06-01T07:30:00Z, got";
    expect(issuesOf({ location: "Seattle", date: null })).toEqual([`["date"] ${expected} null`]);
    expect(issuesOf({ location: "Seattle" })).toEqual([`["date"] ${expected} nothing (the field is required)`]);
    expect(issuesOf({ location: "Seattle", date: 0 })).toEqual([`["date"] ${expected} a number (0)`]);
    expect(issuesOf({ location: "Seattle", date: false })).toEqual([`["date"] ${expected} a boolean (false)`]);
    expect(issuesOf({ location: "Seattle", date: {} })).toEqual([`["date"] ${expected} an object`]);
    expect(issuesOf({ location: "Seattle", date: new Date(NaN) })).toEqual([`["date"] ${expected} an invalid Date`]);
    expect(issuesOf({ location: "Seattle", date: "yesterday" })).toEqual([`["date"] "yesterday" is not an ISO 8601 timestamp (e.g. 2025-06-01T07:30:00Z)`]);
    expect(issuesOf({ location: "Seattle", date: "2015-02-30" })).toEqual([`["date"] "2015-02-30" is not a valid date and time`]);
    expect(issuesOf({ location: "Seattle", date: "2015-06-01T07:30:00.1234Z" })).toEqual([`["date"] "2015-06-01T07:30:00.1234Z" is more precise than a millisecond`]);
  });

  it("echoes at most 80 characters of a client's text", () => {
    const [issue] = issuesOf({ location: "Seattle", date: "9".repeat(500) });
    expect(issue.length).toBeLessThan(200);
    expect(issue).toContain("…");
  });

  it("a nullable one also takes null", () => {
    const schema = z.strictObject({ at: requestTimestamp().nullable() });
    expect(schema.parse({ at: null })).toEqual({ at: null });
    expect(schema.safeParse({ at: 5 }).success).toBe(false);
  });

  it("is a date-time string in an agent tool's JSON Schema", () => {
    const schema = z.strictObject({ id: z.string(), at: requestTimestamp(), maybe: requestTimestamp().nullable() });
    expect(toolParameters(schema, ["id"])).toEqual({
      type: "object",
      properties: { at: { type: "string", format: "date-time" }, maybe: { anyOf: [{ type: "string", format: "date-time" }, { type: "null" }] } },
      required: ["at", "maybe"],
      additionalProperties: false,
    });
  });
});
