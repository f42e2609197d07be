// Materialisation: the online table holds, per entity, exactly the row the
// point-in-time join would pick "now", and a run writes only what changed.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Scalar } from "../runtime/api.ts";
import { materialize, onlineTable, readOnlineState } from "../runtime/online/materialize.ts";
import type { Store } from "../runtime/store/store.ts";
import { featuresAsOf } from "../runtime/retrieval/pit.ts";
import { FEATURE_TABLE, USERS } from "./helpers/model-bundles.ts";
import { buildToyStore, type ToyStore } from "./helpers/online-toy.ts";

let toy: ToyStore;
const TABLE = "online_user_stats_v1";
const FAR = new Date("2030-01-01T00:00:00Z");

beforeAll(async () => {
  toy = await buildToyStore({ train: [] });
});
afterAll(() => toy?.cleanup());

interface OnlineRow {
  user_id: string;
  event_time: Date;
  x1: number;
  x2: number | null;
  cat: string;
  materialized_at: Date;
}

async function onlineRows(store: Store): Promise<Map<string, OnlineRow>> {
  const rows = await store.all<OnlineRow>(`SELECT * FROM ${TABLE} ORDER BY user_id`);
  return new Map(rows.map((r) => [r.user_id, r]));
}

/** The online values must equal featuresAsOf (the offline truth) at a time after every row. */
async function expectEqualsPit(store: Store, at: Date = FAR): Promise<void> {
  const online = await onlineRows(store);
  const users = [...online.keys()];
  const frame = await featuresAsOf(store, toy.bundle, "v_user", { keys: { user_id: users }, time: at });
  users.forEach((u, i) => {
    const row = online.get(u)!;
    const got: Record<string, Scalar> = { x1: row.x1, x2: row.x2, cat: row.cat };
    for (const f of ["x1", "x2", "cat"]) expect(got[f], `${u}.${f}`).toEqual(frame.columns[f][i]);
    expect(row.event_time.getTime()).toBe(frame.featureTimes!.user_stats[i]);
  });
}

describe("fti materialize", () => {
  it("writes the latest row of every entity, equal to the point-in-time join", async () => {
    await toy.withStore(async (store) => {
      const r = await materialize(store, toy.bundle, { now: new Date("2026-02-01T00:00:00Z") });
      expect(r.groups).toHaveLength(1);
      expect(r.groups[0]).toMatchObject({ group: "user_stats", table: TABLE, mode: "full", written: USERS.length, deleted: 0, entities: USERS.length });
      expect(onlineTable(toy.bundle.groups[0])).toBe(TABLE);
      await expectEqualsPit(store);
      const [state] = await readOnlineState(store);
      expect(state).toMatchObject({ online_table: TABLE, group_name: "user_stats", entities: USERS.length });
    });
  });

  it("a second run with no changes writes nothing", async () => {
    await toy.withStore(async (store) => {
      const before = await onlineRows(store);
      const stateBefore = await readOnlineState(store);
      const r = await materialize(store, toy.bundle, { now: new Date("2026-02-02T00:00:00Z") });
      expect(r.groups[0]).toMatchObject({ mode: "unchanged", candidates: 0, written: 0, deleted: 0, entities: USERS.length });
      const after = await onlineRows(store);
      for (const [u, row] of after) expect(row.materialized_at.getTime()).toBe(before.get(u)!.materialized_at.getTime());
      expect(await readOnlineState(store)).toEqual(stateBefore);
    });
  });

  it("after new rows, only the entities they belong to change", async () => {
    await toy.withStore(async (store) => {
      const before = await onlineRows(store);
      const ingested = new Date("2026-02-03T00:00:00Z");
      await store.appendRows(
        FEATURE_TABLE,
        ["user_id", "event_time", "ingested_at", "x1", "x2", "cat"],
        [
          ["u03", new Date("2026-01-20T00:00:00Z"), ingested, 123.5, null, "b"],
          ["u07", new Date("2026-01-21T00:00:00Z"), ingested, -4.25, 9, "c"],
          // a backfilled row older than u11's latest: u11 is checked, but its online row does not change
          ["u11", new Date("2025-02-01T00:00:00Z"), ingested, 1, 1, "a"],
        ],
      );
      const now = new Date("2026-02-04T00:00:00Z");
      const r = await materialize(store, toy.bundle, { now });
      expect(r.groups[0]).toMatchObject({ mode: "incremental", candidates: 3, written: 2, deleted: 0, entities: USERS.length });
      const after = await onlineRows(store);
      const changed = [...after.values()].filter((row) => row.materialized_at.getTime() === now.getTime()).map((row) => row.user_id);
      expect(changed.sort()).toEqual(["u03", "u07"]);
      for (const [u, row] of after) if (!changed.includes(u)) expect(row).toEqual(before.get(u));
      expect(after.get("u03")).toMatchObject({ x1: 123.5, x2: null, cat: "b" });
      await expectEqualsPit(store);
    });
  });

  it("ties on event_time resolve like the point-in-time join (latest ingested_at wins)", async () => {
    await toy.withStore(async (store) => {
      const t = new Date("2026-01-25T00:00:00Z");
      await store.appendRows(
        FEATURE_TABLE,
        ["user_id", "event_time", "ingested_at", "x1", "x2", "cat"],
        [
          ["u12", t, new Date("2026-02-05T00:00:00Z"), 1.5, 1, "a"],
          ["u12", t, new Date("2026-02-05T00:00:01Z"), 2.5, 2, "b"],
        ],
      );
      const r = await materialize(store, toy.bundle);
      expect(r.groups[0]).toMatchObject({ mode: "incremental", candidates: 1, written: 1 });
      expect((await onlineRows(store)).get("u12")).toMatchObject({ x1: 2.5, cat: "b" });
      await expectEqualsPit(store);
    });
  });

  it("a row that disappears offline (a re-run range) is replaced by the entity's previous row", async () => {
    await toy.withStore(async (store) => {
      await store.run(`DELETE FROM ${FEATURE_TABLE} WHERE user_id = 'u03' AND event_time = TIMESTAMP '2026-01-20'`);
      const r = await materialize(store, toy.bundle);
      expect(r.groups[0]).toMatchObject({ mode: "incremental", candidates: 1, written: 1, deleted: 0 });
      expect((await onlineRows(store)).get("u03")!.x1).not.toBe(123.5);
      await expectEqualsPit(store);
    });
  });

  it("--to materialises the state as of an instant (a full pass), and dropping it goes back to the latest", async () => {
    await toy.withStore(async (store) => {
      const to = new Date("2025-06-01T00:00:00Z");
      const r = await materialize(store, toy.bundle, { to });
      expect(r.groups[0].mode).toBe("full");
      const rows = await onlineRows(store);
      for (const row of rows.values()) expect(row.event_time.getTime()).toBeLessThan(to.getTime());
      // as of just before `to`: the rows strictly before it
      await expectEqualsPit(store, new Date(to.getTime() - 1));
      const again = await materialize(store, toy.bundle, { to });
      expect(again.groups[0]).toMatchObject({ mode: "unchanged", written: 0 });
      const back = await materialize(store, toy.bundle);
      expect(back.groups[0].mode).toBe("full");
      await expectEqualsPit(store);
    });
  });

  it("--group limits the run; an unknown group is a user error", async () => {
    await toy.withStore(async (store) => {
      const r = await materialize(store, toy.bundle, { groups: ["user_stats"] });
      expect(r.groups.map((g) => g.group)).toEqual(["user_stats"]);
      await expect(materialize(store, toy.bundle, { groups: ["nope"] })).rejects.toThrow(/has no feature group `nope`; its groups: user_stats/);
    });
  });
});
