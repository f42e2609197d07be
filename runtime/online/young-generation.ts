// The young generation of `fti serve` kept at its size through lulls in the
// traffic.
//
// V8 shrinks the young generation (the new space, where a request's objects
// live and die) when a GC finds the allocation rate of the last ~5 s below
// 1 KB/ms, and grows it back only as objects survive collections — which the
// server's answers rarely do. So after a lull (a quiet minute, or the seconds
// a benchmark spends on another server), the first scavenge shrank it to its
// minimum and it stayed there under the traffic that followed: at 1,000
// predictions/s, ~240 scavenges per 20 s instead of ~40, more pause in all
// (docs/benchmarks.md, "Tenth session: tail" and "Twelfth session: online").
// node's `--min-semi-space-size` prevents it, but only on the command line.
//
// Here: every TICK_MS, when the event loop was idle for almost all of it, the
// process allocates short-lived arrays (~2 MB/s), so the rate V8 reads at its
// next collection stays above its threshold. Under traffic the answers
// allocate far more than that and nothing is added. The cost: while idle, a
// scavenge of garbage every few seconds, and the memory of a full-size young
// generation (what it holds under load anyway).
//
// That allocation also keeps V8's memory reducer away, which in a lull runs a
// major GC (and shrinks the young generation with it): the old space's garbage
// of the traffic before would then be collected by major GCs under the next
// traffic (an A/B of 3 × 10 s paced runs after lulls: 3 mark-compacts where the
// reducer's idle GC had left none). So once the loop has been idle for
// IDLE_GC_TICKS after at least IDLE_GC_AFTER_BUSY busy ticks of traffic, the
// keeper runs one full GC itself — one that leaves the young generation's size
// alone, since the allocation rate is kept up. (Gated instead on the old
// space's growth since the last full GC, 2 MB, it often did not run: V8's own
// mark-compacts under the traffic had kept the old space below that, with
// their garbage limit close, and the next traffic's first mark-compact came
// during it: one per paced run in bench/online-tail.ts, 08:55.)

import { performance, type EventLoopUtilization } from "node:perf_hooks";
import { collectGarbage } from "./full-gc.ts";

export const TICK_MS = 100;
/** Allocated per idle tick: ~2 MB/s, twice the rate below which V8 shrinks the young generation. */
export const BYTES_PER_TICK = 200 * 1024;
/** A tick whose event loop was busy for less than this share of it is idle. */
export const IDLE_BELOW = 0.02;
/** Idle ticks in a row before the idle full GC (1 s). */
export const IDLE_GC_TICKS = 10;
/** Busy ticks (traffic) since the last idle full GC that make the next lull's worth running (1 s). */
export const IDLE_GC_AFTER_BUSY = 10;
/** Elements of each array allocated (8 KB of slots each on 64-bit without pointer compression; a regular, young object). */
const ARRAY_LENGTH = 1024;

/** Where the arrays go, so that no compiler can drop the allocations as unused. */
let sink: unknown = null;

export interface KeeperHooks {
  /** The event loop's busy share since the last call (default: performance.eventLoopUtilization). */
  utilization?: () => number;
  /** A full GC (default: full-gc.ts collectGarbage). */
  fullGc?: () => void;
}

export class YoungGenerationKeeper {
  /** Idle ticks so far (those that allocated). */
  idleTicks = 0;
  ticks = 0;
  /** Full GCs the keeper ran in lulls. */
  idleGcs = 0;
  private idleRun = 0;
  /** Busy ticks since the last idle full GC. */
  private busySinceGc = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly utilization: () => number;
  private readonly fullGc: () => void;

  constructor(hooks: KeeperHooks = {}) {
    this.utilization = hooks.utilization ?? eluSince();
    this.fullGc = hooks.fullGc ?? (() => void collectGarbage());
  }

  start(): this {
    this.timer ??= setInterval(() => this.tick(), TICK_MS).unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    sink = null;
  }

  /** One tick: allocates when the loop was idle since the last one; a full GC once a lull after traffic is IDLE_GC_TICKS long. */
  tick(): boolean {
    this.ticks++;
    if (this.utilization() >= IDLE_BELOW) {
      this.idleRun = 0;
      this.busySinceGc++;
      return false;
    }
    this.idleTicks++;
    if (++this.idleRun === IDLE_GC_TICKS && this.busySinceGc >= IDLE_GC_AFTER_BUSY) {
      this.fullGc();
      this.idleGcs++;
      this.busySinceGc = 0;
    }
    for (let bytes = 0; bytes < BYTES_PER_TICK; bytes += ARRAY_LENGTH * 8) sink = new Array(ARRAY_LENGTH);
    return true;
  }
}


/** The event loop's utilization since the previous call (the first call: since the process started). */
function eluSince(): () => number {
  let last: EventLoopUtilization | undefined;
  return () => {
    const now = performance.eventLoopUtilization();
    const delta = last ? performance.eventLoopUtilization(now, last) : now;
    last = now;
    return delta.utilization;
  };
}
