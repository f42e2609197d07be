// StreamService.correctLate (what a reload does while late events are marked,
// and the background correction): requests arriving during the correction are
// answered meanwhile (no gate) and applied once, the late event is applied, and
// a failed correction leaves the state as it was (the late event still pending).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { SpecBundle, StreamRow } from "../runtime/api.ts";
import type { Store } from "../runtime/store/store.ts";
import { StreamEngine, type StreamUpdate } from "../runtime/stream/engine.ts";
import { StreamService } from "../runtime/stream/service.ts";
import { validateEvent } from "../runtime/stream/validate.ts";

const { spec } = (await import("../generated/athlete/index.ts")) as { spec: SpecBundle };
const DAY = 86_400_000;
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

let n = 0;
function event(athlete: string, at: number) {
  n++;
  return {
    activity_id: `e-${n}`, athlete_id: athlete, started_at: new Date(at).toISOString(), sport: "run", distance_km: 5 + (n % 7),
    elapsed_time_s: (5 + (n % 7)) * 320 + n, elevation_gain_m: n % 50, planned_pace_min_km: 5.4, avg_hr: n % 4 === 0 ? null : 150, route_id: `r${n % 3}`,
  };
}

/** A store without a src_activities table (nothing ingested by a batch run yet), read after `delayMs`, or failing. */
const fakeStore = (delayMs: number, fail = false) =>
  ({
    tableExists: async () => {
      await new Promise((r) => setTimeout(r, delayMs));
      if (fail) throw new Error("the store could not be read");
      return false;
    },
  }) as unknown as Store;

/** Every entity's fitness row after the events, applied once each in time order by a fresh engine. */
function expected(events: ReturnType<typeof event>[]): Map<string, StreamUpdate> {
  const plan = spec.sources.find((s) => s.name === "activities")!;
  const engine = new StreamEngine(spec);
  const rows = events.map((e) => (validateEvent(plan, e, []) as { row: StreamRow }).row).sort((a, b) => (a.started_at as Date).getTime() - (b.started_at as Date).getTime());
  const out = new Map<string, StreamUpdate>();
  for (const r of rows) for (const u of engine.apply("activities", r)) if (u.group === "fitness") out.set(String(u.keys[0]), u);
  return out;
}

function service(): { svc: StreamService; online: Map<string, StreamUpdate>; apply(us: StreamUpdate[]): void } {
  const dir = mkdtempSync(join(tmpdir(), "fti-rebuild-"));
  dirs.push(dir);
  const online = new Map<string, StreamUpdate>();
  const apply = (us: StreamUpdate[]) => us.forEach((u) => u.group === "fitness" && online.set(String(u.keys[0]), u));
  return { svc: new StreamService(spec, join(dir, "store.duckdb")), online, apply };
}

describe("correcting late events while events arrive", () => {
  it("applies the late event, and the events sent during the rebuild once each", async () => {
    const { svc, online, apply } = service();
    const now = Date.UTC(2026, 5, 1);
    const first = Array.from({ length: 30 }, (_, i) => event(`a${i % 3}`, now - (30 - i) * 3_600_000));
    for (const e of first) {
      const r = await svc.ingest("activities", [e], () => []);
      if (!r.ok) throw new Error(r.message);
      apply(r.updates);
    }
    const late = event("a1", now - 5 * DAY);
    const marked = await svc.ingest("activities", [late], () => []);
    expect(marked.ok && marked.result.late).toBe(1);
    expect(marked.ok && marked.late.filter((l) => l.group === "fitness")).toEqual([{ group: "fitness", keys: ["a1"], eventMs: now - 5 * DAY }]);

    // The rebuild reads the (slow) store while ten more requests arrive, one of them a resent event.
    const during = Array.from({ length: 10 }, (_, i) => event(`a${i % 3}`, now + i * 60_000));
    // Each answer's rows are served when it comes (as the server does), the correction's when it ends.
    let answeredDuring = 0;
    let correcting = true;
    const rebuilt = svc.correctLate(fakeStore(80), (u) => apply([u])).finally(() => (correcting = false));
    const sent = [...during, first[3]].map((e) =>
      svc.ingest("activities", [e], () => []).then((r) => {
        if (!r.ok) throw new Error(r.message);
        if (correcting) answeredDuring++;
        apply(r.updates);
        return r;
      }),
    );
    await rebuilt;
    const counts = await Promise.all(sent);
    expect(answeredDuring).toBeGreaterThan(0); // no request waited for the correction
    expect(counts.map((r) => (r.ok ? r.result.accepted : -1))).toEqual([...during.map(() => 1), 0]);
    const want = expected([...first, late, ...during]);
    expect(online.size).toBe(want.size);
    for (const [k, u] of want) expect(online.get(k)?.values, k).toEqual(u.values);
    // The state itself: every entity as a fresh engine applying each event once gives it.
    const state = new Map([...svc.engine.rows("activities")].filter((u) => u.group === "fitness").map((u) => [String(u.keys[0]), u.values]));
    for (const [k, u] of want) expect(state.get(k), k).toEqual(u.values);
  });

  it("a correction whose store read fails leaves the state as it was", async () => {
    const { svc, online, apply } = service();
    const now = Date.UTC(2026, 5, 1);
    const events = Array.from({ length: 12 }, (_, i) => event(`b${i % 2}`, now - (12 - i) * 3_600_000));
    for (const e of events) {
      const r = await svc.ingest("activities", [e], () => []);
      if (r.ok) apply(r.updates);
    }
    const late = await svc.ingest("activities", [event("b1", now - 5 * DAY)], () => []);
    expect(late.ok && late.result.late).toBe(1);
    await expect(svc.correctLate(fakeStore(10, true), (u) => apply([u]))).rejects.toThrow(/could not be read/);
    const next = event("b0", now + 60_000);
    const r = await svc.ingest("activities", [next, events[0]], () => []);
    expect(r.ok && [r.result.accepted, r.result.duplicates]).toEqual([1, 1]);
    if (r.ok) apply(r.updates);
    const want = expected([...events, next]);
    for (const [k, u] of want) expect(online.get(k)?.values, k).toEqual(u.values);
  });
});
