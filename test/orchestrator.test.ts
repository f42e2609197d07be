// fti run's model loop with a replayed clock: drift in the served inputs
// triggers a retrain; the challenger is promoted only when it beats the
// champion on the same recent labelled rows; the service hot-swaps a promoted
// version; each trigger slot runs once.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { SpecBundle } from "../runtime/api.ts";
import { OnlineService } from "../runtime/online/service.ts";
import { tickOnce } from "../runtime/orchestrator/run.ts";
import { listRuns } from "../runtime/orchestrator/runs.ts";
import { getModel, listModels } from "../runtime/registry/registry.ts";
import type { Store } from "../runtime/store/store.ts";
import { T0 } from "./helpers/model-bundles.ts";
import { buildRetrainToy, DAY, NOW, type RetrainToy } from "./helpers/retrain-toy.ts";

let toy: RetrainToy;
let bundle: SpecBundle;
let storePath: string;
let logsDir: string;
const withStore = <T>(fn: (s: Store) => Promise<T>) => toy.withStore(fn);

beforeEach(async () => {
  toy = await buildRetrainToy();
  ({ bundle, storePath, logsDir } = toy);
});

afterEach(() => toy.cleanup());

describe("fti run: drift → retrain → champion/challenger", () => {
  it("promotes a challenger that is better on recent labels, and the service swaps it in", async () => {
    // The world changed at day 200: every later label is 30 higher; the champion never saw that.
    await withStore((s) => s.run(`UPDATE src_events SET y = y + 30 WHERE ts >= ?`, [new Date(T0 + 200 * DAY)]));
    const svc = await OnlineService.open(bundle, { store: storePath, logs: false });
    try {
      expect(svc.models()[0].version).toBe(1);
      const runs = await tickOnce(bundle, NOW, { storePath, logsDir });
      const retrain = runs.find((r) => r.kind === "retrain")!;
      expect(retrain).toMatchObject({ status: "ok", target: "toy_request", version_from: 1, version_to: 2 });
      expect(retrain.trigger).toMatch(/^drift\(psi > 0\.25\): x1 [\d.]+ in 2025-09-19T00:00$/);
      const detail = JSON.parse(retrain.detail!);
      expect(detail.promoted).toBe(true);
      expect(detail.comparison.challenger.value).toBeLessThan(detail.comparison.champion.value);
      await svc.reload();
      expect(svc.models()[0]).toMatchObject({ version: 2, stage: "production" });
    } finally {
      await svc.close();
    }
    // The same window does not trigger a second retrain.
    const again = await tickOnce(bundle, NOW, { storePath, logsDir });
    expect(again.map((r) => r.kind)).toEqual(["monitor", "tick"]);
    await withStore(async (s) => {
      expect((await listModels(s)).map((m) => [m.version, m.stage])).toEqual([[1, "archived"], [2, "production"]]);
      const recorded = await listRuns(s);
      expect(recorded.filter((r) => r.kind === "retrain" && r.status === "ok")).toHaveLength(1);
    });
  });

  it("keeps the champion when the challenger is worse on the same recent labels", async () => {
    // Labels the challenger trains on (days 140–200) are corrupted; the recent ones it is judged on are not.
    await withStore((s) => s.run(`UPDATE src_events SET y = y + 400 * sin(epoch(ts)) WHERE ts >= ? AND ts < ?`, [new Date(T0 + 140 * DAY), new Date(T0 + 200 * DAY)]));
    const runs = await tickOnce(bundle, NOW, { storePath, logsDir });
    const retrain = runs.find((r) => r.kind === "retrain")!;
    expect(retrain).toMatchObject({ status: "ok", version_from: 1, version_to: 1 });
    const detail = JSON.parse(retrain.detail!);
    expect(detail).toMatchObject({ challenger: 2, promoted: false, reason: "not better on mae" });
    expect(detail.comparison.challenger.value).toBeGreaterThan(detail.comparison.champion.value);
    await withStore(async (s) => {
      expect((await getModel(s, "toy_request")).version).toBe(1);
      expect((await getModel(s, "toy_request", 2)).stage).toBe("staging");
    });
  });

  it("a failing job is recorded and does not stop the others", async () => {
    const broken: SpecBundle = { ...bundle, models: [...bundle.models.map((m) => (m.name === "toy_gbdt" ? { ...m, view: "v_missing" } : m))], serves: [{ model: "toy_gbdt", online: true }, { model: "toy_request", online: true }] };
    const runs = await tickOnce(broken, NOW, { storePath, logsDir });
    expect(runs.find((r) => r.target === "toy_gbdt")).toMatchObject({ kind: "monitor", status: "failed" });
    expect(runs.find((r) => r.target === "toy_gbdt")!.error).toMatch(/v_missing/);
    expect(runs.find((r) => r.kind === "retrain")).toMatchObject({ status: "ok", target: "toy_request" });
  });
});
