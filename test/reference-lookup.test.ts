// An event group enriched by reference values (issue 10 §4, "as inputs of
// other groups"): `price_share = spend / plan.plan_price` in a group over
// visits reads, for each visit, the plan row that holds at the visit's time
// (latest valid_from at or before it, until its valid_to; ties by the
// greatest values) and the current profile. Every row of the group's table
// is compared with a brute-force pick from the raw rows: ties at one
// valid_from, visits exactly at a valid_from and at a valid_to, users
// without a plan or with a plan that ended. Then a window over the enriched
// value, the view's FTI4030 for a current-value lookup, and FTI4060.

import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCompiledSpec } from "../compiler/cli/load.ts";
import { compileSpec } from "../compiler/compile.ts";
import type { SpecBundle } from "../runtime/api.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { DAY, rng, sqlTime, writeCsv } from "./helpers/bundles.ts";

const SPEC = `
source visits {
  path "visits.csv"
  event_time at
  unique visit_id
  fields { visit_id: string  user_id: string  at: timestamp  spend: float }
}
source plans {
  path "plans.csv"
  valid_from starts
  valid_to ends
  fields { user_id: string  starts: timestamp  ends: timestamp?  price: float }
}
source profiles {
  path "profiles.csv"
  fields { user_id: string  age: int }
}
entity user { key user_id: string }
feature_group plan for user from plans { plan_price = price }
feature_group profile for user from profiles { age_now = age }
feature_group visit_stats for user from visits {
  price_share = spend / plan.plan_price
  paid = plan.plan_price
  age_then = profile.age_now
  share_7d = sum(price_share) over 7d
}
view spend_data for user {
  label spend = visits.spend
  features visit_stats.paid, visit_stats.share_7d
}
`;

const T0 = Date.UTC(2025, 0, 1);
const USERS = Array.from({ length: 10 }, (_, i) => `u${i}`);

interface Plan { user: string; starts: number; ends: number | null; price: number }
interface Visit { id: string; user: string; at: number; spend: number }

const dir = resolve(".fti", `test-lookup-${process.pid}`);
let bundle: SpecBundle;
let store: Store;
const plans: Plan[] = [];
const visits: Visit[] = [];
const ages = new Map<string, number>();

/** The plan price that holds at t: latest starts ≤ t (ties: the greatest price), unless its ends ≤ t. */
function planAt(user: string, t: number): number | null {
  const rows = plans.filter((p) => p.user === user && p.starts <= t);
  if (!rows.length) return null;
  const latest = Math.max(...rows.map((p) => p.starts));
  const best = rows.filter((p) => p.starts === latest).sort((a, b) => b.price - a.price)[0];
  return best.ends !== null && best.ends <= t ? null : best.price;
}

beforeAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rand = rng(5);
  for (const [i, user] of USERS.entries()) {
    if (i === 9) continue; // u9 never has a plan
    let t = T0 + Math.floor(rand() * 10) * DAY;
    for (let k = 0; k < 3; k++) {
      const ends = i === 8 && k === 2 ? t + 5 * DAY : null; // u8's last plan ends
      plans.push({ user, starts: t, ends, price: 10 + Math.floor(rand() * 50) });
      if (i === 7 && k === 1) plans.push({ user, starts: t, ends: null, price: 5 }); // a tie at one valid_from
      t += (5 + Math.floor(rand() * 20)) * DAY;
    }
    if (i < 6) ages.set(user, 20 + i);
  }
  let n = 0;
  for (const user of USERS) {
    for (let d = 0; d < 80; d += 1 + Math.floor(rand() * 4)) visits.push({ id: `v${n++}`, user, at: T0 + d * DAY + (rand() < 0.3 ? 0 : Math.floor(rand() * 20) * 3_600_000), spend: 1 + Math.floor(rand() * 100) });
  }
  // Visits exactly at a plan's start and exactly at u8's plan end.
  for (const p of plans.slice(0, 4)) visits.push({ id: `v${n++}`, user: p.user, at: p.starts, spend: 7 });
  const ended = plans.find((p) => p.ends !== null)!;
  visits.push({ id: `v${n++}`, user: ended.user, at: ended.ends!, spend: 9 });
  writeCsv(join(dir, "plans.csv"), ["user_id", "starts", "ends", "price"], plans.map((p) => [p.user, sqlTime(p.starts), p.ends === null ? null : sqlTime(p.ends), p.price]));
  writeCsv(join(dir, "profiles.csv"), ["user_id", "age"], [...ages].map(([u, a]) => [u, a]));
  writeCsv(join(dir, "visits.csv"), ["visit_id", "user_id", "at", "spend"], visits.map((v) => [v.id, v.user, sqlTime(v.at), v.spend]));
  writeFileSync(join(dir, "spec.fti"), SPEC);
  bundle = await loadCompiledSpec(join(dir, "spec.fti"), { outDir: join(dir, "generated/spec"), quiet: true });
  store = await openStore({ path: join(dir, "store.duckdb") });
  await runFeaturePipeline(store, bundle);
}, 120_000);

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("a group looking up reference groups", () => {
  it("reads, for every input row, the reference value that holds at its time, as a brute force does", async () => {
    const rows = await store.all<{ visit_id: string; paid: number | null; price_share: number | null; age_then: number | null; share_7d: number | null }>(
      `SELECT visit_id, paid, price_share, age_then, share_7d FROM fg_visit_stats_v1`,
    );
    expect(rows.length).toBe(visits.length);
    const byId = new Map(rows.map((r) => [r.visit_id, r]));
    let withPlan = 0;
    for (const v of visits) {
      const r = byId.get(v.id)!;
      const price = planAt(v.user, v.at);
      if (price !== null) withPlan++;
      expect({ id: v.id, paid: r.paid, age: r.age_then }).toEqual({ id: v.id, paid: price, age: ages.get(v.user) ?? null });
      expect(r.price_share, v.id).toBe(price === null ? null : v.spend / price);
      // The window aggregates the enriched row values of the user's visits in (t - 7d, t].
      const frame = visits.filter((w) => w.user === v.user && w.at > v.at - 7 * DAY && w.at <= v.at);
      const shares = frame.map((w) => { const p = planAt(w.user, w.at); return p === null ? null : w.spend / p; }).filter((x): x is number => x !== null);
      if (!shares.length) expect(r.share_7d, v.id).toBeNull();
      else expect(r.share_7d!, v.id).toBeCloseTo(shares.reduce((a, b) => a + b, 0), 9);
    }
    expect(withPlan).toBeGreaterThan(visits.length / 2);
    expect(withPlan).toBeLessThan(visits.length); // u9, visits before a first plan and after u8's plan ended
  });

  it("warns (FTI4030) for a view reading a feature derived from a current-value lookup, and orders the lookups first", async () => {
    const r = await compileSpec(join(dir, "spec.fti"), { checkOnly: true });
    const notUnused = (ds: typeof r.diagnostics) => ds.filter((d) => d.code !== 2008); // the view has no model here
    expect(notUnused(r.diagnostics).map((d) => [d.code, d.message])).toEqual([]);
    const current = SPEC.replace("features visit_stats.paid, visit_stats.share_7d", "features visit_stats.paid, visit_stats.age_then");
    // Declared after the group that looks it up: still computed first.
    const moved = current.replace("feature_group profile for user from profiles { age_now = age }\n", "") + "feature_group profile for user from profiles { age_now = age }\n";
    writeFileSync(join(dir, "current.fti"), moved);
    const c = await compileSpec(join(dir, "current.fti"), { checkOnly: true });
    expect(notUnused(c.diagnostics).map((d) => `FTI${d.code}`)).toEqual(["FTI4030"]);
    expect(notUnused(c.diagnostics)[0].message).toContain("age_then");
    expect(c.ir!.groups.map((g) => g.name)).toEqual(["plan", "profile", "visit_stats"]);
  });

  it("refuses a lookup of an event group or of another entity's reference group (FTI4060), and a cycle (FTI2005)", async () => {
    const codes = async (name: string, spec: string) => {
      writeFileSync(join(dir, `${name}.fti`), spec);
      return (await compileSpec(join(dir, `${name}.fti`), { checkOnly: true })).diagnostics.filter((d) => d.severity === "error").map((d) => `FTI${d.code}`);
    };
    expect(await codes("event", SPEC.replace("age_then = profile.age_now", "age_then = visit_totals.n").replace("view spend_data", "feature_group visit_totals for user from visits { n = count() over 3d }\nview spend_data"))).toEqual(["FTI4060"]);
    const other = SPEC.replace("entity user { key user_id: string }", "entity user { key user_id: string }\nentity member { key user_id: string }").replace("feature_group profile for user", "feature_group profile for member");
    expect(await codes("entity", other)).toEqual(["FTI4060"]);
    expect(await codes("typo", SPEC.replace("profile.age_now", "profile.age_nw"))).toEqual(["FTI2006"]);
    expect(await codes("source", SPEC.replace("profile.age_now", "profiles.age"))).toEqual(["FTI2010"]);
    const cycle = SPEC.replace("feature_group plan for user from plans { plan_price = price }", "feature_group plan for user from plans {\n  plan_price = price\n  twice = plan2.double\n}\nfeature_group plan2 for user from plan { double = plan_price * 2 }");
    expect(await codes("cycle", cycle)).toEqual(["FTI2005"]);
  });
});
