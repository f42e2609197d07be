// fti train and fti training-data say how many of the view's source rows got no label, and why.
// A spine row whose label is null is left out of the training data (docs/language.md, view): on
// vega-datasets' unemployment-across-industries (monthly rows stamped at Pacific midnight, 08:00Z in
// winter and 07:00Z in summer) `avg(rate) over next 31d > rate` is null for every October row (November's
// row is 31 days and an hour later), and 98 of 1708 rows vanished without a word. Here two series of
// monthly rows stamped the same way; the counts are checked against a brute-force reading of the rule.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const BIN = path.resolve("compiler/cli/bin.mjs");
const DAY = 86_400_000;

const SPEC = (label: string) => `
source unemployment {
  path "rates.csv"
  event_time date
  unique (series, date)
  fields { series: string  date: timestamp  rate: float? }
}
entity industry { key series: string }
feature_group rates for industry from unemployment {
  rate_3m = avg(rate) over 92d
}
view rising_data for industry from unemployment {
  label rises = ${label}
  features rates.*
}
model rising {
  view rising_data
  task binary_classification
  algorithm gbdt(trees: 5)
}
`;

// Local midnight in a zone 8 hours behind UTC in winter and 7 in summer (April to October).
const months = Array.from({ length: 24 }, (_, i) => {
  const m = i % 12;
  return Date.UTC(2024 + Math.floor(i / 12), m, 1, m >= 3 && m <= 9 ? 7 : 8);
});
const rows = ["Construction", "Finance"].flatMap((series, k) =>
  months.map((t, i) => ({ series, t, rate: k === 1 && i === 5 ? null : 4 + ((i * 7 + k * 3) % 5) })),
);
const CSV = ["series,date,rate", ...rows.map((r) => `${r.series},${new Date(r.t).toISOString()},${r.rate ?? ""}`)].join("\n");

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-unlabelled-"));
fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "unlabelled", private: true, type: "module" }));
fs.mkdirSync(path.join(dir, "node_modules"));
fs.symlinkSync(path.resolve("."), path.join(dir, "node_modules", "fti"));
fs.writeFileSync(path.join(dir, "rates.csv"), CSV);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fti(args: string[]): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, FTI_DEBUG: "", FTI_STORE: "" } });
  return { code: r.status, out: r.stdout + r.stderr };
}

/** The rule, read from the rows: (t, t + 31d] past the data's end is unobserved; else a window with no row is a null avg. */
function reference(): { unobserved: number; emptyWindow: number; nullRate: number } {
  const end = Math.max(...rows.map((r) => r.t));
  const unobserved = rows.filter((r) => r.t + 31 * DAY > end);
  const observed = rows.filter((r) => r.t + 31 * DAY <= end);
  const later = (r: (typeof rows)[number]) => rows.filter((o) => o.series === r.series && o.t > r.t && o.t <= r.t + 31 * DAY);
  const emptyWindow = observed.filter((r) => later(r).length === 0).length;
  // `> rate` is null too where the row's own rate is null, or every rate in the window is.
  const nullRate = observed.filter((r) => later(r).length > 0 && (r.rate === null || later(r).every((o) => o.rate === null))).length;
  return { unobserved: unobserved.length, emptyWindow, nullRate };
}

describe("the rows a view's label leaves out are counted", () => {
  it("train and training-data name the rows past the data's end and those whose forward label is null", () => {
    fs.writeFileSync(path.join(dir, "spec.fti"), SPEC("avg(rate) over next 31d > rate"));
    expect(fti(["features", "spec.fti"]).code).toBe(0);
    const ref = reference();
    // The data: two Octobers a series have no row in their next 31 days (November's is 31 days and an hour
    // later); the last two months' windows reach past the end; Finance's null June, and the May before it.
    expect(ref).toEqual({ unobserved: 4, emptyWindow: 4, nullRate: 2 });
    const labelled = rows.length - ref.unobserved - ref.emptyWindow - ref.nullRate;
    const end = new Date(Math.max(...rows.map((r) => r.t))).toISOString();
    const line =
      `${rows.length - labelled} rows of \`unemployment\` left out without a label: ${ref.unobserved} whose next 31d reach past the data's end (${end}); ` +
      `${ref.emptyWindow + ref.nullRate} whose label \`rises\` is null (avg, min and max over next 31d are null when no row of the entity is in that window: is the next row always within 31d?)`;
    const exported = fti(["training-data", "spec.fti", "--out", "td.parquet"]);
    expect(exported.out).toContain(`${labelled} rows → td.parquet\n  ${line}\n`);
    const trained = fti(["train", "spec.fti"]);
    expect(trained.out).toContain(`\n  ${line}\n`);
  }, 120_000);

  it("a label without a forward window: only the null labels, and nothing when every row has one", () => {
    fs.writeFileSync(path.join(dir, "spec.fti"), SPEC("rate > 5"));
    expect(fti(["features", "spec.fti"]).code).toBe(0);
    const nulls = rows.filter((r) => r.rate === null).length;
    expect(fti(["training-data", "spec.fti", "--out", "td.parquet"]).out).toContain(
      `${rows.length - nulls} rows → td.parquet\n  ${nulls} row of \`unemployment\` left out without a label: ${nulls} whose label \`rises\` is null\n`,
    );
    fs.writeFileSync(path.join(dir, "spec.fti"), SPEC("coalesce(rate, 0) > 5"));
    expect(fti(["features", "spec.fti"]).code).toBe(0);
    const all = fti(["training-data", "spec.fti", "--out", "td.parquet"]);
    expect(all.out).toContain(`${rows.length} rows → td.parquet\n`);
    expect(all.out).not.toContain("left out");
  }, 120_000);
});
