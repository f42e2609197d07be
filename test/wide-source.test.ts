// A source file far wider than its fields (a CSV of thousands of columns, a
// few of them declared): the validation passes read only the columns the
// fields read, and only the pass that keeps failing rows reads the others,
// for each such row's JSON. Each pass carried every column through before:
// at 50,000 columns DuckDB bound statements of 1.4 M characters again and
// again (~50 s of CPU for 5 rows, docs/benchmarks.md "leftovers").

import { afterAll, describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { openStore, type Store } from "../runtime/store/store.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const WIDTH = 2_000;
const LAST = `c${WIDTH - 1}`;

const spec = `source wide {
  path "wide.csv"
  event_time at
  unique id
  fields {
    id: string
    at: timestamp
    x: float check (> 0)
  }
}
`;

function csv(): string {
  const extra = (r: number) => Array.from({ length: WIDTH }, (_, i) => `v${r}_${i}`);
  const lines = [["id", "at", "x", ...Array.from({ length: WIDTH }, (_, i) => `c${i}`)].join(",")];
  lines.push(["r1", "2024-01-01T00:00:00Z", "1", ...extra(1)].join(","));
  lines.push(["r2", "2024-01-02T00:00:00Z", "-1", ...extra(2)].join(",")); // fails its check
  lines.push(["r1", "2024-01-03T00:00:00Z", "2", ...extra(3)].join(",")); // a later duplicate
  lines.push(["r4", "2024-01-04T00:00:00Z", "4", ...extra(4)].join(","));
  return lines.join("\n") + "\n";
}

/** Every statement the store runs while `fn` runs. */
async function statements(store: Store, fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const run = store.run.bind(store);
  const all = store.all.bind(store);
  store.run = ((sql: string, params?: never) => (seen.push(sql), run(sql, params))) as typeof store.run;
  store.all = ((sql: string, params?: never) => (seen.push(sql), all(sql, params))) as typeof store.all;
  try {
    await fn();
  } finally {
    store.run = run;
    store.all = all;
  }
  return seen;
}

const temps: TempSpec[] = [];
afterAll(() => temps.forEach((t) => t.cleanup()));

describe("a source far wider than its fields", () => {
  it("only staging and the failing rows' JSON read the undeclared columns; the quarantined rows keep every column", async () => {
    const t = await compileTempSpec({ "spec.fti": spec, "wide.csv": csv() });
    temps.push(t);
    const store = await openStore({ path: ":memory:" });
    try {
      const sql = await statements(store, () => runFeaturePipeline(store, t.bundle));
      const naming = sql.filter((s) => s.includes(`"${LAST}"`)).map((s) => s.replace(/\s+/g, " ").slice(0, 40));
      expect(naming).toEqual([
        'CREATE TEMP TABLE "__fti_stage_wide" ("i',
        'INSERT INTO "__fti_stage_wide" SELECT "i',
        'CREATE TEMP TABLE "__fti_bad_wide" AS SE',
        'INSERT INTO "__fti_bad_wide" SELECT __ft',
      ]);
      expect(await store.all("SELECT id, x FROM src_wide ORDER BY id")).toEqual([
        { id: "r1", x: 1 },
        { id: "r4", x: 4 },
      ]);
      const quarantined = await store.all<{ row_number: number; reason: string; row_json: string }>(
        "SELECT row_number, reason, CAST(row_json AS VARCHAR) AS row_json FROM fti_quarantine ORDER BY row_number",
      );
      expect(quarantined.map((q) => [q.row_number, q.reason])).toEqual([
        [2, "x: -1 fails check (> 0)"],
        [3, "id: duplicate value 'r1' (first at row 1)"],
      ]);
      for (const [q, r] of [[quarantined[0], 2], [quarantined[1], 3]] as const) {
        const row = JSON.parse(q.row_json) as Record<string, string>;
        expect(Object.keys(row)).toHaveLength(WIDTH + 3);
        expect([row.c0, row[LAST]]).toEqual([`v${r}_0`, `v${r}_${WIDTH - 1}`]);
      }
    } finally {
      await store.close();
    }
  }, 120_000);
});
