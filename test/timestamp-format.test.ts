// `format "..."` on a timestamp field (compiler/checker/timestamp-format.ts,
// runtime/features/validation.ts): every directive the checker admits binds in
// DuckDB's strptime; files spelling times their own way (US dates with a
// 12-hour clock, month names, UTC offsets) are read to the same instants as
// their ISO 8601 spelling, in CSV, NDJSON and Parquet text columns; a value of
// another form is quarantined with the form in its reason; a stream's segment
// lines stay ISO 8601.

import { DuckDBInstance } from "@duckdb/node-api";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { directivesOf, TIMESTAMP_DIRECTIVES } from "../compiler/checker/timestamp-format.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { segmentLinePlan } from "../runtime/features/validation.ts";
import { openStore } from "../runtime/store/store.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";

const spec = (file: string, format: string | null) => `source rides {
  path "${file}"
  event_time at
  unique ride_id
  fields {
    ride_id: string
    rider: string
    at: timestamp${format === null ? "" : ` format "${format}"`}
    km: float check (> 0)
  }
}

entity rider {
  key rider: string
}

feature_group riding for rider from rides {
  km_7d = sum(km) over 7d
}
`;

const temps: TempSpec[] = [];
afterAll(() => temps.forEach((t) => t.cleanup()));

/** Runs the feature pipeline on `files` and returns the stored rows (ride id → ISO time) and the quarantine reasons. */
async function run(files: Record<string, string>, file: string, format: string | null) {
  const t = await compileTempSpec({ "spec.fti": spec(file, format), ...files });
  temps.push(t);
  const store = await openStore({ path: ":memory:" });
  try {
    await runFeaturePipeline(store, t.bundle);
    const rows = await store.all<{ ride_id: string; at: Date }>('SELECT ride_id, "at" FROM src_rides ORDER BY ride_id');
    const q = await store.all<{ reason: string }>("SELECT reason FROM fti_quarantine ORDER BY row_number");
    return { at: Object.fromEntries(rows.map((r) => [r.ride_id, r.at.toISOString()])), reasons: q.map((r) => r.reason) };
  } finally {
    await store.close();
  }
}

/** The stored times of a one-row Parquet file whose `at` column is the SQL `at`, read with `format`. */
async function parquetAt(format: string, at: string): Promise<string[]> {
  const t = await compileTempSpec({ "spec.fti": spec("rides.parquet", format) });
  temps.push(t);
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  await c.run(`COPY (SELECT 'r1' AS ride_id, 'ann' AS rider, ${at} AS at, 10.0 AS km) TO '${path.join(t.dir, "rides.parquet")}' (FORMAT parquet)`);
  c.closeSync();
  const store = await openStore({ path: ":memory:" });
  try {
    await runFeaturePipeline(store, t.bundle);
    return (await store.all<{ at: Date }>('SELECT "at" FROM src_rides ORDER BY "at"')).map((r) => r.at.toISOString());
  } finally {
    await store.close();
  }
}

describe("the directives", () => {
  it("every directive the checker admits binds in DuckDB's strptime, and a shorthand it refuses does not", async () => {
    const db = await DuckDBInstance.create(":memory:");
    const c = await db.connect();
    try {
      for (const d of TIMESTAMP_DIRECTIVES) await c.run(`SELECT try_strptime('x', '%${d}')`);
      await expect(c.run(`SELECT try_strptime('x', '%e')`)).rejects.toThrow();
    } finally {
      c.closeSync();
    }
  });

  it("are read from a pattern in order, %% being a literal percent sign", () => {
    expect(directivesOf("%b %-d %Y, %I:%M %p")).toEqual(["b", "-d", "Y", "I", "M", "p"]);
    expect(directivesOf("100%% on %Y")).toEqual(["Y"]);
    expect(directivesOf("%Y%")).toEqual(["Y", ""]);
  });
});

describe("files with their own spelling of time", () => {
  it("a CSV of US dates with a 12-hour clock: the same instants as ISO 8601; another form is quarantined, naming the form", async () => {
    const csv = ["ride_id,rider,at,km", "r1,ann,01/02/2024 01:05 PM,10", "r2,ann,12/31/2023 11:59 PM,5", "r3,bob,2024-01-02 13:05,7", "r4,bob,13/01/2024 01:00 AM,3"].join("\n");
    const { at, reasons } = await run({ "rides.csv": csv }, "rides.csv", "%m/%d/%Y %I:%M %p");
    expect(at).toEqual({ r1: "2024-01-02T13:05:00.000Z", r2: "2023-12-31T23:59:00.000Z" });
    expect(reasons).toEqual(["at: '2024-01-02 13:05' is not a timestamp in the form %m/%d/%Y %I:%M %p", "at: '13/01/2024 01:00 AM' is not a timestamp in the form %m/%d/%Y %I:%M %p"]);
  });

  it("NDJSON with month names and UTC offsets: offsets are honoured, times stored in UTC", async () => {
    const lines = [
      { ride_id: "r1", rider: "ann", at: "Tue, 2 Jan 2024 13:05:00 +0130", km: 10 },
      { ride_id: "r2", rider: "ann", at: "Sun, 31 Dec 2023 23:59:00 -0500", km: 5 },
    ].map((o) => JSON.stringify(o));
    const { at, reasons } = await run({ "rides.ndjson": lines.join("\n") + "\n" }, "rides.ndjson", "%a, %-d %b %Y %H:%M:%S %z");
    expect(reasons).toEqual([]);
    expect(at).toEqual({ r1: "2024-01-02T11:35:00.000Z", r2: "2024-01-01T04:59:00.000Z" });
  });

  it("a UTC offset beyond ±23:59 (or minutes, seconds beyond 59) is quarantined, not applied as 99 hours; ISO text and a %z format alike", async () => {
    const times = ["2025-01-31", "2025-01-31 10:00:00", "2025-01-01T00:00:00+23:59", "2025-01-01T00:00:00-0030", "2025-01-01T00:00:00.5+14", "2025-01-01T00:00:00+99:00", "2025-01-01T00:00:00+05:75", "2025-01-01T00:00:00-2400", "2025-01-01 00:00:00+01:00:60"];
    const csv = ["ride_id,rider,at,km", ...times.map((t, i) => `r${i},ann,${t},1`)].join("\n");
    const iso = await run({ "rides.csv": csv }, "rides.csv", null);
    expect(iso.at).toEqual({
      r0: "2025-01-31T00:00:00.000Z",
      r1: "2025-01-31T10:00:00.000Z",
      r2: "2024-12-31T00:01:00.000Z",
      r3: "2025-01-01T00:30:00.000Z",
      r4: "2024-12-31T10:00:00.500Z",
    });
    const out = "has a UTC offset out of range (hours 00 to 23, minutes and seconds 00 to 59)";
    expect(iso.reasons).toEqual(times.slice(5).map((t) => `at: '${t}' ${out}`));
    const zoned = ["r1,ann,2025-01-01 00:00:00 +0130,1", "r2,ann,2025-01-01 00:00:00 +9900,1", "r3,ann,2025-01-01 00:00:00 -0099,1", "r4,ann,Jan 1,1"];
    const z = await run({ "rides.csv": ["ride_id,rider,at,km", ...zoned].join("\n") }, "rides.csv", "%Y-%m-%d %H:%M:%S %z");
    expect(z.at).toEqual({ r1: "2024-12-31T22:30:00.000Z" });
    expect(z.reasons).toEqual([`at: '2025-01-01 00:00:00 +9900' ${out}`, `at: '2025-01-01 00:00:00 -0099' ${out}`, "at: 'Jan 1' is not a timestamp in the form %Y-%m-%d %H:%M:%S %z"]);
  });

  it("a Parquet file: a text column is read with the format, a TIMESTAMP column as it is", async () => {
    const values = { text: "'02.01.2024 13:05'", typed: "TIMESTAMP '2024-01-02 13:05:00'" };
    for (const [name, at] of Object.entries(values)) expect(await parquetAt("%d.%m.%Y %H:%M", at), name).toEqual(["2024-01-02T13:05:00.000Z"]);
  });

  it("numbers since the epoch: seconds with a fraction and before 1970, out-of-range and non-numbers quarantined", async () => {
    const csv = ["ride_id,rider,at,km", "r1,ann,1704200700,10", "r2,ann,1704200700.25,5", "r3,bob,-86400,7", "r4,bob,1e20,3", "r5,bob,soon,3", "r6,bob,nan,3"].join("\n");
    const { at, reasons } = await run({ "rides.csv": csv }, "rides.csv", "epoch_seconds");
    expect(at).toEqual({ r1: "2024-01-02T13:05:00.000Z", r2: "2024-01-02T13:05:00.250Z", r3: "1969-12-31T00:00:00.000Z" });
    expect(reasons).toEqual([
      "at: '1e20' is not a timestamp in the form epoch_seconds",
      "at: 'soon' is not a timestamp in the form epoch_seconds",
      "at: 'nan' is not a timestamp in the form epoch_seconds",
    ]);
  });

  it("milliseconds as JSON numbers, and micro- and milliseconds in integer Parquet columns", async () => {
    const lines = [{ ride_id: "r1", rider: "ann", at: 1704200700123, km: 10 }].map((o) => JSON.stringify(o)).join("\n");
    expect((await run({ "rides.ndjson": lines }, "rides.ndjson", "epoch_millis")).at).toEqual({ r1: "2024-01-02T13:05:00.123Z" });
    for (const [format, value] of [["epoch_millis", "1704200700123::BIGINT"], ["epoch_micros", "1704200700123000::BIGINT"], ["epoch_seconds", "1704200700.123::DOUBLE"]]) {
      expect(await parquetAt(format, value), format).toEqual(["2024-01-02T13:05:00.123Z"]);
    }
  });

  it("a stream's segment lines are read as ISO 8601 under the field names, whatever the files' format and columns", () => {
    const plan = { name: "rides", fields: [{ name: "at", type: "timestamp", nullable: false, format: "%m/%d/%Y" }, { name: "km", type: "float", nullable: false, column: "Distance" }] };
    const lines = segmentLinePlan(plan as never) as unknown as typeof plan;
    expect(lines.fields).toEqual([{ name: "at", type: "timestamp", nullable: false }, { name: "km", type: "float", nullable: false }]);
    expect(plan.fields[0].format).toBe("%m/%d/%Y"); // the bundle's plan is not changed
    expect(plan.fields[1].column).toBe("Distance");
  });
});
