// Columns named for people (`Distance (km)`, `Started At`): a field reads the
// column of its own name in any case, else the one whose snake_case name is
// the field's (runtime/features/column-match.ts); two such columns are an
// error naming both, never a silent pick. ndjson keys are matched alike.
// `from "Column"` names the column outright: one named like a keyword
// (`source`, `entity`, `label`) could not be a field's name.

import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { matchFieldColumns, snakeCase } from "../runtime/features/column-match.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { openStore } from "../runtime/store/store.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const SPEC = `source rides {
  path "rides.csv"
  event_time started_at
  fields {
    ride_id: string
    rider: string
    started_at: timestamp
    distance_km: float check (> 0)
  }
}

entity rider {
  key rider: string
}

feature_group riding for rider from rides {
  km_7d = sum(distance_km) over 7d
}
`;

const temps: TempSpec[] = [];
afterAll(() => temps.forEach((t) => t.cleanup()));

async function read(csv: string, file = "rides.csv", spec = SPEC) {
  const t = await compileTempSpec({ "spec.fti": spec.replace('path "rides.csv"', `path "${file}"`), [file]: csv });
  temps.push(t);
  const store = await openStore({ path: ":memory:" });
  try {
    await runFeaturePipeline(store, t.bundle);
    return await store.all<{ ride_id: string; distance_km: number }>("SELECT ride_id, distance_km FROM src_rides ORDER BY ride_id");
  } finally {
    await store.close();
  }
}

describe("column names", () => {
  it("snake_case: letters and digits lower-cased, other runs one underscore, none at the ends", () => {
    expect(["Sale Price", "Distance (km)", "  Miles_per_Gallon ", "Température °C", "already_snake"].map(snakeCase)).toEqual([
      "sale_price",
      "distance_km",
      "miles_per_gallon",
      "température_c",
      "already_snake",
    ]);
  });

  it("the field's own name wins over a snake_case match; two snake_case matches are ambiguous; none is missing", () => {
    const m = matchFieldColumns([{ name: "price" }, { name: "sale_price" }, { name: "weight" }], ["PRICE", "Sale Price", "sale-price", "Price (USD)"]);
    expect([...m.index]).toEqual([["price", 0]]);
    expect(m.ambiguous).toEqual([{ field: "sale_price", columns: ["Sale Price", "sale-price"] }]);
    expect(m.missing).toEqual(["weight"]);
  });

  it("a CSV with headers written for people is read into the declared fields", async () => {
    const rows = await read(["Ride ID,Rider,Started At,Distance (km)", "r1,ann,2024-01-02 08:00:00,10.5", "r2,bob,2024-01-03 08:00:00,7"].join("\n") + "\n");
    expect(rows).toEqual([
      { ride_id: "r1", distance_km: 10.5 },
      { ride_id: "r2", distance_km: 7 },
    ]);
  });

  it("two columns that are one field by their snake_case names: an error naming both", async () => {
    await expect(read(["ride_id,rider,started_at,Distance (km),distance-km", "r1,ann,2024-01-02 08:00:00,10.5,3"].join("\n") + "\n")).rejects.toThrow(
      'field `distance_km` could be any of the columns "Distance (km)", "distance-km"',
    );
  });

  it("a CSV without a header line (its first row read as one, as sklearn's wine_data.csv): the hint says so, not to rename the fields", async () => {
    const err = await read("r0,ann,2024-01-01 08:00:00,4.5\nr1,ann,2024-01-02 08:00:00,10.5\n").catch((e: unknown) => e as { message: string; hint?: string });
    expect((err as { message: string }).message).toMatch(/`ride_id`, `rider`, `started_at`, `distance_km` not found in .* \(columns: r0, ann, 2024-01-01 08:00:00, 4\.5\)/);
    expect((err as { hint?: string }).hint).toBe(
      "the first line reads as data, not column names (`4.5`): fti takes a CSV's first line as its header, so add one naming the columns (`ride_id,rider,started_at,distance_km` in the file's column order)",
    );
    // a header of names keeps the usual hint
    const named = await read("id,who,at,km\nr1,ann,2024-01-02 08:00:00,10.5\n").catch((e: unknown) => e as { hint?: string });
    expect((named as { hint?: string }).hint).toMatch(/^declare the fields with the names the file uses/);
  });

  it("a space-separated file (sklearn's diabetes data with a header): the hint says fti does not split at spaces", async () => {
    const err = await read("ride_id rider started_at distance_km\nr1 ann 2024-01-02 10.5\n").catch((e: unknown) => e as { hint?: string });
    expect((err as { hint?: string }).hint).toBe(
      "the header is one column, `ride_id rider started_at distance_km`: fti splits a CSV line at commas, semicolons, tabs or `|`, not spaces; write the file with one of those (for a file of plain values, `tr -s ' ' ',' < in.txt > out.csv`)",
    );
    // one column whose name is words that are no field: the usual hint
    const one = await read("Ride Notes\nfast\n").catch((e: unknown) => e as { hint?: string });
    expect((one as { hint?: string }).hint).toMatch(/^declare the fields with the names the file uses/);
  });

  it("a gzip-compressed CSV (sklearn's diabetes_data_raw.csv.gz, named .csv or read with `format csv`): an error that says to decompress it", async () => {
    const packed = gzipSync("ride_id,rider,started_at,distance_km\nr1,ann,2024-01-02 08:00:00,10.5\n");
    const err = await read(packed as unknown as string).catch((e: unknown) => e as { message: string; hint?: string });
    expect((err as { message: string }).message).toMatch(/rides\.csv is gzip-compressed: fti reads CSV files as text$/);
    expect((err as { hint?: string }).hint).toMatch(/^decompress it \(`gunzip -k .*rides\.csv`\) and read the \.csv$/);
  });

  it("ndjson keys written for people are matched the same way; a key some objects lack is a null", async () => {
    const spec = SPEC.replace("distance_km: float check (> 0)", "distance_km: float? check (> 0)");
    const lines = [
      { "Ride ID": "r1", Rider: "ann", "Started At": "2024-01-02 08:00:00", "Distance (km)": 10.5 },
      { "Ride ID": "r2", Rider: "bob", "Started At": "2024-01-03 08:00:00" },
    ].map((o) => JSON.stringify(o));
    expect(await read(lines.join("\n"), "rides.ndjson", spec)).toEqual([
      { ride_id: "r1", distance_km: 10.5 },
      { ride_id: "r2", distance_km: null },
    ]);
  });

  it("ndjson: a non-nullable field no object has is an error naming the keys there are; a nullable one reads null", async () => {
    const lines = [{ ride_id: "r1", rider: "ann", started_at: "2024-01-02 08:00:00", km: 3 }].map((o) => JSON.stringify(o)).join("\n");
    await expect(read(lines, "rides.ndjson")).rejects.toThrow("`distance_km` not found in");
    await expect(read(lines, "rides.ndjson")).rejects.toThrow("(keys: km, ride_id, rider, started_at)");
    const nullable = SPEC.replace("distance_km: float check (> 0)", "distance_km: float? check (> 0)");
    expect(await read(lines, "rides.ndjson", nullable)).toEqual([{ ride_id: "r1", distance_km: null }]);
  });

  it("`from`: the named column (exactly, else in any case) and no other; not found is missing", () => {
    const fields = [{ name: "kind", column: "Entity" }, { name: "origin", column: "SOURCE" }, { name: "year", column: "Year (UTC)" }, { name: "entity" }];
    const m = matchFieldColumns(fields, ["entity", "Entity", "source", "Year"]);
    expect([...m.index]).toEqual([["kind", 1], ["origin", 2], ["entity", 0]]);
    expect(m.missing).toEqual(["year"]);
    expect(m.ambiguous).toEqual([]);
  });

  const KEYWORDS = `source disasters {
  path "d.csv"
  event_time year
  unique (kind, year)
  fields {
    kind: string from "Entity"
    year: timestamp format "%Y" from "Year"
    origin: string? from "source"
    deaths: int check (>= 0) from "label"
  }
}

entity disaster { key kind: string }

feature_group history for disaster from disasters {
  deaths_3y = sum(deaths) over 1096d
}
`;

  async function readKeywords(text: string, file: string) {
    const t = await compileTempSpec({ "spec.fti": KEYWORDS.replace('path "d.csv"', `path "${file}"`), [file]: text });
    temps.push(t);
    const store = await openStore({ path: ":memory:" });
    try {
      await runFeaturePipeline(store, t.bundle);
      return await store.all<{ kind: string; year: string; origin: string | null; deaths: number; deaths_3y: number }>(
        "SELECT s.kind, strftime(s.year, '%Y') AS year, s.origin, s.deaths::DOUBLE AS deaths, h.deaths_3y::DOUBLE AS deaths_3y FROM src_disasters s JOIN fg_history_v1 h ON h.kind = s.kind AND h.event_time = s.year ORDER BY kind, year",
      );
    } finally {
      await store.close();
    }
  }

  const expected = [
    { kind: "Drought", year: "1900", origin: "emdat", deaths: 11000, deaths_3y: 11000 },
    { kind: "Drought", year: "1901", origin: null, deaths: 5, deaths_3y: 11005 },
    { kind: "Flood", year: "1900", origin: "emdat", deaths: 7, deaths_3y: 7 },
  ];

  it("`from` reads columns named like keywords from a CSV into fields, through validation and a feature group", async () => {
    const csv = ["Entity,Year,source,label", "Drought,1900,emdat,11000", "Drought,1901,,5", "Flood,1900,emdat,7"].join("\n") + "\n";
    expect(await readKeywords(csv, "d.csv")).toEqual(expected);
  });

  it("`from` reads ndjson keys the same way", async () => {
    const lines = [
      { Entity: "Drought", Year: "1900", source: "emdat", label: 11000 },
      { Entity: "Drought", Year: "1901", label: 5 },
      { Entity: "Flood", Year: "1900", source: "emdat", label: 7 },
    ].map((o) => JSON.stringify(o));
    expect(await readKeywords(lines.join("\n"), "d.ndjson")).toEqual(expected);
  });

  it("a `from` column the file lacks is an error naming the field and the column", async () => {
    await expect(readKeywords("Entity,Year,source,deaths\nFlood,1900,x,7\n", "d.csv")).rejects.toThrow('`deaths` (from "label") not found in');
  });
});
