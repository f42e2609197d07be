// `fti mcp`'s get_online_features checks entity keys with the stream's typed-value
// check (stream/validate.ts typedValue): one check for every key type. It was a
// looser copy that let any value through for a bool or timestamp key (a wrong one
// then answered not_found), and its argument schema refused a JSON boolean, so a
// bool key could not be asked at all.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ColumnPlan, GroupPlan, Scalar, SpecBundle } from "../runtime/api.ts";
import { checkedKeys, createMcpServer } from "../runtime/mcp/server.ts";
import type { OnlineService } from "../runtime/online/service.ts";
import { typedValue } from "../runtime/stream/validate.ts";

const KEYS: ColumnPlan[] = [
  { name: "s", type: "string", nullable: false },
  { name: "i", type: "int", nullable: false },
  { name: "f", type: "float", nullable: false },
  { name: "b", type: "bool", nullable: false },
  { name: "t", type: "timestamp", nullable: false },
];
const GOOD = { s: "a", i: 3, f: 2.5, b: true, t: "2025-03-01T10:00:00Z" };

describe("typedValue: one check per type", () => {
  const cases: Array<[ColumnPlan["type"], unknown, unknown]> = [
    ["string", "x", "x"],
    ["int", -7, -7],
    ["float", 0.25, 0.25],
    ["bool", false, false],
    ["timestamp", "2025-03-01T10:00:00Z", new Date(Date.UTC(2025, 2, 1, 10))],
    ["float[2]", [1, 2], [1, 2]],
  ];
  it.each(cases)("%s accepts %j", (type, v, typed) => {
    expect(typedValue(type, v)).toEqual({ value: typed });
  });
  const bad: Array<[ColumnPlan["type"], unknown, RegExp]> = [
    ["string", 5, /expected a string, got 5/],
    ["int", 1.5, /expected an integer, got 1.5/],
    ["int", 2 ** 60, /outside ±2\^53/],
    ["float", "1", /expected a number, got "1"/],
    ["bool", "true", /expected true or false, got "true"/],
    ["bool", 1, /expected true or false, got 1/],
    ["timestamp", 1740823200000, /expected an ISO 8601 timestamp string, got 1740823200000/],
    ["timestamp", "yesterday", /"yesterday"/],
    ["float[2]", [1], /expected an array of 2 numbers/],
  ];
  it.each(bad)("%s refuses %j", (type, v, message) => {
    const t = typedValue(type, v);
    expect("problem" in t && t.problem).toMatch(message);
  });
});

describe("get_online_features' keys", () => {
  const group = { name: "g", entity: "thing", keys: KEYS } as unknown as GroupPlan;
  const bundle = { name: "spec", file: "spec.fti", groups: [group], models: [], views: [], sources: [], serves: [] } as unknown as SpecBundle;
  const asked: Array<Record<string, Scalar>> = [];
  const service = { onlineFeatures: async (_e: string | null, keys: Record<string, Scalar>) => (asked.push(keys), {}) } as unknown as OnlineService;
  let client: Client;
  beforeAll(async () => {
    const [a, b] = InMemoryTransport.createLinkedPair();
    await createMcpServer(bundle, service, "0").connect(a);
    client = new Client({ name: "t", version: "0" });
    await client.connect(b);
  });
  afterAll(async () => {
    await client?.close();
  });
  const call = async (keys: unknown) => {
    const r = (await client.callTool({ name: "get_online_features", arguments: { entity: "thing", keys } })) as { content: Array<{ text: string }>; isError?: boolean };
    return { isError: r.isError ?? false, text: r.content[0].text };
  };

  it("keys of every type, as JSON carries them, are looked up as the online tables key them (a timestamp as its toISOString)", async () => {
    asked.length = 0;
    expect((await call(GOOD)).isError).toBe(false);
    for (const t of ["2025-03-01T10:00Z", "2025-03-01 10:00:00", "2025-03-01T11:00:00+01:00"]) expect((await call({ ...GOOD, t })).isError).toBe(false);
    const canonical = { ...GOOD, t: "2025-03-01T10:00:00.000Z" };
    expect(asked).toEqual([canonical, canonical, canonical, canonical]);
  });

  it.each([
    ["s", 5, "key `s`: expected a string, got 5"],
    ["i", 2.5, "key `i`: expected an integer, got 2.5"],
    ["f", "2", 'key `f`: expected a number, got "2"'],
    ["b", "true", 'key `b`: expected true or false, got "true"'],
    ["t", "not a time", 'key `t`: "not a time"'],
    ["t", 17, "key `t`: expected an ISO 8601 timestamp string, got 17"],
  ])("key %s = %j is an error naming the key", async (name, value, message) => {
    const r = await call({ ...GOOD, [name]: value });
    expect(r.isError).toBe(true);
    expect(JSON.parse(r.text).error).toContain(message);
  });

  it("checkedKeys lists every bad key", () => {
    expect(checkedKeys(KEYS, { ...GOOD, s: 1, b: null })).toEqual({ problems: ["key `s`: expected a string, got 1", "key `b`: expected true or false, got null"] });
    expect(checkedKeys(KEYS, GOOD)).toEqual({ keys: { ...GOOD, t: "2025-03-01T10:00:00.000Z" } });
  });
});
