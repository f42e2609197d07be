// Errors the user can act on (a missing file, a locked store, a changed
// feature group). The CLI prints these as one line (plus the hint, when set)
// instead of a stack trace; anything else is a bug and keeps its stack.

export class UserError extends Error {
  /** A suggested next step, printed on its own line after the message. */
  hint?: string;

  constructor(message: string, hint?: string) {
    super(message);
    this.name = "UserError";
    if (hint !== undefined) this.hint = hint;
  }
}

/** Wrong use of a command — flags that do not go together, a flag value of the wrong form: exit 2, not 1 (wrong input). */
export class UsageError extends Error {
  /** A suggested next step, printed on its own line after the message. */
  hint?: string;

  constructor(message: string, hint?: string) {
    super(message);
    this.name = "UsageError";
    if (hint !== undefined) this.hint = hint;
  }
}
