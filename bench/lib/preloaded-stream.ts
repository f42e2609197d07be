// The checkpoint probes' common start (bench/stream-cp-probe.ts, -trace.ts, -slices.ts): a StreamService of
// the athlete spec on a fresh store, preloaded with `preload` events of `athletes` athletes and 40 routes,
// all within the lateness (the stream suite's HTTP case's shape: a route holds preload / 40 rows). Modules
// are imported from `tree` when called, so a probe can patch what they bind first, or load another tree.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SpecBundle } from "../../runtime/api.ts";
import type { Store } from "../../runtime/store/store.ts";
import type { StreamService } from "../../runtime/stream/service.ts";

export interface PreloadedStream {
  svc: StreamService;
  store: Store;
  /** The next event of the same sequence (a new activity, 10 per millisecond of event time). */
  event: () => Record<string, unknown>;
  /** Closes the service and the store, removes the folder. */
  close: () => Promise<void>;
}

export async function preloadedStream(opts: { athletes: number; preload: number; dirPrefix: string; tree?: string; parentDir?: string }): Promise<PreloadedStream> {
  const tree = opts.tree ?? join(import.meta.dirname, "..", "..");
  const { openStore } = (await import(`${tree}/runtime/store/store.ts`)) as typeof import("../../runtime/store/store.ts");
  const { StreamService } = (await import(`${tree}/runtime/stream/service.ts`)) as typeof import("../../runtime/stream/service.ts");
  const { spec } = (await import(`${tree}/generated/athlete/index.ts`)) as { spec: SpecBundle };
  const dir = mkdtempSync(join(opts.parentDir ?? tmpdir(), opts.dirPrefix));
  const store = await openStore({ path: join(dir, "store.duckdb") });
  const svc = new StreamService(spec, join(dir, "store.duckdb"));
  await svc.rebuild(store, () => {});
  const base = Date.now() - 3_600_000;
  let n = 0;
  const event = () => {
    const i = n++;
    const km = 5 + (i % 11);
    return { activity_id: `p-${i}`, athlete_id: `a${i % opts.athletes}`, started_at: new Date(base + Math.floor(i / 10)).toISOString(), sport: "run", distance_km: km, elapsed_time_s: km * 330, elevation_gain_m: 40, planned_pace_min_km: 5.4, avg_hr: i % 3 === 0 ? null : 150, route_id: `r${i % 40}` };
  };
  for (let i = 0; i < opts.preload; i += 500) {
    const r = await svc.ingest("activities", Array.from({ length: 500 }, event), (k) => [k]);
    if (!r.ok) throw new Error(r.message);
  }
  const close = async () => {
    await svc.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { svc, store, event, close };
}
