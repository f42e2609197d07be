// The "latest" plan of the point-in-time join (one time for the whole spine,
// as batch scoring at one as-of time has) against the ASOF join it replaces:
// the same rows, column for column, on seeded data with ties at one
// event_time (settled by ingestion time, row id, then the values), null
// features, null keys, a row exactly at the as-of time (strict vs
// inclusive), rows exactly at t - ttl and 1 ms past it, entities without
// history, repeated entities, and reference rows past their valid_to.

import { afterEach, describe, expect, it } from "vitest";
import type { GroupPlan, SpecBundle } from "../runtime/api.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { pitJoin, pitSelect, spineBounds, type JoinPlanKind } from "../runtime/retrieval/pit.ts";
import { ident } from "../runtime/store/sql.ts";
import { DAY, pitBundle, rng, T0, type PitFixtureOptions } from "./helpers/bundles.ts";

const HOUR = 3_600_000;
const TTL = 48 * HOUR;

interface GroupRow {
  user: string | null;
  et: number | null;
  ing: number;
  rid: number;
  f1: number | null;
  f2: number | null;
  validTo: number | null;
}

/** Hourly rows for u0..u5 (and some with a null user or time), a quarter of them tied with 1–3 copies. */
function groupRows(seed: number): GroupRow[] {
  const rand = rng(seed);
  const rows: GroupRow[] = [];
  let rid = 0;
  const ings = [T0 + 100 * DAY, T0 + 101 * DAY];
  const value = () => (rand() < 0.15 ? null : Math.floor(rand() * 5));
  for (const user of ["u0", "u1", "u2", "u3", "u4", "u5", null]) {
    const n = 15 + Math.floor(rand() * 20);
    for (let i = 0; i < n; i++) {
      const et = rand() < 0.03 ? null : T0 + Math.floor(rand() * 10 * 24) * HOUR;
      const validTo = rand() < 0.3 && et !== null ? et + Math.floor(rand() * 72) * HOUR : null;
      const copies = rand() < 0.25 ? 1 + Math.floor(rand() * 3) : 0;
      const row = { user, et, ing: ings[Math.floor(rand() * 2)], rid: ++rid, f1: value(), f2: value(), validTo };
      rows.push(row);
      // Copies: the same ingestion time with another row id, or the same row id too (values decide).
      for (let c = 0; c < copies; c++) rows.push({ ...row, rid: rand() < 0.5 ? ++rid : row.rid, f1: value(), f2: value(), ing: rand() < 0.7 ? row.ing : ings[0] });
    }
  }
  return rows;
}

async function loadGroup(store: Store, rows: GroupRow[]): Promise<void> {
  await store.run(`CREATE OR REPLACE TABLE fg_g_v1 (user_id VARCHAR, event_time TIMESTAMP, rid BIGINT, f1 DOUBLE, f2 BIGINT, ingested_at TIMESTAMP, valid_to TIMESTAMP)`);
  await store.appendColumns("fg_g_v1", {
    user_id: rows.map((r) => r.user),
    event_time: rows.map((r) => r.et),
    rid: rows.map((r) => r.rid),
    f1: rows.map((r) => r.f1),
    f2: rows.map((r) => r.f2),
    ingested_at: rows.map((r) => r.ing),
    valid_to: rows.map((r) => r.validTo),
  });
}

/** A spine of every user (twice), one without history, a null key; each row at time `t` (or null). */
async function loadSpine(store: Store, t: number | null, untimedRow = false): Promise<string> {
  const users = ["u0", "u1", "u2", "u3", "u4", "u5", "ghost", null, "u3", "u0"];
  await store.run(`CREATE OR REPLACE TEMP TABLE spine (__sid BIGINT, user_id VARCHAR, __t TIMESTAMP, amount DOUBLE)`);
  await store.appendColumns("spine", {
    __sid: users.map((_, i) => i),
    user_id: users,
    __t: users.map((_, i) => (untimedRow && i === 2 ? null : t)),
    amount: users.map((_, i) => i + 0.5),
  });
  return "spine";
}

/** The joined rows, ordered by __sid, with every column. */
async function rowsOf(store: Store, table: string): Promise<unknown[]> {
  return store.all(`SELECT * FROM ${ident(table)} ORDER BY __sid`);
}

/** The same join through the ASOF plan (the spine's bounds without its untimed count: never "latest"). */
async function asofRows(store: Store, bundle: SpecBundle, asOf: "strict" | "inclusive"): Promise<{ rows: unknown[]; plans: JoinPlanKind[] }> {
  const columns = (await store.tableColumns("spine")).map((c) => c.name);
  const { lo, hi } = await spineBounds(store, "spine");
  const q = await pitSelect(store, bundle, bundle.views[0], { relation: "spine", columns, lo, hi }, asOf);
  await store.run(`CREATE OR REPLACE TEMP TABLE asof_joined AS ${q.sql}`);
  return { rows: await rowsOf(store, "asof_joined"), plans: q.plans };
}

/** As-of times that hit the data's edges: exact event times, t - ttl exactly and 1 ms past it, before and after everything. */
function probeTimes(rows: GroupRow[], seed: number): number[] {
  const rand = rng(seed);
  const ets = rows.map((r) => r.et).filter((t): t is number => t !== null);
  const out = [T0 - DAY, T0 + 30 * DAY];
  for (let i = 0; i < 6; i++) {
    const et = ets[Math.floor(rand() * ets.length)];
    out.push(et, et + TTL, et + TTL + 1, et + HOUR / 2);
  }
  return out;
}

/** pitBundle's group as reference data (no ttl applies; a row holds until its valid_to). */
function referenceBundle(opts: PitFixtureOptions): SpecBundle {
  const b = pitBundle(opts);
  const group: GroupPlan = { ...b.groups[0], reference: { source: "events", validity: true, validTo: true } };
  return { ...b, groups: [group] };
}

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const CASES: Array<PitFixtureOptions & { reference?: boolean }> = [
  { asOf: "inclusive", ttlMs: TTL, rowId: true },
  { asOf: "strict", ttlMs: TTL, rowId: true },
  { asOf: "inclusive", ttlMs: null, rowId: false },
  { asOf: "strict", ttlMs: TTL, rowId: false },
  { asOf: "inclusive", ttlMs: TTL, rowId: true, reference: true },
];

describe("the point-in-time join at one time: the latest plan equals the ASOF join", () => {
  for (const [c, opts] of CASES.entries()) {
    const what = `as_of ${opts.asOf}, ttl ${opts.ttlMs === null ? "none" : "48h"}, ${opts.rowId ? "with" : "without"} row id${opts.reference ? ", reference data with valid_to" : ""}`;
    it(what, async () => {
      store = await openStore({ path: ":memory:" });
      const bundle = opts.reference ? referenceBundle(opts) : pitBundle(opts);
      const rows = groupRows(100 + c);
      await loadGroup(store, rows);
      let withFeatures = 0;
      for (const t of probeTimes(rows, 200 + c)) {
        await loadSpine(store, t);
        const joined = await pitJoin(store, bundle, bundle.views[0], "spine", { asOf: opts.asOf });
        expect(joined.plans).toEqual(["latest"]);
        const latest = await rowsOf(store, joined.table);
        const asof = await asofRows(store, bundle, opts.asOf);
        expect(asof.plans).toEqual(["asof"]);
        expect(latest).toEqual(asof.rows);
        withFeatures += latest.filter((r) => (r as { __ft_0: number | null }).__ft_0 !== null).length;
      }
      // Not vacuous: many spine rows found a feature row.
      expect(withFeatures).toBeGreaterThan(30);
    });
  }

  it("the tie rule decides: rows tied in time, ingestion and row id are settled by their values as the ASOF plan does", async () => {
    store = await openStore({ path: ":memory:" });
    const bundle = pitBundle({ asOf: "inclusive", ttlMs: null, rowId: true });
    const t = T0 + 5 * DAY;
    const tied = (f1: number | null, f2: number | null, rid = 7, ing = T0): GroupRow => ({ user: "u0", et: t, ing, rid, f1, f2, validTo: null });
    await loadGroup(store, [tied(1, 9), tied(null, 9), tied(3, 1), tied(3, null), tied(2, 2, 8), { ...tied(0, 0), et: t - HOUR }]);
    await loadSpine(store, t);
    const joined = await pitJoin(store, bundle, bundle.views[0], "spine", { asOf: "inclusive" });
    const [row] = await store.all<{ f1: number; f2: number }>(`SELECT f1, f2 FROM ${ident(joined.table)} WHERE __sid = 0`);
    expect(row).toEqual({ f1: 2, f2: 2 }); // the largest row id wins first
    await store.run(`DELETE FROM fg_g_v1 WHERE rid = 8`);
    const again = await pitJoin(store, bundle, bundle.views[0], "spine", { asOf: "inclusive" });
    const [next] = await store.all<{ f1: number; f2: number }>(`SELECT f1, f2 FROM ${ident(again.table)} WHERE __sid = 0`);
    expect(next).toEqual({ f1: 3, f2: 1 }); // then the values, descending, nulls last
    expect(await rowsOf(store, again.table)).toEqual((await asofRows(store, bundle, "inclusive")).rows);
  });

  it("keeps the ASOF join when spine times differ, a spine row has no time, or a key is a float", async () => {
    store = await openStore({ path: ":memory:" });
    const opts: PitFixtureOptions = { asOf: "inclusive", ttlMs: TTL, rowId: true };
    const bundle = pitBundle(opts);
    await loadGroup(store, groupRows(7));
    const view = bundle.views[0];
    await loadSpine(store, T0 + 3 * DAY, true);
    expect((await pitJoin(store, bundle, view, "spine", opts)).plans).toEqual(["asof"]);
    await loadSpine(store, T0 + 3 * DAY);
    await store.run(`UPDATE spine SET __t = __t + INTERVAL 1 HOUR WHERE __sid = 4`);
    expect((await pitJoin(store, bundle, view, "spine", opts)).plans).toEqual(["asof"]);
    await loadSpine(store, T0 + 3 * DAY);
    const floatKey: GroupPlan = { ...bundle.groups[0], keys: [{ name: "user_id", type: "float", nullable: false }] };
    expect((await pitJoin(store, { ...bundle, groups: [floatKey] }, view, "spine", opts)).plans).toEqual(["asof"]);
    expect((await pitJoin(store, bundle, view, "spine", opts)).plans).toEqual(["latest"]);
  });
});
