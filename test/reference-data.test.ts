// Reference data (issue 10 §4): sources without event_time, compiled and run
// through the whole pipeline. The training frame's reference features equal a
// brute-force pick — the current value (ties: the greatest values), and for
// slowly changing data the row whose [valid_from, valid_to) holds strictly
// before the label's time — also past the view's ttl, which reference data
// ignores; a group over a reference group follows it; online, the served value
// is the current one, and a row past its valid_to is not_found.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompiledSpec } from "../compiler/cli/load.ts";
import type { SpecBundle } from "../runtime/api.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { predictBatch } from "../runtime/inference/batch.ts";
import { createPredictor } from "../runtime/inference/predictor.ts";
import { getModel } from "../runtime/registry/registry.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { OnlineService } from "../runtime/online/service.ts";
import type { OnlinePrediction } from "../runtime/online/types.ts";
import { buildTrainingFrame } from "../runtime/retrieval/pit.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { trainModelFromSpec } from "../runtime/training/train.ts";
import { DAY, rng, sqlTime, writeCsv } from "./helpers/bundles.ts";
import { valueAt } from "../runtime/retrieval/columns.ts";

const SPEC = `
source visits {
  path "visits.csv"
  event_time at
  unique visit_id
  fields { visit_id: string  user_id: string  at: timestamp  spend: float }
}
source profiles {
  path "profiles.csv"
  fields { user_id: string  tier: string  age: int }
}
source plans {
  path "plans.csv"
  valid_from starts
  valid_to ends
  fields { user_id: string  starts: timestamp  ends: timestamp?  price: float }
}
entity user { key user_id: string }
feature_group visit_stats for user from visits { spend_7d = sum(spend) over 7d }
feature_group profile for user from profiles {
  age_now = age
  tier_rank = if tier == "gold" then 2 else 1
}
feature_group plan for user from plans { plan_price = price }
feature_group plan2 for user from plan { double_price = plan_price * 2 }
view spend_data for user {
  label spend = visits.spend
  features visit_stats.*, profile.*, plan.*, plan2.*
  ttl 3d
}
model m {
  view spend_data
  task regression
  algorithm gbdt(trees: 5, depth: 2)
  transform spend_7d, age_now, tier_rank, plan_price, double_price: impute(median)
  split random(test_fraction: 0.2, seed: 1)
  metric mae
}
serve m { online }
`;

const T0 = Date.UTC(2025, 0, 1);
const USERS = Array.from({ length: 12 }, (_, i) => `u${i}`);
const NOW = T0 + 200 * DAY;

interface Plan {
  user: string;
  starts: number;
  ends: number | null;
  price: number;
}

const dir = resolve(".fti", `test-reference-${process.pid}`);
let bundle: SpecBundle;
let store: Store;
const profiles: Array<{ user: string; tier: string; age: number }> = [];
const plans: Plan[] = [];
const visits: Array<{ id: string; user: string; at: number; spend: number }> = [];

beforeAll(async () => {
  mkdirSync(dir, { recursive: true });
  const rand = rng(11);
  for (const [i, user] of USERS.entries()) {
    if (i % 5 !== 4) profiles.push({ user, tier: ["gold", "silver"][i % 2], age: 20 + i });
    if (i === 3) profiles.push({ user, tier: "bronze", age: 99 }); // a tie: the greatest values win
    if (i % 4 === 3) continue; // no plan at all
    let t = T0 + Math.floor(rand() * 20) * DAY;
    for (let k = 0; k < 4; k++) {
      const gap = rand() < 0.4;
      const ends = gap ? t + Math.floor(5 + rand() * 20) * DAY : null;
      plans.push({ user, starts: t, ends, price: 10 + i + k });
      t += Math.floor(10 + rand() * 40) * DAY;
    }
  }
  for (let v = 0; v < 300; v++) {
    const user = USERS[Math.floor(rand() * USERS.length)];
    const plan = plans.find((p) => p.user === user && rand() < 0.3);
    // Some visits exactly at a plan's start or end (the boundary cases), the rest anywhere in 190 days.
    const at = plan && v % 3 === 0 ? (v % 2 === 0 || plan.ends === null ? plan.starts : plan.ends) : T0 + Math.floor(rand() * 190 * DAY);
    visits.push({ id: `v${v}`, user, at, spend: Math.round(rand() * 1000) / 10 });
  }
  writeFileSync(join(dir, "ref.fti"), SPEC);
  writeCsv(join(dir, "visits.csv"), ["visit_id", "user_id", "at", "spend"], visits.map((v) => [v.id, v.user, sqlTime(v.at), v.spend]));
  writeCsv(join(dir, "profiles.csv"), ["user_id", "tier", "age"], profiles.map((p) => [p.user, p.tier, p.age]));
  writeCsv(
    join(dir, "plans.csv"),
    ["user_id", "starts", "ends", "price"],
    plans.map((p) => [p.user, sqlTime(p.starts), p.ends === null ? null : sqlTime(p.ends), p.price]),
  );
  bundle = await loadCompiledSpec(join(dir, "ref.fti"), { outDir: join(dir, "generated"), quiet: true });
  store = await openStore({ path: join(dir, "store.duckdb") });
  await runFeaturePipeline(store, bundle);
}, 300_000);

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const rankOf = (tier: string) => (tier === "gold" ? 2 : 1);

/** The profile of a user at any time: its current value (of tied rows, the greatest feature values: age, then rank). */
function profileOf(user: string) {
  const rows = profiles.filter((p) => p.user === user).sort((a, b) => b.age - a.age || rankOf(b.tier) - rankOf(a.tier));
  return rows[0] ?? null;
}

/** The plan holding strictly before t: the latest start before t, unless it ended at or before t. */
function planAt(user: string, t: number, asOf: "strict" | "inclusive" = "strict") {
  const started = plans.filter((p) => p.user === user && (asOf === "strict" ? p.starts < t : p.starts <= t));
  const latest = started.sort((a, b) => b.starts - a.starts)[0];
  if (!latest || (latest.ends !== null && t >= latest.ends)) return null;
  return latest;
}

describe("reference data", () => {
  it("compiles reference groups: no ttl, event_time from valid_from or the start of time, valid_to carried", () => {
    const plan = bundle.groups.find((g) => g.name === "plan")!;
    expect(plan.reference).toEqual({ source: "plans", validity: true, validTo: true });
    expect(bundle.groups.find((g) => g.name === "plan2")!.reference).toEqual(plan.reference);
    expect(bundle.groups.find((g) => g.name === "profile")!.reference).toEqual({ source: "profiles", validity: false, validTo: false });
    expect(bundle.groups.find((g) => g.name === "visit_stats")!.reference).toBeUndefined();
    expect(bundle.sources.find((s) => s.name === "profiles")!.eventTime).toBeUndefined();
  });

  it("training rows see the current profile and the plan valid at their time, past the ttl, as a brute force does", async () => {
    const frame = await buildTrainingFrame(store, bundle, "spend_data");
    expect(frame.n).toBe(visits.length);
    let withPlan = 0;
    let ended = 0;
    for (let i = 0; i < frame.n; i++) {
      const user = frame.keys.user_id[i] as string;
      const t = frame.time[i];
      const profile = profileOf(user);
      const plan = planAt(user, t);
      if (plan) withPlan++;
      if (!plan && plans.some((p) => p.user === user && p.starts < t)) ended++;
      const got = {
        age: valueAt(frame.columns.age_now, i),
        rank: valueAt(frame.columns.tier_rank, i),
        price: valueAt(frame.columns.plan_price, i),
        double: valueAt(frame.columns.double_price, i),
      };
      expect(got, `${user} at ${new Date(t).toISOString()}`).toEqual({
        age: profile?.age ?? null,
        rank: profile ? rankOf(profile.tier) : null,
        price: plan?.price ?? null,
        double: plan ? plan.price * 2 : null,
      });
    }
    // The data exercises every case: plans held for far longer than the 3-day ttl, ended plans, no plan.
    expect(withPlan).toBeGreaterThan(50);
    expect(ended).toBeGreaterThan(5);
  });

  it("online: the served profile is the current one; a plan past its valid_to is not_found", async () => {
    await trainModelFromSpec(store, bundle, "m");
    await materialize(store, bundle);
    await store.close();
    const svc = await OnlineService.open(bundle, { store: join(dir, "store.duckdb"), logs: false, now: () => NOW });
    try {
      for (const user of USERS) {
        const r = await svc.predict("m", { user_id: user });
        const profile = profileOf(user);
        const latest = plans.filter((p) => p.user === user).sort((a, b) => b.starts - a.starts)[0];
        const planHolds = latest && (latest.ends === null || latest.ends > NOW);
        expect(r.status).toBe(200); // every input is imputed
        const p = r.body as OnlinePrediction;
        expect(p.features.age_now).toEqual(profile ? { value: profile.age, status: "present" } : { value: null, status: "not_found" });
        expect(p.features.plan_price).toEqual(planHolds ? { value: latest.price, status: "present" } : { value: null, status: "not_found" });
      }
    } finally {
      await svc.close();
      store = await openStore({ path: join(dir, "store.duckdb") });
    }
  });

  it("batch scoring each visit at its own time gives the training rows' predictions", async () => {
    const file = join(dir, "visits-to-score.csv");
    writeCsv(file, ["user_id", "at", "visit_id"], visits.map((v) => [v.user, sqlTime(v.at), v.id]));
    const report = await predictBatch(store, bundle, "m", { entitiesFile: file, timeColumn: "at", out: "scored" });
    expect(report).toMatchObject({ rows: visits.length, rejected: { invalid: 0, missingFeatures: 0 } });
    const scored = await store.all<{ visit_id: string; prediction: number }>(`SELECT visit_id, prediction FROM scored ORDER BY row_number`);
    const frame = await buildTrainingFrame(store, bundle, "spend_data");
    const predictor = await createPredictor(bundle, "m", await getModel(store, "m"));
    const byKey = new Map<string, number>();
    const rows = Array.from({ length: frame.n }, (_, i) => Object.fromEntries(Object.entries(frame.columns).map(([k, c]) => [k, valueAt(c, i)])));
    const expected = await predictor.predictRows(rows);
    for (let i = 0; i < frame.n; i++) byKey.set(`${frame.keys.user_id[i]}@${frame.time[i]}`, expected[i]);
    for (const [i, v] of visits.entries()) expect(scored[i]).toEqual({ visit_id: v.id, prediction: byKey.get(`${v.user}@${v.at}`) });
  });
});
