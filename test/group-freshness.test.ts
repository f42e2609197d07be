// An imported group's table is reused while the run that computed it vouches
// for it (group-freshness.ts). `fti_runs` can be edited by anyone with the
// store: a run record of another shape is no voucher (the group is computed
// again), not a TypeError (exit 3).

import { describe, expect, it } from "vitest";
import type { GroupPlan } from "../runtime/api.ts";
import { findUpToDate, tableStamp } from "../runtime/features/group-freshness.ts";
import { RUN_LOG_TABLE } from "../runtime/store/run-log.ts";
import { openStore } from "../runtime/store/store.ts";

const plan = { table: "fg_x_v1" } as GroupPlan;
const now = { definition: "d", input: "i" };

describe("findUpToDate", () => {
  it("reuses the table its latest run vouches for; a damaged latest record vouches for nothing, without a TypeError", async () => {
    const store = await openStore({ path: ":memory:" });
    try {
      await store.run(RUN_LOG_TABLE);
      await store.run("CREATE TABLE fg_x_v1 (k INT, ingested_at TIMESTAMP)");
      await store.run("INSERT INTO fg_x_v1 VALUES (1, TIMESTAMP '2026-01-01 00:00:00')");
      const record = { groups: [{ table: "fg_x_v1", freshness: { ...now, table: await tableStamp(store, "fg_x_v1") } }] };
      let minute = 0;
      const logRun = (id: string, stats: string) =>
        store.run(`INSERT INTO fti_runs VALUES (?, 'features', 'spec_a', TIMESTAMP '2026-01-01 00:00:00' + INTERVAL (${minute++}) MINUTE, NULL, 'ok', ?)`, [id, stats]);
      await logRun("run-1", JSON.stringify(record));
      expect(await findUpToDate(store, plan, now)).toEqual({ runId: "run-1", spec: "spec_a" });
      for (const damaged of [{ groups: 5, about: "fg_x_v1" }, { groups: [null], about: "fg_x_v1" }, { groups: [{ table: "fg_x_v1", freshness: { definition: 1 } }] }]) {
        await logRun(`damaged-${minute}`, JSON.stringify(damaged));
        expect(await findUpToDate(store, plan, now), JSON.stringify(damaged)).toBeNull();
      }
    } finally {
      await store.close();
    }
  });
});
