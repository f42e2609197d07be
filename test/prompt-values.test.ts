// How an agent's prompt shows a value ({feature} in `prompt "..."`): to 4 significant digits, but a
// number of more whole digits keeps them — 98765.43 was shown as 98770, a value the entity never had
// (an LLM asked about a balance or a population reads it as the value).

import { describe, expect, it } from "vitest";
import { PROMPT_FIELD_CHARS, promptDocuments, promptValue } from "../runtime/agents/plans.ts";

describe("promptValue", () => {
  it("rounds a fraction to 4 significant digits and keeps every whole digit", () => {
    expect(promptValue(9.662500000000003)).toBe("9.663");
    expect(promptValue(0.000123456)).toBe("0.0001235");
    expect(promptValue(123.456)).toBe("123.5");
    expect(promptValue(1234.567)).toBe("1235");
    expect(promptValue(98765.43)).toBe("98765");
    expect(promptValue(-98765.5)).toBe("-98765");
    expect(promptValue(32526562.4)).toBe("32526562");
    expect(promptValue(1708)).toBe("1708");
  });

  it("says unknown for a missing value and writes times as ISO", () => {
    expect(promptValue(null)).toBe("unknown");
    expect(promptValue(undefined)).toBe("unknown");
    expect(promptValue(new Date("2009-06-01T07:00:00Z"))).toBe("2009-06-01T07:00:00.000Z");
    expect(promptValue("Construction")).toBe("Construction");
  });
});

describe("promptDocuments", () => {
  it("cuts a long field of a retrieved document and says how long it was", () => {
    const long = "- erofs: avoid tagged pointers\n".repeat(3370); // a kernel changelog entry of ~104,000 characters
    const text = promptDocuments([
      { id: "linux@2023-09-07", score: 0.5, eventTime: "2023-09-07T07:39:52.000Z", keys: { package: "linux" }, fields: { entry: long, chars: long.length } },
    ]);
    expect(text).toBe(`- [linux@2023-09-07, 2023-09-07, score 0.50] entry: ${long.slice(0, PROMPT_FIELD_CHARS)}… (${long.length} characters); chars: ${long.length}`);
    expect(promptDocuments([{ id: "a", score: 1, eventTime: "2023-01-01T00:00:00.000Z", keys: {}, fields: { entry: "short" } }])).toBe("- [a, 2023-01-01, score 1.00] entry: short");
  });
});
