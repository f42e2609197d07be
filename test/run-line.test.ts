// What `fti run` and `fti runs` print for a job: a retrain that kept the champion names the
// challenger it trained and why (the line said only `v3→v3`), and a schedule `every 30d` reads
// as written (it was `every 43200 min`).

import { describe, expect, it } from "vitest";
import { runLine } from "../runtime/cli/run-commands.ts";
import { describeSchedule } from "../runtime/orchestrator/schedule.ts";
import type { RunRecord } from "../runtime/orchestrator/runs.ts";

const at = new Date("2008-01-26T00:00:00Z");
const record = (over: Partial<RunRecord>): RunRecord => ({
  run_id: "r1",
  kind: "retrain",
  target: "rising",
  trigger: 'schedule cron "0 0 1 */3 *"',
  slot: at,
  clock: at,
  started_at: at,
  ended_at: at,
  status: "ok",
  rows: 1330,
  version_from: 3,
  version_to: 3,
  detail: null,
  error: null,
  ...over,
});

describe("runLine", () => {
  it("names a retrain's challenger that was not promoted, with the reason", () => {
    const kept = record({ detail: JSON.stringify({ challenger: 4, promoted: false, reason: "not better on auc" }) });
    expect(runLine(kept)).toBe('2008-01-26 00:00  retrain     rising           ok          schedule cron "0 0 1 */3 *" rows 1330 v3→v3 (v4 not promoted: not better on auc)');
    const promoted = record({ version_to: 8, detail: JSON.stringify({ challenger: 8, promoted: true, reason: "better auc" }) });
    expect(runLine(promoted)).toMatch(/ rows 1330 v3→v8$/);
    expect(runLine(record({ detail: "not json" }))).toMatch(/ v3→v3$/);
    expect(runLine(record({ kind: "features", version_from: null, version_to: null, detail: JSON.stringify({ promoted: false, challenger: 1 }) }))).toMatch(/ rows 1330$/);
  });

  it("writes an every-schedule in the spec's units", () => {
    expect(describeSchedule({ everyMs: 30 * 86_400_000 })).toBe("every 30d");
    expect(describeSchedule({ everyMs: 6 * 3_600_000 })).toBe("every 6h");
    expect(describeSchedule({ everyMs: 90 * 60_000 })).toBe("every 90m");
    expect(describeSchedule({ cron: "0 3 * * *" })).toBe('cron "0 3 * * *"');
  });
});
