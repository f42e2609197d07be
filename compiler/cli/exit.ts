// Exit codes of `fti`, and the error a command throws for wrong usage.
// 0 ok; 1 the input is wrong (spec errors, stale output, bad data, a failed
// gate); 2 usage; 3 an internal error (a bug in fti).

export const EXIT = { ok: 0, input: 1, usage: 2, internal: 3 } as const;

/** Wrong use of a command (exit 2), as opposed to wrong input (exit 1); the runtime's commands throw it too. */
export { UsageError } from "../../runtime/errors.ts";
