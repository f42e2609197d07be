// A global group over a stream source: the series is one entity to the
// incremental engine. Events posted to `fti serve` update its one online row
// at once (the next prediction reads them), and the batch pipeline over the
// same events (the file and the stream's segments) gives the values served.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompiledSpec } from "../compiler/cli/load.ts";
import type { SpecBundle } from "../runtime/api.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { startServer, type RunningServer } from "../runtime/online/http.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { trainModelFromSpec } from "../runtime/training/train.ts";
import { rng, sqlTime } from "./helpers/bundles.ts";
import { REPO } from "./helpers/online-athlete.ts";
import { storeUser } from "./helpers/store-user.ts";

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

model traffic_km {
  view traffic_data
  task regression
  algorithm gbdt(trees: 5, depth: 2, min_leaf: 5)
  split random(test_fraction: 0.2, seed: 1)
}

serve traffic_km { online }
`;

interface Ride {
  id: string;
  rider: string;
  at: number;
  km: number;
}

let root: string;
let bundle: SpecBundle;
let storePath: string;
let rides: Ride[];
let server: RunningServer;
const withStore = storeUser(() => storePath);
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

beforeAll(async () => {
  root = join(REPO, ".fti", `global-stream-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(join(root, "data"), { recursive: true });
  writeFileSync(join(root, "spec.fti"), SPEC);
  const rand = rng(5);
  rides = Array.from({ length: 300 }, (_, i) => ({
    id: `r${i}`,
    rider: `u${Math.floor(rand() * 6)}`,
    at: T0 + Math.floor(rand() * 10 * 24) * HOUR,
    km: 1 + Math.floor(rand() * 40) / 4,
  }));
  writeFileSync(join(root, "data/rides.csv"), ["ride_id,rider,at,km", ...rides.map((r) => [r.id, r.rider, sqlTime(r.at), r.km].join(","))].join("\n") + "\n");
  bundle = await loadCompiledSpec(join(root, "spec.fti"), { outDir: join(root, "generated/spec"), quiet: true });
  storePath = join(root, "store.duckdb");
  await withStore(async (store) => {
    await runFeaturePipeline(store, bundle);
    await trainModelFromSpec(store, bundle, "traffic_km");
    await materialize(store, bundle);
  });
  server = await startServer(bundle, { store: storePath, logs: false, port: 0, watch: false, logger: quiet });
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** The series' windows at its latest row, from the definitions (§6, all rides one entity). */
function expected(all: Ride[]): { km_1d: number; rides_1d: number; last_km: number } {
  const t = Math.max(...all.map((r) => r.at));
  const day = all.filter((r) => r.at > t - DAY && r.at <= t);
  const latest = all.filter((r) => r.at === t).sort((a, b) => (a.id < b.id ? 1 : -1))[0];
  return { km_1d: day.reduce((s, r) => s + r.km, 0), rides_1d: day.length, last_km: latest.km };
}

async function servedFeatures(): Promise<Record<string, unknown>> {
  const r = await fetch(`${server.url}/v1/models/traffic_km/predict`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  expect(r.status).toBe(200);
  const body = (await r.json()) as { features: Record<string, { value: unknown }> };
  return Object.fromEntries(Object.entries(body.features).map(([k, v]) => [k, v.value]));
}

describe("a global group over a stream", () => {
  it("applies posted events to the series' one online row, as the batch pipeline computes them", async () => {
    expect(await servedFeatures()).toEqual(expected(rides));
    const last = Math.max(...rides.map((r) => r.at));
    const posted: Ride[] = [
      { id: "live-1", rider: "u1", at: last + 2 * HOUR, km: 4.25 },
      { id: "live-2", rider: "u4", at: last + 2 * HOUR, km: 7.5 },
      { id: "live-3", rider: "new", at: last + 3 * HOUR, km: 2 },
    ];
    const res = await fetch(`${server.url}/v1/sources/rides/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(posted.map((r) => ({ ride_id: r.id, rider: r.rider, at: new Date(r.at).toISOString(), km: r.km }))),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const all = [...rides, ...posted];
    const streamed = await servedFeatures();
    expect(streamed).toEqual(expected(all));
    await server.close();
    // The batch pipeline over the file and the segments: the series' latest row holds what was served.
    const latest = await withStore(async (store) => {
      await runFeaturePipeline(store, bundle);
      return store.all<Record<string, unknown>>(`SELECT km_1d, rides_1d, last_km FROM fg_traffic_v1 ORDER BY event_time DESC, ride_id DESC LIMIT 1`);
    });
    expect({ ...latest[0], rides_1d: Number(latest[0].rides_1d) }).toEqual(streamed);
  });
});
