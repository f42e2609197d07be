// Durations on the command line: `90s`, `30m`, `6h`, `1d`, `2w` (a number and a unit).

import { UserError } from "../errors.ts";

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDuration(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim());
  const ms = m ? Number(m[1]) * UNIT_MS[m[2]] : NaN;
  if (!(ms > 0)) throw new UserError(`${flag} ${text}: not a duration`, "use a positive number and a unit: 90s, 30m, 6h, 1d, 2w");
  return ms;
}
