// `format "%b %d %Y"` on a timestamp field: how its text is spelled in the
// source's files, read by DuckDB's strptime. Only the directives listed here
// are accepted (each one is checked against DuckDB in
// test/timestamp-format.test.ts), so a format that passes the checker cannot
// fail when the pipeline binds it. `format "epoch_seconds"` (`epoch_millis`,
// `epoch_micros`) reads a number since the epoch instead (runtime/features/epoch-units.ts).

import type { FieldDecl } from "../ast.ts";
import type { IrType } from "../ir.ts";
import { EPOCH_UNITS } from "../../runtime/features/epoch-units.ts";
import { DIAG } from "../messages.ts";
import type { Ctx } from "./context.ts";
import { show } from "./types.ts";

/** strptime directives (after `%`): names of days and months, numbers, the 12-hour clock, fractions, a UTC offset. */
export const TIMESTAMP_DIRECTIVES = [
  "Y", "y", "-y", "G", "m", "-m", "b", "B", "h", "d", "-d", "j", "-j", "a", "A", "w", "u", "U", "W", "V",
  "H", "-H", "I", "-I", "p", "M", "-M", "S", "-S", "f", "g", "n", "z",
] as const;
const YEAR = new Set(["Y", "y", "-y", "G"]);
/** strftime shorthands other tools read, as the directives they stand for. */
const SHORTHANDS: Record<string, string> = { e: "%-d", T: "%H:%M:%S", F: "%Y-%m-%d", D: "%m/%d/%y", R: "%H:%M", k: "%-H", l: "%-I", s: `format "epoch_seconds" for seconds since 1970-01-01 UTC (or "epoch_millis", "epoch_micros")` };

/** The directives of a pattern, in order (`%%` is a literal percent sign); an unknown one as written. */
export function directivesOf(pattern: string): string[] {
  const out: string[] = [];
  for (let i = pattern.indexOf("%"); i >= 0; i = pattern.indexOf("%", i)) {
    const d = pattern[i + 1] === "-" ? pattern.slice(i + 1, i + 3) : pattern.slice(i + 1, i + 2);
    if (d !== "%") out.push(d);
    i += 1 + Math.max(d.length, 1);
  }
  return out;
}

/** The field's format, if it has one that reads a timestamp; every problem reported. */
export function checkTimestampFormat(ctx: Ctx, f: FieldDecl, type: IrType): string | undefined {
  if (!f.formats.length) return undefined;
  const [first, ...more] = f.formats;
  for (const m of more) ctx.report(m.range, DIAG.timestampFormat.twice(f.name.name));
  if (type.base !== "timestamp") {
    ctx.report(first.range, DIAG.timestampFormat.notTimestamp(f.name.name, show(type)));
    return undefined;
  }
  const pattern = first.pattern.value;
  if (EPOCH_UNITS[pattern]) return more.length ? undefined : pattern;
  const directives = directivesOf(pattern);
  const known = new Set<string>(TIMESTAMP_DIRECTIVES);
  const unknown = directives.filter((d) => !known.has(d));
  for (const d of unknown) ctx.report(first.pattern.range, DIAG.timestampFormat.directive(`%${d}`, TIMESTAMP_DIRECTIVES, SHORTHANDS[d]));
  if (unknown.length) return undefined;
  if (!directives.some((d) => YEAR.has(d))) {
    ctx.report(first.pattern.range, DIAG.timestampFormat.noYear(pattern));
    return undefined;
  }
  return more.length ? undefined : pattern;
}
