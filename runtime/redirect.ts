// fti's HTTP clients (the LLM endpoint, `fti replay`) never follow a
// redirect: what they send — a conversation, events, a token on the same
// origin — would go wherever the server points. They fetch with
// `redirect: "manual"` and turn a 3xx into their own error with this text.

/** For a 3xx answer: its body discarded, `answered 307, a redirect to <Location>`; null for any other status. */
export async function redirectAnswer(res: Response): Promise<string | null> {
  if (res.status < 300 || res.status >= 400) return null;
  await res.body?.cancel().catch(() => {});
  const to = res.headers.get("location");
  return `answered ${res.status}, a redirect${to ? ` to ${to.slice(0, 300)}` : ""}`;
}
