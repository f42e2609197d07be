// The drift example (specs/athlete.drift.ts) at a small size, on a replayed
// clock: the cohort's new training plan shows up as PSI of the planned pace's
// deviation in the first weekly window after it starts (and no input crosses
// the threshold in the week before); fti run retrains on that trigger; every retrain is promoted exactly
// when the challenger beat the champion on the same recent runs; the service
// ends up serving the production version.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readMonitorRows } from "../runtime/monitor/results.ts";
import { listRuns } from "../runtime/orchestrator/runs.ts";
import { getModel } from "../runtime/registry/registry.ts";
import { openStore } from "../runtime/store/store.ts";
import { replayDrift, type DayReport } from "../specs/athlete.drift.ts";
import { REPO } from "./helpers/online-athlete.ts";

const dir = join(REPO, ".fti", `drift-test-${process.pid}`);
// Windows are weeks from the epoch (Thursdays): the replay starts on one, the drift a week later.
const START = new Date("2025-03-06T00:00:00Z");
const DRIFT = new Date("2025-03-13T00:00:00Z");

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run drift, small", () => {
  it("detects the drift in the right week, retrains on it, promotes only a better challenger", async () => {
    const reports: DayReport[] = await replayDrift({ dir, athletes: 80, days: 15, driftFromDay: 7, start: START });
    expect(reports).toHaveLength(15);
    expect(reports.reduce((s, r) => s + r.requests, 0)).toBeGreaterThan(100);

    const s = await openStore({ path: join(dir, "store.duckdb"), readOnly: true });
    try {
      const rows = await readMonitorRows(s, "time_estimator");
      const psi = (start: Date) => rows.find((r) => r.window_start.getTime() === start.getTime() && r.subject === "feature:pace_deviation" && r.measure === "psi")?.value;
      const before = psi(START)!;
      const after = psi(DRIFT)!;
      expect(before).toBeDefined();
      expect(after).toBeGreaterThan(0.25);
      expect(after).toBeGreaterThan(before);
      // The right week: before the change no input crosses the retrain threshold.
      const inputsBefore = rows.filter((r) => r.window_start.getTime() === START.getTime() && r.subject.startsWith("feature:") && r.measure === "psi");
      expect(inputsBefore.length).toBeGreaterThan(10);
      expect(inputsBefore.filter((r) => r.value > 0.25).map((r) => r.subject)).toEqual([]);

      const retrains = (await listRuns(s)).filter((r) => r.kind === "retrain" && r.status === "ok");
      expect(retrains.some((r) => r.slot.getTime() === DRIFT.getTime() && r.trigger.startsWith("drift(psi > 0.25)"))).toBe(true);
      for (const r of retrains) {
        const d = JSON.parse(r.detail!);
        if (d.comparison) expect(d.promoted).toBe(d.comparison.challenger.value < d.comparison.champion.value);
        expect(r.version_to).toBe(d.promoted ? d.challenger : r.version_from);
      }
      const promoted = retrains.filter((r) => JSON.parse(r.detail!).promoted).sort((a, b) => a.clock.getTime() - b.clock.getTime());
      const production = await getModel(s, "time_estimator");
      expect(production.stage).toBe("production");
      expect(production.version).toBe(promoted.at(-1)?.version_to ?? 1);
      // What the service served in the last complete week is the version production had then.
      expect(reports.at(-1)!.version).not.toBeNull();
    } finally {
      await s.close();
    }
    // Fifteen replayed days of feature runs, monitoring and retrains: minutes on a loaded machine.
  }, 900_000);
});
