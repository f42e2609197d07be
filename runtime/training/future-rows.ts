// Training rows dated after the run: their labels are taken as observed, and a time split tests on
// them first. A clock off, or a two-digit year read as 20xx, puts past events there without a word:
// vega-datasets' movies dates 24 films of the 1920s-40s in 2027-2046 (King Kong (1933) on
// 2033-04-07), and the newuser lane's genre model measured its test metrics on them.

export interface FutureRows {
  rows: number;
  /** ISO time of the latest. */
  latest: string;
}

/** The rows of `time` (epoch ms) after `nowMs`, or null when none. */
export function futureRows(time: Float64Array, nowMs: number): FutureRows | null {
  let rows = 0;
  let latest = -Infinity;
  for (const t of time) {
    if (!(t > nowMs)) continue;
    rows++;
    if (t > latest) latest = t;
  }
  return rows ? { rows, latest: new Date(latest).toISOString() } : null;
}

/** The report's warning. */
export function futureRowsLine(f: FutureRows, total: number): string {
  return (
    `${f.rows} of the ${total} rows are dated after now (the latest at ${f.latest}): their labels are taken as observed and a time split ` +
    "tests on them first; check the event times (a clock off, or a two-digit year read as 20xx)"
  );
}
