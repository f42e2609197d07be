// An int is a JS number in fti's requests, frames and online store, exact only
// within ±(2^53 − 1). An int key past it is refused alike wherever it comes
// in: a source row is quarantined (test/quarantine-reasons), a request is a
// 400 at the field, and a row of a batch entities file is a reject with the
// same status and field, never scored as another entity's neighbour.

import fs from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { predictBatch } from "../runtime/inference/batch.ts";
import { materialize } from "../runtime/online/materialize.ts";
import { OnlineService } from "../runtime/online/service.ts";
import type { ApiErrorBody } from "../runtime/online/types.ts";
import { openStore } from "../runtime/store/store.ts";
import { trainModelFromSpec } from "../runtime/training/train.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const SPEC = `
source tx {
  path "tx.csv"
  event_time at
  unique tx_id
  fields { tx_id: string  user_id: int  at: timestamp  amount: float }
}
entity user { key user_id: int }
feature_group spend for user from tx { total_7d = sum(amount) over 7d }
view d for user from tx {
  label amount = amount
  features spend.*
}
model m { view d  task regression  algorithm gbdt(trees: 3, depth: 2, min_leaf: 2)  split random(test_fraction: 0.3, seed: 1) }
serve m { online }
`;

const temps: TempSpec[] = [];
afterAll(() => temps.forEach((t) => t.cleanup()));

describe("ints past ±(2^53 − 1)", () => {
  it("an entities file's int key past it is a 400 reject at the field, as the same request online", async () => {
    const rows = Array.from({ length: 30 }, (_, i) => `t${i},${(i % 3) + 1},2025-01-${String(1 + (i % 20)).padStart(2, "0")} 10:00:00,${10 + i}`);
    const t = await compileTempSpec({ "spec.fti": SPEC, "tx.csv": ["tx_id,user_id,at,amount", ...rows].join("\n") + "\n" });
    temps.push(t);
    const storePath = path.join(t.dir, "store.duckdb");
    const entities = path.join(t.dir, "entities.csv");
    fs.writeFileSync(entities, "user_id\n1\n9007199254740993\n-9007199254740992\n2\n");
    const store = await openStore({ path: storePath });
    let rejects: Array<{ row_number: number; status: number; fields: string[] }>;
    let scored: number[];
    try {
      await runFeaturePipeline(store, t.bundle);
      await trainModelFromSpec(store, t.bundle, "m");
      await materialize(store, t.bundle);
      await predictBatch(store, t.bundle, "m", { entitiesFile: entities, asOf: new Date(Date.UTC(2025, 1, 1)), out: "scores" });
      scored = (await store.all<{ row_number: number | bigint }>("SELECT row_number FROM scores ORDER BY row_number")).map((r) => Number(r.row_number));
      rejects = await store.all("SELECT row_number, status, fields FROM scores_rejects ORDER BY row_number");
    } finally {
      await store.close();
    }
    expect(scored).toEqual([1, 4]);
    expect(rejects.map((r) => [Number(r.row_number), Number(r.status), [...r.fields]])).toEqual([
      [2, 400, ["user_id"]],
      [3, 400, ["user_id"]],
    ]);
    const svc = await OnlineService.open(t.bundle, { store: storePath, logs: false, now: () => Date.UTC(2025, 1, 1) });
    try {
      for (const user_id of [2 ** 53, -(2 ** 53)]) {
        const a = await svc.predict("m", { user_id });
        expect(a.status).toBe(400);
        expect((a.body as ApiErrorBody).error.issues!.map((i) => i.path)).toEqual([["user_id"]]);
      }
      expect((await svc.predict("m", { user_id: 1 })).status).toBe(200);
    } finally {
      await svc.close();
    }
  });
});
