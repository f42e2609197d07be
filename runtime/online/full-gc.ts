// One full garbage collection, on demand, for `fti serve` once its online
// tables are loaded and before it listens. Loading a million entities leaves
// ~180 MB of dead objects in the old space (the rows as DuckDB handed them
// over, before they were packed into typed arrays; the live heap is ~15 MB).
// Left there, the first major GC while serving marks and sweeps them between
// requests; collected now, it costs ~20 ms of CPU before the first request.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | null = null;

/** A full (major) GC now; the heap's used bytes before and after. */
export function collectGarbage(): { beforeBytes: number; afterBytes: number } {
  // `gc` exists in contexts made after the flag is set (the process need not start with --expose-gc).
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  const beforeBytes = process.memoryUsage().heapUsed;
  gc();
  return { beforeBytes, afterBytes: process.memoryUsage().heapUsed };
}

/**
 * Turns off V8's allocation-site pretenuring for the rest of the process: `fti serve` calls it once
 * loaded, before it listens. Under load, requests in flight at a young-generation collection make
 * the sites that allocate them (node:http's request and header objects, the answer's parts) look
 * long-lived, and V8 then allocates their objects straight in the old space: each dead there until
 * the next major GC, and holding the young objects it points to alive (they were promoted too). At
 * a paced 1,000 predictions/s the old space grew 0.38–0.39 KB per answer with pretenuring, 0.13–0.14
 * KB without (`--trace-gc-nvp`, same run), and the major GCs whose pauses land between requests came
 * that much less often. Loading (where pretenuring helps: the online tables' arrays live on) is done by then.
 */
export function stopPretenuring(): void {
  setFlagsFromString("--no-allocation-site-pretenuring");
}

/**
 * Young-generation collections (scavenges) on the serving thread alone, for the rest of the process: `fti serve`
 * calls it once loaded (loading, with its large survivors, keeps V8's parallel scavenge). A served request leaves
 * few survivors (~0.3 MB of 13 MB per scavenge at a paced 1,000 predictions/s), so the helper threads have little
 * to take over, but the serving thread waits for every helper task that started: on a machine whose cores are
 * busy, a helper that lost its core holds the pause. Same-minute A/B on 2 shared cores (load 12–18, 3 paced runs of
 * 20 s each, docs/benchmarks.md): the longest scavenge per run 8.2, 5.9, 9.4 ms with helpers, 1.8, 1.2, 2.1 ms without
 * (pause in all −25 %); under 10,000-instance batches (large survivors) the median scavenge 3.1 → 3.8 ms, the
 * longest 53 → 24 ms. Major GCs keep their concurrent marking and sweeping.
 */
export function scavengeOnOneThread(): void {
  setFlagsFromString("--no-parallel-scavenge");
}

