// An ndjson source (`.json`, `.ndjson`, `.jsonl`) reads a file of one object per
// line and a file holding one JSON array of objects (how many public data sets
// ship, pretty-printed) alike, rows numbered in file order; a bad value in an
// array element is quarantined like one on a line. A `unique` that is also the
// entity's key is carried once into the group.

import { afterAll, describe, expect, it } from "vitest";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { openStore } from "../runtime/store/store.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const SPEC = `source cars {
  path "data/*.json"
  unique name
  fields {
    name: string
    hp: float? check (> 0)
    origin: string in ("USA", "Europe", "Japan")
  }
}

entity car {
  key name: string
}

feature_group specs for car from cars {
  power = hp
}
`;

let temp: TempSpec | undefined;
afterAll(() => temp?.cleanup());

describe("a JSON source", () => {
  it("reads a pretty-printed array file and an object-per-line file in one source", async () => {
    const array = JSON.stringify(
      [
        { name: "chevelle", hp: 130, origin: "USA" },
        { name: "skylark", hp: null, origin: "USA" },
        { name: "corolla", hp: -1, origin: "Japan" },
      ],
      null,
      2,
    );
    const lines = [{ name: "golf", hp: 70, origin: "Europe" }, { name: "civic", hp: 67, origin: "Mars" }].map((o) => JSON.stringify(o)).join("\n");
    temp = await compileTempSpec({ "spec.fti": SPEC, "data/a.json": array, "data/b.json": lines + "\n" });
    const store = await openStore({ path: ":memory:" });
    try {
      await runFeaturePipeline(store, temp.bundle);
      const kept = await store.all<{ name: string; hp: number | null }>("SELECT name, hp FROM src_cars ORDER BY name");
      expect(kept).toEqual([
        { name: "chevelle", hp: 130 },
        { name: "golf", hp: 70 },
        { name: "skylark", hp: null },
      ]);
      const q = await store.all<{ file: string; row_number: bigint | number; reason: string }>("SELECT file, row_number, reason FROM fti_quarantine ORDER BY file, row_number");
      expect(q.map((r) => [r.file.split("/").pop(), Number(r.row_number), r.reason])).toEqual([
        ["a.json", 3, "hp: -1 fails check (> 0)"],
        ["b.json", 2, "origin: 'Mars' not in (USA, Europe, Japan)"],
      ]);
      // `unique name` is also the entity's key: carried once (the group's SQL named it twice, an internal error).
      const group = await store.all<{ name: string; power: number | null }>("SELECT name, power FROM fg_specs_v1 ORDER BY name");
      expect(group).toEqual(kept.map((k) => ({ name: k.name, power: k.hp })));
    } finally {
      await store.close();
    }
  });

  it("a GeoJSON FeatureCollection (its rows nested under `features`): the error says so and how to write the rows out", async () => {
    const geo = { type: "FeatureCollection", metadata: { count: 1 }, features: [{ type: "Feature", properties: { name: "x", hp: 1, origin: "USA" }, geometry: { type: "Point", coordinates: [1, 2] }, id: "q1" }] };
    const t = await compileTempSpec({ "spec.fti": SPEC, "data/quakes.json": JSON.stringify(geo) });
    const store = await openStore({ path: ":memory:" });
    try {
      const err = await runFeaturePipeline(store, t.bundle).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(/`name`, `origin` not found in .*quakes\.json \(keys: features, metadata, type\)/);
      expect((err as { hint?: string }).hint).toMatch(/^the file looks like GeoJSON: one object whose `features` array holds the rows.*jq -c '\.features\[\] \| \.properties/);
    } finally {
      await store.close();
      t.cleanup();
    }
  });
});
