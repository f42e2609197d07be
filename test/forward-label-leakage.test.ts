// FTI4008 with a forward label: an inclusive join at the label's instant sees
// the label's own row, never the rows a forward label aggregates ((t, t + w]).
// "Rain tomorrow" from today's weather (as_of inclusive, features over the
// precipitation the label sums ahead) is no leak; a label that also reads its
// own row's precipitation is. The training rows show it: each row's inclusive
// feature holds its own day, its label the next day's.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compileSpec } from "../compiler/compile.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { columnValues } from "../runtime/retrieval/columns.ts";
import { buildTrainingFrame } from "../runtime/retrieval/pit.ts";
import { openStore } from "../runtime/store/store.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const spec = (label: string) => `source weather {
  path "weather.csv"
  event_time date
  unique (location, date)
  fields {
    location: string
    date: timestamp
    precipitation: float check (>= 0)
  }
}

entity city {
  key location: string
}

feature_group recent for city from weather {
  rain_1d = sum(precipitation) over 1d
  wet = if precipitation > 0 then 1 else 0
}

view rain_data for city from weather {
  label rain_tomorrow = ${label}
  features recent.*
  as_of inclusive
}
`;

// Two cities, ten days each: rain on the days in WET.
const WET = new Set([1, 2, 5, 9]);
const CSV = ["location,date,precipitation", ...["Seattle", "Oslo"].flatMap((c, k) => Array.from({ length: 10 }, (_, d) => `${c},2025-01-${String(d + 1).padStart(2, "0")},${WET.has((d + k) % 10) ? 2.5 : 0}`))].join("\n");

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fti-fwd-leak-"));
const temps: TempSpec[] = [];
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  temps.forEach((t) => t.cleanup());
});

async function diagnostics(name: string, label: string): Promise<string[]> {
  const file = path.join(dir, `${name}.fti`);
  fs.writeFileSync(file, spec(label));
  const r = await compileSpec(file, { outDir: path.join(dir, "out", name), checkOnly: true });
  return r.diagnostics.filter((d) => d.severity === "error").map((d) => `FTI${d.code}: ${d.message}`);
}

describe("label leakage with a forward label joined inclusively", () => {
  it("a label over the next day only is no leak; one that reads its own row's column is", async () => {
    expect(await diagnostics("ahead", "sum(precipitation) over next 1d > 0")).toEqual([]);
    expect(await diagnostics("own", "precipitation > 0 or sum(precipitation) over next 1d > 0")).toEqual([
      "FTI4008: feature `rain_1d` is derived from `weather.precipitation`, which the label `rain_tomorrow` reads, and view `rain_data` joins features inclusively at the label's event time: each training row would see its own answer",
      "FTI4008: feature `wet` is derived from `weather.precipitation`, which the label `rain_tomorrow` reads, and view `rain_data` joins features inclusively at the label's event time: each training row would see its own answer",
    ]);
  });

  it("each training row's feature holds its own day and its label the next day's: the two never share a row", async () => {
    await expectNextDayLabels(CSV);
  });

  it("a row dated in the future (a clock off by years) is not the data's end: the last real day still gets no label", async () => {
    // Before, 9999-12-31 was the end: the 10th's empty next day counted as observed, a false "no rain".
    await expectNextDayLabels(CSV + "\nOslo,9999-12-31,0");
  });
});

/** The frame of rain_data over `csv`: every row's feature is its own day, its label the next day's, the 10th (no next day) left out. */
async function expectNextDayLabels(csv: string): Promise<void> {
  {
    const t = await compileTempSpec({ "spec.fti": spec("sum(precipitation) over next 1d > 0"), "weather.csv": csv });
    temps.push(t);
    const store = await openStore({ path: ":memory:" });
    try {
      await runFeaturePipeline(store, t.bundle);
      const frame = await buildTrainingFrame(store, t.bundle, "rain_data");
      const wet = columnValues(frame.columns.wet);
      const rows = Array.from({ length: frame.n }, (_, i) => ({
        city: frame.keys.location[i] as string,
        day: new Date(frame.time[i]).getUTCDate() - 1,
        wet: wet[i],
        label: frame.label[i],
      }));
      // Day 10 has no next day in the data: no label.
      expect(rows.length).toBe(18);
      for (const r of rows) {
        const k = r.city === "Seattle" ? 0 : 1;
        expect(r, "today's feature").toMatchObject({ wet: WET.has((r.day + k) % 10) ? 1 : 0 });
        expect(r.label, `${r.city} day ${r.day}: tomorrow's rain`).toBe(WET.has((r.day + 1 + k) % 10) ? 1 : 0);
      }
    } finally {
      await store.close();
    }
  }
}
