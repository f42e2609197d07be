// The per-source line of `fti features`: a stream source's valid rows include its
// segments' events, so the line names them beside the rows read from files
// (the newuser lane's earthquakes stream printed "1480 rows read, 1707 valid").

import { describe, expect, it } from "vitest";
import { sourceSummary } from "../runtime/cli/source-summary.ts";
import type { SourceReadReport } from "../runtime/features/sources.ts";

const base: SourceReadReport = { source: "quakes", table: "src_quakes", files: [], read: 1480, valid: 1480, quarantined: 0, skipped: 0, ms: 1 };

describe("fti features' source line", () => {
  it("a file source: rows read, valid, quarantined", () => {
    expect(sourceSummary({ ...base, read: 5, valid: 2, quarantined: 3 })).toBe("source quakes: 5 rows read, 2 valid, 3 quarantined");
  });

  it("a stream source: the streamed events beside the rows read, and the duplicates left out", () => {
    const stream = { segments: 3, events: 227, valid: 227, duplicates: 0, quarantined: 0, skipped: 0 };
    expect(sourceSummary({ ...base, valid: 1707, stream })).toBe("source quakes: 1480 rows read and 227 streamed events, 1707 valid, 0 quarantined");
    expect(sourceSummary({ ...base, valid: 1481, stream: { ...stream, events: 2, valid: 1, duplicates: 1 } })).toBe(
      "source quakes: 1480 rows read and 2 streamed events, 1481 valid, 0 quarantined, 1 duplicate event (already stored)",
    );
    expect(sourceSummary({ ...base, read: 0, valid: 1, stream: { ...stream, events: 1, valid: 1 } })).toBe("source quakes: 0 rows read and 1 streamed event, 1 valid, 0 quarantined");
  });
});
