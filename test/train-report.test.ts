// `fti train`'s report marks a metric on which the model is no better than the
// naive baseline (train mean / positive rate), in the metric's own direction.

import { afterEach, describe, expect, it, vi } from "vitest";
import { isBetter } from "../runtime/catalogue.ts";
import { printTrainReport } from "../runtime/cli/commands.ts";
import type { TrainReport } from "../runtime/training/train.ts";

afterEach(() => vi.restoreAllMocks());

function printed(metrics: Record<string, number>, baseline: Record<string, number>): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk).trimEnd());
    return true;
  });
  const report = { model: "delay", version: 1, stage: "production", promoted: true, rows: { train: 10, test: 5 }, metrics, baseline, failingGates: [] } as unknown as TrainReport;
  printTrainReport(report);
  vi.restoreAllMocks();
  return lines.filter((l) => /^\s{2}(mae|rmse|r2|auc|logloss|accuracy)\b/.test(l));
}

describe("the train report", () => {
  it("marks each metric that does not beat the baseline, lower or higher being better by the metric", () => {
    const lines = printed({ mae: 19.947, rmse: 35.486, r2: -0.01 }, { mae: 19.916, rmse: 36.757, r2: 0 });
    expect(lines.map((l) => l.endsWith("(no better than the baseline)"))).toEqual([true, false, true]);
    const cls = printed({ auc: 0.81, logloss: 0.7, accuracy: 0.6 }, { auc: 0.5, logloss: 0.69, accuracy: 0.6 });
    expect(cls.map((l) => l.endsWith("(no better than the baseline)"))).toEqual([false, true, true]);
  });

  it("warns when the test split has fewer than 30 rows, saying when the latest label is in the future", () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk).trimEnd());
      return true;
    });
    const report = (test: number, to: string) =>
      ({ model: "imdb", version: 1, stage: "production", promoted: true, rows: { train: 2986, test }, range: { from: "1928-12-31T00:00:00.000Z", to }, metrics: { mae: 1 }, baseline: { mae: 1.3 }, failingGates: [] }) as unknown as TrainReport;
    printTrainReport(report(2, "2046-12-31T00:00:00.000Z"));
    printTrainReport(report(30, "2010-12-31T00:00:00.000Z"));
    printTrainReport(report(1, "2010-12-31T00:00:00.000Z"));
    vi.restoreAllMocks();
    expect(lines.filter((l) => l.includes("warning"))).toEqual([
      "  warning: only 2 test rows: the metrics below rest on them (label times run 1928-12-31T00:00:00.000Z .. 2046-12-31T00:00:00.000Z; the latest label is at 2046-12-31T00:00:00.000Z, in the future: check the event times); give the split more rows",
      "  warning: only 1 test row: the metrics below rest on it (label times run 1928-12-31T00:00:00.000Z .. 2010-12-31T00:00:00.000Z); give the split more rows",
    ]);
  });

  it("a metric that is not a number is never better", () => {
    expect(isBetter("mae", Number.NaN, 1)).toBe(false);
    expect(isBetter("auc", 0.9, Number.NaN)).toBe(false);
    expect(isBetter("auc", 0.9, 0.5)).toBe(true);
    expect(isBetter("logloss", 0.3, 0.5)).toBe(true);
  });
});
