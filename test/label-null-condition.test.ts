// A label's `if` over a nullable condition (FTI4090): a null condition takes the
// `else` branch, so a row the user meant to leave out (a match without scores)
// becomes a training row with the `else` class. What the warning flags and
// leaves alone, and the training rows both forms of the label give.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSpec } from "../compiler/compile.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { buildTrainingFrame } from "../runtime/retrieval/pit.ts";
import { storeUser } from "./helpers/store-user.ts";
import { compileTempSpec } from "./helpers/temp-spec.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-label-null-if-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const SOURCE = `
source matches {
  path "matches.csv"
  event_time date
  unique (date, home)
  fields { date: timestamp  home: string  home_goals: int?  away_goals: int?  crowd: int  stadium: string? }
}
`;

const spec = (label: string) => `${SOURCE}
view result_data from matches {
  label result = ${label}
  features matches.crowd
}
model m {
  view result_data
  task multiclass_classification
  algorithm gbdt
}
`;

async function warnings(name: string, label: string): Promise<string[]> {
  const file = path.join(dir, `${name}.fti`);
  fs.writeFileSync(file, spec(label));
  const r = await compileSpec(file, { outDir: path.join(dir, "out", name), checkOnly: true });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.diagnostics.filter((d) => d.code === 4090).map((d) => `${d.range.start.line}:${d.range.start.column} ${d.message}`);
}

describe("FTI4090: a label's if over a nullable condition", () => {
  it("flags the outermost such if once, naming the nullable columns its condition reads", async () => {
    const w = await warnings("nested", `if home_goals > away_goals then "H" else (if home_goals == away_goals then "D" else "A")`);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/^10:21 the label `result` of view `result_data` takes the `else` branch .*\(`home_goals`, `away_goals` are nullable\)/);
    expect(await warnings("in-list", `if stadium in ("Anfield") then "home" else "away"`)).toEqual([
      expect.stringContaining("(`stadium` is nullable)"),
    ]);
  });

  it("leaves alone a label that says what its nulls are, an else that is null, and conditions that cannot be null", async () => {
    expect(await warnings("guarded", `if is_null(home_goals) or is_null(away_goals) then null else (if home_goals > away_goals then "H" else "A")`)).toEqual([]);
    expect(await warnings("named-class", `if is_null(home_goals) or is_null(away_goals) then "void" else (if home_goals > away_goals then "H" else "A")`)).toEqual([]);
    expect(await warnings("coalesce", `if coalesce(home_goals, 0) > coalesce(away_goals, 0) then "H" else "A"`)).toEqual([]);
    expect(await warnings("else-null", `if home_goals > away_goals then "H" else (if home_goals < away_goals then "A" else null)`)).toEqual([]);
    expect(await warnings("not-null", `if length(home) > 1 then "long" else "short"`)).toEqual([]);
    // inside a forward aggregation the `if` is per aggregated row (a match without scores counts 0), not the label's
    const fwd = path.join(dir, "forward.fti");
    fs.writeFileSync(
      fwd,
      spec("sum(if home_goals > 2 then 1 else 0) over next 30d > 0")
        .replace("view result_data from matches", "entity team { key home: string }\nview result_data for team from matches")
        .replace("multiclass_classification", "binary_classification"),
    );
    const f = await compileSpec(fwd, { outDir: path.join(dir, "out", "forward"), checkOnly: true });
    expect(f.diagnostics.map((d) => `FTI${d.code}: ${d.message}`)).toEqual([]);
    // a bool label of a nullable comparison stays null: no `if`, no warning
    const file = path.join(dir, "bool.fti");
    fs.writeFileSync(file, spec("home_goals > away_goals").replace("multiclass_classification", "binary_classification"));
    const r = await compileSpec(file, { outDir: path.join(dir, "out", "bool"), checkOnly: true });
    expect(r.diagnostics.map((d) => d.code)).toEqual([]);
  });

  it("is right about the rows: the unguarded label trains a scoreless match as an away win, the guarded one leaves it out", async () => {
    const csv = "date,home,home_goals,away_goals,crowd,stadium\n2020-01-01,a,2,1,100,x\n2020-01-02,b,,,200,y\n2020-01-03,c,0,0,300,z\n2020-01-04,d,1,3,400,w\n";
    const labels = async (label: string) => {
      const temp = await compileTempSpec({ "spec.fti": spec(label), "matches.csv": csv });
      try {
        const frame = await storeUser(() => path.join(temp.dir, "store.duckdb"))(async (store) => {
          await runFeaturePipeline(store, temp.bundle);
          return buildTrainingFrame(store, temp.bundle, "result_data");
        });
        return Array.from(frame.label as ArrayLike<unknown>).map((v) => (frame.labelClasses ? frame.labelClasses[v as number] : v));
      } finally {
        temp.cleanup();
      }
    };
    expect(await labels(`if home_goals > away_goals then "H" else (if home_goals == away_goals then "D" else "A")`)).toEqual(["H", "A", "D", "A"]);
    expect(await labels(`if is_null(home_goals) or is_null(away_goals) then null else (if home_goals > away_goals then "H" else (if home_goals == away_goals then "D" else "A"))`)).toEqual(["H", "D", "A"]);
  }, 60_000);
});
