// A global group over a stream source: the series is one entity to the
// incremental engine. Events posted to `fti serve` update its one online row
// at once (the next prediction reads them), and the batch pipeline over the
// same events (the file and the stream's segments) gives the values served.

import { describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { rng, sqlTime } from "./helpers/bundles.ts";
import { servedFeatures as served, servedModel, useServedStream } from "./helpers/served-stream.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2025, 4, 1);

const SPEC = `
source rides {
  path "data/rides.csv"
  stream lateness 1d
  event_time at
  unique ride_id
  fields { ride_id: string  rider: string  at: timestamp  km: float check (> 0) }
}

// Every rider's rides: one series.
feature_group traffic from rides {
  km_1d = sum(km) over 1d
  rides_1d = count() over 1d
  last_km = last(km) over 2d
}

view traffic_data from rides {
  label km_next = km
  features traffic.*
}
${servedModel("traffic_km", "traffic_data")}`;

interface Ride {
  id: string;
  rider: string;
  at: number;
  km: number;
}

let rides: Ride[];
const use = useServedStream(() => {
  const rand = rng(5);
  rides = Array.from({ length: 300 }, (_, i) => ({
    id: `r${i}`,
    rider: `u${Math.floor(rand() * 6)}`,
    at: T0 + Math.floor(rand() * 10 * 24) * HOUR,
    km: 1 + Math.floor(rand() * 40) / 4,
  }));
  const csv = ["ride_id,rider,at,km", ...rides.map((r) => [r.id, r.rider, sqlTime(r.at), r.km].join(","))].join("\n") + "\n";
  return { name: "global-stream", spec: SPEC, files: { "data/rides.csv": csv }, model: "traffic_km" };
});

/** The series' windows at its latest row, from the definitions (§6, all rides one entity). */
function expected(all: Ride[]): { km_1d: number; rides_1d: number; last_km: number } {
  const t = Math.max(...all.map((r) => r.at));
  const day = all.filter((r) => r.at > t - DAY && r.at <= t);
  const latest = all.filter((r) => r.at === t).sort((a, b) => (a.id < b.id ? 1 : -1))[0];
  return { km_1d: day.reduce((s, r) => s + r.km, 0), rides_1d: day.length, last_km: latest.km };
}

const servedFeatures = () => served(use.server, "traffic_km", {});

describe("a global group over a stream", () => {
  it("applies posted events to the series' one online row, as the batch pipeline computes them", async () => {
    expect(await servedFeatures()).toEqual(expected(rides));
    const last = Math.max(...rides.map((r) => r.at));
    const posted: Ride[] = [
      { id: "live-1", rider: "u1", at: last + 2 * HOUR, km: 4.25 },
      { id: "live-2", rider: "u4", at: last + 2 * HOUR, km: 7.5 },
      { id: "live-3", rider: "new", at: last + 3 * HOUR, km: 2 },
    ];
    const res = await fetch(`${use.server.url}/v1/sources/rides/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(posted.map((r) => ({ ride_id: r.id, rider: r.rider, at: new Date(r.at).toISOString(), km: r.km }))),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const all = [...rides, ...posted];
    const streamed = await servedFeatures();
    expect(streamed).toEqual(expected(all));
    await use.server.close();
    // The batch pipeline over the file and the segments: the series' latest row holds what was served.
    const latest = await use.stream.withStore(async (store) => {
      await runFeaturePipeline(store, use.stream.bundle);
      return store.all<Record<string, unknown>>(`SELECT km_1d, rides_1d, last_km FROM fg_traffic_v1 ORDER BY event_time DESC, ride_id DESC LIMIT 1`);
    });
    expect({ ...latest[0], rides_1d: Number(latest[0].rides_1d) }).toEqual(streamed);
  });
});
