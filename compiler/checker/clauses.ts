// Checks per clause. A declaration kind lists its clause checks in order (the
// Langium way: checks registered per node kind, not one long function); each
// check reads the declaration, fills its part of a draft and reports through
// `ctx`. Every check runs, also after an earlier one failed, so one run
// reports every error; the declaration enters the IR only when all passed.
//
// To check a new clause: write `{ clause, check }` in the module of its
// declaration kind and add it to that kind's list (`VIEW_CLAUSES`, ...).

import type { Ctx } from "./context.ts";

export interface ClauseCheck<D, Draft> {
  /** The clause, for readers: "label", "features", "ttl". */
  clause: string;
  /** Checks the clause, filling `draft`; false when it reported an error. */
  check(ctx: Ctx, decl: D, draft: Draft): boolean;
}

/** Runs every check in order; true when all passed. */
export function runClauses<D, Draft>(ctx: Ctx, decl: D, draft: Draft, checks: ReadonlyArray<ClauseCheck<D, Draft>>): boolean {
  let ok = true;
  for (const c of checks) if (!c.check(ctx, decl, draft)) ok = false;
  return ok;
}
