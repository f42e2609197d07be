// An agent for an entity keyed by a timestamp and a bool: its generated code
// type-checks (the prompt input's Date key did not fit PromptInput's keys, so
// the spec failed to compile with FTI5001), the prompt shows the keys as the
// request gave them, and the context features are found by them.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompiledSpec } from "../compiler/cli/load.ts";
import type { SpecBundle } from "../runtime/api.ts";
import { agentSettingsFromEnv } from "../runtime/agents/settings.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { OnlineService } from "../runtime/online/service.ts";
import { json, startFakeOpenAi, type FakeOpenAi } from "./helpers/fake-openai.ts";
import { REPO } from "./helpers/online-athlete.ts";
import { storeUser } from "./helpers/store-user.ts";

const SPEC = `
source obs {
  path "data/obs.csv"
  event_time at
  unique id
  fields { id: string  day: timestamp  wet: bool  at: timestamp  v: float }
}
entity slot { key day: timestamp  key wet: bool }
feature_group by_slot for slot from obs { v_sum = sum(v) over 30d }
agent keeper for slot {
  llm "m"
  context by_slot.*
  prompt "Slot {day} wet={wet}: {v_sum}."
}
`;

// Days 1 and 2, wet or not, three readings each: v = 1..12 in that order.
function obsCsv(): string {
  const rows = ["id,day,wet,at,v"];
  let i = 0;
  for (const d of [1, 2]) for (const w of ["true", "false"]) for (let k = 1; k <= 3; k++) rows.push(`r${++i},2025-03-0${d}T00:00:00Z,${w},2025-03-0${d}T0${k}:00:00Z,${i}`);
  return rows.join("\n") + "\n";
}

let root: string;
let bundle: SpecBundle;
let llm: FakeOpenAi;
const prompts: string[] = [];

beforeAll(async () => {
  root = join(REPO, ".fti", `agent-keys-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(join(root, "data"), { recursive: true });
  writeFileSync(join(root, "spec.fti"), SPEC);
  writeFileSync(join(root, "data/obs.csv"), obsCsv());
  bundle = await loadCompiledSpec(join(root, "spec.fti"), { outDir: join(root, "generated/spec"), quiet: true });
  await storeUser(() => join(root, "store.duckdb"))(async (store) => {
    await runFeaturePipeline(store, bundle);
    await materialize(store, bundle);
  });
  llm = await startFakeOpenAi({
    "/v1/chat/completions": (req, res) => {
      prompts.push((req.body as { messages: Array<{ content: string }> }).messages[0].content);
      json(res, 200, { choices: [{ message: { role: "assistant", content: "ok" }, finish_reason: "stop" }] });
    },
  });
}, 120_000);

afterAll(async () => {
  await llm?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("an agent for an entity keyed by a timestamp and a bool", () => {
  it("compiles, finds the entity's features by its keys in any ISO spelling, and shows them in the prompt", async () => {
    const svc = await OnlineService.open(bundle, {
      store: join(root, "store.duckdb"),
      logs: false,
      now: () => Date.UTC(2025, 2, 5),
      agents: agentSettingsFromEnv({}, { llmUrl: llm.url, llmTimeoutMs: 2000, agentMaxSteps: 2, agentTimeoutMs: 10_000 }),
    });
    try {
      const cases: Array<[string, boolean, number]> = [
        ["2025-03-01T00:00:00Z", true, 1 + 2 + 3],
        ["2025-03-01 00:00:00", false, 4 + 5 + 6],
        ["2025-03-02T01:00:00+01:00", true, 7 + 8 + 9],
      ];
      for (const [day, wet, sum] of cases) {
        const res = await svc.chat("keeper", { day, wet, message: "how much?" });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect((res.body as { features: unknown }).features).toEqual({ v_sum: { value: sum, status: "present" } });
        const iso = new Date(Date.parse(day.replace(" ", "T") + (day.includes(" ") ? "Z" : ""))).toISOString();
        expect(prompts.at(-1)).toBe(`Slot ${iso} wet=${wet}: ${sum}.`);
      }
      const bad = await svc.chat("keeper", { day: "yesterday", wet: "yes", message: "?" });
      expect(bad.status).toBe(400);
    } finally {
      await svc.close();
    }
  });
});
