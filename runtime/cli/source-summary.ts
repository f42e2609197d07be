// The line `fti features` prints per source. A stream source's valid rows
// include the events of its segments, which are not among the rows read from
// its files: the line names both, so "1480 rows read, 1707 valid" does not
// read as more valid rows than were read.

import type { SourceReadReport } from "../features/sources.ts";

export function sourceSummary(s: SourceReadReport): string {
  const streamed = s.stream ? ` and ${s.stream.events} streamed ${s.stream.events === 1 ? "event" : "events"}` : "";
  const duplicates = s.stream?.duplicates ? `, ${s.stream.duplicates} duplicate ${s.stream.duplicates === 1 ? "event" : "events"} (already stored)` : "";
  return `source ${s.source}: ${s.read} rows read${streamed}, ${s.valid} valid, ${s.quarantined} quarantined${duplicates}`;
}
