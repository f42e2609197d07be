// bench/lib/gc-trace.ts: the per-run GC summary the online benches print from `--trace-gc-nvp` lines.

import { describe, expect, it } from "vitest";
import { fmtGcTrace, gcTrace } from "../bench/lib/gc-trace.ts";

const line = (iso: string, ms: number, kind: string, pause: number, promoted: number) =>
  `[123:${iso}]    ${ms} ms: pause=${pause} mutator=1.0 gc=${kind} reduce_memory=0 time_to_safepoint=0.00 allocated=100 promoted=${promoted} new_space_survived=5`;

describe("gcTrace", () => {
  it("counts the main isolate's GCs by kind (pauses, longest, promoted bytes) and leaves the workers' out", () => {
    const main = "0x2a0f7400";
    const worker = "0x7f16e4000f00";
    const text = [
      line(main, 10, "s", 1.5, 1000),
      "serving finish_time@1 at http://127.0.0.1:1234",
      line(worker, 11, "mc", 18.7, 0),
      line(main, 20, "s", 2.5, 3000),
      line(main, 30, "mc", 6.25, 500),
      line(main, 40, "s", 0.5, 0),
    ].join("\n");
    const by = gcTrace(text);
    expect(Object.fromEntries(by)).toEqual({
      s: { count: 3, pauseMs: 4.5, maxMs: 2.5, promotedBytes: 4000 },
      mc: { count: 1, pauseMs: 6.25, maxMs: 6.25, promotedBytes: 500 },
    });
    expect(fmtGcTrace(by, 100)).toBe("scavenges 3 (pause 5 ms, longest 2.5), major GCs 1 (pause 6 ms, longest 6.3); promoted to the old space 45 B per answer");
  });

  it("says so when a run had no major GC, or no GC line at all", () => {
    const by = gcTrace(line("0x1", 5, "s", 1, 2000));
    expect(fmtGcTrace(by, 10)).toBe("scavenges 1 (pause 1 ms, longest 1.0), major GCs 0; promoted to the old space 200 B per answer");
    expect(fmtGcTrace(gcTrace("no gc here\n"), 10)).toBe("no GC lines (--trace-gc-nvp)");
  });
});
