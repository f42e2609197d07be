// The answers of the service's refusals: every error of the API has the shape
// `{"error": {"status", "code", "message", "issues"?}}` (CONTEXT.md, "Answers to bad input").

import type { ApiErrorBody, ApiIssue, LocalResponse } from "./types.ts";

export function apiError(status: number, code: string, message: string, issues?: ApiIssue[]): LocalResponse<never> {
  const body: ApiErrorBody = { error: { status, code, message, ...(issues ? { issues } : {}) } };
  return { status, body };
}
