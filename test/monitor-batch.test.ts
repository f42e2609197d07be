// Batch predictions carry the model inputs they were scored with
// (`input_<name>`), and `fti monitor` measures their drift like the served
// log's: the stored inputs against a brute-force point-in-time pick, the
// batch window's PSI and KS against the same computation over those values,
// and a drift that only batch scoring sees fires a `retrain` trigger.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RetrainPlan } from "../runtime/api.ts";
import { UserError } from "../runtime/errors.ts";
import { predictBatch } from "../runtime/inference/batch.ts";
import { ksStatistic, numericPsi } from "../runtime/monitor/drift.ts";
import { monitorModel, type MonitorReport } from "../runtime/monitor/monitor.ts";
import { readMonitorRows } from "../runtime/monitor/results.ts";
import { evaluateTriggers } from "../runtime/orchestrator/triggers.ts";
import { getModel } from "../runtime/registry/registry.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { trainModelFromSpec } from "../runtime/training/train.ts";
import { FEATURE_TABLE, loadSyntheticTables, makeBundle, T0, USERS } from "./helpers/model-bundles.ts";

const DAY = 86_400_000;
const WINDOW = 30 * DAY;
const BEFORE = new Date(T0 + 100 * DAY); // scored on the training distribution
const AFTER = new Date(T0 + 300 * DAY); // scored after x1 moved by +8 (from day 200)
const MODEL = "toy_request";

let dir: string;
let store: Store;
let report: MonitorReport;
const bundle = makeBundle();
interface Scored { user_id: string; amount: number; as_of: Date; input_x1: number | null; input_x2: number | null; input_cat: string | null; input_boost: number | null }
let scored: Scored[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "fti-monitor-batch-"));
  store = await openStore({ path: join(dir, "store.duckdb") });
  await loadSyntheticTables(store);
  await trainModelFromSpec(store, bundle, MODEL);
  const entities = join(dir, "entities.csv");
  writeFileSync(entities, ["user_id,amount", ...USERS.flatMap((u, i) => [1, 2, 3, 4].map((a) => `${u},${a + (i % 3) / 2}`))].join("\n") + "\n");
  await predictBatch(store, bundle, MODEL, { asOf: BEFORE, entitiesFile: entities });
  await store.run(`UPDATE ${FEATURE_TABLE} SET x1 = x1 + 8 WHERE event_time >= ?`, [new Date(T0 + 200 * DAY)]);
  await predictBatch(store, bundle, MODEL, { asOf: AFTER, entitiesFile: entities });
  scored = await store.all<Scored>(
    `SELECT user_id, amount, as_of, input_x1, input_x2, input_cat, input_boost FROM predictions.${MODEL} ORDER BY as_of, user_id, amount`,
  );
  report = await monitorModel(store, bundle, MODEL, { logsDir: join(dir, "logs"), since: new Date(T0), until: new Date(T0 + 360 * DAY), windowMs: WINDOW });
}, 120_000);

afterAll(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const windowOf = (t: Date) => report.windows.find((w) => Date.parse(w.start) <= t.getTime() && t.getTime() < Date.parse(w.end))!;

describe("batch predictions keep their inputs", () => {
  it("every row holds the features its entity had at the as-of time (brute force) and its ODT value", async () => {
    const rows = await store.all<{ user_id: string; event_time: Date; x1: number; x2: number | null; cat: string }>(`SELECT user_id, event_time, x1, x2, cat FROM ${FEATURE_TABLE}`);
    expect(scored).toHaveLength(2 * USERS.length * 4);
    for (const s of scored) {
      const latest = rows
        .filter((r) => r.user_id === s.user_id && r.event_time.getTime() <= s.as_of.getTime())
        .sort((a, b) => b.event_time.getTime() - a.event_time.getTime())[0];
      expect([s.input_x1, s.input_x2, s.input_cat]).toEqual([latest.x1, latest.x2, latest.cat]);
      expect(s.input_boost).toBeCloseTo(s.amount * latest.x1, 12);
    }
  });

  it("an entities file with a column named like an input column is refused", async () => {
    const bad = join(dir, "bad.csv");
    writeFileSync(bad, `user_id,amount,input_x1\n${USERS[0]},1,3\n`);
    const e = await predictBatch(store, bundle, MODEL, { asOf: BEFORE, entitiesFile: bad }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UserError);
    expect((e as Error).message).toContain("`input_x1`");
  });
});

describe("fti monitor over batch predictions", () => {
  it("measures each input of a batch window against the training statistics, from the stored values", async () => {
    const stats = (await getModel(store, MODEL, 1)).statistics!;
    const x1 = stats.features.find((f) => f.name === "x1")!;
    for (const asOf of [BEFORE, AFTER]) {
      const w = windowOf(asOf);
      expect(w.requests).toBe(0);
      expect(w.batch!.rows).toBe(USERS.length * 4);
      const values = scored.filter((s) => s.as_of.getTime() === asOf.getTime()).map((s) => s.input_x1!);
      const sorted = Float64Array.from(values).sort();
      const drift = w.batch!.features.find((f) => f.name === "x1")!;
      expect(drift.count).toBe(values.length);
      expect(drift.psi).toBeCloseTo(numericPsi(x1.numeric!, sorted), 12);
      expect(drift.ks).toBeCloseTo(ksStatistic(x1.numeric!.quantiles, sorted), 12);
      const x2 = w.batch!.features.find((f) => f.name === "x2")!;
      expect(x2.null_rate).toBeCloseTo(scored.filter((s) => s.as_of.getTime() === asOf.getTime() && s.input_x2 === null).length / values.length, 12);
    }
    const psi = (t: Date) => windowOf(t).batch!.features.find((f) => f.name === "x1")!.psi!;
    const ks = (t: Date) => windowOf(t).batch!.features.find((f) => f.name === "x1")!.ks!;
    // 30 entities are a small sample for 10 bins (PSI is high in both windows), but the shift stands out.
    expect(psi(AFTER)).toBeGreaterThan(2 * psi(BEFORE));
    expect(ks(BEFORE)).toBeLessThan(0.5);
    expect(ks(AFTER)).toBeGreaterThan(0.5);

    const rows = await readMonitorRows(store, MODEL);
    const stored = rows.find((r) => r.subject === "batch:feature:x1" && r.measure === "psi" && r.window_start.toISOString() === windowOf(AFTER).start)!;
    expect(stored.value).toBeCloseTo(psi(AFTER), 12);
  });

  it("a damaged training statistics row is an error naming it, not windows silently without PSI", async () => {
    const [{ statistics }] = await store.all<{ statistics: string }>(`SELECT statistics FROM fti_model_statistics WHERE model = ? AND version = 1`, [MODEL]);
    await store.run(`UPDATE fti_model_statistics SET statistics = '[1]' WHERE model = ? AND version = 1`, [MODEL]);
    try {
      const run = monitorModel(store, bundle, MODEL, { logsDir: join(dir, "logs"), since: new Date(T0), until: new Date(T0 + 360 * DAY), windowMs: WINDOW, save: false });
      await expect(run).rejects.toThrow(UserError);
      await expect(run).rejects.toThrow(/model `toy_request` version 1: its training statistics are not what fti writes/);
    } finally {
      await store.run(`UPDATE fti_model_statistics SET statistics = ? WHERE model = ? AND version = 1`, [statistics, MODEL]);
    }
  });

  it("a drift only batch scoring sees fires `when drift(ks > 0.5)` (the window has no served request)", () => {
    const retrain: RetrainPlan = { line: 1, drift: [{ measure: "ks", op: ">", value: 0.5 }], live: [] };
    const fired = evaluateTriggers(retrain, report, new Date(Date.parse(windowOf(AFTER).end)), null);
    expect(fired?.reason).toMatch(/^drift\(ks > 0\.5\): batch x1 [\d.]+ in /);
    expect(fired?.slot.toISOString()).toBe(windowOf(AFTER).start);
  });
});
