// `fti mcp <spec>` over stdio, driven by the official MCP SDK's client: the
// tools list models and features, read online features, predict with the
// served model (the same answer as the HTTP service) and retrieve from an index.

import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnlineService } from "../runtime/online/service.ts";
import { buildAthleteWork, REPO, type AthleteWork } from "./helpers/online-athlete.ts";

let work: AthleteWork;
let client: Client;
// The request time: pinned (so the in-process comparison below sees the same staleness).
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();

beforeAll(async () => {
  work = await buildAthleteWork({ athletes: 3, days: 200 });
  client = new Client({ name: "fti-test", version: "1.0.0" });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [path.join(REPO, "compiler/cli/bin.mjs"), "mcp", "athlete.fti", "--store", work.storePath, "--now", NOW],
    cwd: work.root,
    env: { ...process.env, FTI_STORE: "", FTI_DEBUG: "" } as Record<string, string>,
    stderr: "pipe",
  });
  await client.connect(transport);
}, 240_000);

afterAll(async () => {
  await client?.close();
  work?.cleanup();
});

const call = async (name: string, args: Record<string, unknown> = {}) => {
  const r = (await client.callTool({ name, arguments: args })) as { content: Array<{ type: string; text: string }>; isError?: boolean };
  return { data: JSON.parse(r.content[0].text), isError: r.isError ?? false };
};

describe("fti mcp", () => {
  it("lists its tools", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["get_online_features", "list_features", "list_models", "predict", "retrieve"]);
    const predict = tools.find((t) => t.name === "predict")!;
    expect(predict.inputSchema.required).toEqual(["model", "request"]);
    expect(predict.inputSchema.properties?.request).toMatchObject({ type: "object" });
  });

  it("refuses a __proto__ key in a request at its path, as the HTTP service does, instead of dropping it", async () => {
    const a = work.athletes[0];
    const fields = `"athlete_id": "${a}", "distance_km": 10, "elevation_gain_m": 40, "planned_pace_min_km": 5.4`;
    const cases: Array<[string, string]> = [
      [`{"model": "time_estimator", "request": {${fields}, "__proto__": {"distance_km": 1}}}`, "request.__proto__"],
      [`{"model": "time_estimator", "request": {"instances": [{${fields}}, {${fields}, "__proto__": {}}]}}`, "request.instances[1].__proto__"],
      [`{"model": "time_estimator", "request": {${fields}, "constructor": {"prototype": {}}}}`, "request.constructor.prototype"],
    ];
    for (const [json, path] of cases) {
      // JSON.parse makes `__proto__` an own key, as the client's JSON text carries it.
      const r = (await client.callTool({ name: "predict", arguments: JSON.parse(json) })) as { content: Array<{ text: string }>; isError?: boolean };
      expect(r.isError, json).toBe(true);
      expect(r.content[0].text.endsWith(`the field "${path.split(".").at(-1)}" is not allowed in a request at ${path}`), r.content[0].text).toBe(true);
    }
    const keys = (await client.callTool({ name: "get_online_features", arguments: JSON.parse(`{"entity": "athlete", "keys": {"athlete_id": "${a}", "__proto__": {}}}`) })) as { content: Array<{ text: string }>; isError?: boolean };
    expect(keys.isError).toBe(true);
    expect(keys.content[0].text).toContain('the field "__proto__" is not allowed in a request at keys.__proto__');
  });

  it("lists models and features", async () => {
    const models = await call("list_models");
    expect(models.data.map((m: { model: string }) => m.model)).toEqual(["time_estimator"]);
    const features = await call("list_features");
    expect(features.data.groups.find((g: { group: string }) => g.group === "fitness").features.map((f: { name: string }) => f.name)).toContain("ctl_42d");
    expect(features.data.indexes[0]).toMatchObject({ index: "notes", dim: 256, entity: "athlete" });
    expect(features.data.agents[0]).toMatchObject({ agent: "coach", tools: ["time_estimator"] });
  });

  it("gets online features and predicts like the HTTP service", async () => {
    const a = work.athletes[0];
    const f = await call("get_online_features", { entity: "athlete", keys: { athlete_id: a } });
    expect(f.data.features.fitness.ctl_42d.status).toBe("present");
    const request = { athlete_id: a, distance_km: 10, elevation_gain_m: 40, planned_pace_min_km: 5.4 };
    const p = await call("predict", { model: "time_estimator", request });
    expect(p.isError).toBe(false);
    const svc = await OnlineService.open(work.bundle, { store: work.storePath, logs: false, asOf: new Date(NOW) });
    try {
      const direct = await svc.predict("time_estimator", request);
      expect(p.data.prediction).toBe((direct.body as { prediction: number }).prediction);
    } finally {
      await svc.close();
    }
    const bad = await call("predict", { model: "time_estimator", request: { athlete_id: a, distance_km: "far", planned_pace_min_km: -1 } });
    expect(bad.isError).toBe(true);
    expect(bad.data.error.status).toBe(400);
    // Every failure in one answer, as over HTTP: the type error, the missing field and the other field's check.
    expect(bad.data.error.issues.map((i: { path: string[] }) => i.path.join("."))).toEqual(["distance_km", "elevation_gain_m", "planned_pace_min_km"]);
    const unknown = await call("get_online_features", { entity: "runner", keys: {} });
    expect(unknown.isError).toBe(true);
  });

  it("get_online_features refuses a key of another type, a key the entity lacks and keys without an entity (they were not_found, or ignored)", async () => {
    const a = work.athletes[0];
    const mistyped = await call("get_online_features", { entity: "athlete", keys: { athlete_id: 5 } });
    expect(mistyped).toEqual({ isError: true, data: { error: "key `athlete_id`: expected a string, got 5" } });
    const extra = await call("get_online_features", { entity: "athlete", keys: { athlete_id: a, route_id: "r1" } });
    expect(extra).toEqual({ isError: true, data: { error: 'unknown entity keys: "route_id"; `athlete` has athlete_id' } });
    const noEntity = await call("get_online_features", { keys: { athlete_id: a } });
    expect(noEntity.isError).toBe(true);
    expect(noEntity.data.error).toContain('(`keys` were given without `entity`: they are athlete\'s, add "entity": "athlete")');
    const unknownKeys = await call("get_online_features", { keys: { film: "x" } });
    expect(unknownKeys.data.error).toContain("(`keys` were given without `entity`);");
  });

  it("retrieves from the index, point in time, for the entity", async () => {
    const a = work.athletes[1];
    const r = await call("retrieve", { index: "notes", query: "legs felt heavy on a hilly route", k: 3, keys: { athlete_id: a } });
    expect(r.isError).toBe(false);
    expect(r.data.documents).toHaveLength(3);
    for (const d of r.data.documents) {
      expect(d.keys.athlete_id).toBe(a);
      expect(Date.parse(d.eventTime)).toBeLessThan(Date.parse(NOW));
    }
    const missingKey = await call("retrieve", { index: "notes", query: "x" });
    expect(missingKey.isError).toBe(true);
    expect(missingKey.data.error.status).toBe(400);
  });
});
