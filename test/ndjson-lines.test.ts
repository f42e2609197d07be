// One malformed line in an ndjson source no longer fails the whole read: the
// files are read line by line, each line that is not a JSON object is
// quarantined with its line number and why (a line that is not UTF-8 too),
// and every other line is kept. A
// malformed JSON array file is still refused as a whole (no line of it stands
// alone), with a user error, not a crash.

import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../runtime/errors.ts";
import { runFeaturePipeline } from "../runtime/features/pipeline.ts";
import { openStore } from "../runtime/store/store.ts";
import { compileTempSpec, type TempSpec } from "./helpers/temp-spec.ts";
import { ridesSpec } from "./helpers/rides-spec.ts";

const SPEC = ridesSpec("data/*.ndjson");

const ride = (id: string, km: number) => JSON.stringify({ ride_id: id, rider: "ann", at: `2024-01-0${id.slice(1)} 10:00`, km });

const temps: TempSpec[] = [];
afterAll(() => temps.forEach((t) => t.cleanup()));

async function run(files: Record<string, string | Uint8Array>) {
  const t = await compileTempSpec({ "spec.fti": SPEC, ...files });
  temps.push(t);
  const store = await openStore({ path: ":memory:" });
  try {
    const report = await runFeaturePipeline(store, t.bundle);
    const kept = await store.all<{ ride_id: string }>("SELECT ride_id FROM src_rides ORDER BY ride_id");
    const q = await store.all<{ file: string; row_number: number; reason: string; row_json: string }>(
      "SELECT file, row_number, reason, CAST(row_json AS VARCHAR) AS row_json FROM fti_quarantine ORDER BY file, row_number",
    );
    return { report, kept: kept.map((r) => r.ride_id), quarantined: q.map((r) => [r.file.split("/").pop(), Number(r.row_number), r.reason, JSON.parse(r.row_json)]) };
  } finally {
    await store.close();
  }
}

describe("an ndjson file with lines that are not JSON objects", () => {
  it("quarantines each such line by its line number and keeps the rest, in every file of the source", async () => {
    const a = [ride("r1", 5), '{"ride_id": "r2", "rider": "ann"', "", ride("r3", -1), "[1, 2]", '"just text"', ride("r4", 7)].join("\r\n");
    const b = [ride("r5", 2), ride("r6", 3)].join("\n") + "\n";
    const { kept, quarantined } = await run({ "data/a.ndjson": a, "data/b.ndjson": b });
    expect(kept).toEqual(["r1", "r4", "r5", "r6"]);
    expect(quarantined).toEqual([
      ["a.ndjson", 2, "unreadable line: not valid JSON", { line: '{"ride_id": "r2", "rider": "ann"' }],
      ["a.ndjson", 4, "km: -1 fails check (> 0)", JSON.parse(ride("r3", -1))],
      ["a.ndjson", 5, "unreadable line: not a JSON object (an array)", { line: "[1, 2]" }],
      ["a.ndjson", 6, "unreadable line: not a JSON object (a single value)", { line: '"just text"' }],
    ]);
  });

  it("quarantines a line whose bytes are not UTF-8 (reading it would alter its text) and keeps one holding U+FFFD itself", async () => {
    const bytes = Buffer.concat([
      Buffer.from(`${ride("r1", 5)}\n{"ride_id": "r2", "rider": "a`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`n", "at": "2024-01-02 10:00", "km": 3}\r\n`),
      Buffer.from(JSON.stringify({ ride_id: "r3", rider: "a\uFFFDn", at: "2024-01-03 10:00", km: 4 })),
    ]);
    const { kept, quarantined } = await run({ "data/a.ndjson": bytes });
    expect(kept).toEqual(["r1", "r3"]);
    expect(quarantined.map((q) => q.slice(0, 3))).toEqual([["a.ndjson", 2, "unreadable line: not valid UTF-8"]]);
  });

  it("reads a file without bad lines as before (one object per row)", async () => {
    const { kept, quarantined } = await run({ "data/a.ndjson": [ride("r1", 5), ride("r2", 6)].join("\n") });
    expect(kept).toEqual(["r1", "r2"]);
    expect(quarantined).toEqual([]);
  });

  it("refuses a malformed JSON array file as a whole, with a user error naming the file", async () => {
    const err = await run({ "data/a.ndjson": `[\n  ${ride("r1", 5)},\n  {"ride_id": \n]` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/cannot read .*a\.ndjson/);
  });
});
