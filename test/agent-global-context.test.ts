// An agent for an entity may read a global group (no `for`: one series) in its
// context beside its entity's groups: the series' one online row, read with no
// keys, is in the answer's features and in the prompt the LLM gets, as
// `get_online_features` gives it.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompiledSpec } from "../compiler/cli/load.ts";
import type { SpecBundle } from "../runtime/api.ts";
import { agentSettingsFromEnv } from "../runtime/agents/settings.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { OnlineService } from "../runtime/online/service.ts";
import { sqlTime } from "./helpers/bundles.ts";
import { json, startFakeOpenAi, type FakeOpenAi } from "./helpers/fake-openai.ts";
import { REPO } from "./helpers/online-athlete.ts";
import { storeUser } from "./helpers/store-user.ts";

const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);

const SPEC = `
source weather {
  path "data/weather.csv"
  event_time date
  unique (location, date)
  fields { location: string  date: timestamp  temp_max: float }
}
entity city { key location: string }
feature_group local for city from weather { tmax_3d = avg(temp_max) over 3d }
feature_group everywhere from weather { tmax_all_3d = avg(temp_max) over 3d  readings_3d = count() over 3d }
agent helper for city {
  llm "m"
  context local.*, everywhere.*
  prompt "City {location}: {tmax_3d} here, {tmax_all_3d} over {readings_3d} readings everywhere."
}
`;

let root: string;
let bundle: SpecBundle;
let storePath: string;
let llm: FakeOpenAi;
const prompts: string[] = [];
const NOW = T0 + 10 * DAY;

beforeAll(async () => {
  root = join(REPO, ".fti", `agent-global-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(join(root, "data"), { recursive: true });
  writeFileSync(join(root, "spec.fti"), SPEC);
  const rows = ["location,date,temp_max"];
  for (let d = 0; d < 10; d++) for (const [i, c] of ["oslo", "rome"].entries()) rows.push(`${c},${sqlTime(T0 + d * DAY)},${i * 12 + (d % 4)}`);
  writeFileSync(join(root, "data/weather.csv"), rows.join("\n") + "\n");
  bundle = await loadCompiledSpec(join(root, "spec.fti"), { outDir: join(root, "generated/spec"), quiet: true });
  storePath = join(root, "store.duckdb");
  await storeUser(() => storePath)(async (store) => {
    await runFeaturePipeline(store, bundle);
    await materialize(store, bundle);
  });
  llm = await startFakeOpenAi({
    "/v1/chat/completions": (req, res) => {
      const messages = (req.body as { messages: Array<{ role: string; content: string }> }).messages;
      prompts.push(messages[0].content);
      json(res, 200, { choices: [{ message: { role: "assistant", content: "ok" }, finish_reason: "stop" }] });
    },
  });
}, 120_000);

afterAll(async () => {
  await llm?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("an agent with a global group in its context", () => {
  it("reads the series' row with no keys beside the city's row", async () => {
    const svc = await OnlineService.open(bundle, {
      store: storePath,
      logs: false,
      now: () => NOW,
      agents: agentSettingsFromEnv({}, { llmUrl: llm.url, llmTimeoutMs: 2000, agentMaxSteps: 2, agentTimeoutMs: 10_000 }),
    });
    try {
      const res = await svc.chat("helper", { location: "rome", message: "warm?" });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const features = (res.body as { features: Record<string, { value: unknown; status: string }> }).features;
      const local = await svc.onlineFeatures("city", { location: "rome" });
      const global = await svc.onlineFeatures(null, {});
      expect(features.tmax_3d).toEqual(local.local.tmax_3d);
      expect(features.tmax_all_3d).toEqual(global.everywhere.tmax_all_3d);
      // The last three days (7, 8, 9) of both cities: 6 readings, their mean; the city's own mean differs.
      expect(features.readings_3d).toEqual({ value: 6, status: "present" });
      const rome = [7, 8, 9].map((d) => 12 + (d % 4));
      const oslo = [7, 8, 9].map((d) => d % 4);
      expect(features.tmax_all_3d.value).toBeCloseTo([...rome, ...oslo].reduce((a, b) => a + b) / 6, 12);
      expect(features.tmax_3d.value).toBeCloseTo(rome.reduce((a, b) => a + b) / 3, 12);
      // Rome's days 7–9 are 15, 12, 13 (mean 13.33), Oslo's 3, 0, 1: 44 / 6 = 7.333 (the prompt shows 4 digits).
      expect(prompts.at(-1)).toContain("City rome: 13.33 here, 7.333 over 6 readings everywhere.");
    } finally {
      await svc.close();
    }
  });
});
