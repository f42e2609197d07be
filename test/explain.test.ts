// `fti explain` shows windows and ttls as the spec wrote them (`over 24h`,
// never normalised to `1d`) and `count()` with its empty argument list.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSpec } from "../compiler/compile.ts";
import { explainDot, explainText } from "../compiler/explain.ts";

const dir = mkdtempSync(join(tmpdir(), "fti-explain-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPEC = `
source transfers {
  path "transfers.csv"
  event_time at
  fields { id: string  account_id: string  at: timestamp  amount: float  fraud: bool }
}
entity account { key account_id: string }
feature_group stats for account from transfers {
  sum_24h = sum(amount) over 24h
  n_60m = count() over 60m
  big = max(amount * 2) over 168h
}
view fraud_data for account {
  label fraud = transfers.fraud
  features stats.*
  ttl 48h
}
model fraud {
  view fraud_data
  task binary_classification
  algorithm gbdt
  split random(test_fraction: 0.2, seed: 1)
  metric auc
}
`;

describe("fti explain", () => {
  it("prints durations as written and count() as count()", async () => {
    const file = join(dir, "fraud.fti");
    writeFileSync(file, SPEC);
    const r = await compileSpec(file, { checkOnly: true });
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const text = explainText(r.ir!);
    expect(text).toContain("sum_24h  MIT sum(amount) over 24h");
    expect(text).toContain("n_60m  MIT count() over 60m");
    expect(text).toContain("big  MIT max(…) over 168h");
    expect(text).toContain("; ttl 48h");
    expect(text).not.toMatch(/over 1d|over 1h|over 7d|ttl 2d/);
  });

  it("names a view's time: its event-time column, or rows without time", async () => {
    const timed = explainText((await compileSpec("specs/seattle.fti", { checkOnly: true })).ir!);
    expect(timed).toContain("└─ view forecast_data  from seattle_weather at date; label tmax = temp_max; as_of strict; ttl 3d\n");
    const untimed = explainText((await compileSpec("specs/penguins.fti", { checkOnly: true })).ir!);
    expect(untimed).toContain("└─ view mass_data  from penguins (rows without time); label body_mass = body_mass_g\n");
  });

  it("shows each agent's lineage: context groups and retrieved indexes down to their sources, and its tools", async () => {
    const r = await compileSpec("specs/athlete.fti", { checkOnly: true });
    const text = explainText(r.ir!);
    const agent = text.slice(text.indexOf("agent coach"));
    expect(agent.split("\n").slice(0, 9)).toEqual([
      'agent coach  (athlete; llm "coach")',
      "├─ context ctl_42d, atl_7d, form, pace_28d, pace_sd_28d, runs_28d, km_7d, longest_28d, zone_28d  (looked up online, with statuses)",
      "│  ├─ group fitness v1 (fg_fitness_v1)",
      "│  ├─ group activity_stats v1 (fg_activity_stats_v1)",
      "│  └─ source activities",
      "├─ retrieve notes top 5  (note_texts.embedding float[256], built-in hashing; the athlete's documents written before the request)",
      "│  ├─ group note_texts v1 (fg_note_texts_v1)",
      "│  └─ source coach_notes",
      "└─ tool time_estimator  (the served model, through the /predict predictor)",
    ]);
    const dot = explainDot(r.ir!);
    expect(dot).toContain('"index:notes" -> "agent:coach" [label="retrieve"];');
    expect(dot).toContain('"model:time_estimator" -> "agent:coach" [label="tool"];');
  });
});
