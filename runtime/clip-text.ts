// A text cut for a message or a prompt: its first `limit` characters and how long it was.
// Plain code with no imports: the light modules generated code loads (agents/plans.ts) use it.

/** `text` when at most `limit` characters, else its first `limit` and `… (N characters)`. */
export function clip(text: string, limit = 80): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length} characters)`;
}
