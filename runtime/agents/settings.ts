// The agent's endpoint and budgets: configuration, never spec.
// FTI_LLM_URL (base URL of an OpenAI-compatible API), FTI_LLM_API_KEY,
// FTI_LLM_TIMEOUT_MS (per LLM call, default 60 s), and the tool loop's bounds:
// FTI_AGENT_MAX_STEPS (LLM calls per turn, default 6), FTI_AGENT_MAX_TOKENS
// (tokens per turn as the endpoint reports them, default 20,000),
// FTI_AGENT_TIMEOUT_MS (a whole turn, default 120 s). `fti serve` flags override.

import type { EndpointConfig } from "../llm/http.ts";

export interface AgentSettings {
  /** Absent: agents answer 503 until an endpoint is configured. */
  chat?: EndpointConfig;
  maxSteps: number;
  maxTokens: number;
  totalTimeoutMs: number;
}

export interface AgentFlags {
  llmUrl?: string;
  llmApiKey?: string;
  llmTimeoutMs?: number;
  agentMaxSteps?: number;
  agentMaxTokens?: number;
  agentTimeoutMs?: number;
}

export function agentSettingsFromEnv(env: NodeJS.ProcessEnv = process.env, flags: AgentFlags = {}): AgentSettings {
  const num = (flag: number | undefined, v: string | undefined, dflt: number) => {
    if (flag !== undefined && Number.isFinite(flag) && flag > 0) return flag;
    const n = Number(v);
    return v !== undefined && v !== "" && Number.isFinite(n) && n > 0 ? n : dflt;
  };
  const url = flags.llmUrl ?? env.FTI_LLM_URL;
  return {
    ...(url ? { chat: { url, apiKey: flags.llmApiKey ?? env.FTI_LLM_API_KEY, timeoutMs: num(flags.llmTimeoutMs, env.FTI_LLM_TIMEOUT_MS, 60_000), retries: 1 } } : {}),
    maxSteps: Math.floor(num(flags.agentMaxSteps, env.FTI_AGENT_MAX_STEPS, 6)),
    maxTokens: Math.floor(num(flags.agentMaxTokens, env.FTI_AGENT_MAX_TOKENS, 20_000)),
    totalTimeoutMs: num(flags.agentTimeoutMs, env.FTI_AGENT_TIMEOUT_MS, 120_000),
  };
}
