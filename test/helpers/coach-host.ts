// The generated coach agent with an in-memory host (no store, no model: a
// tool call's prediction is a fixed 3000 s) against an OpenAI-compatible
// endpoint: what the agent tool-loop tests run their endpoints against.

import type { AgentHost, AgentLogEntry } from "../../runtime/agents/chat.ts";
import { agentSettingsFromEnv, type AgentFlags } from "../../runtime/agents/settings.ts";
import type { SpecBundle } from "../../runtime/api.ts";
import { coachAgent } from "../../generated/athlete/agents.ts";

export function coachHost(llmUrl: string, flags: AgentFlags, log: AgentLogEntry[] = []): AgentHost {
  return {
    bundle: { agents: [coachAgent] } as unknown as SpecBundle,
    settings: agentSettingsFromEnv({}, { llmUrl, ...flags }),
    now: () => Date.UTC(2026, 0, 1),
    lookup: () => ({}),
    search: async () => [],
    predict: async () => ({ status: 200, body: { prediction: 3000 } }),
    log: (e) => log.push(e),
  };
}

/** The athlete's question every test asks the coach. */
export const COACH_ASK = { athlete_id: "a0001", message: "How long will my 10 km take?" };
