// Point-in-time retrieval against a brute-force reference on seeded random
// data: ties at one event_time with different ingestion times (and row ids),
// ttl edges exactly at t - ttl, entities with no history, strict vs inclusive.

import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterEach, describe, expect, it } from "vitest";
import type { Scalar, SpecBundle } from "../runtime/api.ts";
import { UserError } from "../runtime/errors.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { buildSpine, buildTrainingFrame, featuresAsOf, pitJoin, pitSelect, spineBounds, spineJoin, spineQuery, spineSortOrder, type SpineRange } from "../runtime/retrieval/pit.ts";
import { EXPORT_MEMORY_LIMIT, exportTrainingData } from "../runtime/retrieval/export.ts";
import { exportMemoryFor } from "../runtime/retrieval/export-memory.ts";
import { byteSize } from "../runtime/store/byte-size.ts";
import { forgetKeyTimeFacts } from "../runtime/retrieval/key-times.ts";
import { forgetTieWinners } from "../runtime/retrieval/tie-winners.ts";
import { DAY, pitBundle, rng, T0, tempDir, type PitFixtureOptions } from "./helpers/bundles.ts";
import { columnValues, NullableFloats, type InputColumn } from "../runtime/retrieval/columns.ts";

const HOUR = 3_600_000;
const TTL = 48 * HOUR;

interface GroupRow {
  user: string;
  et: number;
  ing: number;
  rid: number;
  f1: number | null;
  f2: number | null;
}
interface LabelRow {
  user: string;
  t: number;
  y: number | null;
  amount: number;
}

/**
 * Seeded data on an hourly grid (so spine times hit feature times exactly):
 * users u0..u7 with history, "ghost" without any; several rows per (user,
 * event_time) with distinct ingestion times and row ids; rows placed exactly
 * at t - ttl of some label times.
 */
function makeData(seed: number): { group: GroupRow[]; labels: LabelRow[] } {
  const rand = rng(seed);
  const users = Array.from({ length: 8 }, (_, i) => `u${i}`);
  const group: GroupRow[] = [];
  let rid = 0;
  const ingTimes = [T0 + 100 * DAY, T0 + 101 * DAY, T0 + 102 * DAY];
  for (const user of users) {
    const n = 20 + Math.floor(rand() * 30);
    for (let i = 0; i < n; i++) {
      const et = T0 + Math.floor(rand() * 20 * 24) * HOUR;
      const copies = rand() < 0.25 ? 2 + Math.floor(rand() * 2) : 1;
      const ings = [...ingTimes].sort(() => rand() - 0.5).slice(0, copies);
      for (const ing of ings) {
        group.push({
          user,
          et,
          ing,
          rid: ++rid,
          f1: rand() < 0.1 ? null : Math.round(rand() * 1000) / 10,
          f2: rand() < 0.1 ? null : Math.floor(rand() * 100),
        });
      }
    }
  }
  // Exact duplicates of (user, event_time, ingested_at) differing only in row id.
  for (let i = 0; i < 10; i++) {
    const g = group[Math.floor(rand() * group.length)];
    group.push({ ...g, rid: ++rid, f1: Math.round(rand() * 1000) / 10 });
  }
  // A user with one feature row: labels at it (strict vs inclusive), at exactly
  // t - ttl = its time (kept), and 1 ms past the ttl (dropped).
  const edgeEt = T0 + 5 * DAY;
  group.push({ user: "edge", et: edgeEt, ing: ingTimes[0], rid: ++rid, f1: 42, f2: 7 });
  const labels: LabelRow[] = [
    { user: "edge", t: edgeEt, y: 1, amount: 1 },
    { user: "edge", t: edgeEt + TTL, y: 2, amount: 1 },
    { user: "edge", t: edgeEt + TTL + 1, y: 3, amount: 1 },
  ];
  for (const user of [...users, "ghost"]) {
    const n = 30 + Math.floor(rand() * 20);
    for (let i = 0; i < n; i++) {
      labels.push({
        user,
        t: T0 + Math.floor(rand() * 22 * 24) * HOUR,
        y: rand() < 0.1 ? null : Math.round(rand() * 10000) / 100,
        amount: Math.round(rand() * 100) / 10,
      });
    }
  }
  // ttl edges: a label exactly ttl after a group row, one just over, one just inside.
  for (let i = 0; i < 40; i++) {
    const g = group[Math.floor(rand() * group.length)];
    for (const d of [TTL, TTL + 1000, TTL - 1000]) labels.push({ user: g.user, t: g.et + d, y: i + d / HOUR, amount: 1 });
  }
  return { group, labels };
}

async function load(store: Store, data: { group: GroupRow[]; labels: LabelRow[] }, rowId: boolean): Promise<void> {
  await store.run(`DROP TABLE IF EXISTS fg_g_v1`);
  await store.run(`DROP TABLE IF EXISTS src_events`);
  await store.run(
    `CREATE TABLE fg_g_v1 (user_id VARCHAR, event_time TIMESTAMP, ${rowId ? "rid BIGINT, " : ""}f1 DOUBLE, f2 BIGINT, ingested_at TIMESTAMP)`,
  );
  await store.appendColumns("fg_g_v1", {
    user_id: data.group.map((g) => g.user),
    event_time: data.group.map((g) => g.et),
    ...(rowId ? { rid: data.group.map((g) => g.rid) } : {}),
    f1: data.group.map((g) => g.f1),
    f2: data.group.map((g) => g.f2),
    ingested_at: data.group.map((g) => g.ing),
  });
  await store.run(`CREATE TABLE src_events (user_id VARCHAR, ts TIMESTAMP, y DOUBLE, amount DOUBLE, ingested_at TIMESTAMP)`);
  await store.appendRows(
    "src_events",
    ["user_id", "ts", "y", "amount", "ingested_at"],
    data.labels.map((l) => [l.user, l.t, l.y, l.amount, T0]),
  );
}

/** The reference: for one (user, t), scan every group row. */
function reference(group: GroupRow[], user: string, t: number, opts: PitFixtureOptions): GroupRow | null {
  let best: GroupRow | null = null;
  for (const g of group) {
    if (g.user !== user) continue;
    if (opts.asOf === "strict" ? !(g.et < t) : !(g.et <= t)) continue;
    if (opts.ttlMs !== null && g.et < t - opts.ttlMs) continue;
    if (
      !best ||
      g.et > best.et ||
      (g.et === best.et && g.ing > best.ing) ||
      (g.et === best.et && g.ing === best.ing && opts.rowId && g.rid > best.rid)
    ) {
      best = g;
    }
  }
  return best;
}

/** Spine order of buildSpine: time, keys, label, request fields. */
function spineOrder(labels: LabelRow[]): LabelRow[] {
  const cmp = (a: number | string, b: number | string) => (a < b ? -1 : a > b ? 1 : 0);
  return labels
    .filter((l) => l.y !== null)
    .sort((a, b) => cmp(a.t, b.t) || cmp(a.user, b.user) || cmp(a.y!, b.y!) || cmp(a.amount, b.amount));
}

/** The frame with every column as a plain array (numeric ones come as NullableFloats). */
function plain<F extends { columns: Record<string, InputColumn> }>(frame: F): F & { columns: Record<string, Scalar[]> } {
  return { ...frame, columns: Object.fromEntries(Object.entries(frame.columns).map(([k, c]) => [k, columnValues(c)])) };
}

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

const CASES: PitFixtureOptions[] = [
  { asOf: "strict", ttlMs: TTL, rowId: true },
  { asOf: "inclusive", ttlMs: TTL, rowId: true },
  { asOf: "strict", ttlMs: null, rowId: false },
  { asOf: "inclusive", ttlMs: null, rowId: false },
];

describe("buildTrainingFrame matches the brute-force reference", () => {
  for (const opts of CASES) {
    it(`as_of ${opts.asOf}, ttl ${opts.ttlMs === null ? "none" : "48h"}, ${opts.rowId ? "with" : "without"} row id`, async () => {
      const data = makeData(opts.asOf === "strict" ? 11 : 12);
      // Without a row id, ties must be settled by ingestion time alone: drop same-ingestion duplicates.
      if (!opts.rowId) {
        const seen = new Set<string>();
        data.group = data.group.filter((g) => {
          const k = `${g.user}|${g.et}|${g.ing}`;
          return seen.has(k) ? false : (seen.add(k), true);
        });
      }
      const bundle = pitBundle(opts);
      store = await openStore({ path: ":memory:" });
      await load(store, data, !!opts.rowId);
      const frame = plain(await buildTrainingFrame(store, bundle, "v"));
      const spine = spineOrder(data.labels);
      expect(frame.n).toBe(spine.length);
      expect(frame.keys.user_id).toEqual(spine.map((l) => l.user));
      expect(Array.from(frame.time)).toEqual(spine.map((l) => l.t));
      expect(Array.from(frame.label)).toEqual(spine.map((l) => l.y));
      expect(frame.columns.amount).toEqual(spine.map((l) => l.amount));

      let matched = 0;
      let ties = 0;
      let edges = 0;
      const f1: Scalar[] = [];
      const f2: Scalar[] = [];
      const ft: number[] = [];
      const odt: Scalar[] = [];
      for (const l of spine) {
        const r = reference(data.group, l.user, l.t, opts);
        f1.push(r ? r.f1 : null);
        f2.push(r ? r.f2 : null);
        ft.push(r ? r.et : NaN);
        odt.push(r && r.f1 !== null ? l.amount + r.f1 : null);
        if (r) {
          matched++;
          if (data.group.filter((g) => g.user === r.user && g.et === r.et).length > 1) ties++;
          if (opts.ttlMs !== null && r.et === l.t - opts.ttlMs) edges++;
        }
      }
      expect(frame.columns.f1).toEqual(f1);
      expect(frame.columns.f2).toEqual(f2);
      expect(frame.columns.f1_plus_amount).toEqual(odt);
      expect(Array.from(frame.featureTimes!.g)).toEqual(ft);
      // The data exercised what it is meant to.
      expect(matched).toBeGreaterThan(50);
      expect(matched).toBeLessThan(spine.length);
      expect(ties).toBeGreaterThan(3);
      if (opts.ttlMs !== null) expect(edges).toBeGreaterThan(3);
      expect(spine.some((l) => l.user === "ghost")).toBe(true);
      // The single-row user, spelled out.
      const edge = frame.keys.user_id.flatMap((u, i) => (u === "edge" ? [frame.columns.f1[i]] : []));
      expect(edge).toEqual(
        opts.ttlMs === null
          ? [opts.asOf === "strict" ? null : 42, 42, 42]
          : [opts.asOf === "strict" ? null : 42, 42, null],
      );
      expect(frame.keys.user_id.every((u, i) => u !== "ghost" || frame.columns.f1[i] === null)).toBe(true);
      expect(frame.range).toEqual({ from: new Date(spine[0].t).toISOString(), to: new Date(spine[spine.length - 1].t).toISOString() });
    });
  }

  it("group rows without an event time are never picked, and only a group with some is filtered for them", async () => {
    const opts: PitFixtureOptions = { asOf: "inclusive", ttlMs: null, rowId: true };
    const bundle = pitBundle(opts);
    const data = makeData(31);
    // One row per (user, event_time) (the plain ASOF join), then the tied rows too (the kept winners).
    const seen = new Set<string>();
    const unique = data.group.filter((g) => (seen.has(`${g.user}|${g.et}`) ? false : (seen.add(`${g.user}|${g.et}`), true)));
    for (const group of [unique, data.group]) {
      store = await openStore({ path: ":memory:" });
      await load(store, { group, labels: data.labels }, true);
      const view = bundle.views[0];
      const withoutTime = async () => {
        const q = await spineQuery(store!, bundle, view);
        const p = await pitSelect(store!, bundle, view, { relation: `(${q.sql})`, columns: ["__t", "__label", "user_id", "amount"], ...(await spineBounds(store!, `(${q.sql})`)) }, opts.asOf);
        return p.sql.includes("event_time IS NOT NULL");
      };
      expect(await withoutTime()).toBe(false);
      const expected = plain(await buildTrainingFrame(store, bundle, "v"));
      const spine = spineOrder(data.labels);
      expect(expected.columns.f1).toEqual(spine.map((l) => reference(group, l.user, l.t, opts)?.f1 ?? null));
      // Rows without a time, for every user, with values no timed row has, ingested last (they would win any tie).
      const users = [...new Set(group.map((g) => g.user))];
      await store.appendColumns("fg_g_v1", {
        user_id: users,
        event_time: users.map(() => null),
        rid: users.map((_, i) => 900_000 + i),
        f1: users.map(() => -777),
        f2: users.map(() => -777),
        ingested_at: users.map(() => T0 + 900 * DAY),
      });
      // A tied group is read through its kept winners, which hold none of them.
      expect(await withoutTime()).toBe(group === unique);
      const frame = plain(await buildTrainingFrame(store, bundle, "v"));
      expect(frame.columns.f1).toEqual(expected.columns.f1);
      expect(frame.columns.f2).toEqual(expected.columns.f2);
      expect(Array.from(frame.featureTimes!.g)).toEqual(Array.from(expected.featureTimes!.g));
      await store.close();
      store = undefined;
    }
  });

  it("strict and inclusive differ exactly on rows whose feature row is at the label time", async () => {
    const data = makeData(5);
    store = await openStore({ path: ":memory:" });
    await load(store, data, true);
    const strict = plain(await buildTrainingFrame(store, pitBundle({ asOf: "strict", ttlMs: null, rowId: true }), "v"));
    const incl = plain(await buildTrainingFrame(store, pitBundle({ asOf: "inclusive", ttlMs: null, rowId: true }), "v"));
    let differ = 0;
    for (let i = 0; i < strict.n; i++) {
      const sameTime = incl.featureTimes!.g[i] === incl.time[i];
      if (sameTime) {
        differ++;
        expect(strict.featureTimes!.g[i]).not.toBe(incl.time[i]);
      } else {
        expect(strict.featureTimes!.g[i]).toEqual(incl.featureTimes!.g[i]);
        expect(strict.columns.f1[i]).toEqual(incl.columns.f1[i]);
      }
    }
    expect(differ).toBeGreaterThan(5);
  });

  it("a group with one row per (keys, event_time) is joined directly; a rewrite with ties is noticed", async () => {
    const data = makeData(9);
    // Keep only the row the reference would pick at each (user, event_time): no ties left.
    const winner = new Map<string, GroupRow>();
    for (const g of data.group) {
      const k = `${g.user}|${g.et}`;
      const w = winner.get(k);
      if (!w || g.ing > w.ing || (g.ing === w.ing && g.rid > w.rid)) winner.set(k, g);
    }
    const unique = { group: [...winner.values()], labels: data.labels };
    const facts = () => store!.all<{ u: boolean }>(`SELECT unique_key_times AS u FROM fti_table_facts WHERE table_name = 'fg_g_v1' AND key_columns = 'user_id'`);
    for (const opts of [
      { asOf: "strict", ttlMs: TTL, rowId: true },
      { asOf: "inclusive", ttlMs: null, rowId: false },
    ] satisfies PitFixtureOptions[]) {
      store = await openStore({ path: ":memory:" });
      await load(store, unique, opts.rowId);
      const expectReference = async (group: GroupRow[]) => {
        const frame = plain(await buildTrainingFrame(store!, pitBundle(opts), "v"));
        const spine = spineOrder(data.labels);
        const picked = spine.map((l) => reference(group, l.user, l.t, opts));
        expect(frame.columns.f1).toEqual(picked.map((r) => r?.f1 ?? null));
        expect(frame.columns.f2).toEqual(picked.map((r) => r?.f2 ?? null));
        expect(Array.from(frame.featureTimes!.g)).toEqual(picked.map((r) => r?.et ?? NaN));
      };
      await expectReference(unique.group);
      expect(await facts()).toEqual([{ u: true }]);
      await expectReference(unique.group); // from the cached fact
      // A later run adds a tied row (a later ingestion, so it wins its tie).
      const tied = { ...unique.group[7], ing: T0 + 200 * DAY, rid: 99_999, f1: -1 };
      await store.appendColumns("fg_g_v1", {
        user_id: [tied.user],
        event_time: [tied.et],
        ...(opts.rowId ? { rid: [tied.rid] } : {}),
        f1: [tied.f1],
        f2: [tied.f2],
        ingested_at: [tied.ing],
      });
      await expectReference([...unique.group, tied]);
      expect(await facts()).toEqual([{ u: false }]);
      await store.close();
      store = undefined;
    }
  });

  it("ties are settled once and kept: the kept winners equal the inline window's, and an update in place rebuilds them", async () => {
    const opts: PitFixtureOptions = { asOf: "strict", ttlMs: TTL, rowId: true };
    const data = makeData(23);
    const path = join(tempDir(), "kept.duckdb");
    store = await openStore({ path });
    await load(store, data, true);
    const bundle = pitBundle(opts);
    const spine = spineOrder(data.labels);
    const expectReference = (frame: ReturnType<typeof plain<Awaited<ReturnType<typeof buildTrainingFrame>>>>, group: GroupRow[]) => {
      const picked = spine.map((l) => reference(group, l.user, l.t, opts));
      expect(frame.columns.f1).toEqual(picked.map((r) => r?.f1 ?? null));
      expect(frame.columns.f2).toEqual(picked.map((r) => r?.f2 ?? null));
      expect(Array.from(frame.featureTimes!.g)).toEqual(picked.map((r) => r?.et ?? NaN));
    };
    const kept = async () => store!.all<{ w: string; n: number }>(`SELECT winners_table AS w FROM fti_tie_winners WHERE table_name = 'fg_g_v1'`);
    const first = plain(await buildTrainingFrame(store, bundle, "v"));
    expectReference(first, data.group);
    // One kept table, one row per (user, event_time) of the group.
    const [w] = await kept();
    expect(await kept()).toHaveLength(1);
    const [c] = await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${w.w}`);
    expect(c.n).toBe(new Set(data.group.map((g) => `${g.user}|${g.et}`)).size);
    expect(c.n).toBeLessThan(data.group.length);
    expectReference(plain(await buildTrainingFrame(store, bundle, "v")), data.group); // read from the kept winners

    // Forgetting another group's facts and winners leaves this group's; forgetting its own drops them (the next join rebuilds them).
    const facts = async () => (await store!.all<{ n: number }>(`SELECT count(*)::DOUBLE AS n FROM fti_table_facts WHERE table_name = 'fg_g_v1'`))[0].n;
    expect(await facts()).toBeGreaterThan(0);
    await forgetKeyTimeFacts(store, ["fg_other_v1"]);
    await forgetTieWinners(store, ["fg_other_v1"]);
    expect(await kept()).toEqual([w]);
    expect(await store.tableExists(w.w)).toBe(true);
    expect(await facts()).toBeGreaterThan(0);
    await forgetKeyTimeFacts(store, ["fg_g_v1"]);
    await forgetTieWinners(store, ["fg_g_v1"]);
    expect(await kept()).toHaveLength(0);
    expect(await store.tableExists(w.w)).toBe(false);
    expect(await facts()).toBe(0);

    // An update in place keeps the row count, ingested_at and the event-time range: the content hash still sees it.
    await store.run(`UPDATE fg_g_v1 SET f1 = f1 + 1000 WHERE rid % 3 = 0`);
    const updated = data.group.map((g) => (g.rid % 3 === 0 && g.f1 !== null ? { ...g, f1: g.f1 + 1000 } : g));
    const after = plain(await buildTrainingFrame(store, bundle, "v"));
    expectReference(after, updated);
    expect(after.columns.f1).not.toEqual(first.columns.f1);
    expect(await kept()).toHaveLength(1);

    // Another process updates the group in place while the store is closed: the next open's hash
    // (store/content-hash.ts, computed in its read of every block) sees it too.
    await store.close();
    store = undefined;
    const db = await DuckDBInstance.create(path);
    const conn = await db.connect();
    await conn.run(`UPDATE fg_g_v1 SET f1 = f1 - 500 WHERE rid % 5 = 1`);
    conn.closeSync();
    db.closeSync();
    store = await openStore({ path });
    const outside = updated.map((g) => (g.rid % 5 === 1 && g.f1 !== null ? { ...g, f1: g.f1 - 500 } : g));
    const reopened = plain(await buildTrainingFrame(store, bundle, "v"));
    expectReference(reopened, outside);
    expect(reopened.columns.f1).not.toEqual(after.columns.f1);

    // A read-only store keeps nothing and settles the ties inline: the same frame.
    await store.close();
    store = await openStore({ path, readOnly: true });
    const inline = plain(await buildTrainingFrame(store, bundle, "v"));
    expect(inline.columns).toEqual(reopened.columns);
    expect(Array.from(inline.featureTimes!.g)).toEqual(Array.from(reopened.featureTimes!.g));
  });

  it("rows tied in keys, event_time and ingestion (and row id) are settled by their values, descending, nulls last", async () => {
    const data = makeData(13);
    // Every group row gets 1–3 copies at its (user, event_time, ingested_at) with other values, nulls among them.
    const rand = rng(131);
    const pick = () => (rand() < 0.3 ? null : Math.floor(rand() * 4));
    const group: GroupRow[] = [];
    for (const g of data.group) {
      group.push(g);
      const copies = Math.floor(rand() * 3);
      for (let c = 0; c < copies; c++) group.push({ ...g, f1: pick(), f2: pick() });
    }
    const tied = { group, labels: data.labels };
    const desc = (a: number | null, b: number | null) => (a === b ? 0 : a === null ? -1 : b === null ? 1 : a - b); // > 0: a preferred
    // Without a row id; and with one the copies share (so ingested_at and the row id do not settle those ties).
    for (const rowId of [false, true]) {
      const opts: PitFixtureOptions = { asOf: "strict", ttlMs: TTL, rowId };
      store = await openStore({ path: ":memory:" });
      await load(store, tied, rowId);
      const frame = plain(await buildTrainingFrame(store, pitBundle(opts), "v"));
      const spine = spineOrder(data.labels);
      let settledByValue = 0;
      const expected = spine.map((l) => {
        const best = reference(group, l.user, l.t, opts);
        if (!best) return null;
        const peers = group.filter((g) => g.user === best.user && g.et === best.et && g.ing === best.ing && (!rowId || g.rid === best.rid));
        if (peers.length > 1) settledByValue++;
        return peers.reduce((a, b) => (desc(b.f1, a.f1) > 0 || (desc(b.f1, a.f1) === 0 && desc(b.f2, a.f2) > 0) ? b : a));
      });
      expect(settledByValue).toBeGreaterThan(20);
      expect(frame.columns.f1).toEqual(expected.map((r) => r?.f1 ?? null));
      expect(frame.columns.f2).toEqual(expected.map((r) => r?.f2 ?? null));
      await store.close();
      store = undefined;
    }
  });

  it("writes an event-time bound only when it cuts a share of the group; the same rows either way", async () => {
    const data = makeData(8); // group rows in [T0, T0 + 20d), labels in [T0, T0 + 22d]
    store = await openStore({ path: ":memory:" });
    await load(store, data, true);
    const d = (days: number) => new Date(T0 + days * DAY);
    /** The PIT statement spineJoin runs for the range: which bounds it writes. */
    const bounds = async (bundle: SpecBundle, range: SpineRange) => {
      const view = bundle.views[0];
      const q = await spineQuery(store!, bundle, view, range);
      const spine = { relation: `(${q.sql})`, columns: ["__t", "__label", "user_id", "amount"], ...(await spineBounds(store!, `(${q.sql})`)) };
      const { sql } = await pitSelect(store!, bundle, view, spine, view.asOf);
      return { upper: /event_time <=? make_timestamp/.test(sql), lower: /event_time >= make_timestamp/.test(sql) };
    };
    for (const asOf of ["strict", "inclusive"] as const) {
      const opts: PitFixtureOptions = { asOf, ttlMs: TTL, rowId: true };
      const bundle = pitBundle(opts);
      for (const [range, expected] of [
        [{}, { upper: false, lower: false }], // the spine covers the group: nothing to cut
        [{ from: d(5), to: d(9) }, { upper: true, lower: true }], // ~55 % after the last time, ~15 % before the first − ttl
        [{ from: d(3), to: d(19) }, { upper: false, lower: false }], // ~5 % each side: cut by the join alone
      ] satisfies Array<[SpineRange, { upper: boolean; lower: boolean }]>) {
        expect(await bounds(bundle, range)).toEqual(expected);
        const frame = plain(await buildTrainingFrame(store, bundle, "v", range));
        const spine = spineOrder(data.labels).filter((l) => l.t >= (range.from?.getTime() ?? -Infinity) && l.t < (range.to?.getTime() ?? Infinity));
        const picked = spine.map((l) => reference(data.group, l.user, l.t, opts));
        expect(frame.n).toBe(spine.length);
        expect(frame.columns.f1).toEqual(picked.map((r) => r?.f1 ?? null));
        expect(frame.columns.f2).toEqual(picked.map((r) => r?.f2 ?? null));
        expect(Array.from(frame.featureTimes!.g)).toEqual(picked.map((r) => r?.et ?? NaN));
      }
    }
    // The uncut case had rows on both sides for the join to pass over.
    expect(data.group.some((g) => g.et >= T0 + 19 * DAY)).toBe(true);
    expect(data.group.some((g) => g.et < T0 + 1 * DAY)).toBe(true);
  });

  it("numbers the spine by time and keys alone when its source has one row per (time, keys), a fact kept per source version", async () => {
    const data = makeData(21);
    const seen = new Set<string>();
    data.labels = data.labels.filter((l) => (seen.has(`${l.user}|${l.t}`) ? false : (seen.add(`${l.user}|${l.t}`), true)));
    const bundle = pitBundle({ asOf: "strict", ttlMs: TTL, rowId: true });
    store = await openStore({ path: ":memory:" });
    await load(store, data, true);
    const fact = async () =>
      (await store!.all<{ unique_key_times: boolean }>(`SELECT unique_key_times FROM fti_table_facts WHERE table_name = 'src_events' AND key_columns LIKE 'rows:%'`)).map((r) => r.unique_key_times);
    const order = async () => {
      const frame = plain(await buildTrainingFrame(store!, bundle, "v"));
      return frame.keys.user_id.map((u, i) => [u, frame.time[i], frame.label[i], frame.columns.amount[i]]);
    };
    const expected = () => spineOrder(data.labels).map((l) => [l.user, l.t, l.y, l.amount]);
    expect(await order()).toEqual(expected());
    expect(await fact()).toEqual([true]);
    // Rows tied in (time, user) with other labels and amounts, ingested later: the fact is checked
    // again (a new fingerprint) and the label and request field order them.
    const ties = spineOrder(data.labels).filter((_, i) => i % 7 === 3);
    expect(ties.length).toBeGreaterThan(10);
    const tied = ties.flatMap((l, i) => [
      { ...l, y: (l.y ?? 0) - 1 - (i % 3), amount: l.amount + 5 },
      { ...l, y: l.y, amount: l.amount - 0.5 },
    ]);
    await store.appendRows("src_events", ["user_id", "ts", "y", "amount", "ingested_at"], tied.map((l) => [l.user, l.t, l.y, l.amount, T0 + DAY]));
    data.labels.push(...tied);
    expect(await order()).toEqual(expected());
    expect(await fact()).toEqual([false]);
  });

  it("sorts a view of several keys by the shortest prefix of (time, keys) its source has one row per", async () => {
    const base = pitBundle({ asOf: "strict", ttlMs: TTL, rowId: true }).views[0];
    const view = {
      ...base,
      keys: [
        { name: "a", type: "string" as const, nullable: false },
        { name: "b", type: "int" as const, nullable: false },
      ],
      spine: { ...base.spine, source: "pairs", eventTime: "ts" },
    };
    const orderColumns = ["__t", `"a"`, `"b"`, "__label"];
    const q = { sql: "", order: orderColumns.join(", "), orderColumns };
    store = await openStore({ path: ":memory:" });
    await store.run(`CREATE TABLE src_pairs (ts TIMESTAMP, a VARCHAR, b BIGINT, y DOUBLE, ingested_at TIMESTAMP)`);
    // Five rows an hour, one per `a`: (ts, a) tells them apart, ts alone does not.
    const add = (rows: Array<[number, string, number]>, ingested: number) =>
      store!.run(`INSERT INTO src_pairs VALUES ${rows.map(([t, a, b]) => `(epoch_ms(${t}), '${a}', ${b}, ${b}, epoch_ms(${ingested}))`).join(", ")}`);
    await add(Array.from({ length: 50 }, (_, i) => [T0 + Math.floor(i / 5) * HOUR, `u${i % 5}`, i] as [number, string, number]), T0);
    expect(await spineSortOrder(store, view, q)).toBe(`__t, "a"`);
    // A second row at (ts, a) with another b (ingested later: a new source version): (ts, a, b).
    await add([[T0, "u0", 99]], T0 + DAY);
    expect(await spineSortOrder(store, view, q)).toBe(`__t, "a", "b"`);
    // And one equal in (ts, a, b) too: the whole order.
    await add([[T0, "u0", 99]], T0 + 2 * DAY);
    expect(await spineSortOrder(store, view, q)).toBe(q.order);
  });

  it("restricts the spine to [from, to) of the label time", async () => {
    const data = makeData(8);
    store = await openStore({ path: ":memory:" });
    await load(store, data, true);
    const opts: PitFixtureOptions = { asOf: "strict", ttlMs: TTL, rowId: true };
    const from = new Date(T0 + 5 * DAY);
    const to = new Date(T0 + 9 * DAY);
    const frame = plain(await buildTrainingFrame(store, pitBundle(opts), "v", { from, to }));
    const spine = spineOrder(data.labels).filter((l) => l.t >= from.getTime() && l.t < to.getTime());
    expect(frame.n).toBe(spine.length);
    expect(frame.columns.f1).toEqual(spine.map((l) => reference(data.group, l.user, l.t, opts)?.f1 ?? null));
    expect(frame.range).toEqual({ from: from.toISOString(), to: to.toISOString() });
  });
});

describe("the training frame's columns", () => {
  it("numeric columns are NullableFloats read in slices of the spine; a float column with a NaN or an int past 2^53 stays an array", async () => {
    const data = makeData(17);
    store = await openStore({ path: ":memory:" });
    await load(store, data, true);
    const bundle = pitBundle({ asOf: "strict", ttlMs: TTL, rowId: true });
    const whole = await buildTrainingFrame(store, bundle, "v");
    expect(whole.columns.f1).toBeInstanceOf(NullableFloats);
    expect(whole.columns.f2).toBeInstanceOf(NullableFloats);
    expect(whole.columns.amount).toBeInstanceOf(NullableFloats);
    expect(Array.isArray(whole.columns.f1_plus_amount)).toBe(true);
    const f1 = columnValues(whole.columns.f1);
    expect(f1.filter((v) => v === null).length).toBeGreaterThan(50);
    expect(f1.filter((v) => typeof v === "number").length).toBeGreaterThan(50);
    // Read 7 rows at a time: the same frame, row for row.
    const sliced = await buildTrainingFrame(store, bundle, "v", { sliceRows: 7 });
    expect(plain(sliced)).toEqual(plain(whole));
    expect(sliced.keys).toEqual(whole.keys);
    expect(Array.from(sliced.time)).toEqual(Array.from(whole.time));
    expect(Array.from(sliced.featureTimes!.g)).toEqual(Array.from(whole.featureTimes!.g));

    // A stored NaN is a value, not a null: that column stays an array of Scalars (NaN kept), as does an int past 2^53.
    const [row] = await store.all<{ rid: number }>(`SELECT rid FROM fg_g_v1 WHERE f1 IS NOT NULL AND f2 IS NOT NULL ORDER BY rid LIMIT 1`);
    await store.run(`UPDATE fg_g_v1 SET f1 = 'NaN'::DOUBLE, f2 = 9007199254740993 WHERE rid = ${row.rid}`);
    const odd = await buildTrainingFrame(store, bundle, "v");
    expect(Array.isArray(odd.columns.f1)).toBe(true);
    expect(Array.isArray(odd.columns.f2)).toBe(true);
    expect(odd.columns.amount).toBeInstanceOf(NullableFloats);
    const nanRows = (odd.columns.f1 as Scalar[]).flatMap((v, i) => (typeof v === "number" && Number.isNaN(v) ? [i] : []));
    expect(nanRows.length).toBeGreaterThan(0);
    for (const i of nanRows) expect((odd.columns.f2 as Scalar[])[i]).toBe("9007199254740993");
    // Every other value as before.
    const before = plain(whole).columns;
    const after = plain(odd).columns;
    for (let i = 0; i < odd.n; i++) if (!nanRows.includes(i)) expect([after.f1[i], after.f2[i]]).toEqual([before.f1[i], before.f2[i]]);
  });
});

describe("featuresAsOf", () => {
  it("joins inclusively at the given times, keeps input order, and nulls entities without history", async () => {
    const data = makeData(21);
    store = await openStore({ path: ":memory:" });
    await load(store, data, true);
    const bundle = pitBundle({ asOf: "strict", ttlMs: TTL, rowId: true }); // the view's as_of does not apply here
    const users = ["u3", "ghost", "u0", "u3", "u7", "nobody"];
    const times = Float64Array.from([data.group[0].et, T0 + 3 * DAY, T0 + 10 * DAY, T0 + 19 * DAY, data.group[5].et, T0 + DAY]);
    const amounts = [1, 2, 3, 4, 5, 6];
    const frame = await featuresAsOf(store, bundle, "v", { keys: { user_id: users }, time: times, request: { amount: amounts } });
    const inclusive: PitFixtureOptions = { asOf: "inclusive", ttlMs: TTL, rowId: true };
    const ref = users.map((u, i) => reference(data.group, u, times[i], inclusive));
    expect(frame.n).toBe(6);
    expect(frame.keys.user_id).toEqual(users);
    expect(Array.from(frame.time)).toEqual(Array.from(times));
    expect(frame.columns.f1).toEqual(ref.map((r) => r?.f1 ?? null));
    expect(frame.columns.f2).toEqual(ref.map((r) => r?.f2 ?? null));
    expect(frame.columns.f1_plus_amount).toEqual(ref.map((r, i) => (r && r.f1 !== null ? amounts[i] + r.f1 : null)));
    expect(frame.columns.f1[1]).toBeNull();
    expect(frame.columns.f1[5]).toBeNull();
    expect("label" in frame).toBe(false);

    // One time for every row.
    const at = new Date(T0 + 12 * DAY);
    const one = await featuresAsOf(store, bundle, "v", { keys: { user_id: users }, time: at, request: { amount: amounts } });
    expect(one.columns.f1).toEqual(users.map((u) => reference(data.group, u, at.getTime(), inclusive)?.f1 ?? null));

    // A missing request field the ODT needs.
    await expect(featuresAsOf(store, bundle, "v", { keys: { user_id: users }, time: at })).rejects.toThrow(UserError);
  });
});

describe("spine, join and export", () => {
  it("buildSpine and pitJoin leave temp tables a caller can read; missing tables are UserErrors", async () => {
    const data = makeData(3);
    store = await openStore({ path: ":memory:" });
    const bundle: SpecBundle = pitBundle({ asOf: "strict", ttlMs: TTL, rowId: true });
    await expect(buildTrainingFrame(store, bundle, "v")).rejects.toThrow(/src_events does not exist yet/);
    await load(store, data, true);
    await expect(buildTrainingFrame(store, bundle, "nope")).rejects.toThrow(/no view `nope`; its views: v/);
    const spine = await buildSpine(store, bundle, bundle.views[0]);
    expect(spine.n).toBe(spineOrder(data.labels).length);
    const joined = await pitJoin(store, bundle, bundle.views[0], spine.table, { asOf: "strict" });
    expect(joined.n).toBe(spine.n);
    expect(joined.groups).toEqual(["g"]);
    const cols = (await store.tableColumns(joined.table)).map((c) => c.name);
    expect(cols).toEqual(["__sid", "user_id", "__t", "__label", "amount", "f1", "f2", "__ft_0"]);
    // The one-statement form (the training frame's): the same rows, numbered the same.
    const one = await spineJoin(store, bundle, bundle.views[0], { asOf: "strict" });
    expect(one.n).toBe(joined.n);
    expect((await store.tableColumns(one.table)).map((c) => c.name)).toEqual(cols);
    const [d] = await store.all<{ a: number; b: number }>(
      `SELECT (SELECT count(*) FROM (SELECT * FROM ${one.table} EXCEPT ALL SELECT * FROM ${joined.table}))::DOUBLE AS a,
              (SELECT count(*) FROM (SELECT * FROM ${joined.table} EXCEPT ALL SELECT * FROM ${one.table}))::DOUBLE AS b`,
    );
    expect(d).toEqual({ a: 0, b: 0 });
    await store.run(`DROP TABLE fg_g_v1`);
    const err = await buildTrainingFrame(store, bundle, "v").catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toContain("fg_g_v1 does not exist yet");
  });

  it("exportTrainingData writes keys, time, label, features and ODT values to Parquet", async () => {
    const data = makeData(4);
    store = await openStore({ path: ":memory:" });
    await load(store, data, true);
    const bundle = pitBundle({ asOf: "strict", ttlMs: TTL, rowId: true });
    const out = join(tempDir(), "exports", "train.parquet");
    const n = await exportTrainingData(store, bundle, "v", out);
    const frame = plain(await buildTrainingFrame(store, bundle, "v"));
    expect(n).toBe(frame.n);
    const cols = await store.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet('${out}')`);
    expect(cols.map((c) => `${c.column_name} ${c.column_type}`)).toEqual([
      "user_id VARCHAR",
      "event_time TIMESTAMP",
      "y DOUBLE",
      "f1 DOUBLE",
      "f2 BIGINT",
      "f1_plus_amount DOUBLE",
      "amount DOUBLE",
    ]);
    const rows = await store.readColumns(`SELECT * FROM read_parquet('${out}')`, undefined, { timestamps: "ms" });
    expect(rows.n).toBe(frame.n);
    // Every column, in spine order: the export holds the training frame's values.
    expect(rows.columns.user_id).toEqual(frame.keys.user_id);
    for (const c of ["f1", "f2", "f1_plus_amount", "amount"]) expect(rows.columns[c]).toEqual(frame.columns[c]);
    expect(rows.columns.event_time).toEqual(Array.from(frame.time));
    expect(rows.columns.y).toEqual(Array.from(frame.label));
  });

  it("exportTrainingData to a directory, a named pipe or where no file can be created is a UserError naming --out, before the export runs", async () => {
    store = await openStore({ path: ":memory:" });
    await load(store, makeData(2), true);
    const bundle = pitBundle({ asOf: "strict", ttlMs: TTL, rowId: true });
    const dir = tempDir();
    const file = join(dir, "plain.txt");
    writeFileSync(file, "x");
    await expect(exportTrainingData(store, bundle, "v", dir)).rejects.toThrow(new UserError(`--out ${dir} is a directory`, `pass the path of a file, e.g. ${join(dir, "out.parquet")}`));
    // A folder that is a file: no file can be created under it (ENOTDIR), as under /proc (ENOENT).
    const under = join(file, "train.parquet");
    const err = await exportTrainingData(store, bundle, "v", under).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(new RegExp(`^--out ${under.replaceAll("/", "\\/")}: cannot create a file there \\((ENOTDIR|EEXIST): `));
    expect(readdirSync(dir)).toEqual(["plain.txt"]);
    // A named pipe (as a device) would be replaced by the rename of the written file: refused, left as it was.
    const fifo = join(dir, "pipe.parquet");
    execFileSync("mkfifo", [fifo]);
    await expect(exportTrainingData(store, bundle, "v", fifo)).rejects.toThrow(new UserError(`--out ${fifo} is a named pipe, not a file`, "pass the path of a file to create or replace"));
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it("the default cap grows with a file's columns (the ordered writer's memory), bounded by a quarter of the machine's", () => {
    const GB = 1e9;
    expect(exportMemoryFor(4, 24 * GB)).toBe(EXPORT_MEMORY_LIMIT);
    expect(exportMemoryFor(9, 24 * GB)).toBe(EXPORT_MEMORY_LIMIT); // the 3 M-event bench's file: 760 MB
    expect(exportMemoryFor(10, 24 * GB)).toBe("839MB"); // 80 MiB a column
    expect(exportMemoryFor(40, 24 * GB)).toBe("3355MB");
    expect(exportMemoryFor(400, 24 * GB)).toBe("6000MB"); // a quarter of 24 GB
    expect(exportMemoryFor(400, 2 * GB)).toBe(EXPORT_MEMORY_LIMIT); // never below the default
  });

  it("exportTrainingData caps DuckDB's memory_limit while it runs and sets the store's own back", async () => {
    const data = makeData(6);
    const bundle = pitBundle({ asOf: "strict", ttlMs: TTL, rowId: true });
    const limit = async () => (await store!.all<{ v: string }>(`SELECT current_setting('memory_limit') AS v`))[0].v;
    for (const opened of ["2GB", undefined]) {
      store = await openStore({ path: ":memory:", memoryLimit: opened });
      await load(store, data, true);
      const before = await limit();
      // The statements that set the limit, build the tie winners and copy, in order, with the limit at the COPY.
      const seen: string[] = [];
      const wrap = (s: Store, m: "run" | "all") => {
        const orig = (s[m] as (...a: unknown[]) => Promise<unknown>).bind(s);
        (s as unknown as Record<string, unknown>)[m] = async (sql: string, ...rest: unknown[]) => {
          const kind = /^SET memory_limit|^CREATE OR REPLACE TABLE "fti_winners_|^COPY /.exec(sql.trim())?.[0];
          if (kind === "COPY ") seen.push(`COPY at ${await limit()}`);
          else if (kind) seen.push(kind);
          return orig(sql, ...rest);
        };
      };
      wrap(store, "run");
      wrap(store, "all");
      const n = await exportTrainingData(store, bundle, "v", join(tempDir(), "a.parquet"));
      expect(n).toBeGreaterThan(100);
      expect(await limit()).toBe(before);
      // The COPY runs under the cap; the cap is set again after the tie winners are built (DuckDB then hands
      // back what its allocator kept of the memory the build freed), and the store's own after the COPY.
      const copyAt = seen.findIndex((x) => x.startsWith("COPY"));
      expect(byteSize(seen[copyAt].replace("COPY at ", ""))).toBeLessThanOrEqual(byteSize(EXPORT_MEMORY_LIMIT)!);
      expect(seen.slice(0, copyAt).filter((x) => x !== "SET memory_limit")).toEqual([`CREATE OR REPLACE TABLE "fti_winners_`]);
      expect(seen.lastIndexOf(`CREATE OR REPLACE TABLE "fti_winners_`)).toBeLessThan(copyAt - 1);
      expect(seen[copyAt - 1]).toBe("SET memory_limit");
      expect(seen.slice(copyAt + 1)).toEqual(["SET memory_limit"].slice(0, opened ? 1 : 0));
      // closingStore (the CLI closes the store next): the same rows, and the cap left in place after a
      // COPY that succeeded (setting the store's own would flush DuckDB's allocator for nothing); set back
      // when the export fails.
      expect(await exportTrainingData(store, bundle, "v", join(tempDir(), "k.parquet"), { closingStore: true })).toBe(n);
      expect(Math.abs(byteSize(await limit())! - byteSize(EXPORT_MEMORY_LIMIT)!)).toBeLessThan(1e6); // DuckDB shows it rounded to 0.1 MiB
      await store.run(opened ? `SET memory_limit = '${opened}'` : "RESET memory_limit");
      expect(await limit()).toBe(before);
      await expect(exportTrainingData(store, bundle, "v", join(tempDir(), "k2.parquet"), { memoryLimit: "256KB", closingStore: true })).rejects.toThrow(UserError);
      expect(await limit()).toBe(before);
      // A cap above the store's limit leaves it; a cap that is not a size is a UserError naming it.
      await exportTrainingData(store, bundle, "v", join(tempDir(), "b.parquet"), { memoryLimit: "1TB" });
      expect(await limit()).toBe(before);
      await expect(exportTrainingData(store, bundle, "v", join(tempDir(), "c.parquet"), { memoryLimit: "lots" })).rejects.toThrow(UserError);
      // A cap too low for the COPY's working blocks is a UserError saying how to give it more, and the limit is set back.
      const lowOut = join(tempDir(), "d.parquet");
      const tooLow = exportTrainingData(store, bundle, "v", lowOut, { memoryLimit: "256KB" });
      await expect(tooLow).rejects.toThrow(UserError);
      await expect(tooLow).rejects.toThrow(/ran out of memory within its memory limit of 256KB/);
      expect(await limit()).toBe(before);
      expect(existsSync(lowOut)).toBe(false);
      await store.close();
      store = undefined;
    }
    expect(byteSize("640MB")).toBe(640e6);
    expect(byteSize("3.0 GiB")).toBe(3 * 2 ** 30);
    expect(byteSize("610.3 MiB")).toBeCloseTo(610.3 * 2 ** 20);
    expect(byteSize("12")).toBe(12);
    expect(byteSize("lots")).toBeNull();
    expect(byteSize("5 parsecs")).toBeNull();
  });

  it("exportTrainingData streams many chunks on several threads: rows, order, nulls, ties and ODT values equal the frame's", async () => {
    // ~30,000 spine rows (15 DuckDB chunks) over 40 users at minute times shared by many rows,
    // a group with ties at (user, minute) settled by ingestion and row id, nulls in both features.
    store = await openStore({ path: ":memory:", threads: 2 });
    await store.run(
      `CREATE TABLE src_events AS SELECT 'u' || (hash(i, 1) % 40) AS user_id,
              TIMESTAMP '2026-01-01' + to_minutes(CAST(hash(i, 2) % 600 AS BIGINT)) AS ts,
              CASE WHEN hash(i, 3) % 17 = 0 THEN NULL ELSE (hash(i, 4) % 1000) / 10.0 END AS y,
              (hash(i, 5) % 500) / 4.0 AS amount, TIMESTAMP '2026-02-01' AS ingested_at
         FROM range(32000) AS t(i)`,
    );
    await store.run(
      `CREATE TABLE fg_g_v1 AS SELECT 'u' || (hash(i, 6) % 40) AS user_id,
              TIMESTAMP '2026-01-01' + to_minutes(CAST(hash(i, 7) % 600 AS BIGINT)) AS event_time,
              i AS rid,
              CASE WHEN hash(i, 8) % 5 = 0 THEN NULL ELSE (hash(i, 9) % 1000) / 8.0 END AS f1,
              CASE WHEN hash(i, 10) % 7 = 0 THEN NULL ELSE CAST(hash(i, 11) % 50 AS BIGINT) END AS f2,
              TIMESTAMP '2026-02-01' + to_days(CAST(hash(i, 12) % 2 AS BIGINT)) AS ingested_at
         FROM range(20000) AS t(i)`,
    );
    const bundle = pitBundle({ asOf: "strict", ttlMs: 2 * HOUR, rowId: true });
    // A second ODT with an int result (BIGINT out of the scalar function), null when f2 is null or odd.
    bundle.views[0].odts.push({
      name: "f2_half",
      line: 21,
      requestParams: [],
      featureParams: ["g.f2"],
      returns: { name: "f2_half", type: "int", nullable: true },
      compute: (_r, f) => (typeof f.f2 === "number" && f.f2 % 2 === 0 ? f.f2 / 2 - 3 : null),
    });
    const frame = plain(await buildTrainingFrame(store, bundle, "v"));
    expect(frame.n).toBeGreaterThan(28_000);
    const out = join(tempDir(), "many.parquet");
    expect(await exportTrainingData(store, bundle, "v", out)).toBe(frame.n);
    const rows = await store.readColumns(`SELECT * FROM read_parquet('${out}')`, undefined, { timestamps: "ms" });
    expect(rows.columns.user_id).toEqual(frame.keys.user_id);
    expect(rows.columns.event_time).toEqual(Array.from(frame.time));
    expect(rows.columns.y).toEqual(Array.from(frame.label));
    for (const c of ["f1", "f2", "f1_plus_amount", "f2_half", "amount"]) expect(rows.columns[c]).toEqual(frame.columns[c]);
    expect(frame.columns.f2_half.filter((v) => v === null).length).toBeGreaterThan(1000);
    expect(frame.columns.f2_half.filter((v) => typeof v === "number" && v < 0).length).toBeGreaterThan(100);
    // The data exercised what it is meant to: nulls among the features and the ODT values, and both present.
    const odt = frame.columns.f1_plus_amount;
    expect(odt.filter((v) => v === null).length).toBeGreaterThan(1000);
    expect(odt.filter((v) => v !== null).length).toBeGreaterThan(1000);
    expect(frame.columns.f2.filter((v) => v === null).length).toBeGreaterThan(100);
    const [ties] = await store.all<{ n: number }>(`SELECT count(*)::DOUBLE AS n FROM (SELECT 1 FROM fg_g_v1 GROUP BY user_id, event_time HAVING count(*) > 1)`);
    expect(ties.n).toBeGreaterThan(1000);
  });

  it("exportTrainingData over several Parquet row groups, with the ordered writer's memory ample or tight: the frame, row for row", async () => {
    // ~300,000 spine rows: three row groups of DuckDB's ordered Parquet writer, which prepares each group's
    // batch on any thread and writes them in order; how far its threads run ahead of the oldest unwritten
    // batch depends on the memory it is given (export-memory.ts), so both a cap that leaves it room and one
    // that leaves it its minimum must give the same file. Many rows share a minute, a user and a label
    // (settled by the request field), and the group has ties at (user, minute).
    store = await openStore({ path: ":memory:", threads: 2 });
    await store.run(
      `CREATE TABLE src_events AS SELECT 'u' || (hash(i) % 60) AS user_id,
              TIMESTAMP '2026-01-01' + to_minutes(CAST(hash(i + 1000000) % 2000 AS BIGINT)) AS ts,
              CAST(hash(i + 2000000) % 2 AS DOUBLE) AS y, (hash(i + 3000000) % 4000) / 4.0 AS amount, TIMESTAMP '2026-02-01' AS ingested_at
         FROM range(300000) AS t(i)`,
    );
    await store.run(
      `CREATE TABLE fg_g_v1 AS SELECT 'u' || (hash(i + 4000000) % 60) AS user_id,
              TIMESTAMP '2026-01-01' + to_minutes(CAST(hash(i + 5000000) % 2000 AS BIGINT)) AS event_time, i AS rid,
              CASE WHEN hash(i + 6000000) % 5 = 0 THEN NULL ELSE (hash(i + 7000000) % 1000) / 8.0 END AS f1,
              CAST(hash(i + 8000000) % 50 AS BIGINT) AS f2, TIMESTAMP '2026-02-01' + to_days(CAST(hash(i + 9000000) % 2 AS BIGINT)) AS ingested_at
         FROM range(100000) AS t(i)`,
    );
    const bundle = pitBundle({ asOf: "strict", ttlMs: 2 * HOUR, rowId: true });
    const frame = plain(await buildTrainingFrame(store, bundle, "v"));
    expect(frame.n).toBe(300_000);
    for (const memoryLimit of [EXPORT_MEMORY_LIMIT, "96MB"]) {
      const out = join(tempDir(), "groups.parquet");
      expect(await exportTrainingData(store, bundle, "v", out, { memoryLimit })).toBe(frame.n);
      const [meta] = await store.all<{ groups: number }>(`SELECT count(DISTINCT row_group_id)::DOUBLE AS groups FROM parquet_metadata('${out}')`);
      expect(meta.groups).toBeGreaterThanOrEqual(3);
      const rows = await store.readColumns(`SELECT * FROM read_parquet('${out}')`, undefined, { timestamps: "ms" });
      // The first row where a column differs (-1: none), so that a wrong order fails without diffing 300,000 values.
      const firstDiff = (got: ArrayLike<unknown>, want: ArrayLike<unknown>) =>
        got.length !== want.length ? -2 : Array.from(got).findIndex((v, i) => !Object.is(v, want[i]));
      const want: Record<string, ArrayLike<unknown>> = { user_id: frame.keys.user_id, event_time: frame.time, y: frame.label };
      for (const c of ["f1", "f2", "f1_plus_amount", "amount"]) want[c] = frame.columns[c];
      for (const [c, values] of Object.entries(want)) expect({ memoryLimit, column: c, firstDiff: firstDiff(rows.columns[c], values) }).toEqual({ memoryLimit, column: c, firstDiff: -1 });
    }
    // The data has what the test is about: rows tied on (minute, user) and on (minute, user, label), and group ties.
    const [shape] = await store.all<{ tied: number; tiedLabel: number; groupTies: number }>(
      `SELECT (SELECT count(*)::DOUBLE FROM (SELECT 1 FROM src_events GROUP BY ts, user_id HAVING count(*) > 1)) AS tied,
              (SELECT count(*)::DOUBLE FROM (SELECT 1 FROM src_events GROUP BY ts, user_id, y HAVING count(*) > 1)) AS tiedLabel,
              (SELECT count(*)::DOUBLE FROM (SELECT 1 FROM fg_g_v1 GROUP BY user_id, event_time HAVING count(*) > 1)) AS groupTies`,
    );
    expect(shape.tied).toBeGreaterThan(50_000);
    expect(shape.tiedLabel).toBeGreaterThan(50_000);
    expect(shape.groupTies).toBeGreaterThan(10_000);
  });

  it("exportTrainingData with an int key and string/int request fields: declared types, and rows in spine order over ties and nulls", async () => {
    // The keys and request fields are written as the spine casts them and the ORDER BY shares those columns:
    // the file must keep the declared types and be exactly the frame, in (time, key, label, request fields) order,
    // with many rows tied on time and key, nulls in the label's tie-breakers (a null channel) and several entities.
    store = await openStore({ path: ":memory:", threads: 2 });
    await store.run(
      `CREATE TABLE src_events AS SELECT CAST(hash(i, 1) % 25 AS INTEGER) AS user_id,
              TIMESTAMP '2026-01-01' + to_minutes(CAST(hash(i, 2) % 300 AS BIGINT)) AS ts,
              CAST(hash(i, 3) % 3 AS DOUBLE) AS y, (hash(i, 4) % 7) / 2.0 AS amount,
              CASE WHEN hash(i, 5) % 4 = 0 THEN NULL ELSE ['web', 'app', 'Email'][1 + CAST(hash(i, 6) % 3 AS INTEGER)] END AS channel,
              CAST(hash(i, 7) % 5 AS INTEGER) - 2 AS qty
         FROM range(12000) AS t(i)`,
    );
    await store.run(
      `CREATE TABLE fg_g_v1 AS SELECT CAST(hash(i, 8) % 25 AS INTEGER) AS user_id,
              TIMESTAMP '2026-01-01' + to_minutes(CAST(hash(i, 9) % 300 AS BIGINT)) AS event_time, i AS rid,
              CASE WHEN hash(i, 10) % 5 = 0 THEN NULL ELSE (hash(i, 11) % 1000) / 8.0 END AS f1,
              CAST(hash(i, 12) % 50 AS BIGINT) AS f2, TIMESTAMP '2026-02-01' + to_days(CAST(hash(i, 13) % 2 AS BIGINT)) AS ingested_at
         FROM range(6000) AS t(i)`,
    );
    const bundle = pitBundle({ asOf: "strict", ttlMs: 2 * HOUR, rowId: true });
    const intKey = [{ name: "user_id", type: "int" as const, nullable: false }];
    bundle.groups[0].keys = intKey;
    const view = bundle.views[0];
    view.keys = intKey;
    view.requestFields.push({ name: "channel", type: "string", nullable: true }, { name: "qty", type: "int", nullable: false });
    bundle.sources[0].fields = [...bundle.sources[0].fields.filter((f) => f.name !== "user_id"), { name: "user_id", type: "int", nullable: false },
      { name: "channel", type: "string", nullable: true }, { name: "qty", type: "int", nullable: false }];
    const frame = plain(await buildTrainingFrame(store, bundle, "v"));
    const out = join(tempDir(), "typed.parquet");
    expect(await exportTrainingData(store, bundle, "v", out)).toBe(frame.n);
    const cols = await store.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM read_parquet('${out}')`);
    expect(cols.map((c) => `${c.column_name} ${c.column_type}`)).toEqual([
      "user_id BIGINT", "event_time TIMESTAMP", "y DOUBLE", "f1 DOUBLE", "f2 BIGINT", "f1_plus_amount DOUBLE", "amount DOUBLE", "channel VARCHAR", "qty BIGINT",
    ]);
    const rows = await store.readColumns(`SELECT * FROM read_parquet('${out}')`, undefined, { timestamps: "ms" });
    expect(rows.columns.user_id).toEqual(frame.keys.user_id);
    expect(rows.columns.event_time).toEqual(Array.from(frame.time));
    expect(rows.columns.y).toEqual(Array.from(frame.label));
    for (const c of ["f1", "f2", "f1_plus_amount", "amount", "channel", "qty"]) expect(rows.columns[c]).toEqual(frame.columns[c]);
    // The file's own order is the spine order: sorting it again by those columns changes nothing.
    const sorted = await store.readColumns(
      `SELECT * FROM read_parquet('${out}') ORDER BY event_time, user_id, y, amount, channel, qty`, undefined, { timestamps: "ms" },
    );
    for (const c of Object.keys(rows.columns)) expect(rows.columns[c]).toEqual(sorted.columns[c]);
    // --unordered: the same rows without the sort into spine order; sorted by it, exactly the ordered file.
    const loose = join(tempDir(), "unordered.parquet");
    expect(await exportTrainingData(store, bundle, "v", loose, { unordered: true })).toBe(frame.n);
    const looseSorted = await store.readColumns(
      `SELECT * FROM read_parquet('${loose}') ORDER BY event_time, user_id, y, amount, channel, qty`, undefined, { timestamps: "ms" },
    );
    expect(Object.keys(looseSorted.columns)).toEqual(Object.keys(rows.columns));
    for (const c of Object.keys(rows.columns)) expect(looseSorted.columns[c]).toEqual(rows.columns[c]);
    // What the test is meant to exercise is there: rows tied on (time, key), null channels, several entities.
    const [shape] = await store.all<{ tied: number; nulls: number; users: number }>(
      `SELECT (SELECT count(*)::DOUBLE FROM (SELECT 1 FROM src_events GROUP BY ts, user_id HAVING count(*) > 1)) AS tied,
              (SELECT count(*)::DOUBLE FROM src_events WHERE channel IS NULL) AS nulls,
              (SELECT count(DISTINCT user_id)::DOUBLE FROM src_events) AS users`,
    );
    expect(shape.tied).toBeGreaterThan(500);
    expect(shape.nulls).toBeGreaterThan(1000);
    expect(shape.users).toBe(25);
  });

  it("an ODT that throws fails the export with its name and inputs, and leaves no file", async () => {
    const data = makeData(6);
    store = await openStore({ path: ":memory:" });
    await load(store, data, true);
    const bundle = pitBundle({ asOf: "strict", ttlMs: TTL, rowId: true });
    const odt = bundle.views[0].odts[0];
    bundle.views[0].odts[0] = {
      ...odt,
      compute: (r, f) => {
        if (f.f1 !== null && (f.f1 as number) > 90) throw new Error("too large");
        return odt.compute(r, f);
      },
    };
    const out = join(tempDir(), "fails.parquet");
    await expect(exportTrainingData(store, bundle, "v", out)).rejects.toThrow(/on_demand `f1_plus_amount` failed \(.*"f1":9\d.*\): too large/);
    expect(existsSync(out)).toBe(false);
    // The store is usable afterwards.
    expect(await exportTrainingData(store, pitBundle({ asOf: "strict", ttlMs: TTL, rowId: true }), "v", out)).toBeGreaterThan(100);
  });
});
