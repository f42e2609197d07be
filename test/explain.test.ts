// `fti explain` shows windows and ttls as the spec wrote them (`over 24h`,
// never normalised to `1d`) and `count()` with its empty argument list.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSpec } from "../compiler/compile.ts";
import { explainText } from "../compiler/explain.ts";

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
});
