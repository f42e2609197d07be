// A check's clause is quoted the same way by every reason, whatever its
// layout in the spec: one line, no comments, formatter spacing. The compiler
// prints it once (compiler/format/one-line.ts); the batch quarantine and the
// stream's 400 quote that text as it is.

import { afterAll, describe, expect, it } from "vitest";
import { oneLine } from "../compiler/format/one-line.ts";
import { allowedText, checkText } from "../runtime/allowed-text.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { openStore } from "../runtime/store/store.ts";
import { validateEvent } from "../runtime/stream/validate.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";
import { ridesSpec } from "./helpers/rides-spec.ts";

const spec = ridesSpec(
  "rides.csv",
  ["ride_id: string", 'rider: string check (\n      !=   "a//b"   /* not the test rider */\n    )', "at: timestamp", "km: float check (>0 // positive\n    )"],
  ["stream lateness 1d"],
);

const csv = ["ride_id,rider,at,km", "r1,ann,2024-01-02 10:00,10", "r2,ann,2024-01-03 10:00,-1", "r3,a//b,2024-01-04 10:00,2"].join("\n");

const temps: TempSpec[] = [];
afterAll(() => temps.forEach((t) => t.cleanup()));

describe("a check's text", () => {
  it("is the clause on one line, without comments, spaced as fti fmt spaces it", () => {
    expect(oneLine("check (>0 // positive\n    )")).toBe("check (> 0)");
    expect(oneLine('check (\n  !=   "a//b"   /* x */\n)')).toBe('check (!= "a//b")');
    expect(oneLine("check (-x * 2 >= f(a, b))")).toBe("check (-x * 2 >= f(a, b))");
  });

  it("is quoted the same by the batch quarantine and by a streamed event's rejection", async () => {
    const t = await compileTempSpec({ "spec.fti": spec, "rides.csv": csv });
    temps.push(t);
    const store = await openStore({ path: ":memory:" });
    let reasons: string[];
    try {
      await runFeaturePipeline(store, t.bundle);
      reasons = (await store.all<{ reason: string }>("SELECT reason FROM fti_quarantine ORDER BY row_number")).map((r) => r.reason);
    } finally {
      await store.close();
    }
    expect(reasons).toEqual(["km: -1 fails check (> 0)", `rider: 'a//b' fails check (!= "a//b")`]);

    const plan = t.bundle.sources.find((s) => s.name === "rides")!;
    const streamed = validateEvent(plan, { ride_id: "r9", rider: "a//b", at: "2024-01-05T10:00:00Z", km: -1 }, []);
    expect("issues" in streamed && streamed.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([
      `rider: "a//b" fails check (!= "a//b")`,
      "km: -1 fails check (> 0)",
    ]);
  });

  it("an `in` list is quoted as its first 10 values (each at most 80 characters) and how many there are, by the batch quarantine and a streamed event's rejection", async () => {
    const riders = [...Array.from({ length: 29 }, (_, i) => `u${i}`), "x".repeat(100)];
    const expected = `u0, u1, u2, u3, u4, u5, u6, u7, u8, u9, … (30 values)`;
    expect(allowedText(riders)).toBe(expected);
    expect(allowedText(["a", "b"], (v) => JSON.stringify(v))).toBe('"a", "b"');
    expect(allowedText(["y".repeat(100)])).toBe(`${"y".repeat(80)}…`);
    const listed = ridesSpec("rides.csv", ["ride_id: string", `rider: string in (${riders.map((r) => `"${r}"`).join(", ")})`, "at: timestamp", "km: float"], ["stream lateness 1d"]);
    const t = await compileTempSpec({ "spec.fti": listed, "rides.csv": ["ride_id,rider,at,km", "r1,u1,2024-01-02 10:00,10", "r2,zed,2024-01-03 10:00,1"].join("\n") });
    temps.push(t);
    const store = await openStore({ path: ":memory:" });
    try {
      await runFeaturePipeline(store, t.bundle);
      const reasons = (await store.all<{ reason: string }>("SELECT reason FROM fti_quarantine ORDER BY row_number")).map((r) => r.reason);
      expect(reasons).toEqual([`rider: 'zed' not in (${expected})`]);
    } finally {
      await store.close();
    }
    const plan = t.bundle.sources.find((s) => s.name === "rides")!;
    const streamed = validateEvent(plan, { ride_id: "r9", rider: "zed", at: "2024-01-05T10:00:00Z", km: 1 }, []);
    expect("issues" in streamed && streamed.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([`rider: "zed" not in (${expected})`]);
  });

  it("a long check is quoted as its first 120 characters and its length, by the batch quarantine and a streamed event's rejection", async () => {
    // One clause of 30 comparisons: its whole text was repeated in every quarantined row's reason.
    const clause = `check (${Array.from({ length: 30 }, (_, i) => `km != ${1000 + i}`).join(" and ")} and km > 0)`;
    const whole = oneLine(clause);
    expect(whole.length).toBeGreaterThan(240);
    const quoted = `${whole.slice(0, 120)}… (${whole.length} characters)`;
    expect(checkText(whole)).toBe(quoted);
    expect(checkText("check (> 0)")).toBe("check (> 0)");
    const long = ridesSpec("rides.csv", ["ride_id: string", "rider: string", "at: timestamp", `km: float ${clause}`], ["stream lateness 1d"]);
    const t = await compileTempSpec({ "spec.fti": long, "rides.csv": ["ride_id,rider,at,km", "r1,u1,2024-01-02 10:00,10", "r2,u2,2024-01-03 10:00,-1"].join("\n") });
    temps.push(t);
    const store = await openStore({ path: ":memory:" });
    try {
      await runFeaturePipeline(store, t.bundle);
      const rows = await store.all<{ reason: string; reason_kind: string }>("SELECT reason, reason_kind FROM fti_quarantine ORDER BY row_number");
      expect(rows.map((r) => [r.reason, r.reason_kind])).toEqual([[`km: -1 fails ${quoted}`, `km: … fails ${quoted}`]]);
    } finally {
      await store.close();
    }
    const plan = t.bundle.sources.find((s) => s.name === "rides")!;
    const streamed = validateEvent(plan, { ride_id: "r9", rider: "u1", at: "2024-01-05T10:00:00Z", km: -1 }, []);
    expect("issues" in streamed && streamed.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([`km: -1 fails ${quoted}`]);
  });
});
