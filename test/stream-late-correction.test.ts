// Late events corrected per entity: an event older than the lateness is
// stored and marks its entities; the correction (StreamService.correctLate,
// what a reload runs) recomputes only those entities from the offline store
// and the segments. Their values then equal the batch SQL's over the same
// events, and no other entity is recomputed.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GroupPlan, Scalar } from "../runtime/api.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { mulberry32 } from "../runtime/random.ts";
import { ident } from "../runtime/store/sql.ts";
import type { StreamUpdate } from "../runtime/stream/engine.ts";
import { openStore } from "../runtime/store/store.ts";
import { StreamService } from "../runtime/stream/service.ts";
import { buildAthleteWork, type AthleteWork } from "./helpers/online-athlete.ts";
import { close } from "./helpers/window-reference.ts";

process.env.FTI_STREAM_CHECKPOINT_MS = "0";
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let work: AthleteWork;

beforeAll(async () => {
  work = await buildAthleteWork({ athletes: 6, days: 100 });
}, 300_000);
afterAll(() => work?.cleanup());

function activity(rnd: () => number, id: string, athlete: string, at: number) {
  const km = Math.round((3 + rnd() * 12) * 100) / 100;
  return {
    activity_id: id, athlete_id: athlete, started_at: new Date(at).toISOString(), sport: "run", distance_km: km,
    elapsed_time_s: Math.round(km * (280 + rnd() * 80)), elevation_gain_m: Math.round(rnd() * 200), planned_pace_min_km: 5.3,
    avg_hr: Math.round(130 + rnd() * 40), route_id: `r${Math.floor(rnd() * 5)}`,
  };
}

const entityId = (u: { group: string; keys: Scalar[] }) => `${u.group}|${JSON.stringify(u.keys)}`;

/** Each streamed row equals the batch's latest row of its entity (time and every feature); returns how many values were compared. */
async function expectBatchValues(updates: Iterable<StreamUpdate>): Promise<number> {
  let compared = 0;
  for (const u of updates) {
    const plan = work.bundle.groups.find((g) => g.name === u.group)!;
    const row = await batchRow(plan, u.keys);
    expect(row, entityId(u)).toBeDefined();
    expect(u.eventMs, entityId(u)).toBe((row!.event_time as Date).getTime());
    plan.features.forEach((f, i) => {
      compared++;
      expect(close(u.values[i], row![f.name] as number | null, { base: f.type === "int" ? "int" : "float", nullable: true }), `${entityId(u)} ${f.name}: stream ${u.values[i]}, batch ${row![f.name]}`).toBe(true);
    });
  }
  return compared;
}

/** The batch's latest row of one entity of a group (the row the stream serves): its event time and features. */
async function batchRow(plan: GroupPlan, keys: Scalar[]): Promise<Record<string, unknown> | undefined> {
  return work.withStore(async (store) => {
    const where = plan.keys.map((k) => `${ident(k.name)} = ?`).join(" AND ");
    const order = ["event_time DESC", ...(plan.rowId ? [`${ident(plan.rowId.name)} DESC`] : [])].join(", ");
    const [row] = await store.all<Record<string, unknown>>(`SELECT * FROM ${ident(plan.table)} WHERE ${where} ORDER BY ${order} LIMIT 1`, keys);
    return row;
  });
}

describe("late events corrected per entity", () => {
  it("recomputes only the late events' entities, to the batch SQL's values", async () => {
    const svc = new StreamService(work.bundle, work.storePath);
    const online = new Map<string, StreamUpdate>();
    await work.withStore((store) => svc.rebuild(store, (u) => online.set(entityId(u), u)));
    const rnd = mulberry32(3);
    const now = Date.now();
    // Recent events for every athlete, then two late ones (40 days old: beyond the 1-day lateness), inside the 42-day windows.
    const recent = work.athletes.flatMap((a, i) => Array.from({ length: 4 }, (_, j) => activity(rnd, `live-${i}-${j}`, a, now - (10 - j) * HOUR)));
    const r1 = await svc.ingest("activities", recent, (k) => [k]);
    if (!r1.ok) throw new Error(r1.message);
    r1.updates.forEach((u) => online.set(entityId(u), u));
    const lateAthletes = work.athletes.slice(0, 2);
    const late = lateAthletes.map((a, i) => activity(rnd, `late-${i}`, a, now - 40 * DAY));
    const r2 = await svc.ingest("activities", late, (k) => [k]);
    if (!r2.ok) throw new Error(r2.message);
    expect(r2.result.late).toBe(2);
    const marked = new Set(r2.late.map(entityId));
    expect(marked.size).toBeGreaterThanOrEqual(2);

    const before = new Map(svc.engine.snapshot("activities").groups.flatMap((g) => g.entities.map((e) => [`${g.name}|${JSON.stringify(e.keys)}`, e.latest] as const)));
    const corrected: StreamUpdate[] = [];
    const [report] = await work.withStore((store) => svc.correctLate(store, (u) => corrected.push(u)));
    const offlineOfLate = await work.withStore(async (store) => {
      const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM src_activities WHERE athlete_id IN (${lateAthletes.map(() => "?").join(", ")})`, lateAthletes);
      return Number(c.n);
    });
    // Only the marked entities were recomputed, and only their offline rows read (the groups over activities key by athlete).
    expect(new Set(corrected.map(entityId))).toEqual(marked);
    expect(report).toEqual({ source: "activities", entities: marked.size, rowsRead: offlineOfLate });
    const after = svc.engine.snapshot("activities").groups.flatMap((g) => g.entities.map((e) => [`${g.name}|${JSON.stringify(e.keys)}`, e.latest] as const));
    let untouched = 0;
    for (const [k, latest] of after) {
      if (marked.has(k)) continue;
      expect(latest, k).toBe(before.get(k)); // the same objects: not recomputed
      untouched++;
    }
    expect(untouched).toBeGreaterThan(0);
    // A second correction has nothing to do.
    expect(await work.withStore((store) => svc.correctLate(store, () => {}))).toEqual([]);
    await svc.close();

    // The batch pipeline over the same events (the segments, the late ones included).
    await work.withStore((store) => runFeaturePipeline(store, work.bundle));
    expect(await expectBatchValues(corrected)).toBeGreaterThan(4);
  }, 300_000);
});

describe("late events corrected in the background (autoCorrect)", () => {
  it("while events go on for the same entities: no request waits for it, and every entity equals the batch SQL after", async () => {
    process.env.FTI_STREAM_CORRECT_MS = "20";
    const svc = new StreamService(work.bundle, work.storePath);
    const online = new Map<string, StreamUpdate>();
    await work.withStore((store) => svc.rebuild(store, (u) => online.set(entityId(u), u)));
    let corrections = 0;
    let opened = 0;
    let correcting = false;
    svc.autoCorrect(
      async () => {
        opened++;
        correcting = true; // its segment lines are read by now; the store is slow to open (as under load)
        await new Promise((r) => setTimeout(r, 100));
        return openStore({ path: work.storePath, readOnly: true });
      },
      (updates) => {
        corrections++;
        correcting = false;
        for (const u of updates) online.set(entityId(u), u);
      },
    );
    const rnd = mulberry32(8);
    const now = Date.now() + 30 * DAY; // after the first test's events: these are new
    const ingest = async (events: unknown[]) => {
      const r = await svc.ingest("activities", events, (k) => [k]);
      if (!r.ok) throw new Error(r.message);
      r.updates.forEach((u) => online.set(entityId(u), u));
      return r.result;
    };
    // Enough segment lines that the correction reads over several turns of the event loop.
    for (let b = 0; b < 20; b++) {
      await ingest(Array.from({ length: 500 }, (_, j) => activity(rnd, `bg-${b}-${j}`, work.athletes[j % work.athletes.length], now - DAY / 2 + b * 1000 + j)));
    }
    // Late events (beyond the 1-day lateness) of two athletes, then events of every athlete (those two included)
    // while the correction runs: each request is answered on its own, none waits for the correction.
    let late = 0;
    let during = 0;
    let n = 0;
    const lateAthletes = work.athletes.slice(2, 4);
    while (svc.stats()[0].corrections.runs === 0 || svc.stats()[0].latePending > 0) {
      if (late < 6) late += (await ingest(lateAthletes.map((a) => activity(rnd, `bg-late-${n++}`, a, now - (3 + late) * DAY)))).late;
      await ingest(work.athletes.map((a) => activity(rnd, `bg-live-${n++}`, a, now + n * 1000)));
      if (correcting) during++;
      await new Promise((r) => setTimeout(r, 2));
      if (n > 20_000) throw new Error("the late events were never corrected");
    }
    const stats = svc.stats()[0];
    expect(late).toBe(6);
    expect(during).toBeGreaterThan(0);
    expect(corrections).toBeGreaterThan(0);
    expect(opened).toBe(stats.corrections.runs);
    expect(stats.corrections.entities).toBeGreaterThanOrEqual(2);
    // Only the lines that may be the late athletes' were parsed (the groups key by athlete: a text test before JSON.parse).
    expect(stats.corrections.linesParsed).toBeLessThan(stats.corrections.linesRead);
    await svc.close();

    await work.withStore((store) => runFeaturePipeline(store, work.bundle));
    expect(await expectBatchValues(online.values())).toBeGreaterThan(20);
    delete process.env.FTI_STREAM_CORRECT_MS;
  }, 300_000);
});
