// Scoring a model whose view has no keys (every group global) and no request
// fields: batch inference without an entities file scores the series once as
// of a time; online, the request is `{}`; both read the one online row / the
// same point-in-time row, and a stale series is refused alike (a 422 online, a
// reject in batch) with a reason that names no entity.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompiledSpec } from "../compiler/cli/load.ts";
import type { SpecBundle } from "../runtime/api.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { predictBatch } from "../runtime/inference/batch.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { parseOnlineStore } from "../runtime/online/online-store.ts";
import { materializeShared } from "../runtime/online/redis-sync.ts";
import { OnlineService } from "../runtime/online/service.ts";
import type { ApiErrorBody, OnlinePrediction } from "../runtime/online/types.ts";
import { createMcpServer } from "../runtime/mcp/server.ts";
import { trainModelFromSpec } from "../runtime/training/train.ts";
import { rng, sqlTime } from "./helpers/bundles.ts";
import { REPO } from "./helpers/online-athlete.ts";
import { hasRedis, startRedis } from "./helpers/redis-server.ts";
import { storeUser } from "./helpers/store-user.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2025, 0, 1);

const SPEC = `
source sales {
  path "data/sales.csv"
  event_time day
  unique day
  fields { day: timestamp  units: int  price: float }
}

feature_group demand from sales {
  units_7d = sum(units) over 7d
  price_3d = avg(price) over 3d
}

view demand_data from sales {
  label units_today = units
  features demand.*
  ttl 2d
}

model demand_m {
  view demand_data
  task regression
  algorithm gbdt(trees: 10, depth: 2, min_leaf: 3)
  split random(test_fraction: 0.25, seed: 2)
}

serve demand_m {
  online
  batch into predictions.demand_m
}
`;

let root: string;
let bundle: SpecBundle;
let storePath: string;
const withStore = storeUser(() => storePath);
/** Units sold on day d (from T0). */
let units: number[];
/** The last day of the data. */
const LAST = T0 + 79 * DAY;

beforeAll(async () => {
  root = join(REPO, ".fti", `global-serving-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(join(root, "data"), { recursive: true });
  writeFileSync(join(root, "spec.fti"), SPEC);
  const rand = rng(9);
  units = Array.from({ length: 80 }, () => 10 + Math.floor(rand() * 30));
  const lines = units.map((u, d) => [sqlTime(T0 + d * DAY), u, 2 + Math.floor(rand() * 8) / 4].join(","));
  writeFileSync(join(root, "data/sales.csv"), ["day,units,price", ...lines].join("\n") + "\n");
  bundle = await loadCompiledSpec(join(root, "spec.fti"), { outDir: join(root, "generated/spec"), quiet: true });
  storePath = join(root, "store.duckdb");
  await withStore(async (store) => {
    await runFeaturePipeline(store, bundle);
    await trainModelFromSpec(store, bundle, "demand_m");
    await materialize(store, bundle);
  });
}, 120_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe("a model of one series without request fields", () => {
  it("batch without an entities file scores the series once; online `{}` gives the same prediction and features", async () => {
    const now = LAST + 12 * HOUR;
    const rows = await withStore(async (store) => {
      const report = await predictBatch(store, bundle, "demand_m", { asOf: new Date(now) });
      expect(report.rows).toBe(1);
      return store.all<{ row_number: bigint; as_of: Date; prediction: number; input_units_7d: number }>(`SELECT * FROM predictions.demand_m`);
    });
    expect(rows).toHaveLength(1);
    expect(rows[0].as_of.getTime()).toBe(now);
    const svc = await OnlineService.open(bundle, { store: storePath, logs: false, now: () => now });
    try {
      expect(svc.models()[0].request).toEqual([]);
      const res = await svc.predict("demand_m", {});
      expect(res.status).toBe(200);
      const body = res.body as OnlinePrediction;
      expect(body.prediction).toBe(rows[0].prediction);
      expect(body.features.units_7d.value).toBe(Number(rows[0].input_units_7d));
      expect(body.feature_times).toEqual({ demand: new Date(LAST).toISOString() });
      const unknown = await svc.predict("demand_m", { day: "2025-03-01" });
      expect(unknown.status).toBe(400);
      expect((unknown.body as ApiErrorBody).error.issues!.map((i) => i.path)).toEqual([["day"]]);
    } finally {
      await svc.close();
    }
  });

  it("MCP's get_online_features reads the series without an entity, as predictions see it", async () => {
    const now = LAST + 12 * HOUR;
    const svc = await OnlineService.open(bundle, { store: storePath, logs: false, now: () => now });
    const client = new Client({ name: "fti-test", version: "1.0.0" });
    try {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      await createMcpServer(bundle, svc, "test").connect(serverSide);
      await client.connect(clientSide);
      const call = async (args: Record<string, unknown>) => {
        const r = (await client.callTool({ name: "get_online_features", arguments: args })) as { content: Array<{ text: string }>; isError?: boolean };
        return { data: JSON.parse(r.content[0].text), isError: r.isError ?? false };
      };
      const global = await call({});
      expect(global.isError).toBe(false);
      const predicted = (await svc.predict("demand_m", {})).body as OnlinePrediction;
      expect(global.data.features.demand.units_7d).toEqual(predicted.features.units_7d);
      expect(global.data.features.demand.price_3d.status).toBe("present");
      const named = await call({ entity: "store" });
      expect(named.isError).toBe(true);
      expect(named.data.error).toContain("no entity: the global groups");
    } finally {
      await client.close();
      await svc.close();
    }
  });

  it("a backtest file of times only scores the series at each time with the view's as_of (strict: the days before)", async () => {
    const file = join(root, "backtest.csv");
    const days = [20, 21, 50, 79];
    writeFileSync(file, ["at", ...days.map((d) => sqlTime(T0 + d * DAY + 6 * HOUR))].join("\n") + "\n");
    const rows = await withStore(async (store) => {
      const report = await predictBatch(store, bundle, "demand_m", { entitiesFile: file, timeColumn: "at", out: "backtest" });
      expect(report.rows).toBe(days.length);
      return store.all<{ row_number: bigint; input_units_7d: number }>(`SELECT row_number, input_units_7d FROM backtest ORDER BY row_number`);
    });
    // At day d + 6h the latest row is day d's: its 7-day window is days d-6..d.
    const want = days.map((d) => units.slice(d - 6, d + 1).reduce((s, u) => s + u, 0));
    expect(rows.map((r) => Number(r.input_units_7d))).toEqual(want);
  });

  it("a series older than the ttl is refused alike: a 422 online, a reject in batch, naming no entity", async () => {
    const later = LAST + 3 * DAY;
    const rejects = await withStore(async (store) => {
      const report = await predictBatch(store, bundle, "demand_m", { asOf: new Date(later), out: "late_scores" });
      expect(report).toMatchObject({ rows: 0, rejected: { missingFeatures: 1 } });
      return store.all<{ status: number; reason: string; fields: string[] }>(`SELECT status, reason, fields FROM late_scores_rejects`);
    });
    expect(rejects.map((r) => [r.status, r.reason, [...r.fields]])).toEqual([
      [422, "no features as of 2025-03-24T00:00:00.000Z; stale (older than the view's ttl): units_7d, price_3d; no row within the ttl in demand", ["units_7d", "price_3d"]],
    ]);
    const svc = await OnlineService.open(bundle, { store: storePath, logs: false, now: () => later });
    try {
      const res = await svc.predict("demand_m", {});
      expect(res.status).toBe(422);
      expect((res.body as ApiErrorBody).error.issues![0].message).toBe(
        "no online features; stale (older than the view's ttl): units_7d, price_3d; no row within the ttl in demand",
      );
    } finally {
      await svc.close();
    }
  });
});

describe.skipIf(!hasRedis && !process.env.CI)("the series' one online row in Redis", () => {
  it("is copied once (a second copy writes nothing) and served as the in-memory store serves it", async () => {
    const redis = await startRedis();
    try {
      const cfg = parseOnlineStore(redis.url) as Extract<ReturnType<typeof parseOnlineStore>, { kind: "redis" }>;
      const first = await materializeShared(cfg, bundle, {}, withStore);
      const second = await materializeShared(cfg, bundle, {}, withStore);
      expect(JSON.stringify(first)).toMatch(/"entities":1/);
      expect(JSON.stringify(second)).not.toMatch(/"written":[1-9]/);
      const now = LAST + 12 * HOUR;
      const answer = async (onlineStore?: ReturnType<typeof parseOnlineStore>) => {
        const svc = await OnlineService.open(bundle, { store: storePath, logs: false, now: () => now, ...(onlineStore ? { onlineStore } : {}) });
        try {
          const res = await svc.predict("demand_m", {});
          const { request_id: _id, ...body } = res.body as OnlinePrediction & { request_id?: string };
          return { status: res.status, body };
        } finally {
          await svc.close();
        }
      };
      const fromRedis = await answer(cfg);
      expect(fromRedis.status).toBe(200);
      expect(fromRedis).toEqual(await answer());
    } finally {
      redis.stop();
    }
  });
});
